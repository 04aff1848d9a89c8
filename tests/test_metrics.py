"""Metrics against their definitions: memorisation, sliced Wasserstein, MMD, oracle errors, gaps."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from scoreaug_lab.data import load_data
from scoreaug_lab.evaluate.metrics import (
    memorisation, mmd_rbf, oracle_errors, overfitting_gap, projected_quantiles, projection_directions, sliced_w2,
    sliced_wasserstein)
from scoreaug_lab.scores import ideal_denoiser


def _g(seed):
    return torch.Generator().manual_seed(seed)


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
