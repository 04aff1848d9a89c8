"""Metrics against their definitions: memorisation, sliced Wasserstein, MMD, oracle errors, gaps."""
import pytest
import torch

from scoreaug_lab.data import load_data
from scoreaug_lab.metrics import memorisation, mmd_rbf, oracle_errors, overfitting_gap, sliced_wasserstein
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
