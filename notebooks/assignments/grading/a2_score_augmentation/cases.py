"""Assignment 2, the hidden inputs and how each answer is called on them (sent into the sandbox).

Each probe gets `call` (or a dict of calls, one per function of the question): the student's function with the
question's library twin refused while it runs; it returns plain data that checks.py judges in the grader.
"""
import math

import torch

from scoreaug_lab.data import ring_mixture
from scoreaug_lab.transforms import get_transform
from scoreaug_lab.transforms.base import Transform

GRID = ("noaug", "clean", "clean-omega", "noisy", "scoreaug")
FORBIDDEN = {
    "q1_training_pair": ["scoreaug_lab.diffusion.make_training_pair"],
    "q2_noise_covariance": ["scoreaug_lab.transforms.linear.image_noise_summary",
                            "scoreaug_lab.transforms.linear.point_noise_summary",
                            "scoreaug_lab.transforms.linear.sparse_image_matrix"],
    "q3_sample_identity": [],
}


# --- question 1 -----------------------------------------------------------------------------------------------
def q1_inputs():
    """[(name, x0, sigma, noise, transform, params)]: the visible rot90 batch, then points and images of several
    shapes (one sample; three channels; float32) under linear, non-linear and non-orthogonal transforms."""
    g = torch.Generator().manual_seed(0)
    visible = (torch.randn(6, 2, generator=g, dtype=torch.float64),
               torch.tensor([0.1, 0.5, 1.0, 2.0, 0.3, 0.7], dtype=torch.float64))
    out = [("rot90 on points (the visible batch)", visible[0], visible[1],
            torch.randn(6, 2, generator=g, dtype=torch.float64), get_transform("rot90", "points"),
            torch.tensor([[0.0], [1.0], [2.0], [3.0], [1.0], [2.0]], dtype=torch.float64))]
    g = torch.Generator().manual_seed(5)
    shapes = [("shear", "points", (2,), 7), ("scale", "points", (2,), 7), ("quadratic_shear", "points", (2,), 7),
              ("translate", "points", (2,), 7), ("reflect", "points", (2,), 1), ("brightness", "images", (1, 6, 6), 7),
              ("cutout", "images", (3, 6, 6), 5), ("rot90", "images", (1, 6, 6), 7), ("translate", "images", (1, 5, 5), 7),
              ("xflip", "images", (3, 4, 4), 1)]
    for name, kind, shape, batch in shapes:
        t = get_transform(name, kind)
        x0 = 0.5 * torch.randn(batch, *shape, generator=g, dtype=torch.float64)
        sig = torch.exp(torch.randn(batch, generator=g, dtype=torch.float64) - 0.5)
        noise = torch.randn(batch, *shape, generator=g, dtype=torch.float64)
        out.append((f"{name} on {kind} of shape {shape}, batch {batch}", x0, sig, noise, t,
                    t.sample_params(batch, g).double()))
    t = get_transform("rotate", "points")
    x0, sig, noise = (torch.randn(4, 2, generator=g), torch.rand(4, generator=g) + 0.1, torch.randn(4, 2, generator=g))
    out.append(("rotate on float32 points", x0, sig, noise, t, t.sample_params(4, g)))
    return out


def q1_training_pair(call):
    out = {}
    for name, x0, sig, noise, t, params in q1_inputs():
        for variant in GRID:
            got = call(x0.clone(), sig.clone(), noise.clone(), t, params.clone(), variant)
            out[f"{name}, {variant}"] = list(got) if isinstance(got, tuple) else got
    return out


# --- question 2 -----------------------------------------------------------------------------------------------
class NeighbourMix(Transform):
    """(x_p + x_left(p)) / sqrt(2), circularly along each image row: every pixel keeps the variance of white
    noise, but neighbours become correlated (a map that is not orthogonal although no pixel's variance changes)."""

    name, n_params, omega_dim, event_ndim, linear, affine = "neighbour_mix", 1, 1, 3, True, True

    def _sample(self, batch, generator, device):
        return torch.zeros(batch, 1, device=device)

    def _apply(self, x, params):
        return (x + torch.roll(x, 1, dims=-1)) / math.sqrt(2)

    def encode(self, params):
        return torch.zeros(params.shape[0], 1, dtype=params.dtype)


def q2_inputs():
    """[(name, transform, params row, event_shape, sigma, orthogonal?)]."""
    g = torch.Generator().manual_seed(3)
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(1, generator=g, dtype=torch.float64).item()  # noqa: E731
    rows = [("rot90 of 4x4 images (visible)", "rot90", "images", (1, 4, 4), [1.0], 0.3, True),
            ("brightness 1.5 of 4x4 images (visible)", "brightness", "images", (1, 4, 4), [math.log(1.5)], 0.3, False),
            ("rotate points", "rotate", "points", (2,), [u(0.3, 2.8)], None, True),
            ("reflect points", "reflect", "points", (2,), [1.0, u(0.2, 3.0)], None, True),
            ("shear points", "shear", "points", (2,), [u(0.2, 0.5)], None, False),
            ("scale points", "scale", "points", (2,), [u(0.2, 0.6)], None, False),
            ("xflip of 3x4 images", "xflip", "images", (1, 3, 4), [1.0], None, True),
            ("circular shift of 4x4 images", "translate_circular", "images", (1, 4, 4), [1.0, 2.0], None, True),
            ("darker brightness", "brightness", "images", (1, 3, 3), [-u(0.2, 0.6)], None, False),
            ("cutout", "cutout", "images", (1, 4, 4), [0.5, 0.5, 0.5], None, False),
            ("zero-padded translation", "translate", "images", (1, 4, 4), [1.0, -1.0], None, False),
            ("brightness at a = 1 (the identity)", "brightness", "images", (2, 3, 3), [0.0], None, True),
            ("zero-padded translation by (0, 0) (the identity)", "translate", "images", (1, 4, 4), [0.0, 0.0], None,
             True),
            ("shear 0 of points (the identity)", "shear", "points", (2,), [0.0], None, True),
            ("rot90 of 2-channel 3x3 images", "rot90", "images", (2, 3, 3), [3.0], None, True)]
    out = []
    for name, transform, kind, shape, row, sigma, orthogonal in rows:
        out.append((name, get_transform(transform, kind), torch.tensor([row], dtype=torch.float64), shape,
                    sigma if sigma is not None else u(0.2, 2.0), orthogonal))
    out.append(("a map that keeps each pixel's variance but correlates neighbours", NeighbourMix(),
                torch.zeros(1, 1, dtype=torch.float64), (1, 3, 4), u(0.2, 2.0), False))
    return out


def q2_noise_covariance(calls):
    out = {}
    for name, t, params, shape, s, _ in q2_inputs():
        out[name] = {"covariance": calls["noisy_space_noise_covariance"](t, params.clone(), shape, s),
                     "coincide": calls["spaces_coincide"](t, params.clone(), shape, s),
                     "level": calls["noise_level"](t, params.clone(), shape, s)}
    return out


# --- question 3 -----------------------------------------------------------------------------------------------
class RotatedIdeal:
    """Reads omega = (cos t - 1, sin t) (rotate's code) and returns the ideal denoiser of the training set turned
    by t: at omega = 0 the data themselves. Records every omega it is given."""

    omega_dim, label_dim, sigma_data, device = 2, 0, 0.5, torch.device("cpu")

    def __init__(self, train):
        self.train, self.rotate, self.seen = train, get_transform("rotate"), []

    def __call__(self, x, sigma, omega=None, labels=None):
        from scoreaug_lab import scores

        omega = torch.zeros(x.shape[0], 2, dtype=torch.float64) if omega is None else omega.double()
        self.seen.append(omega.clone())
        t = torch.atan2(omega[:, 1], omega[:, 0] + 1)[:, None]
        back = self.rotate.apply(x.double(), -t)
        return self.rotate.apply(scores.ideal_denoiser(back, sigma, self.train), t).to(x.dtype)


def q3_models():
    """[(name, model, data_shape, n, num_steps)], built afresh on every call (same weights every time)."""
    from scoreaug_lab.models import build_model
    from scoreaug_lab.oracles import IdealDenoiser

    train = ring_mixture().sample(16, torch.Generator().manual_seed(0)).double()
    skewed = ring_mixture().sample(20, torch.Generator().manual_seed(4)).double() @ torch.tensor(
        [[1.0, 0.3], [0.0, 0.8]], dtype=torch.float64)
    images = torch.rand(12, 1, 3, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    out = [("the ideal denoiser of 16 ring points (visible)", IdealDenoiser(train), (2,), 8, 18),
           ("a model that reads omega", RotatedIdeal(skewed), (2,), 24, 7),
           ("the ideal denoiser of 3x3 images", IdealDenoiser(images), (1, 3, 3), 6, 9)]
    for omega_dim in (0, 3):
        torch.manual_seed(0)
        net = build_model("mlp", (2,), width=16, depth=1, fourier_features=4, omega_dim=omega_dim).eval()
        out.append((f"a network with omega_dim = {omega_dim}", net, (2,), 10, 5))
    return out


def q3_sample_identity(call):
    out = {}
    for name, model, shape, n, steps in q3_models():
        samples = call(model, shape, n, num_steps=steps)
        out[name] = {"samples": samples, "omegas": getattr(model, "seen", None)}
    return out


PROBES = {"q1_training_pair": q1_training_pair, "q2_noise_covariance": q2_noise_covariance,
          "q3_sample_identity": q3_sample_identity}
