"""Transforms of points in R^d (the toy 2-D path). Inputs are (B, d); parameters (B, n_params).

Orthogonal (here):      rotate (any angle), rot90, flip, reflect, translate (Jacobian I)
In `point_warps`:       scale and shear (linear, not orthogonal: noise covariance sigma^2 A A^T), tanh and
                        quadratic_shear (non-linear, invertible)
"""
from __future__ import annotations

import math

import torch

from .. import validation as V
from . import controls as C
from .base import Transform, quarter_turn_code, randint, uniform


class PlanarTransform(Transform):
    """A transform of points in the plane: inputs must be (B, 2)."""

    def _check_input(self, x):
        if x.shape[1] != 2:
            raise ValueError(f"{self.name} acts on 2-D points (B, 2), got shape {tuple(x.shape)}")


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate (B, 2) points counter-clockwise; cos, sin are (B, 1)."""
    x1, x2 = x[:, :1], x[:, 1:2]
    return torch.cat([cos * x1 - sin * x2, sin * x1 + cos * x2], dim=1)


class Rotate(PlanarTransform):
    """Rotation by an angle theta ~ U(-max_angle, max_angle); omega = (cos theta - 1, sin theta)."""

    name, n_params, omega_dim = "rotate", 1, 2
    linear = affine = orthogonal = invertible = True
    controls = (C.ANGLE,)

    def _controls_to_row(self, v):
        return [math.radians(v["angle"])]

    def _amount_to_row(self, amount):
        return [amount * self.max_angle]

    def __init__(self, max_angle: float = math.pi):
        self.max_angle = V.number("rotate: max_angle (radians)", max_angle, 0.0, 100.0)

    def _sample(self, batch, generator, device):
        return uniform(batch, -self.max_angle, self.max_angle, generator, device)

    def _apply(self, x, params):
        return _rotate(x, params.cos(), params.sin())

    def _inverse(self, y, params):
        return _rotate(y, params.cos(), -params.sin())

    def encode(self, params):
        return torch.cat([params.cos() - 1.0, params.sin()], dim=1)


class Rot90(C.QuarterTurnControls, PlanarTransform):
    """Rotation by k * 90 degrees, k in {0, 1, 2, 3}, exact (no trigonometry); omega = one-hot(k)[1:]."""

    name, n_params, omega_dim = "rot90", 1, 3
    linear = affine = orthogonal = invertible = True

    def _sample(self, batch, generator, device):
        return randint(batch, 4, generator, device)

    def check_params(self, params, batch=None):
        params = super().check_params(params, batch)
        if ((params != params.round()) | (params < 0) | (params > 3)).any():
            raise ValueError("rot90: k must be an integer in {0, 1, 2, 3}")
        return params

    # the four quarter-turn matrices; entries 0 and +-1 make the product exact
    MATRICES = torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[0.0, -1.0], [1.0, 0.0]],
                             [[-1.0, 0.0], [0.0, -1.0]], [[0.0, 1.0], [-1.0, 0.0]]])

    def _apply(self, x, params):
        rot = self.MATRICES.to(device=x.device, dtype=x.dtype)[params[:, 0].long() % 4]  # (B, 2, 2)
        return torch.bmm(rot, x.unsqueeze(2)).squeeze(2)

    def _inverse(self, y, params):
        return self._apply(y, (4 - params) % 4)

    def encode(self, params):
        return quarter_turn_code(params)


class Flip(C.FlipBitControls, PlanarTransform):
    """Mirror x1 -> -x1 with a per-sample bit b; omega = b."""

    name, n_params, omega_dim = "flip", 1, 1
    linear = affine = orthogonal = invertible = True

    def _sample(self, batch, generator, device):
        return randint(batch, 2, generator, device)

    def _apply(self, x, params):
        sign = 1.0 - 2.0 * params
        return torch.cat([sign * x[:, :1], x[:, 1:2]], dim=1)

    _inverse = _apply  # a reflection is its own inverse

    def encode(self, params):
        return params.clone()


class Reflect(PlanarTransform):
    """Reflection across the line through 0 at angle phi, applied when bit b = 1.
    params (b, phi); omega = b * (cos 2 phi, sin 2 phi)."""

    name, n_params, omega_dim = "reflect", 2, 2
    linear = affine = orthogonal = invertible = True
    controls = (C.FLIP, C.AXIS_ANGLE)

    def _controls_to_row(self, v):
        return [float(bool(v["flip"])), math.radians(v["axis_angle"])]

    def _amount_to_row(self, amount):
        return [float(amount != 0), abs(amount) * math.pi / 2]

    def _sample(self, batch, generator, device):
        return torch.cat([randint(batch, 2, generator, device), uniform(batch, 0.0, math.pi, generator, device)], 1)

    def _apply(self, x, params):
        b, phi = params[:, :1], params[:, 1:2]
        c, s = (2 * phi).cos(), (2 * phi).sin()
        x1, x2 = x[:, :1], x[:, 1:2]
        reflected = torch.cat([c * x1 + s * x2, s * x1 - c * x2], dim=1)
        return torch.where(b > 0.5, reflected, x)

    _inverse = _apply

    def encode(self, params):
        b, phi = params[:, :1], params[:, 1:2]
        return b * torch.cat([(2 * phi).cos(), (2 * phi).sin()], dim=1)


class Translate(Transform):
    """x -> x + t, t ~ U(-max_shift, max_shift)^d; omega = t. Affine with Jacobian I, so noise is kept
    exactly (flag `orthogonal`), although the map is not linear."""

    name, omega_dim = "translate", 2
    affine = orthogonal = invertible = True
    controls = (C.SHIFT_X, C.SHIFT_Y)

    def _controls_to_row(self, v):
        return [v["shift_x"], v["shift_y"]] + [0.0] * (self.n_params - 2)

    def _amount_to_row(self, amount):
        return [amount * self.max_shift] + [0.0] * (self.n_params - 1)

    def __init__(self, max_shift: float = 0.5, dim: int = 2):
        self.max_shift = V.number("translate: max_shift", max_shift, 0.0, 1e3)
        self.n_params = self.omega_dim = V.integer("translate: dim", dim, 1, 1024)

    def _check_input(self, x):
        if x.shape[1] != self.n_params:
            raise ValueError(f"translate was built for {self.n_params}-D points, got shape {tuple(x.shape)}")

    def _sample(self, batch, generator, device):
        return uniform(batch, -self.max_shift, self.max_shift, generator, device, cols=self.n_params)

    def _apply(self, x, params):
        return x + params

    def _inverse(self, y, params):
        return y - params

    def encode(self, params):
        return params.clone()
