"""evaluate.fid: FID against closed forms, sqrtm, torch-fidelity and mpmath; KID against a direct MMD."""
import itertools

import numpy as np
import pytest
import scipy.linalg
import torch

from scoreaug_lab.evaluate.fid import (feature_statistics, fid_from_features, find_inception_weights, frechet_distance,
                                       kid_from_features, to_uint8_rgb)

from support import _g


def _spd(k, seed):
    a = np.random.default_rng(seed).standard_normal((k, 2 * k))
    return a @ a.T / (2 * k) + 0.1 * np.eye(k)


# --- Frechet distance and KID ------------------------------------------------------------------------
def test_frechet_distance_of_commuting_gaussians_is_the_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.standard_normal(7), rng.standard_normal(7)
    d1, d2 = rng.uniform(0.1, 3, 7), rng.uniform(0.1, 3, 7)
    # diagonal covariances commute: tr (S1 S2)^(1/2) = sum sqrt(d1 d2), so FID = |dmu|^2 + sum (sqrt d1 - sqrt d2)^2
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(d1) - np.sqrt(d2)) ** 2).sum()
    assert abs(frechet_distance(mu1, np.diag(d1), mu2, np.diag(d2)) - expected) < 1e-12
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    assert abs(frechet_distance([1.0], [[4.0]], [-2.0], [[9.0]]) - (9.0 + 1.0)) < 1e-12


def test_frechet_distance_of_general_gaussians_matches_sqrtm_and_torch_fidelity():
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric
    k = 24
    s1, s2 = _spd(k, 1), _spd(k, 2)
    mu1, mu2 = np.random.default_rng(3).standard_normal((2, k))
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert abs(ours - ref) < 1e-9 * max(1.0, abs(ref))
    tf = fid_statistics_to_metric({"mu": mu1, "sigma": s1}, {"mu": mu2, "sigma": s2}, False)[KEY_METRIC_FID]
    assert abs(ours - tf) < 1e-9 * max(1.0, abs(ref))
    assert abs(frechet_distance(mu1, s1, mu1, s1)) < 1e-10  # a law against itself


def _mp_fid(a: np.ndarray, b: np.ndarray) -> float:
    """FID at 40 significant digits (mpmath): tr (S1 S2)^(1/2) = sum sqrt(eig(R S2 R)), R = S1^(1/2)."""
    import mpmath
    mpmath.mp.dps = 40
    def stats(x):
        m = mpmath.matrix(x.tolist())
        n, k = m.rows, m.cols
        mu = [mpmath.fsum(m[i, j] for i in range(n)) / n for j in range(k)]
        c = mpmath.matrix(n, k)
        for i in range(n):
            for j in range(k):
                c[i, j] = m[i, j] - mu[j]
        return mu, c.T * c / (n - 1)
    (mu1, s1), (mu2, s2) = stats(a), stats(b)
    w, v = mpmath.eigsy(s1)
    root = v * mpmath.diag([mpmath.sqrt(max(x, 0)) for x in w]) * v.T
    inner = root * s2 * root
    tr_sqrt = mpmath.fsum(mpmath.sqrt(max(x, 0)) for x in mpmath.eigsy((inner + inner.T) / 2)[0])
    k = len(mu1)
    total = mpmath.fsum((mu1[j] - mu2[j]) ** 2 + s1[j, j] + s2[j, j] for j in range(k)) - 2 * tr_sqrt
    return float(total)


@pytest.mark.parametrize("n", [12, 40])   # fewer rows than dimensions (the small-Gram route) and more
def test_fid_from_features_matches_a_40_digit_reference(n):
    a = torch.randn(n, 24, generator=_g(0), dtype=torch.float64)
    b = torch.randn(30, 24, generator=_g(1), dtype=torch.float64) * 1.3 + 0.2
    ref = _mp_fid(a.numpy(), b.numpy())
    assert abs(fid_from_features(a, b) - ref) < 1e-12 * ref
    # the statistics route takes square roots of round-off where S1 is singular: close, not as exact
    assert abs(frechet_distance(*feature_statistics(a), *feature_statistics(b)) - ref) < 1e-6 * ref


def test_feature_statistics_and_fid_input_checks():
    f = torch.randn(50, 4, generator=_g(0), dtype=torch.float64)
    mu, cov = feature_statistics(f)
    assert np.abs(mu - f.mean(0).numpy()).max() < 1e-12
    assert np.abs(cov - np.cov(f.numpy(), rowvar=False)).max() < 1e-12
    with pytest.raises(ValueError, match="at least 2"):
        feature_statistics(f[:1])
    with pytest.raises(ValueError, match="one size"):
        frechet_distance(mu, cov, mu[:3], cov[:3, :3])
    with pytest.raises(ValueError, match="NaN"):
        fid_from_features(f * float("nan"), f)


def _direct_unbiased_mmd2(x, y):
    """sum_{i != j} k(x_i, x_j) / (m (m - 1)) + the same for y - 2 sum_{i, j} k(x_i, y_j) / (m n),
    k(a, b) = (a.b / d + 1)^3, by explicit loops over pairs."""
    d = x.shape[1]
    k = lambda a, b: (float(a @ b) / d + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i, j in itertools.product(range(m), range(m)) if i != j) / (m * (m - 1))
    kyy = sum(k(y[i], y[j]) for i, j in itertools.product(range(n), range(n)) if i != j) / (n * (n - 1))
    kxy = sum(k(x[i], y[j]) for i, j in itertools.product(range(m), range(n))) / (m * n)
    return kxx + kyy - 2 * kxy


def test_kid_is_the_unbiased_polynomial_mmd_averaged_over_subsets():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((30, 5)), rng.standard_normal((34, 5)) + 0.5
    # one subset of the full size of the smaller set
    one = kid_from_features(x[:30], y[:30], subsets=1, subset_size=30)
    assert abs(one["mean"] - _direct_unbiased_mmd2(x[:30], y[:30])) < 1e-10 and one["std"] == 0.0
    # several subsets: drawn as torch-fidelity draws them (RandomState(seed), x rows then y rows)
    out = kid_from_features(x, y, subsets=4, subset_size=12, seed=7)
    state = np.random.RandomState(7)
    direct = []
    for _ in range(4):
        ix = state.choice(30, 12, replace=False)
        iy = state.choice(34, 12, replace=False)
        direct.append(_direct_unbiased_mmd2(x[ix], y[iy]))
    assert abs(out["mean"] - np.mean(direct)) < 1e-10 and abs(out["std"] - np.std(direct)) < 1e-10
    assert out["subset_size"] == 12 and out["subsets"] == 4
    # and torch-fidelity's own KID on the same features and seed (a reference library)
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric
    tf = kid_features_to_metric(torch.from_numpy(x), torch.from_numpy(y), kid_subsets=4, kid_subset_size=12,
                                rng_seed=7, verbose=False)
    assert abs(tf[KEY_METRIC_KID_MEAN] - out["mean"]) < 1e-10 and abs(tf[KEY_METRIC_KID_STD] - out["std"]) < 1e-10


def test_uint8_conversion_and_inception_message(tmp_path, monkeypatch):
    x = torch.tensor([-1.0, 0.0, 1.0, 0.2]).reshape(1, 1, 2, 2)
    u = to_uint8_rgb(x)
    assert u.shape == (1, 3, 2, 2) and u.dtype == torch.uint8
    assert u[0, 0].flatten().tolist() == [0, 128, 255, 153] and (u[0, 0] == u[0, 2]).all()
    missing = tmp_path / "inception.pth"
    monkeypatch.setenv("SCOREAUG_INCEPTION_WEIGHTS", str(missing))
    path, reason = find_inception_weights()  # a named file is never downloaded over
    assert path is None and str(missing) in reason and "\n" not in reason


# --- the Inception network -------------------------------------------------------------------------------
@pytest.mark.slow
def test_inception_path_runs_with_a_weights_file(tmp_path, monkeypatch):
    """The Inception pipeline end to end with random weights of the right layout (the real ones need the
    internet): 2048-d features, grey images accepted, same set vs itself ~0."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    from scoreaug_lab.evaluate.fid import inception_fid_kid
    torch.save({}, tmp_path / "empty.pth")
    with monkeypatch.context() as m:  # build once without loading, to write a state dict of the right layout
        m.setattr(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        torch.manual_seed(0)
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                          feature_extractor_weights_path=str(tmp_path / "empty.pth"))
    torch.save(net.state_dict(), tmp_path / "inception.pth")
    assert find_inception_weights(tmp_path / "inception.pth") == (tmp_path / "inception.pth", "")
    x = torch.rand(6, 1, 16, 16, generator=_g(0)) * 2 - 1
    out = inception_fid_kid(x, {"same": x, "other": -x}, tmp_path / "inception.pth", kid_subsets=3)
    assert out["feature_dim"] == 2048 and out["same"]["n_reference"] == 6
    assert abs(out["same"]["fid"]) < 1e-6 * max(1.0, out["other"]["fid"])
