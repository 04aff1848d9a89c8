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

Facts worth seeing (tests/test_image_transforms.py measures them, `transforms.linear` computes them):
orthogonal maps only permute pixels, so white noise stays white with the same variance; brightness
multiplies the noise level by a; translate and cutout leave noise-free zeros; bilinear rotation keeps
only about 4/9 of the white-noise variance and correlates neighbours.
"""
from __future__ import annotations

import math
import torch

from . import controls as C
from .base import Transform, quarter_turn_code, randint, uniform
from .geometry import (INTERPOLATIONS, gather_pixels, low_precision, pixel_indices, resample,
                       rot90_sources, rotation_matrix, shift_sources)


class ImageTransform(Transform):
    """A transform of images (B, C, H, W) with floating-point pixels."""

    event_ndim = 3

    def _check_input(self, x):
        if not x.is_floating_point():
            raise ValueError(f"{self.name}: images must be floating point (B, C, H, W), got {x.dtype}")
        if min(x.shape[1:]) < 1:
            raise ValueError(f"{self.name}: empty image shape {tuple(x.shape)}")

    def identity_params(self, batch, device=None):
        return torch.zeros(batch, self.n_params, device=device)

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


# ---------------------------------------------------------------------------------------------------
class Brightness(ImageTransform):
    """x -> a x with ln a ~ U(-max_log, max_log) (default a in [1/1.5, 1.5]); omega = ln a.

    Pixels live in [-1, 1], so this scales about mid-grey. Linear, not orthogonal: the noise level
    sigma becomes a * sigma. Invertible (x = y / a)."""

    name, n_params, omega_dim = "brightness", 1, 1
    linear = affine = invertible = True
    controls = (C.SCALE,)

    def _controls_to_row(self, v):
        return [math.log(v["a"])]

    def _amount_to_row(self, amount):
        return [amount * self.max_log]

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


class Rot90(ImageTransform):
    """Rotation by k quarter turns counter-clockwise, k uniform on {0, 1, 2, 3}; per sample it equals
    torch.rot90(x, k, dims=(-2, -1)) exactly. Square images only. omega = one-hot(k)[1:].
    A pixel permutation: orthogonal, exactly invertible."""

    name, n_params, omega_dim = "rot90", 1, 3
    linear = affine = orthogonal = invertible = True
    controls = (C.QUARTER_TURNS,)

    def _controls_to_row(self, v):
        return [float(v["k"])]

    def _amount_to_row(self, amount):
        return [float(round(3 * abs(amount)))]

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


class XFlip(ImageTransform):
    """Mirror left-right (torch.flip on the width axis) where the bit b = 1; omega = b.
    A pixel permutation: orthogonal, its own inverse."""

    name, n_params, omega_dim = "xflip", 1, 1
    linear = affine = orthogonal = invertible = True
    axis = -1
    controls = (C.FLIP,)

    def _controls_to_row(self, v):
        return [float(bool(v["flip"]))]

    def _amount_to_row(self, amount):
        return [float(abs(amount) >= 0.5)]

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
                 translate_std: float = 0.125, interpolation: str = "bilinear"):
        for key, value in (("scale_std", scale_std), ("max_angle", max_angle), ("aniso_std", aniso_std),
                           ("translate_std", translate_std)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"geometric: {key} must be a finite number >= 0, got {value}")
        self.scale_std, self.max_angle = float(scale_std), float(max_angle)
        self.aniso_std, self.translate_std = float(aniso_std), float(translate_std)
        self.interpolation = _check_interpolation(interpolation)
        self.name = "geometric" if interpolation == "bilinear" else "geometric_nearest"

    def options(self):
        return {"scale_std": self.scale_std, "max_angle": self.max_angle, "aniso_std": self.aniso_std,
                "translate_std": self.translate_std, "interpolation": self.interpolation}

    def _sample(self, batch, generator, device):
        log_scale = _normal(batch, self.scale_std * math.log(2), generator, device)
        theta = uniform(batch, -math.radians(self.max_angle), math.radians(self.max_angle), generator, device)
        log_aniso = _normal(batch, self.aniso_std * math.log(2), generator, device)
        phi = uniform(batch, -math.pi, math.pi, generator, device)
        shift = _normal(batch, self.translate_std, generator, device, cols=2)
        return torch.cat([log_scale, theta, log_aniso, phi, shift], dim=1)

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
                 translate_std: float = 0.125, interpolation: str = "nearest"):
        super().__init__(scale_std, max_angle, aniso_std, translate_std, interpolation)


IMAGE_TRANSFORMS = {cls.name: cls for cls in
                    (Brightness, Translate, TranslateCircular, Cutout, Rot90, XFlip, YFlip, Rotate,
                     RotateNearest, Geometric, GeometricNearest)}
