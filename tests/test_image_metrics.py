"""Image-scale evaluation against oracles: Frechet distance (closed forms, scipy's sqrtm, torch-fidelity),
KID (a direct unbiased polynomial-kernel MMD), memorisation (brute-force float64 distances), the
overfitting gap with labels, equivariance error (exactly equivariant oracles vs a non-equivariant one),
the proxy-classifier feature pipeline on real CIFAR-10 images, and `evaluate_images` end to end."""
import itertools
import json

import numpy as np
import pytest
import scipy.linalg
import torch

from scoreaug_lab.data import DataSplit
from scoreaug_lab.evaluate.classifier import SmallCNN, load_classifier, save_classifier, train_classifier
from scoreaug_lab.evaluate.evaluation import evaluate_images
from scoreaug_lab.evaluate.fid import (
    feature_statistics, fid_from_features, find_inception_weights, frechet_distance, kid_from_features,
    proxy_fid_kid, to_uint8_rgb)
from scoreaug_lab.evaluate.metrics import equivariance_error, memorisation, nearest_two, overfitting_gap
from scoreaug_lab.scores import ideal_denoiser
from scoreaug_lab.transforms import TransformSampler, get_transform, parse_transforms


def _g(seed):
    return torch.Generator().manual_seed(seed)


def _spd(k, seed):
    a = np.random.default_rng(seed).standard_normal((k, 2 * k))
    return a @ a.T / (2 * k) + 0.1 * np.eye(k)


def _cifar(path, n_train=None, n_test=None):
    d = np.load(path)
    conv = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float() / 127.5 - 1  # noqa: E731
    return (conv(d["x_train"][:n_train]), torch.from_numpy(d["y_train"][:n_train]).long(),
            conv(d["x_test"][:n_test]), torch.from_numpy(d["y_test"][:n_test]).long())


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


# --- memorisation ------------------------------------------------------------------------------------
def test_nearest_two_matches_brute_force_float64_in_chunks():
    train = torch.rand(300, 3, 8, 8, generator=_g(0)) * 2 - 1
    samples = torch.cat([torch.rand(40, 3, 8, 8, generator=_g(1)) * 2 - 1,
                         train[:10] + 1e-3 * torch.randn(10, 3, 8, 8, generator=_g(2))])
    ref = torch.cdist(samples.reshape(50, -1).double(), train.reshape(300, -1).double())
    ref = ref.topk(2, dim=1, largest=False).values
    assert (nearest_two(samples, train, chunk=7) - ref).abs().max() < 1e-9
    m = memorisation(samples, train)
    assert abs(m["memorised_fraction"] - 10 / 50) < 1e-12
    with pytest.raises(ValueError, match="differ in shape"):
        nearest_two(samples[:, :1], train)


def test_memorisation_on_real_cifar(cifar_npz):
    train, _, test, _ = _cifar(cifar_npz, 2000, 300)
    copies = train[:200] + 0.02 * torch.randn(200, 3, 32, 32, generator=_g(0))
    assert memorisation(copies, train)["memorised_fraction"] == 1.0
    held = memorisation(test, train)   # real unseen images: the reference level
    assert held["memorised_fraction"] < 0.02 and held["mean_nn_distance"] > 5.0


# --- overfitting gap -----------------------------------------------------------------------------------
def test_overfitting_gap_routes_each_split_its_own_labels():
    # images that are constant at label / 10: a model returning label / 10 is exact iff its labels are right
    train_y, held_y = torch.arange(40) % 10, (torch.arange(30) * 3 + 1) % 10
    train = (train_y.float() / 10).reshape(-1, 1, 1, 1).expand(-1, 3, 4, 4).contiguous()
    held = (held_y.float() / 10).reshape(-1, 1, 1, 1).expand(-1, 3, 4, 4).contiguous()

    def label_oracle(y, sigma, omega=None, labels=None):
        return (labels.float() / 10).reshape(-1, 1, 1, 1).expand_as(y)

    rows = overfitting_gap(label_oracle, train, held, train_y, held_y, n_per_band=64, batch_size=16)
    assert len(rows) == 5 and all(r["train"] == 0.0 and r["heldout"] == 0.0 for r in rows)
    with pytest.raises(ValueError, match="train_labels"):
        overfitting_gap(label_oracle, train, held, labels=train_y)


def test_ideal_denoiser_on_images_has_a_positive_gap_at_small_sigma():
    train = torch.rand(64, 3, 8, 8, generator=_g(0)) * 2 - 1
    held = torch.rand(64, 3, 8, 8, generator=_g(1)) * 2 - 1

    def ideal(y, sigma, omega=None, labels=None):
        return ideal_denoiser(y, sigma, train).float()

    rows = overfitting_gap(ideal, train, held, n_per_band=64, batch_size=32)
    assert rows[0]["train"] < 1e-6 < 1.0 < rows[0]["gap"]


# --- equivariance error --------------------------------------------------------------------------------
def _dihedral_closure(x):
    """All 8 rotations/reflections of images (N, C, H, W): a training set closed under rot90 and flips."""
    rots = [torch.rot90(x, k, dims=(2, 3)) for k in range(4)]
    return torch.cat(rots + [r.flip(3) for r in rots])


def _worst(result, key="relative"):
    return {name: max(r[key] for r in v["by_band"]) for name, v in result.items()}


def test_ideal_denoiser_of_a_group_closed_set_is_equivariant_and_of_an_open_set_is_not():
    base = torch.rand(12, 3, 8, 8, generator=_g(0)) * 2 - 1
    closed = _dihedral_closure(base)
    probe = torch.rand(40, 3, 8, 8, generator=_g(1)) * 2 - 1
    sampler = TransformSampler(parse_transforms("rot90,xflip,yflip", "images"))

    def ideal_on(train):
        return lambda y, sigma, omega=None, labels=None: ideal_denoiser(y, sigma, train).float()

    eq = equivariance_error(ideal_on(closed), probe, sampler, n_per_band=32)
    assert set(eq) == {"rot90", "xflip", "yflip"} and all(v["orthogonal"] for v in eq.values())
    assert max(_worst(eq).values()) < 1e-5 and max(_worst(eq, "abs_rms").values()) < 1e-5
    noneq = equivariance_error(ideal_on(base), probe, sampler, n_per_band=32)
    assert min(_worst(noneq).values()) > 0.1


def test_identity_denoiser_commutes_with_every_linear_transform():
    probe = torch.rand(16, 3, 8, 8, generator=_g(2)) * 2 - 1
    sampler = TransformSampler(parse_transforms("brightness,translate,cutout,rotate,geometric", "images"))
    eq = equivariance_error(lambda y, sigma, omega=None, labels=None: y, probe, sampler, n_per_band=8)
    assert max(_worst(eq).values()) < 1e-6   # relative: float32 rounding of inputs up to sigma = 80


def test_conditioned_oracle_reads_omega_and_is_equivariant_for_invertible_maps():
    """D(z; sigma, omega_T) = T D*(T^-1 z; sigma): the optimum of ScoreAug for invertible T, equivariant even
    for brightness (not orthogonal); the same denoiser with omega ignored is not."""
    train = torch.rand(10, 3, 8, 8, generator=_g(3)) * 2 - 1
    probe = torch.rand(24, 3, 8, 8, generator=_g(4)) * 2 - 1
    rot, bright = get_transform("rot90", "images"), get_transform("brightness", "images")
    sampler = TransformSampler([rot, bright])

    class ScoreAugOptimum:  # follows the Denoiser protocol
        omega_dim, label_dim, sigma_data, device = sampler.omega_dim, 0, 0.5, torch.device("cpu")

        def __call__(self, z, sigma, omega=None, labels=None):
            assert omega is not None and omega.shape == (z.shape[0], self.omega_dim)
            code_rot, code_bright = omega[:, sampler.slots[0]], omega[:, sampler.slots[1]]
            k = torch.where(code_rot.abs().sum(1) > 0, code_rot.argmax(1) + 1, 0).float()[:, None]  # one-hot(k)[1:]
            log_a = code_bright                                                                       # ln a
            y = bright.inverse(rot.inverse(z, k), log_a)          # at most one of the two is not the identity
            d = ideal_denoiser(y, sigma, train).float()
            return rot.apply(bright.apply(d, log_a), k)

    eq = equivariance_error(ScoreAugOptimum(), probe, sampler, n_per_band=24)
    assert max(_worst(eq).values()) < 1e-5

    ignoring = lambda z, sigma, omega=None, labels=None: ideal_denoiser(z, sigma, train).float()  # noqa: E731
    noneq = equivariance_error(ignoring, probe, sampler, conditioned=True, n_per_band=24)
    assert min(_worst(noneq).values()) > 0.1

    class WrongSize(ScoreAugOptimum):
        omega_dim = 2
    with pytest.raises(ValueError, match="omega of size 2"):
        equivariance_error(WrongSize(), probe, sampler)


# --- proxy classifier ----------------------------------------------------------------------------------
def test_proxy_features_separate_real_images_from_noise(cifar_npz, tmp_path):
    train, _, test, _ = _cifar(cifar_npz, 600, 600)
    torch.manual_seed(0)
    net = SmallCNN(width=8, feature_dim=32).eval()       # untrained: this checks the pipeline
    save_classifier(net, {"test_accuracy": 0.1}, tmp_path / "c.pt")
    net2, info = load_classifier(tmp_path / "c.pt")
    assert torch.equal(net.features(test[:8]), net2.features(test[:8])) and info["path"] == str(tmp_path / "c.pt")
    noise = torch.rand(600, 3, 32, 32, generator=_g(0)) * 2 - 1
    out = proxy_fid_kid(test, {"same": test, "real": train, "noise": noise}, net2, info, kid_subsets=10)
    assert out["feature_dim"] == 32 and out["classifier_test_accuracy"] == 0.1
    assert abs(out["same"]["fid"]) < 1e-8 and abs(out["same"]["kid"]["mean"]) < 1e-3 * out["noise"]["kid"]["mean"]
    assert out["noise"]["fid"] > 20 * out["real"]["fid"] > 0
    with pytest.raises(ValueError, match="not a classifier"):
        torch.save({"a": 1}, tmp_path / "x.pt")
        load_classifier(tmp_path / "x.pt")


@pytest.mark.slow
def test_classifier_trains_well_above_chance_and_its_features_rank_real_over_noise(cifar_npz):
    train_x, train_y, test_x, test_y = _cifar(cifar_npz, 3000, 1000)
    net, info = train_classifier(train_x, train_y, test_x, test_y, epochs=3, width=16, seed=0)
    assert info["test_accuracy"] > 0.25 and info["n_train"] == 3000     # chance: 0.10
    noise = torch.rand(1000, 3, 32, 32, generator=_g(0)) * 2 - 1
    out = proxy_fid_kid(test_x, {"train": train_x[:1000], "noise": noise}, net, info, kid_subsets=10)
    assert out["noise"]["fid"] > 20 * out["train"]["fid"]


# --- evaluate_images end to end ------------------------------------------------------------------------
class TinyDenoiser(torch.nn.Module):
    """A two-layer conv denoiser with omega added to its noise embedding (EDM preconditioning)."""

    def __init__(self, channels=3, omega_dim=0, sigma_data=0.5):
        super().__init__()
        self.omega_dim, self.label_dim, self.sigma_data = omega_dim, 0, sigma_data
        self.conv1 = torch.nn.Conv2d(channels, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, channels, 3, padding=1)
        self.omega = torch.nn.Linear(omega_dim, 16, bias=False) if omega_dim else None

    def forward(self, x, sigma, omega=None, labels=None):
        sig = torch.as_tensor(sigma, dtype=x.dtype).reshape(-1, 1, 1, 1).expand(x.shape[0], 1, 1, 1)
        total = sig**2 + self.sigma_data**2
        h = self.conv1(x / total.sqrt()) + sig.log()
        if omega is not None and self.omega is not None:
            h = h + self.omega(omega)[:, :, None, None]
        out = self.conv2(torch.relu(h))
        return self.sigma_data**2 / total * x + sig * self.sigma_data / total.sqrt() * out

    @property
    def device(self):  # the Denoiser protocol
        return self.conv1.weight.device


def test_evaluate_images_reports_every_metric_and_writes_a_grid(cifar_npz, tmp_path, monkeypatch):
    monkeypatch.setenv("SCOREAUG_INCEPTION_WEIGHTS", str(tmp_path / "absent.pth"))
    train, train_y, test, test_y = _cifar(cifar_npz, 100, 60)
    data = DataSplit("cifar10:test", "images", train, test, train_y, test_y, num_classes=10)
    sampler = TransformSampler(parse_transforms("rot90,brightness", "images"))
    torch.manual_seed(0)
    model = TinyDenoiser(omega_dim=sampler.omega_dim).eval()
    samples = torch.rand(40, 3, 32, 32, generator=_g(0)) * 2 - 1
    torch.manual_seed(1)
    save_classifier(SmallCNN(width=8, feature_dim=16).eval(), {"test_accuracy": 0.5, "data": "x"}, tmp_path / "c.pt")
    messages = []
    with torch.no_grad():
        out = evaluate_images(model, data, samples, sampler, n_per_band=16, n_equivariance=8, fid="inception",
                              default_classifier=tmp_path / "c.pt", grid_path=tmp_path / "grid.png",
                              log=messages.append)
    json.dumps(out)  # JSON-able
    assert [r["sigma_low"] for r in out["loss_by_band"]] == [0.002, 0.05, 0.2, 1.0, 5.0]
    assert set(out["memorisation"]) == {"memorised_fraction", "mean_nn_distance"}
    assert set(out["equivariance_error"]) == {"rot90", "brightness"}
    assert out["equivariance_omega"].startswith("omega_for")
    assert out["fid_inception"] is None and len(messages) == 1 and "Inception FID unavailable" in messages[0]
    assert "proxy" in messages[0] and out["fid_notes"] == messages
    proxy = out["fid_proxy_classifier"]
    assert proxy["feature_dim"] == 16 and proxy["classifier_test_accuracy"] == 0.5
    assert set(proxy) >= {"vs_train", "vs_heldout"} and proxy["vs_heldout"]["n_reference"] == 60
    from PIL import Image
    assert Image.open(tmp_path / "grid.png").size[0] > 8 * 32
    # no classifier at the default path: a note, not a failure; a named missing file is an error
    out = evaluate_images(model, data, samples, sampler, n_per_band=8, n_equivariance=4, fid="proxy",
                          default_classifier=tmp_path / "none.pt", log=None)
    assert out["fid_proxy_classifier"] is None and "scoreaug-lab classifier" in out["fid_notes"][0]
    with pytest.raises(FileNotFoundError):
        evaluate_images(model, data, samples, sampler, n_per_band=8, n_equivariance=4, fid="proxy",
                        classifier_path=tmp_path / "none.pt", log=None)


def test_cli_classifier_then_evaluate_an_image_run(tmp_path, capsys, monkeypatch):
    from scoreaug_lab.cli import main
    monkeypatch.setenv("SCOREAUG_INCEPTION_WEIGHTS", str(tmp_path / "absent.pth"))
    clf, run = tmp_path / "clf.pt", tmp_path / "run"
    assert main(["classifier", "--data", "digits:8", "--epochs", "1", "--width", "4", "--feature-dim", "8",
                 "--out", str(clf), "--device", "cpu"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_train"] == 1497 and info["n_test"] == 300
    # the reported accuracy is the saved classifier's on the held-out images, counted here again
    from scoreaug_lab.evaluate.classifier import load_classifier, load_labelled_images
    net, _ = load_classifier(clf)
    _, _, test_x, test_y = load_labelled_images("digits:8", None, seed=0)
    with torch.no_grad():
        counted = (net(test_x.float()).argmax(1) == test_y).double().mean().item()
    assert abs(info["test_accuracy"] - counted) < 1e-9
    assert json.loads((tmp_path / "clf.json").read_text())["feature_dim"] == 8
    assert main(["train", "--data", "digits:8", "--n-train", "40", "--n-heldout", "30", "--variant", "scoreaug",
                 "--transforms", "rot90,xflip", "--model-opt", "model_channels=8", "--steps", "2", "--batch-size", "8",
                 "--out", str(run), "--no-progress", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run), "--n-samples", "6", "--num-steps", "2", "--n-per-band", "4",
                 "--n-equivariance", "2", "--classifier", str(clf), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)                                    # exactly one JSON object on stdout
    assert out["variant"] == "scoreaug" and set(out["equivariance_error"]) == {"rot90", "xflip"}
    assert out["fid_inception"] is None and "Inception FID unavailable" in captured.err
    assert out["fid_proxy_classifier"]["feature_dim"] == 8 and (run / "samples_grid.png").is_file()
    assert json.loads((run / "eval.json").read_text()) == out
    assert main(["evaluate", "--run", str(run), "--n-samples", "4", "--num-steps", "2", "--n-per-band", "4",
                 "--n-equivariance", "2", "--fid", "none", "--equivariance-transforms", "yflip"]) == 2
    assert "run's own transforms" in capsys.readouterr().err


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
