"""evaluate.metrics against definitions: brute-force distances, exact 1-D W2, POT, equivariant oracles."""
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scoreaug_lab.data import load_data
from scoreaug_lab.evaluate.metrics import (equivariance_error, memorisation, mmd_rbf, nearest_two, oracle_errors,
                                           overfitting_gap, projected_quantiles, projection_directions, sliced_w2,
                                           sliced_wasserstein)
from scoreaug_lab.scores import ideal_denoiser
from scoreaug_lab.transforms import TransformSampler, get_transform, parse_transforms

from support import _cifar, _g
from support import _scaled_points as _points


# --- points: memorisation, sliced Wasserstein, MMD, oracle errors ----------------------------------------
def test_memorisation_of_copies_and_of_far_points():
    train = torch.randn(50, 2, generator=_g(0))
    copies = train[torch.randint(50, (200,), generator=_g(1))] + 1e-4 * torch.randn(200, 2, generator=_g(2))
    m = memorisation(copies, train)
    assert m["memorised_fraction"] == 1.0 and m["mean_nn_distance"] < 1e-3
    # points midway between two training points are not copies (ratio 1 >= 1/3)
    mid = 0.5 * (train[:25] + train[25:])
    assert memorisation(mid, train)["memorised_fraction"] < 0.5


def test_sliced_wasserstein_of_a_shift():
    a = torch.randn(4000, 2, generator=_g(0))
    b = torch.randn(4000, 2, generator=_g(1))
    assert sliced_wasserstein(a, b) < 0.06
    # a shift by v: every projection moves by <u, v>; E<u, v>^2 = |v|^2 / d for random unit u
    shifted = sliced_wasserstein(a, a + torch.tensor([1.0, 0.0]), n_projections=4000)
    assert shifted == pytest.approx((1.0 / 2) ** 0.5, rel=0.03)


def _t(rows):
    return torch.tensor(rows, dtype=torch.float64)


@pytest.mark.parametrize("a, b, w2", [
    ([[0.0], [1.0]], [[0.5], [0.5]], 0.5),                 # equal sizes: matched sorted values
    ([[0.0], [1.0]], [[0.0], [0.5], [1.0]], 12 ** -0.5),   # quantile functions differ on (1/3, 2/3), by 1/2
    ([[0.0], [2.0], [3.0]], [[5.0]], (38 / 3) ** 0.5),     # a Dirac: W2^2 = mean (x - 5)^2
    ([[0.3], [-1.0], [2.5]], [[-1.7], [1.8], [-0.4]], 0.7),  # a - 0.7, points in another order
])
def test_sliced_wasserstein_in_one_dimension_is_the_exact_w2(a, b, w2):
    # D = 1: every unit direction is +-1, so the sliced distance is W2 itself, for any seed and P
    for seed, n in ((0, 1), (3, 7)):
        assert sliced_wasserstein(_t(a), _t(b), n_projections=n, seed=seed) == pytest.approx(w2, abs=1e-12)
        assert sliced_wasserstein(_t(b), _t(a), n_projections=n, seed=seed) == pytest.approx(w2, abs=1e-12)


def test_sliced_wasserstein_of_two_points_and_of_a_translation_in_the_plane():
    dirs = projection_directions(2, 64, seed=5)
    assert torch.allclose(dirs.norm(dim=0), torch.ones(64, dtype=torch.float64), atol=1e-15)
    # {(0,0), (1,0)} against two copies of (1/2, 0): W2^2 = (u_x / 2)^2 on direction u; its mean over
    # uniform directions is 1/8, so the value tends to sqrt(1/8) = 0.3536 (the 512 old quantiles read 0.204)
    two = sliced_wasserstein(_t([[0, 0], [1, 0]]), _t([[0.5, 0], [0.5, 0]]), n_projections=64, seed=5)
    assert two == pytest.approx((0.25 * (dirs[0] ** 2).mean()).sqrt().item(), abs=1e-12)
    assert sliced_wasserstein(_t([[0, 0], [1, 0]]), _t([[0.5, 0], [0.5, 0]]), n_projections=20000) \
        == pytest.approx(math.sqrt(1 / 8), rel=0.01)
    # a translation by t moves projection p by t.u_p: SW2^2 = mean_p (t.u_p)^2 exactly, any sizes
    a = torch.randn(37, 5, generator=_g(3), dtype=torch.float64)
    t = torch.tensor([0.3, -1.2, 0.0, 2.0, 0.5], dtype=torch.float64)
    expected = ((t @ projection_directions(5, 100, seed=9)) ** 2).mean().sqrt().item()
    assert sliced_wasserstein(a, a + t, n_projections=100, seed=9) == pytest.approx(expected, abs=1e-12)
    assert sliced_wasserstein(a, torch.cat([a, a]) + t, n_projections=100, seed=9) == pytest.approx(expected, abs=1e-12)


def test_quantile_tables_are_sorted_projections_and_compare_sets_of_any_size():
    a, b = torch.randn(30, 3, generator=_g(0)), torch.randn(45, 3, generator=_g(1))
    qa, qb = projected_quantiles(a, n_projections=16, seed=2), projected_quantiles(b, n_projections=16, seed=2)
    assert qa.shape == (30, 16) and qa.dtype == torch.float64
    # a different float order than the library's (directions^T x^T): equal to rounding, not bit for bit on every CPU
    reference = (a.double() @ projection_directions(3, 16, seed=2)).sort(dim=0).values
    assert torch.allclose(qa, reference, rtol=0, atol=1e-12)
    assert sliced_w2(qa, qb) == sliced_wasserstein(a, b, n_projections=16, seed=2)
    with pytest.raises(ValueError):
        sliced_w2(qa, projected_quantiles(b, n_projections=8, seed=2))


@pytest.mark.parametrize("n_a, n_b", [(50, 50), (40, 70), (7, 1000)])
def test_sliced_wasserstein_matches_pot_with_the_same_projections(n_a, n_b):
    ot = pytest.importorskip("ot", reason="POT, the reference library, is not installed (pip install pot)")
    a = torch.randn(n_a, 4, generator=_g(n_a), dtype=torch.float64)
    b = 1.5 * torch.randn(n_b, 4, generator=_g(n_b), dtype=torch.float64) + 0.3
    dirs = projection_directions(4, 32, seed=1).numpy()                        # POT: shape (d, n_projections)
    reference = ot.sliced_wasserstein_distance(a.numpy(), b.numpy(), n_projections=32, p=2, projections=dirs)
    assert sliced_wasserstein(a, b, n_projections=32, seed=1) == pytest.approx(float(reference), abs=1e-10)


_point_sets = st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5)), min_size=1, max_size=6).map(_t)


@settings(max_examples=60, deadline=None)
@given(_point_sets, _point_sets, _point_sets)
def test_sliced_wasserstein_is_a_metric_on_small_sets(a, b, c):
    d = lambda x, y: sliced_wasserstein(x, y, n_projections=8, seed=4)   # noqa: E731
    assert d(a, a) == 0.0
    assert d(a, torch.cat([a, a.flip(0), a])) < 1e-12                       # the same law, other sizes
    assert d(a, b) == pytest.approx(d(b, a), abs=1e-12)
    assert d(a, c) <= d(a, b) + d(b, c) + 1e-9


def test_mmd_separates_laws():
    a, b = torch.randn(800, 2, generator=_g(0)), torch.randn(800, 2, generator=_g(1))
    assert abs(mmd_rbf(a, b)) < 5e-3
    assert mmd_rbf(a, b + 0.5) > 0.05


def test_ideal_denoiser_has_zero_oracle_error_and_a_positive_gap():
    data = load_data("toy:gmm8", 32, n_heldout=400)

    def ideal(y, sigma, omega=None, labels=None):
        return ideal_denoiser(y, sigma, data.train).float()

    rows = oracle_errors(ideal, data.train, data.heldout, truth=data.truth, n_per_band=64)
    assert all(r["vs_ideal"] < 1e-10 for r in rows)
    assert rows[0]["vs_true"] > 1e-4  # the memorising denoiser is not the true one
    gap = overfitting_gap(ideal, data.train, data.heldout, n_per_band=128)
    # the memorising denoiser is perfect on training points at small sigma, poor on held-out ones
    assert gap[0]["train"] < 0.2 * gap[0]["heldout"] and gap[0]["gap"] > 1.0


def test_quantile_tables_give_the_sliced_wasserstein_distance():
    a, b = _points(300, 4), _points(500, 5, 0.8) + 0.2
    assert abs(sliced_w2(projected_quantiles(a, seed=3), projected_quantiles(b, seed=3))
               - sliced_wasserstein(a, b, seed=3)) < 1e-12


# --- images: memorisation --------------------------------------------------------------------------------
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


# --- images: overfitting gap -----------------------------------------------------------------------------
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


# --- images: equivariance error --------------------------------------------------------------------------
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


def test_loss_by_band_with_one_probe_is_the_closed_form():
    """One probe per band is enough: the ideal denoiser of a one-point training set returns that point at every
    noise level, so its loss on that set is exactly 0 in every band."""
    from scoreaug_lab.evaluate.metrics import denoising_loss_by_band
    from scoreaug_lab.oracles import IdealDenoiser
    train = torch.tensor([[0.5, -1.0]])
    rows = denoising_loss_by_band(IdealDenoiser(train), train, n_per_band=1, seed=3)
    assert all(r["loss"] == pytest.approx(0.0, abs=1e-9) for r in rows)
    with pytest.raises(ValueError, match="n_per_band must be >= 1, got 0"):
        denoising_loss_by_band(IdealDenoiser(train), train, n_per_band=0)
