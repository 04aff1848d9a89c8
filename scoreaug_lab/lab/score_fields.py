"""Score fields in the plane: the numbers behind widgets.ScoreFieldExplorer (and what notebooks 01 and 03 check).

Data: a 2-D Gaussian mixture (data.GaussianMixture) whose noisy marginal p_sigma has a closed-form score and
log-density. Through a point transform T with fixed parameters (inverse g = T^-1) the push-forward score is

    grad log p_Y(y) = J_g(y)^T grad log p_sigma(g(y))  +  grad_y log|det J_g(y)|
                      (the transported score)              (the Jacobian, or volume, term)

(scores.transform_pushforward_score_terms, torch.func). `independent_check` computes the same score by another
route: the closed form where there is one (orthogonal T: T s(T^T y); scaling a: s(y / a) / a at noise a sigma;
other linear A: A^-T s(A^-1 y)), else autograd of the push-forward log-density log p_sigma(g(y)) + log|det J_g(y)|.
A model's score comes from Tweedie, (D(y; sigma) - y) / sigma^2 (scores.denoiser_to_score).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .. import validation as V
from ..denoiser import as_denoiser
from ..scores import (
    autograd_score, denoiser_to_score, linear_pushforward_score, orthogonal_noisy_score, pushforward_log_prob,
    scaled_noisy_score, transform_inverse_map, transform_matrix, transform_pushforward_score_terms)


def square_grid(extent: float, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(axis (size,), points (size * size, 2)) float64 covering [-extent, extent]^2, x varying fastest."""
    extent = V.number("extent", extent, 0, low_open=True)
    size = V.integer("size", size, 2)
    V.count(f"size {size:,} (its size x size grid points)", size * size, 2 * 8)
    axis = torch.linspace(-extent, extent, size, dtype=torch.float64)
    return axis, torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)


def plane_points(name: str, points: torch.Tensor) -> torch.Tensor:
    """`points` if it is a finite batch (G, 2) of points of the plane, else ValueError naming it."""
    V.batch(name, points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"{name} must be points of the plane, shape (G, 2), got {tuple(points.shape)}")
    return points


def inside_image(transform, params: torch.Tensor, y: torch.Tensor, tol: float = 1e-9) -> torch.Tensor:
    """(B,) bool: points y (B, d) that T maps onto, i.e. where g = T^-1 exists (tanh: the open cube |y| < 1/k).
    Found by mapping back and forth, with no knowledge of the particular transform."""
    p = params.to(y.dtype).expand(y.shape[0], -1)
    back = transform._inverse(y, p)
    ok = torch.isfinite(back).all(1) & (back.abs() < 1e6).all(1)
    there = transform._apply(torch.where(ok[:, None], back, torch.zeros_like(back)), p)
    return ok & ((there - y).abs() <= tol * (1 + y.abs())).all(1)


def independent_check(mixture, transform, params: torch.Tensor, sigma: float, y: torch.Tensor):
    """(score at y (B, 2), method): the push-forward score by a route independent of the torch.func terms."""
    if transform.linear and transform.orthogonal:
        mat = transform_matrix(transform, params, 2)
        return orthogonal_noisy_score(mixture.score, mat)(y, sigma), "closed form T s(T^T y; sigma)"
    if transform.name == "scale":
        a = math.exp(params[0, 0].item())
        return (scaled_noisy_score(mixture.score, a)(y, a * sigma),
                "closed form s(y / a; sigma) / a (noise level a sigma)")
    if transform.linear:
        mat = transform_matrix(transform, params, 2)
        return linear_pushforward_score(lambda x: mixture.score(x, sigma), mat)(y), "closed form A^-T s(A^-1 y)"
    log_prob = pushforward_log_prob(lambda x: mixture.log_prob(x, sigma), transform_inverse_map(transform, params))
    return autograd_score(log_prob)(y), "autograd of log p(g(y)) + log|det J_g(y)| (torch.func)"


@dataclass
class PushforwardField:
    """The data score and the push-forward score through T on a grid of G points; NaN outside T's image."""

    data_score: torch.Tensor      # (G, 2) grad log p_sigma
    valid: torch.Tensor           # (G,) bool: inside T's image
    transported: torch.Tensor     # (G, 2) J_g^T s(g(y))
    volume: torch.Tensor          # (G, 2) grad log|det J_g|
    check: torch.Tensor           # (G, 2) the independent check
    method: str                   # how the check was computed

    @property
    def total(self) -> torch.Tensor:
        """(G, 2) the push-forward score: transported + volume."""
        return self.transported + self.volume

    @property
    def check_max_abs_diff(self) -> float:
        diff = (self.total - self.check)[self.valid]
        return diff.abs().max().item() if diff.numel() else 0.0

    @property
    def jacobian_max(self) -> float:
        return self.volume[self.valid].norm(dim=1).max().item() if self.valid.any() else 0.0


def pushforward_field(mixture, transform, params: torch.Tensor, sigma: float, grid: torch.Tensor) -> PushforwardField:
    """Data score, push-forward terms and the independent check at the grid points (G, 2), params (1, n_params)."""
    sigma = V.number("sigma", sigma, 0, low_open=True)
    grid = plane_points("grid", grid)
    params = transform.check_params(torch.as_tensor(params, dtype=torch.float64).reshape(1, -1), 1)
    valid = inside_image(transform, params, grid)
    transported, volume, check = (torch.full_like(grid, float("nan")) for _ in range(3))
    method = "none (no grid point lies in T's image)"
    if valid.any():
        y = grid[valid]
        terms = transform_pushforward_score_terms(lambda x: mixture.score(x, sigma), transform, params)
        transported[valid], volume[valid] = terms(y)
        chk, method = independent_check(mixture, transform, params, sigma, y)
        check[valid] = chk.double()
    return PushforwardField(mixture.score(grid, sigma), valid, transported, volume, check, method)


def log_densities(mixture, transform, params: torch.Tensor, sigma: float, grid: torch.Tensor):
    """(log p_sigma, log p_Y) at the grid points (G, 2), (G,) each; log p_Y is NaN outside T's image."""
    sigma = V.number("sigma", sigma, 0, low_open=True)
    grid = plane_points("grid", grid)
    params = transform.check_params(torch.as_tensor(params, dtype=torch.float64).reshape(1, -1), 1)
    valid = inside_image(transform, params, grid)
    pushed = torch.full((grid.shape[0],), float("nan"), dtype=torch.float64)
    if valid.any():
        y = grid[valid]
        if transform.linear:   # constant Jacobian: log p_X(A^-1 y) - log|det A|
            back = transform._inverse(y, params.expand(y.shape[0], -1))
            logdet = transform.log_abs_det_jacobian(torch.zeros(1, 2, dtype=torch.float64), params)[0]
            pushed[valid] = mixture.log_prob(back, sigma) - logdet
        else:
            inverse = transform_inverse_map(transform, params)
            pushed[valid] = pushforward_log_prob(lambda x: mixture.log_prob(x, sigma), inverse)(y)
    return mixture.log_prob(grid, sigma), pushed


@dataclass
class ModelField:
    """A model's score (Tweedie) on a grid, and how far it is from the data score where the data are."""

    score: torch.Tensor           # (G, 2) (D(y; sigma) - y) / sigma^2 on the grid
    relative_error: float         # sqrt(E|s_model - s|^2 / E|s|^2) at noisy samples y ~ p_sigma


@torch.no_grad()
def model_field(model, mixture, grid: torch.Tensor, samples: torch.Tensor, sigma: float) -> ModelField:
    """The model's score at the grid points (G, 2) and its relative RMS error against the mixture's score at the
    noisy samples (S, 2); one model call (omega = None: the identity)."""
    sigma = V.number("sigma", sigma, 0, low_open=True)
    grid, samples = plane_points("grid", grid), plane_points("samples", samples)
    model = as_denoiser(model)
    points = torch.cat([grid, samples]).double()
    sig = torch.full((points.shape[0],), sigma, device=model.device)
    denoised = model(points.float().to(model.device), sig).double().cpu()
    scores = denoiser_to_score(points, sigma, denoised)
    at_samples, truth = scores[grid.shape[0]:], mixture.score(samples, sigma)
    error = ((at_samples - truth).pow(2).sum(1).mean() / truth.pow(2).sum(1).mean()).sqrt().item()
    return ModelField(scores[:grid.shape[0]], error)


__all__ = ["square_grid", "plane_points", "inside_image", "independent_check", "PushforwardField", "pushforward_field",
           "log_densities", "ModelField", "model_field"]
