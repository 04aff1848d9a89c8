"""The one protocol every transform follows (the per-sample sampler is in `transforms.sampler`).

A transform T with per-sample parameters `params` (B, n_params) knows how to
  apply(x, params)            T(x), batched, no Python loop over the batch
  inverse(y, params)          T^-1(y) where it exists (else a ValueError)
  encode(params) -> omega     (B, omega_dim), all zeros at the identity
  sample_params(B, generator) random parameters
  jacobian(x, params)         dT/dx per sample through torch.func (vmap of jacrev)
and carries flags:
  linear        T(x) = A x
  affine        T(x) = A x + b (linear maps are affine)
  orthogonal    A is orthogonal (A A^T = I): T(x0 + sigma n) = T(x0) + sigma n' with n' ~ N(0, sigma^2 I),
                so clean-space and noisy-space augmentation coincide (exact noise preservation)
  invertible    an inverse exists on the transform's image
  exact_on_grid for images: no interpolation (pixels are moved, not resampled)
and declares the controls a widget shows for it (`controls`, see `transforms.controls`).
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch

from .controls import check_amount


def check_finite(name: str, t: torch.Tensor) -> None:
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or infinite values")


class Transform(ABC):
    """Base class. Subclasses set the class attributes and implement `_apply` (and `_inverse`)."""

    name: str = "transform"
    n_params: int = 1
    omega_dim: int = 1
    event_ndim: int = 1          # 1 for points (B, d), 3 for images (B, C, H, W)
    linear: bool = False
    affine: bool = False
    orthogonal: bool = False
    invertible: bool = False
    exact_on_grid: bool = True

    # --- to implement -------------------------------------------------------------------------
    @abstractmethod
    def _sample(self, batch: int, generator, device) -> torch.Tensor:
        """Random parameters (batch, n_params) on `device`."""

    def identity_params(self, batch: int, device=None) -> torch.Tensor:
        """Parameters that make T the identity, (batch, n_params): zeros unless a transform says otherwise."""
        return torch.zeros(batch, self.n_params, device=device)

    @abstractmethod
    def _apply(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """T(x) without input checks (used under torch.func transforms)."""

    def _inverse(self, y: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        raise ValueError(f"transform {self.name!r} is not invertible")

    @abstractmethod
    def encode(self, params: torch.Tensor) -> torch.Tensor:
        """omega (B, omega_dim); zeros exactly at the identity."""

    def _check_inverse_domain(self, y: torch.Tensor, params: torch.Tensor) -> None:
        """Raise ValueError where y lies outside the image of T (override where that can happen)."""

    def _check_input(self, x: torch.Tensor) -> None:
        """Raise ValueError for an input of the wrong shape (override for fixed dimensions)."""

    # --- the public, checked interface ----------------------------------------------------------
    def sample_params(self, batch: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        if batch < 0:
            raise ValueError(f"batch must be >= 0, got {batch}")
        return self._sample(batch, generator, device)

    def check_params(self, params: torch.Tensor, batch: int | None = None) -> torch.Tensor:
        if not isinstance(params, torch.Tensor):
            params = torch.as_tensor(params, dtype=torch.float32)
        if params.ndim != 2 or params.shape[1] != self.n_params:
            raise ValueError(
                f"{self.name}: params must have shape (B, {self.n_params}), got {tuple(params.shape)}")
        if batch is not None and params.shape[0] != batch:
            raise ValueError(f"{self.name}: params hold {params.shape[0]} rows for a batch of {batch}")
        check_finite(f"{self.name} params", params)
        return params

    def _check_shape(self, x: torch.Tensor, what: str = "x") -> None:
        if x.ndim != self.event_ndim + 1:
            raise ValueError(f"{self.name}: {what} must have {self.event_ndim + 1} dims (batch first), "
                             f"got shape {tuple(x.shape)}")
        self._check_input(x)

    def _check_x(self, x: torch.Tensor, what: str = "x") -> None:
        self._check_shape(x, what)
        check_finite(f"{self.name} {what}", x)

    def _params_like(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Checked parameters on x's device, in x's dtype (float32 at least: bf16 would round angles)."""
        return cast_params(self.check_params(params, x.shape[0]), x)

    def apply(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        self._check_x(x)
        return self._apply(x, self._params_like(params, x))

    def inverse(self, y: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        if not self.invertible:
            raise ValueError(f"transform {self.name!r} is not invertible")
        self._check_x(y, "y")
        params = self._params_like(params, y)
        self._check_inverse_domain(y, params)
        return self._inverse(y, params)

    def jacobian(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """Per-sample Jacobian dT(x)/dx: (B, *event, *event), via torch.func.vmap(jacrev)."""
        self._check_x(x)
        params = self._params_like(params, x)

        def single(xi, pi):
            return self._apply(xi.unsqueeze(0), pi.unsqueeze(0)).squeeze(0)

        return torch.func.vmap(torch.func.jacrev(single))(x, params)

    def log_abs_det_jacobian(self, x: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """log|det dT/dx| per sample (B,), from the Jacobian (square maps only)."""
        jac = self.jacobian(x, params)
        size = math.prod(x.shape[1:])
        return torch.linalg.slogdet(jac.reshape(x.shape[0], size, size)).logabsdet

    # --- what a widget needs (see transforms.controls) --------------------------------------------
    controls: tuple = ()         # ParamControl per parameter control, in display units

    def _controls_to_row(self, values: dict) -> list:
        raise NotImplementedError(f"transform {self.name!r} does not say how its controls become parameters")

    def _amount_to_row(self, amount: float) -> list:
        raise NotImplementedError(f"transform {self.name!r} does not say what a strength in [-1, 1] means")

    def params_from_controls(self, values: dict) -> torch.Tensor:
        """The parameter row (1, n_params) float64 from control values {name: value} (display units);
        a ValueError naming the control for a missing, non-finite or out-of-range value."""
        if not self.controls:
            raise NotImplementedError(f"transform {self.name!r} declares no controls")
        missing = [c.name for c in self.controls if c.name not in values]
        if missing:
            raise ValueError(f"{self.name}: no value for control(s) {', '.join(missing)}")
        checked = {c.name: c.check(values[c.name]) for c in self.controls}
        return self.check_params(torch.tensor([self._controls_to_row(checked)], dtype=torch.float64), 1)

    def params_at(self, amount: float) -> torch.Tensor:
        """Parameters (1, n_params) at `amount` in [-1, 1] of the transform's sampling range (0: identity)."""
        row = self._amount_to_row(check_amount(amount))
        return self.check_params(torch.tensor([row], dtype=torch.float64), 1)

    def describe(self, values: dict) -> str:
        """'rotate: θ = 30°' from control values, for titles (what the sliders say, not internal numbers)."""
        return f"{self.name}: " + ", ".join(c.text(values[c.name]) for c in self.controls)

    @property
    def flags(self) -> dict:
        return {k: getattr(self, k) for k in ("linear", "affine", "orthogonal", "invertible", "exact_on_grid")}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def cast_params(params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Parameters on x's device in x's dtype, but never below float32."""
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    return params.to(device=x.device, dtype=dtype)


def uniform(batch, low, high, generator, device, cols: int = 1) -> torch.Tensor:
    """(batch, cols) uniform samples on [low, high), drawn on the generator's device, then moved."""
    gen_device = generator.device if generator is not None else device
    u = torch.rand(batch, cols, generator=generator, device=gen_device)
    if device is not None:
        u = u.to(device)
    return u if (low, high) == (0.0, 1.0) else low + (high - low) * u


def randint(batch, high, generator, device, cols: int = 1) -> torch.Tensor:
    """(batch, cols) integers in [0, high) stored as floats (parameters are float tensors)."""
    u = uniform(batch, 0.0, 1.0, generator, device, cols)
    return torch.clamp(torch.floor(u * high), max=high - 1)


def quarter_turn_code(params: torch.Tensor) -> torch.Tensor:
    """omega of a rotation by k quarter turns, params (B, 1) holding k in {0, 1, 2, 3}: one-hot of k
    without the slot of k = 0 (the identity), shape (B, 3)."""
    k = params[:, :1].round()
    return (k == torch.arange(1, 4, device=k.device, dtype=k.dtype)).to(params.dtype)
