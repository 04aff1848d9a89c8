"""Assignment 2, the hidden checks (run by the grader, never sent to the sandbox or the students)."""
import math

import torch

from scoreaug_lab import sampling
from scoreaug_lab.course.checks import Failed, answer, boolean, close, expect, number_close, tensor
from scoreaug_lab.course.layout import cases_beside
from scoreaug_lab.diffusion import TrainingRandomness, make_training_pair
from scoreaug_lab.transforms import Draw, TransformSampler

cases = cases_beside(__file__)


def _library_pair(x0, sigma, noise, transform, params, variant):
    """The library's pair with `transform` drawn for every sample (the oracle)."""
    sampler = TransformSampler([transform], p=1.0)
    draw = Draw(torch.zeros(x0.shape[0], dtype=torch.long), [params])
    return make_training_pair(x0, TrainingRandomness(sigma, noise, draw), variant, sampler)


def q1_training_pair(record):
    for name, x0, sig, noise, t, params in cases.q1_inputs():
        for variant in cases.GRID:
            what = f"{name}, {variant}"
            got = answer(record, what)
            expect(isinstance(got, list) and len(got) == 3,
                   f"{what}: return (model input, target, omega), got {type(got).__name__}")
            for part, value, want in zip(("model input", "target", "omega"), got,
                                         _library_pair(x0, sig, noise, t, params, variant)):
                if want is None:
                    expect(value is None, f"{what}: the {part} must be None (this variant is not told omega)")
                else:
                    expect(value is not None, f"{what}: the {part} is missing")
                    close(value, want.double(), f"{what}: the {part}", atol=1e-5)


def q2_noise_covariance(record):
    from scoreaug_lab.transforms.linear import transform_matrix

    for name, t, params, shape, s, orthogonal in cases.q2_inputs():
        got = answer(record, name)
        expect(isinstance(got, dict), f"{name}: no results")
        size = math.prod(shape)
        J = t.jacobian(torch.randn(1, *shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64),
                       params).reshape(size, size)                         # dT/dx by torch.func, not the matrix
        want = s**2 * J @ J.T
        expect(torch.allclose(want, s**2 * transform_matrix(t, params, shape) @ transform_matrix(t, params, shape).T,
                              atol=1e-12), "internal: the two oracles disagree")
        close(got["covariance"], want, f"{name}: the covariance", atol=1e-10)
        coincide = boolean(got["coincide"], f"{name}: spaces_coincide")
        expect(coincide == orthogonal, f"{name}: the spaces {'do' if orthogonal else 'do not'} coincide "
                                       f"(spaces_coincide returned {coincide})")
        number_close(got["level"], math.sqrt(torch.diagonal(want).mean().item()), f"{name}: the noise level",
                     atol=1e-9)


def q3_sample_identity(record):
    for name, model, shape, n, steps in cases.q3_models():
        got = answer(record, name)
        expect(isinstance(got, dict), f"{name}: no samples")
        samples = tensor(got["samples"], f"{name}: the samples", (n, *shape))
        if name == "a model that reads omega":
            seen = got["omegas"]
            expect(isinstance(seen, list) and seen, f"{name}: the model was never called")
            for omega in seen:
                expect(isinstance(omega, torch.Tensor) and tuple(omega.shape) == (n, 2) and bool((omega == 0).all()),
                       f"{name}: it must be sampled with omega = 0 for every sample")
        reference = cases.q3_models()[[m[0] for m in cases.q3_models()].index(name)][1]
        want = sampling.sample(reference, shape, range(n), num_steps=steps)
        close(samples, want.double(), f"{name}: seeds 0 ... n-1, Heun with num_steps = {steps}", atol=1e-5)


CHECKS = {"q1_training_pair": q1_training_pair, "q2_noise_covariance": q2_noise_covariance,
          "q3_sample_identity": q3_sample_identity}
__all__ = ["CHECKS", "Failed"]
