"""EDM preconditioning identities and the loss of every cell of the augmentation grid."""
import math

import pytest
import torch

from scoreaug_lab.diffusion import (VARIANTS, TrainingRandomness, diffusion_loss, draw_training_randomness,
                                    edm_coefficients, get_variant, loss_weight, make_training_pair, sample_sigma)
from scoreaug_lab.transforms import TransformSampler, get_transform

SIGMAS = torch.logspace(-3, math.log10(80), 50, dtype=torch.float64)


@pytest.mark.parametrize("sd", [0.5, 1.0, 0.2])
def test_preconditioning_meets_its_defining_properties(sd):
    """The coefficients are defined by properties (EDM appendix B.6), checked here rather than retyped;
    tests/test_symbolic_edm.py proves the same identities with sympy."""
    c_skip, c_out, c_in, c_noise = edm_coefficients(SIGMAS, sd)
    s = SIGMAS

    def target_variance(c):  # Var[(x0 - c y) / 1] for x0 of variance sd^2, y = x0 + s n
        return (1 - c) ** 2 * sd**2 + c**2 * s**2

    # c_skip minimises the variance of the effective target, and c_out^2 is that minimum
    for eps in (1e-3, -1e-3):
        assert (target_variance(c_skip + eps) > target_variance(c_skip)).all()
    assert (target_variance(c_skip) / c_out**2 - 1).abs().max() < 1e-12
    # the network input has unit variance: c_in^2 (sd^2 + s^2) = 1
    assert (c_in**2 * (sd**2 + s**2) - 1).abs().max() < 1e-12
    # lambda * c_out^2 = 1: every noise level contributes equally to the loss
    assert (loss_weight(s, sd) * c_out**2 - 1).abs().max() < 1e-12
    # c_noise is a convention (ln sigma / 4): monotone, 0 at sigma = 1
    assert (c_noise.diff() > 0).all() and edm_coefficients(torch.ones(1, dtype=torch.float64), sd)[3].abs().item() == 0
    assert c_out.dtype == torch.float64     # the caller's precision is kept


def test_sigma_distribution_is_lognormal():
    g = torch.Generator().manual_seed(0)
    log_s = sample_sigma(200_000, g, dtype=torch.float64).log()
    assert abs(log_s.mean().item() + 1.2) < 0.01
    assert abs(log_s.std().item() - 1.2) < 0.01


def test_unknown_variant():
    with pytest.raises(ValueError, match="unknown variant"):
        get_variant("sideways")
    assert get_variant("noisy-omega").name == "scoreaug"


def _residual_covariance(variant, transform, params, sigma=0.7, n=40_000):
    """Covariance of (input - target) over many noises, for one fixed x0 and one fixed transform."""
    sampler = TransformSampler([transform], p=1.0)
    x0 = torch.tensor([[0.3, -0.2]], dtype=torch.float64).expand(n, 2)
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(n, 2, generator=g, dtype=torch.float64)

    draw = sampler.identity_draw(n)
    draw.choice[:] = 0                                   # every sample gets the transform ...
    draw.params[0] = params.expand(n, -1).clone()        # ... with these parameters
    randomness = TrainingRandomness(torch.full((n,), sigma, dtype=torch.float64), noise, draw)
    inp, target, omega = make_training_pair(x0, randomness, variant, sampler)
    r = inp - target
    return r.T @ r / n, omega


@pytest.mark.parametrize("name,params", [("rotate", [[0.9]]), ("rot90", [[1.0]]), ("reflect", [[1.0, 0.4]]),
                                         ("flip", [[1.0]])])
def test_orthogonal_clean_and_noisy_space_coincide(name, params):
    """Orthogonal T: T(x0 + s n) - T(x0) = T(s n) ~ N(0, s^2 I), the same law as clean-space noise."""
    t = get_transform(name)
    p = torch.tensor(params, dtype=torch.float64)
    cov_clean, _ = _residual_covariance("clean", t, p)
    cov_noisy, _ = _residual_covariance("noisy", t, p)
    expected = 0.49 * torch.eye(2, dtype=torch.float64)
    assert (cov_clean - expected).abs().max() < 0.02
    assert (cov_noisy - expected).abs().max() < 0.02
    # exactly: the noisy-space residual is T applied to the noise, whose covariance is s^2 T T^T = s^2 I
    jac = t.jacobian(torch.zeros(1, 2, dtype=torch.float64), p)[0]
    assert (jac @ jac.T - torch.eye(2, dtype=torch.float64)).abs().max() < 1e-12


def test_scaling_changes_the_noise_level_in_noisy_space_only():
    a = 1.4
    t = get_transform("scale")
    p = torch.tensor([[math.log(a)]], dtype=torch.float64)
    cov_clean, _ = _residual_covariance("clean", t, p)
    cov_noisy, _ = _residual_covariance("noisy", t, p)
    assert (cov_clean - 0.49 * torch.eye(2, dtype=torch.float64)).abs().max() < 0.02
    assert (cov_noisy - a**2 * 0.49 * torch.eye(2, dtype=torch.float64)).abs().max() < 0.03


def test_shear_noise_covariance_is_sigma2_AAT():
    s = 0.8
    t = get_transform("shear")
    cov_noisy, _ = _residual_covariance("noisy", t, torch.tensor([[s]], dtype=torch.float64))
    A = torch.tensor([[1, s], [0, 1]], dtype=torch.float64)
    assert (cov_noisy - 0.49 * A @ A.T).abs().max() < 0.03


class Recorder(torch.nn.Module):
    """A denoiser that returns its input and remembers what it was given."""

    sigma_data = 0.5

    def forward(self, x, sigma, omega=None, labels=None):
        self.seen = (x, sigma, omega)
        return x


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_builds_input_target_and_omega(variant):
    from scoreaug_lab.transforms.two_stage import TwoStageSampler
    v = get_variant(variant)
    sampler = TransformSampler([get_transform("rot90"), get_transform("scale")], p=0.5)
    if v.space == "both":
        sampler = TwoStageSampler(TransformSampler([get_transform("shear")], p=0.5), sampler)
    g = torch.Generator().manual_seed(3)
    x0 = torch.randn(512, 2, generator=g)
    model = Recorder()
    randomness = draw_training_randomness(x0.shape, v, sampler if v.augmented else None,
                                          torch.Generator().manual_seed(0))
    out = diffusion_loss(model, x0, randomness, v, sampler if v.augmented else None)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    assert (out.omega is not None) == v.conditioned
    if v.conditioned:
        assert out.omega.shape == (512, sampler.omega_dim)
        untouched = (out.target == x0).all(dim=1)
        zero = out.omega.abs().sum(1) == 0
        assert torch.equal(out.target[zero], x0[zero])      # omega = 0 only for the identity
        assert (out.omega[~untouched].abs().sum(1) > 0).all()  # every real transform has a code
        assert zero.any() and (~untouched).any()
    if not v.augmented:
        assert torch.equal(out.target, x0)
    # the Recorder returns its input, so the loss is lambda(sigma) * mean (input - target)^2 exactly
    expected = loss_weight(randomness.sigma, 0.5) * ((out.model_input - out.target) ** 2).mean(1)
    assert torch.allclose(out.per_sample, expected, rtol=1e-6)
    # the same randomness gives the same batch (the loss draws nothing itself)
    again = diffusion_loss(Recorder(), x0, randomness, v, sampler if v.augmented else None)
    assert torch.equal(again.model_input, out.model_input) and torch.equal(again.loss, out.loss)


def test_loss_keeps_float64():
    x0 = torch.randn(16, 2, dtype=torch.float64)
    randomness = draw_training_randomness(x0.shape, "noaug", dtype=torch.float64)
    out = diffusion_loss(Recorder(), x0, randomness)
    assert out.loss.dtype == torch.float64 and out.per_sample.dtype == torch.float64


def test_noisy_space_input_is_transform_of_noisy_sample():
    """scoreaug: input = T(x0 + sigma n) exactly; clean: input = T(x0) + sigma n exactly."""
    sampler = TransformSampler([get_transform("scale")], p=1.0)
    g = torch.Generator().manual_seed(11)
    x0 = torch.randn(64, 2, dtype=torch.float64, generator=g)
    sigma = torch.full((64,), 0.3, dtype=torch.float64)
    noise = torch.randn(64, 2, dtype=torch.float64, generator=g)
    randomness = TrainingRandomness(sigma, noise, sampler.draw(64, torch.Generator().manual_seed(5)))
    noisy_in, target, omega = make_training_pair(x0, randomness, "scoreaug", sampler)
    clean_in, target2, _ = make_training_pair(x0, randomness, "clean", sampler)
    a = omega.exp()  # omega = ln a for the scale transform
    # (the two paths may differ in the last bit: exp over tensors of different length is vectorised differently)
    assert torch.allclose(target, a * x0, atol=1e-12) and torch.allclose(target, target2, atol=1e-14, rtol=0)
    assert torch.allclose(noisy_in, a * (x0 + 0.3 * noise), atol=1e-12)
    assert torch.allclose(clean_in, a * x0 + 0.3 * noise, atol=1e-12)


def test_augmented_variant_without_transforms_is_an_error():
    with pytest.raises(ValueError, match="needs transforms"):
        draw_training_randomness((4, 2), "scoreaug", None)
    randomness = draw_training_randomness((4, 2), "noaug")
    with pytest.raises(ValueError, match="needs transforms"):
        diffusion_loss(Recorder(), torch.zeros(4, 2), randomness, "scoreaug", None)


@pytest.mark.parametrize("bad", ["x0", "sigma", "shape"])
def test_bad_loss_inputs_are_errors(bad):
    x0 = torch.zeros(4, 2)
    randomness = draw_training_randomness((4, 2), "noaug")
    if bad == "x0":
        x0[0, 0] = float("nan")
    elif bad == "sigma":
        randomness.sigma[1] = -1.0
    else:
        x0 = torch.zeros(5, 2)
    with pytest.raises(ValueError, match={"x0": "NaN", "sigma": "sigma", "shape": "must be"}[bad]):
        diffusion_loss(Recorder(), x0, randomness)


def test_combined_variant_is_clean_stage_then_noise_then_noisy_stage():
    """combined: input T_n(T_c(x0) + sigma n), target T_n(T_c(x0)), omega = [omega_c, omega_n] (each stage told)."""
    from scoreaug_lab.transforms.two_stage import TwoStageSampler
    clean = TransformSampler([get_transform("scale")], p=1.0)
    noisy = TransformSampler([get_transform("rot90")], p=1.0)
    both = TwoStageSampler(clean, noisy)
    g = torch.Generator().manual_seed(4)
    x0 = torch.randn(256, 2, dtype=torch.float64, generator=g)
    randomness = draw_training_randomness(x0.shape, "combined", both, g, dtype=torch.float64)
    inp, target, omega = make_training_pair(x0, randomness, "combined", both)
    draw, sig = randomness.transform_draw, randomness.sigma[:, None]
    a = draw.clean.params[0].exp()                                    # clean stage: scale by a = exp(ln a)
    k = draw.noisy.params[0]                                          # noisy stage: k quarter turns
    rot = get_transform("rot90")
    assert torch.allclose(target, rot.apply(a * x0, k), atol=1e-12)
    assert torch.allclose(inp, rot.apply(a * x0 + sig * randomness.noise, k), atol=1e-12)
    assert omega.shape == (256, both.omega_dim) == (256, 1 + 3)
    assert torch.allclose(omega[:, :1], clean.encode(draw.clean)) and torch.equal(omega[:, 1:], noisy.encode(draw.noisy))
    # omega_for puts a transform's code in its own stage's slots
    assert torch.equal(both.omega_for("rot90", torch.ones(2, 1))[:, 0], torch.zeros(2))
    with pytest.raises(ValueError, match="one stage only"):
        TwoStageSampler(noisy, noisy)
