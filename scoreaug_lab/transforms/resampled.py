"""Image transforms that resample the pixel grid (one grid_sample, bilinear or nearest, zero padding):
rotation by any angle and EDM's geometric family. Linear in the pixel values, but neither orthogonal nor
exact on the grid: bilinear weights average neighbours, so white noise loses variance and gets correlated."""
from __future__ import annotations

import math

import torch

from . import controls as C
from .base import uniform
from .geometry import INTERPOLATIONS, low_precision, resample, rotation_matrix
from .images import ImageTransform


def _check_interpolation(mode: str) -> str:
    if mode not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {mode!r}")
    return mode


def _normal(batch, std, generator, device, cols=1) -> torch.Tensor:
    """(batch, cols) N(0, std^2) samples drawn on the generator's device, then moved."""
    gen_device = generator.device if generator is not None else device
    z = torch.randn(batch, cols, generator=generator, device=gen_device)
    return (z.to(device) if device is not None else z) * std


def _exact_identity(x, out, is_identity):
    """Return x itself (bit for bit) for the samples whose parameters are the identity."""
    return torch.where(is_identity.view(-1, 1, 1, 1), x, out)


class Rotate(ImageTransform):
    """Rotation about the image centre by theta ~ U(-max_angle, max_angle) (max_angle in degrees, default
    180: any angle), counter-clockwise on screen; params hold theta in radians. Resampled with
    grid_sample (interpolation 'bilinear' or 'nearest'), zero outside the image; exactly the input at
    theta = 0. omega = (cos theta - 1, sin theta).

    Linear in the pixel values, not orthogonal (bilinear weights average neighbours: about 4/9 of white
    noise variance is kept; corners are lost), not exact on the grid, not invertible."""

    name, n_params, omega_dim = "rotate", 1, 2
    linear = affine = True
    exact_on_grid = False
    controls = (C.ANGLE,)

    def _controls_to_row(self, v):
        return [math.radians(v["angle"])]

    def _amount_to_row(self, amount):
        return [math.radians(amount * self.max_angle)]

    def __init__(self, max_angle: float = 180.0, interpolation: str = "bilinear"):
        if not math.isfinite(max_angle) or max_angle < 0:
            raise ValueError(f"rotate: max_angle (degrees) must be a finite number >= 0, got {max_angle}")
        self.max_angle = float(max_angle)
        self.interpolation = _check_interpolation(interpolation)
        self.name = "rotate" if interpolation == "bilinear" else "rotate_nearest"

    def options(self):
        return {"max_angle": self.max_angle, "interpolation": self.interpolation}

    def _sample(self, batch, generator, device):
        limit = math.radians(self.max_angle)
        return uniform(batch, -limit, limit, generator, device)

    def _apply(self, x, params):
        theta = (params.float() if low_precision(params.dtype) else params)[:, 0]
        zero = torch.zeros_like(theta).view(-1, 1)
        out = resample(x, rotation_matrix(-theta), torch.cat([zero, zero], 1), self.interpolation)
        return _exact_identity(x, out, theta == 0)

    def encode(self, params):
        return torch.cat([params.cos() - 1.0, params.sin()], dim=1)


class RotateNearest(Rotate):
    """`rotate` with nearest-neighbour interpolation (keeps each pixel's variance, duplicates some)."""

    name = "rotate_nearest"

    def __init__(self, max_angle: float = 180.0, interpolation: str = "nearest"):
        super().__init__(max_angle, interpolation)


class Geometric(ImageTransform):
    """EDM-style geometric augmentation composed into one affine map per sample, one grid_sample.

    params (ln s, theta, ln r, phi, tx, ty):
      isotropic scale s,  log2 s ~ N(0, scale_std^2)              (default 0.2, as EDM)
      rotation theta ~ U(-max_angle, max_angle) degrees            (default 180; stored in radians)
      anisotropic stretch r along the axis at angle phi and 1/r across it,
                          log2 r ~ N(0, aniso_std^2), phi ~ U(-pi, pi)   (default 0.2)
      translation (tx, ty) ~ N(0, translate_std^2) fractions of (W, H)   (default 0.125, as EDM)
    p_each < 1: as EDM's augmentation pipeline, each of the four operations (scale, rotation, stretch,
    translation) is applied independently with probability p_each (its parameters are the identity otherwise),
    so an image is left untouched with probability (1 - p_each)^4; p_each = 1 (default) applies all four.
    The content point q (centred pixels) moves to R(theta) R(phi) diag(r, 1/r) R(-phi) s q + t.
    omega = (ln s, cos theta - 1, sin theta, ln r cos 2phi, ln r sin 2phi, tx, ty): zeros at the
    identity, and the same code for the equivalent (r, phi) and (1/r, phi + pi/2).

    Linear in the pixel values (a resampling matrix), not orthogonal, not exact, not invertible."""

    name, n_params, omega_dim = "geometric", 6, 7
    linear = affine = True
    exact_on_grid = False
    controls = (C.LOG2_SCALE, C.ANGLE, C.LOG2_ANISO, C.ANISO_ANGLE, C.SHIFT_X_FRACTION, C.SHIFT_Y_FRACTION)

    def _controls_to_row(self, v):
        ln2 = math.log(2.0)
        return [v["log2_scale"] * ln2, math.radians(v["angle"]), v["log2_aniso"] * ln2,
                math.radians(v["aniso_angle"]), v["tx"], v["ty"]]

    def _amount_to_row(self, amount):  # amount standard deviations of scale, the angle range, no stretch or shift
        return [amount * self.scale_std * math.log(2.0), math.radians(amount * self.max_angle), 0.0, 0.0, 0.0, 0.0]

    def __init__(self, scale_std: float = 0.2, max_angle: float = 180.0, aniso_std: float = 0.2,
                 translate_std: float = 0.125, interpolation: str = "bilinear", p_each: float = 1.0):
        for key, value in (("scale_std", scale_std), ("max_angle", max_angle), ("aniso_std", aniso_std),
                           ("translate_std", translate_std)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"geometric: {key} must be a finite number >= 0, got {value}")
        if not (isinstance(p_each, (int, float)) and 0.0 <= p_each <= 1.0):
            raise ValueError(f"geometric: p_each must be a probability in [0, 1], got {p_each!r}")
        self.p_each = float(p_each)
        self.scale_std, self.max_angle = float(scale_std), float(max_angle)
        self.aniso_std, self.translate_std = float(aniso_std), float(translate_std)
        self.interpolation = _check_interpolation(interpolation)
        self.name = "geometric" if interpolation == "bilinear" else "geometric_nearest"

    def options(self):
        return {"scale_std": self.scale_std, "max_angle": self.max_angle, "aniso_std": self.aniso_std,
                "translate_std": self.translate_std, "interpolation": self.interpolation, "p_each": self.p_each}

    def _sample(self, batch, generator, device):
        log_scale = _normal(batch, self.scale_std * math.log(2), generator, device)
        theta = uniform(batch, -math.radians(self.max_angle), math.radians(self.max_angle), generator, device)
        log_aniso = _normal(batch, self.aniso_std * math.log(2), generator, device)
        phi = uniform(batch, -math.pi, math.pi, generator, device)
        shift = _normal(batch, self.translate_std, generator, device, cols=2)
        params = torch.cat([log_scale, theta, log_aniso, phi, shift], dim=1)
        if self.p_each < 1.0:   # each operation on its own coin (drawn always: the stream does not branch)
            on = uniform(batch, 0.0, 1.0, generator, device, cols=4) < self.p_each      # scale, rot, stretch, shift
            params = params * on[:, [0, 1, 2, 2, 3, 3]].to(params.dtype)
        return params

    @staticmethod
    def inverse_matrix(params: torch.Tensor) -> torch.Tensor:
        """A^-1 (B, 2, 2) = s^-1 R(phi) diag(1/r, r) R(-phi) R(-theta) of the linear part."""
        log_scale, theta, log_aniso, phi = params[:, 0], params[:, 1], params[:, 2], params[:, 3]
        stretch = torch.diag_embed(torch.stack([(-log_aniso).exp(), log_aniso.exp()], -1))
        aniso_inv = rotation_matrix(phi) @ stretch @ rotation_matrix(-phi)
        return (-log_scale).exp().view(-1, 1, 1) * (aniso_inv @ rotation_matrix(-theta))

    def _apply(self, x, params):
        _, _, height, width = x.shape
        params = params.float() if low_precision(params.dtype) else params
        shift = params[:, 4:6] * torch.tensor([width, height], device=x.device, dtype=params.dtype)
        out = resample(x, self.inverse_matrix(params), shift, self.interpolation)
        active = params[:, [0, 1, 2, 4, 5]]
        return _exact_identity(x, out, (active == 0).all(dim=1))

    def encode(self, params):
        log_scale, theta, log_aniso, phi = params[:, :1], params[:, 1:2], params[:, 2:3], params[:, 3:4]
        return torch.cat([log_scale, theta.cos() - 1.0, theta.sin(), log_aniso * (2 * phi).cos(),
                          log_aniso * (2 * phi).sin(), params[:, 4:6]], dim=1)


class GeometricNearest(Geometric):
    """`geometric` with nearest-neighbour interpolation."""

    name = "geometric_nearest"

    def __init__(self, scale_std: float = 0.2, max_angle: float = 180.0, aniso_std: float = 0.2,
                 translate_std: float = 0.125, interpolation: str = "nearest", p_each: float = 1.0):
        super().__init__(scale_std, max_angle, aniso_std, translate_std, interpolation, p_each)
