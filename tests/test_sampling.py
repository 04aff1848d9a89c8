"""Samplers: noise-level schedule, evaluation counts, per-sample seeds, and the exact Gaussian oracle."""
import math

import pytest
import torch

from scoreaug_lab.sampling import SeededNoise, edm_sigma_steps, parse_seeds, sample, sample_trajectory


def test_edm_schedule_endpoints_and_monotone():
    s = edm_sigma_steps(18)
    assert s.shape == (19,) and s[0].item() == pytest.approx(80) and s[17].item() == pytest.approx(0.002)
    assert s[-1] == 0 and (s[1:] < s[:-1]).all()
    # rho-spacing: sigma^(1/rho) is linear in the step index
    r = s[:-1] ** (1 / 7)
    assert (r[1:] - r[:-1]).std() < 1e-12


class GaussianDenoiser:
    """Exact denoiser of N(mu, s^2 I): D(y) = mu + s^2 / (s^2 + sigma^2) (y - mu)."""

    def __init__(self, mu, s):
        self.mu, self.s, self.calls = mu, s, 0

    def __call__(self, x, sigma, omega=None, labels=None):
        self.calls += 1
        sig = sigma.reshape(-1, *[1] * (x.ndim - 1)).to(x.dtype)
        return self.mu + self.s**2 / (self.s**2 + sig**2) * (x - self.mu)


@pytest.mark.parametrize("method,churn,steps", [("heun", 0.0, 18), ("heun", 0.0, 64), ("heun", 10.0, 64),
                                                ("euler", 0.0, 400)])
def test_sampler_reproduces_gaussian_mean_and_variance(method, churn, steps):
    mu = torch.tensor([0.5, -1.0], dtype=torch.float64)
    s = 0.7
    x = sample(GaussianDenoiser(mu, s), (2,), range(6000), num_steps=steps, method=method, churn=churn,
               dtype=torch.float64)
    assert (x.mean(0) - mu).abs().max() < 0.03          # standard error ~ 0.7 / sqrt(6000) = 0.009
    # 18 Heun steps carry a ~10 % variance bias for this s (measured: the ODE solution is scaled by
    # 1.05); it shrinks as steps^-2 (see the convergence test below)
    tolerance = 0.15 if steps == 18 else 0.05
    assert (x.var(0) / s**2 - 1).abs().max() < tolerance


def _ode_error(method, steps):
    """Relative error of the sampled endpoint against the exact probability-flow solution for
    Gaussian data, which maps x_T to mu + s / sqrt(s^2 + T^2) (x_T - mu)."""
    s, seeds = 0.7, range(20)
    x_t = SeededNoise(seeds).randn((2,), torch.float64) * 80.0
    x = sample(GaussianDenoiser(torch.zeros(2, dtype=torch.float64), s), (2,), seeds, num_steps=steps,
               method=method, dtype=torch.float64)
    exact = s / math.sqrt(s**2 + 80.0**2) * x_t
    return ((x - exact).abs().max() / exact.abs().max()).item()


def test_ode_solvers_converge_at_their_order():
    """Heun is second order (error ~ steps^-2), Euler first order (~ steps^-1)."""
    heun = [_ode_error("heun", n) for n in (50, 100, 200)]
    euler = [_ode_error("euler", n) for n in (100, 200, 400)]
    assert heun[-1] < 5e-4 and euler[-1] < 5e-2
    for a, b in zip(heun, heun[1:]):
        assert 3.2 < a / b < 4.8
    for a, b in zip(euler, euler[1:]):
        assert 1.6 < a / b < 2.4


def test_heun_uses_35_evaluations_for_18_steps():
    d = GaussianDenoiser(torch.zeros(2), 1.0)
    states = list(sample_trajectory(d, (2,), [0, 1]))
    assert len(states) == 18 and states[-1].nfe == 35 and d.calls == 35
    assert [st.step for st in states] == list(range(1, 19))


def test_each_sample_owns_its_seed():
    d = GaussianDenoiser(torch.zeros(2), 0.5)
    a = sample(d, (2,), [3, 7, 11], churn=5.0)
    b = sample(d, (2,), [7], churn=5.0)
    assert torch.equal(a[1], b[0])
    assert not torch.equal(a[0], a[2])


def test_parse_seeds_and_errors():
    assert parse_seeds("0-3,10") == [0, 1, 2, 3, 10]
    with pytest.raises(ValueError, match="bad seed list"):
        parse_seeds("a-b")
    with pytest.raises(ValueError, match="unknown sampler"):
        sample(GaussianDenoiser(0, 1), (2,), [0], method="rk4")
    with pytest.raises(ValueError, match="sigma_min"):
        edm_sigma_steps(10, sigma_min=5, sigma_max=1)


def test_seeded_noise_continues_one_stream_per_seed():
    """Every draw (the first reseeds one generator per row, later ones replay the stream) equals the draws of one
    torch.Generator per seed kept from the start."""
    seeds, shapes = [3, 0, 7], [(2,), (4, 3), (2,), (5,)]
    noise = SeededNoise(seeds)
    drawn = [noise.randn(s, torch.float64) for s in shapes]
    generators = [torch.Generator().manual_seed(s) for s in seeds]
    for shape, got in zip(shapes, drawn):
        expected = torch.stack([torch.randn(shape, generator=g, dtype=torch.float64) for g in generators])
        assert torch.equal(got, expected)
