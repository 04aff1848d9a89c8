"""Point transforms that change the noise: linear but not orthogonal (scale, the analogue of image brightness,
and shear: noise covariance sigma^2 A A^T) and non-linear invertible maps (tanh squashing, the quadratic
shear (x1, x2 + a x1^2)), whose push-forward scores carry a Jacobian term."""
from __future__ import annotations

import math

import torch

from .. import validation as V
from . import controls as C
from .base import Transform, uniform
from .points import PlanarTransform


class Scale(C.LogScaleControls, Transform):
    """Isotropic scaling x -> a x with ln a ~ U(-max_log, max_log); omega = ln a.
    Not orthogonal: noise sigma becomes a * sigma (the analogue of image brightness)."""

    name, n_params, omega_dim = "scale", 1, 1
    linear = affine = invertible = True

    def __init__(self, max_log: float = math.log(1.5)):
        self.max_log = V.number("scale: max_log", max_log, 0.0, 10.0)

    def _sample(self, batch, generator, device):
        return uniform(batch, -self.max_log, self.max_log, generator, device)

    def _apply(self, x, params):
        return x * params.exp()

    def _inverse(self, y, params):
        return y * (-params).exp()

    def encode(self, params):
        return params.clone()


class Shear(PlanarTransform):
    """(x1, x2) -> (x1 + s x2, x2), s ~ U(-max_shear, max_shear); omega = s. Linear, det 1, not orthogonal."""

    name, n_params, omega_dim = "shear", 1, 1
    linear = affine = invertible = True
    controls = (C.SHEAR,)

    def _controls_to_row(self, v):
        return [v["shear"]]

    def _amount_to_row(self, amount):
        return [amount * self.max_shear]

    def __init__(self, max_shear: float = 0.5):
        self.max_shear = V.number("shear: max_shear", max_shear, 0.0, 1e3)

    def _sample(self, batch, generator, device):
        return uniform(batch, -self.max_shear, self.max_shear, generator, device)

    def _apply(self, x, params):
        return torch.cat([x[:, :1] + params * x[:, 1:2], x[:, 1:2]], dim=1)

    def _inverse(self, y, params):
        return torch.cat([y[:, :1] - params * y[:, 1:2], y[:, 1:2]], dim=1)

    def encode(self, params):
        return params.clone()


class TanhSquash(Transform):
    """Coordinate-wise squashing x -> tanh(k x) / k with strength k ~ U(0, max_strength); k = 0 is the
    identity (the limit). Image: the open cube |y| < 1/k; omega = k."""

    name, n_params, omega_dim = "tanh", 1, 1
    invertible = True
    controls = (C.STRENGTH,)

    def _controls_to_row(self, v):
        return [v["strength"]]

    def _amount_to_row(self, amount):
        return [abs(amount) * self.max_strength]

    def __init__(self, max_strength: float = 1.0):
        self.max_strength = V.number("tanh: max_strength", max_strength, 0.0, 1e3)

    def _sample(self, batch, generator, device):
        return uniform(batch, 0.0, self.max_strength, generator, device)

    def check_params(self, params, batch=None):
        params = super().check_params(params, batch)
        if (params < 0).any():
            raise ValueError("tanh: the strength k must be >= 0")
        return params

    def _apply(self, x, params):
        active = params > 1e-12
        k = torch.where(active, params, torch.ones_like(params))  # safe divisor (no NaN gradients)
        return torch.where(active, torch.tanh(k * x) / k, x)

    def _check_inverse_domain(self, y, params):
        if ((params * y.abs()) >= 1).any():
            raise ValueError("tanh: inverse does not exist for |k*y| >= 1 (outside the image of the map)")

    def _inverse(self, y, params):
        active = params > 1e-12
        k = torch.where(active, params, torch.ones_like(params))
        # k = 0 (the identity): atanh sees 0, not y, so neither it nor its gradient is infinite at |y| = 1 (a
        # NaN there survives torch.where's gradient: 0 * inf)
        ky = torch.where(active, k * y, torch.zeros_like(y))
        return torch.where(active, torch.atanh(ky) / k, y)

    def encode(self, params):
        return params.clone()


class QuadraticShear(PlanarTransform):
    """(x1, x2) -> (x1, x2 + a x1^2), a ~ U(-max_a, max_a): a non-linear bijection of R^2 with det J = 1;
    omega = a."""

    name, n_params, omega_dim = "quadratic_shear", 1, 1
    invertible = True
    controls = (C.CURVATURE,)

    def _controls_to_row(self, v):
        return [v["curvature"]]

    def _amount_to_row(self, amount):
        return [amount * self.max_a]

    def __init__(self, max_a: float = 0.5):
        self.max_a = V.number("quadratic_shear: max_a", max_a, 0.0, 1e3)

    def _sample(self, batch, generator, device):
        return uniform(batch, -self.max_a, self.max_a, generator, device)

    def _apply(self, x, params):
        return torch.cat([x[:, :1], x[:, 1:2] + params * x[:, :1] ** 2], dim=1)

    def _inverse(self, y, params):
        return torch.cat([y[:, :1], y[:, 1:2] - params * y[:, :1] ** 2], dim=1)

    def encode(self, params):
        return params.clone()
