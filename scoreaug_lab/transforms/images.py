"""Transforms of images (B, C, H, W), pixels in [-1, 1]; parameters (B, n_params), one row per sample.

name               params (per sample)                 omega (zeros = identity)            flags
brightness         ln a,  ln a ~ U(-max_log, max_log)  ln a                                linear, invertible
translate          (dy, dx) integer pixels, zero pad   (dy, dx) / max_shift                linear
translate_circular (dy, dx) integer pixels, wrapped    (dy, dx) / max_shift                orthogonal, invertible
cutout             (size, cy, cx) fractions of H, W    size (its place is not encoded)     linear
rot90              k in {0, 1, 2, 3} quarter turns     one-hot(k)[1:]                      orthogonal, invertible
xflip / yflip      bit b (mirror left-right / up-down) b                                   orthogonal, invertible
rotate             theta (radians), any angle          (cos theta - 1, sin theta)          linear, interpolated
geometric          (ln s, theta, ln r, phi, tx, ty)    (ln s, cos theta - 1, sin theta,    linear, interpolated
                   EDM-style scale/rotate/aniso/shift   ln r cos 2phi, ln r sin 2phi, tx, ty)

Exact transforms move pixels by index gathering (exact_on_grid); `rotate` and `geometric` resample with
one grid_sample (bilinear or nearest, zero padding) and are linear in the pixel values but neither
orthogonal nor exact. `rotate_nearest` and `geometric_nearest` are the nearest-neighbour versions under
their own names (so that a spec string, whose option values are numbers, can pick them).

Facts worth seeing (tests/test_transforms_images.py and tests/test_transforms_resampled.py measure them,
`transforms.linear` computes them): orthogonal maps only permute pixels, so white noise stays white with the
same variance; brightness multiplies the noise level by a; translate and cutout leave noise-free zeros; bilinear
rotation keeps only about 4/9 of the white-noise variance and correlates neighbours.
"""
from __future__ import annotations

import math
import torch

from . import controls as C
from .base import Transform, quarter_turn_code, randint, uniform
from .geometry import (gather_pixels, low_precision, pixel_indices, rot90_sources, shift_sources)


class ImageTransform(Transform):
    """A transform of images (B, C, H, W) with floating-point pixels."""

    event_ndim = 3

    def _check_input(self, x):
        if not x.is_floating_point():
            raise ValueError(f"{self.name}: images must be floating point (B, C, H, W), got {x.dtype}")
        if min(x.shape[1:]) < 1:
            raise ValueError(f"{self.name}: empty image shape {tuple(x.shape)}")

    def options(self) -> dict:
        return {}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options().items())
        return f"{type(self).__name__}({opts})"


def _check_integers(name: str, values: torch.Tensor, low=None, high=None, what="parameters") -> None:
    if (values != values.round()).any():
        raise ValueError(f"{name}: {what} must be whole numbers")
    if low is not None and (values < low).any() or high is not None and (values > high).any():
        raise ValueError(f"{name}: {what} must lie in [{low}, {high}]")


# ---------------------------------------------------------------------------------------------------
class Brightness(C.LogScaleControls, ImageTransform):
    """x -> a x with ln a ~ U(-max_log, max_log) (default a in [1/1.5, 1.5]); omega = ln a.

    Pixels live in [-1, 1], so this scales about mid-grey. Linear, not orthogonal: the noise level
    sigma becomes a * sigma. Invertible (x = y / a)."""

    name, n_params, omega_dim = "brightness", 1, 1
    linear = affine = invertible = True

    def __init__(self, max_log: float = math.log(1.5)):
        if not math.isfinite(max_log) or max_log < 0:
            raise ValueError(f"brightness: max_log must be a finite number >= 0, got {max_log}")
        self.max_log = float(max_log)

    def options(self):
        return {"max_log": self.max_log}

    def _sample(self, batch, generator, device):
        return uniform(batch, -self.max_log, self.max_log, generator, device)

    def _apply(self, x, params):
        return x * params.exp().view(-1, 1, 1, 1)

    def _inverse(self, y, params):
        return y * (-params).exp().view(-1, 1, 1, 1)

    def encode(self, params):
        return params.clone()


class Translate(ImageTransform):
    """Integer shift by (dy, dx) pixels (down, right), each uniform on {-max_shift, ..., max_shift};
    pixels shifted in from outside are 0 (zero padding). omega = (dy, dx) / max_shift.

    Linear but not orthogonal: the rows and columns shifted out are lost (the matrix is a partial
    permutation), so it is not invertible. Exact on the grid."""

    name, n_params, omega_dim = "translate", 2, 2
    linear = affine = True
    circular = False
    controls = (C.SHIFT_DOWN, C.SHIFT_RIGHT)

    def _controls_to_row(self, v):
        return [float(v["dy"]), float(v["dx"])]

    def _amount_to_row(self, amount):
        return [0.0, float(round(amount * self.max_shift))]

    def __init__(self, max_shift: int = 4):
        if max_shift != int(max_shift) or max_shift < 0:
            raise ValueError(f"{self.name}: max_shift must be a whole number of pixels >= 0, got {max_shift}")
        self.max_shift = int(max_shift)

    def options(self):
        return {"max_shift": self.max_shift}

    def _sample(self, batch, generator, device):
        return randint(batch, 2 * self.max_shift + 1, generator, device, cols=2) - self.max_shift

    def check_params(self, params, batch=None):
        params = super().check_params(params, batch)
        _check_integers(self.name, params, what="shifts (dy, dx)")
        return params

    def _sources(self, params, height, width, device):
        shifts = params.round().long()
        return shift_sources(shifts[:, 0].view(-1, 1, 1), shifts[:, 1].view(-1, 1, 1), height, width, device)

    def _apply(self, x, params):
        _, _, height, width = x.shape
        rows, cols = self._sources(params, height, width, x.device)
        if self.circular:
            return gather_pixels(x, rows.remainder(height), cols.remainder(width))
        valid = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        return gather_pixels(x, rows, cols, valid)

    def encode(self, params):
        return params / max(self.max_shift, 1)


class TranslateCircular(Translate):
    """Integer shift by (dy, dx) with wrap-around (torch.roll per sample); omega = (dy, dx) / max_shift.
    A permutation of the pixels: orthogonal, exactly invertible (shift back)."""

    name = "translate_circular"
    orthogonal = invertible = True
    circular = True

    def _inverse(self, y, params):
        return self._apply(y, -params)


class Cutout(ImageTransform):
    """Sets a square of side round(size * min(H, W)) pixels to 0. params (size, cy, cx): size ~
    U(0, max_size) as a fraction of the shorter side (default max_size = 0.5, as EDM's cutout), centre
    (cy, cx) ~ U(0, 1)^2 as fractions of (H, W). The square covers rows [top, top + side) with
    top = floor(cy H) - side // 2 (columns alike), clipped to the image: it may hang over the border.
    omega = size only (the place is not encoded); size 0 is the identity.

    Linear (a 0/1 diagonal mask), not orthogonal, not invertible, exact on the grid."""

    name, n_params, omega_dim = "cutout", 3, 1
    linear = affine = True
    controls = (C.CUT_SIZE, C.CUT_ROW, C.CUT_COL)

    def _controls_to_row(self, v):
        return [v["size"], v["cy"], v["cx"]]

    def _amount_to_row(self, amount):
        return [abs(amount) * self.max_size, 0.5, 0.5]

    def __init__(self, max_size: float = 0.5):
        if not 0.0 <= max_size <= 1.0:
            raise ValueError(f"cutout: max_size is a fraction of the image side in [0, 1], got {max_size}")
        self.max_size = float(max_size)

    def options(self):
        return {"max_size": self.max_size}

    def _sample(self, batch, generator, device):
        size = uniform(batch, 0.0, self.max_size, generator, device)
        centre = uniform(batch, 0.0, 1.0, generator, device, cols=2)
        return torch.cat([size, centre], dim=1)

    def identity_params(self, batch, device=None):
        return torch.tensor([0.0, 0.5, 0.5], device=device).repeat(batch, 1)

    def check_params(self, params, batch=None):
        params = super().check_params(params, batch)
        if ((params < 0) | (params > 1)).any():
            raise ValueError("cutout: size and centre (size, cy, cx) are fractions in [0, 1]")
        return params

    def box(self, params: torch.Tensor, height: int, width: int):
        """Integer (side, top, left) of each sample's square, each (B,), before clipping to the image."""
        p = params.float() if low_precision(params.dtype) else params
        side = torch.round(p[:, 0] * min(height, width))
        top = torch.floor(p[:, 1] * height) - torch.div(side, 2, rounding_mode="floor")
        left = torch.floor(p[:, 2] * width) - torch.div(side, 2, rounding_mode="floor")
        return side, top, left

    def mask(self, params: torch.Tensor, height: int, width: int, device=None) -> torch.Tensor:
        """(B, H, W) bool, True inside the cut-out square (broadcast comparisons, no loop)."""
        side, top, left = (t.view(-1, 1, 1) for t in self.box(params, height, width))
        i, j = pixel_indices(height, width, device if device is not None else params.device)
        return (i >= top) & (i < top + side) & (j >= left) & (j < left + side)

    def _apply(self, x, params):
        _, _, height, width = x.shape
        inside = self.mask(params, height, width, x.device).unsqueeze(1)               # (B, 1, H, W)
        return torch.where(inside, torch.zeros_like(x), x)

    def encode(self, params):
        return params[:, :1].clone()


class Rot90(C.QuarterTurnControls, ImageTransform):
    """Rotation by k quarter turns counter-clockwise, k uniform on {0, 1, 2, 3}; per sample it equals
    torch.rot90(x, k, dims=(-2, -1)) exactly. Square images only. omega = one-hot(k)[1:].
    A pixel permutation: orthogonal, exactly invertible."""

    name, n_params, omega_dim = "rot90", 1, 3
    linear = affine = orthogonal = invertible = True

    def _check_input(self, x):
        super()._check_input(x)
        if x.shape[-1] != x.shape[-2]:
            raise ValueError(f"rot90 needs square images, got shape {tuple(x.shape)}")

    def _sample(self, batch, generator, device):
        return randint(batch, 4, generator, device)

    def check_params(self, params, batch=None):
        params = super().check_params(params, batch)
        _check_integers(self.name, params, 0, 3, what="k")
        return params

    def _apply(self, x, params):
        k = params.round().long().remainder(4).view(-1, 1, 1)
        rows, cols = rot90_sources(k, x.shape[-1], x.device)
        return gather_pixels(x, rows, cols)

    def _inverse(self, y, params):
        return self._apply(y, (4 - params).remainder(4))

    def encode(self, params):
        return quarter_turn_code(params)


class XFlip(C.FlipBitControls, ImageTransform):
    """Mirror left-right (torch.flip on the width axis) where the bit b = 1; omega = b.
    A pixel permutation: orthogonal, its own inverse."""

    name, n_params, omega_dim = "xflip", 1, 1
    linear = affine = orthogonal = invertible = True
    axis = -1

    def _sample(self, batch, generator, device):
        return randint(batch, 2, generator, device)

    def check_params(self, params, batch=None):
        params = super().check_params(params, batch)
        _check_integers(self.name, params, 0, 1, what="the flip bit")
        return params

    def _apply(self, x, params):
        return torch.where(params.view(-1, 1, 1, 1) > 0.5, x.flip(self.axis), x)

    def _inverse(self, y, params):
        return self._apply(y, params)

    def encode(self, params):
        return params.clone()


class YFlip(XFlip):
    """Mirror up-down (torch.flip on the height axis) where the bit b = 1; omega = b."""

    name = "yflip"
    axis = -2
