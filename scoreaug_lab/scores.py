"""Analytic and ideal denoisers and scores.

The ideal (memorising) denoiser of a finite training set {x_i}: with x0 uniform on the set and
y = x0 + sigma n, the posterior mean is a softmax over squared distances,

    D*(y; sigma) = sum_i w_i(y) x_i,   w_i(y) = softmax_i(-||y - x_i||^2 / (2 sigma^2)).

A network that matches D* can only reproduce training points: memorisation. Tweedie's formula links
denoiser and score of the noisy marginal: D(y; sigma) = y + sigma^2 grad_y log p_sigma(y).

Analytic oracles: a Gaussian N(mean, cov) and a Gaussian mixture (scoreaug_lab.data.GaussianMixture) at
any noise level sigma. Push-forward scores through maps y = f(x) (see pushforward_score):

    grad log p_Y(y) = J_{f^-1}(y)^T s_X(f^-1(y)) + grad_y log|det J_{f^-1}(y)|

with the special cases a linear map (A^-T s_X(A^-1 y)), an orthogonal map of noisy data
(s_T(y; sigma) = T s(T^T y; sigma) at every sigma) and a scaling y = a x (noise level a sigma,
D_Y(y; a sigma) = a D_X(y / a; sigma)). scoreaug_lab.symbolic derives the same formulas with sympy.
"""
from __future__ import annotations

import math

import torch

from . import validation as V
from .transforms.linear import transform_matrix  # noqa: F401  (re-exported: the matrix of a linear T)


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0], -1)


def ideal_weights(y: torch.Tensor, sigma, train: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    """Posterior weights w (B, N) over the training points for noisy inputs y (B, ...), float64."""
    V.batch("y", y)
    V.batch("train (the training set)", train)
    if y.shape[1:] != train.shape[1:]:
        raise ValueError(f"y {tuple(y.shape[1:])} and the training points {tuple(train.shape[1:])} differ in shape")
    y64, x64 = _flat(y).double(), _flat(train).double()
    sigma = V.noise_levels("sigma", torch.as_tensor(sigma, dtype=torch.float64, device=y.device)).reshape(-1)
    if sigma.numel() not in (1, y.shape[0]):
        raise ValueError(f"sigma must be a scalar or have {y.shape[0]} entries, got {sigma.numel()}")
    sigma = sigma.expand(y.shape[0])
    x_sq = (x64**2).sum(1)
    out = []
    for start in range(0, y64.shape[0], chunk):  # chunks bound the (B, N) distance matrix
        yc, sc = y64[start:start + chunk], sigma[start:start + chunk]
        sq = (yc**2).sum(1, keepdim=True) - 2 * yc @ x64.T + x_sq[None]  # ||y - x_i||^2
        out.append(torch.softmax(-sq.clamp(min=0) / (2 * sc[:, None] ** 2), dim=1))
    return torch.cat(out)


def ideal_denoiser(y: torch.Tensor, sigma, train: torch.Tensor, values: torch.Tensor | None = None,
                   chunk: int = 1024) -> torch.Tensor:
    """D*(y; sigma) = sum_i w_i(y) v_i with v_i = x_i (or given `values`, e.g. T(x_i)); same shape as y,
    float64. Scalar sigma or one per sample."""
    w = ideal_weights(y, sigma, train, chunk)
    v = _flat(train if values is None else values).double()
    return (w @ v).reshape(y.shape[0], *(train if values is None else values).shape[1:])


def ideal_score(y: torch.Tensor, sigma, train: torch.Tensor) -> torch.Tensor:
    """Score of the noisy empirical distribution: (D*(y) - y) / sigma^2."""
    return denoiser_to_score(y.double(), sigma, ideal_denoiser(y, sigma, train))


def _sigma_like(sigma, y: torch.Tensor) -> torch.Tensor:
    s = V.noise_levels("sigma", torch.as_tensor(sigma, dtype=y.dtype, device=y.device))
    return s.reshape(-1, *([1] * (y.ndim - 1))) if s.ndim else s


def denoiser_to_score(y: torch.Tensor, sigma, denoised: torch.Tensor) -> torch.Tensor:
    """Tweedie: grad log p_sigma(y) = (D(y) - y) / sigma^2."""
    return (denoised - y) / _sigma_like(sigma, y) ** 2


def score_to_denoiser(y: torch.Tensor, sigma, score: torch.Tensor) -> torch.Tensor:
    """Tweedie: D(y) = y + sigma^2 grad log p_sigma(y)."""
    return y + _sigma_like(sigma, y) ** 2 * score


# --- analytic scores and denoisers --------------------------------------------------------------------
# A Gaussian N(mean, cov) stays Gaussian under noise: p_sigma = N(mean, cov + sigma^2 I). The Gaussian
# mixture (isotropic components) holds its own closed forms: GaussianMixture.score(y, sigma), .denoiser(y, sigma).
# Every score and denoiser here takes (y, sigma, <what defines the law>) in that order.

def _gaussian_parts(y: torch.Tensor, sigma, mean, cov):
    """(y - mean) (B, d), noisy covariance cov + sigma^2 I (B or 1, d, d), the clean covariance (d, d)."""
    y = torch.as_tensor(y, dtype=torch.float64)
    if y.ndim != 2:
        raise ValueError(f"points must be (B, d), got shape {tuple(y.shape)}")
    d = y.shape[1]
    mean = torch.as_tensor(mean, dtype=torch.float64, device=y.device).reshape(-1)
    cov = torch.as_tensor(cov, dtype=torch.float64, device=y.device)
    if cov.ndim == 0:
        cov = cov * torch.eye(d, dtype=torch.float64, device=y.device)
    if mean.shape != (d,) or cov.shape != (d, d):
        raise ValueError(f"mean must have {d} entries and cov shape ({d}, {d}); got {tuple(mean.shape)}, "
                         f"{tuple(cov.shape)}")
    if not torch.allclose(cov, cov.T, atol=1e-12) or torch.linalg.eigvalsh(cov).min() <= 0:
        raise ValueError("cov must be symmetric positive definite")
    sigma = torch.as_tensor(sigma, dtype=torch.float64, device=y.device).reshape(-1, 1, 1)  # (B or 1, 1, 1)
    if (sigma < 0).any():
        raise ValueError("sigma must be >= 0")
    eye = torch.eye(d, dtype=torch.float64, device=y.device)
    return y - mean, cov + sigma**2 * eye, cov


def gaussian_log_prob(y, sigma, mean, cov) -> torch.Tensor:
    """log N(y; mean, cov + sigma^2 I), (B,). cov: (d, d) or a scalar variance; sigma = 0: the clean law."""
    diff, noisy, _ = _gaussian_parts(y, sigma, mean, cov)
    chol = torch.linalg.cholesky(noisy)                                         # (B or 1, d, d)
    z = torch.linalg.solve_triangular(chol, diff.unsqueeze(-1), upper=False).squeeze(-1)  # (B, d)
    log_det = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)     # (B or 1,)
    return -0.5 * (z**2).sum(1) - 0.5 * log_det - 0.5 * diff.shape[1] * math.log(2 * math.pi)


def gaussian_score(y, sigma, mean, cov) -> torch.Tensor:
    """grad_y log N(y; mean, cov + sigma^2 I) = -(cov + sigma^2 I)^-1 (y - mean), (B, d)."""
    diff, noisy, _ = _gaussian_parts(y, sigma, mean, cov)
    return -torch.linalg.solve(noisy, diff.unsqueeze(-1)).squeeze(-1)


def gaussian_denoiser(y, sigma, mean, cov) -> torch.Tensor:
    """E[x0 | x0 + sigma n = y] for x0 ~ N(mean, cov): mean + cov (cov + sigma^2 I)^-1 (y - mean), (B, d)."""
    diff, noisy, clean = _gaussian_parts(y, sigma, mean, cov)
    return torch.as_tensor(mean, dtype=torch.float64).reshape(-1) + (
        clean @ torch.linalg.solve(noisy, diff.unsqueeze(-1))).squeeze(-1)


def autograd_score(log_prob_fn):
    """y (B, d) -> grad_y log p(y) (B, d) by torch.func, for a batched log_prob_fn (B, d) -> (B,)."""
    def single(yi):
        return log_prob_fn(yi.unsqueeze(0)).squeeze(0)

    return lambda y: torch.func.vmap(torch.func.grad(single))(y)


# --- push-forward scores ------------------------------------------------------------------------------
# For an invertible map y = f(x) with inverse g = f^-1:
#     p_Y(y) = p_X(g(y)) |det J_g(y)|
#     grad log p_Y(y) = J_g(y)^T s_X(g(y))      (the transported score)
#                     + grad_y log|det J_g(y)|  (the volume-change term; zero for linear maps)

def _flat_single(inverse_map, event_shape):
    """g on one flattened point (D,) -> (D,), calling the batched inverse_map on a batch of one."""
    def single(y_flat):
        return inverse_map(y_flat.reshape(1, *event_shape)).reshape(-1)
    return single


def pushforward_score_terms(score_fn, inverse_map):
    """Build y -> (transported, volume) for the push-forward of p_X through y = f(x), given x's score.

    score_fn: batched score of X, (B, *event) -> (B, *event); it is only evaluated, never differentiated.
    inverse_map: batched g = f^-1, (B, *event) -> (B, *event), written in torch operations (torch.func
    differentiates it; it must act on each row independently).
    Returns a function of y (B, *event) giving two tensors of y's shape:
        transported = J_g(y)^T s_X(g(y)),   volume = grad_y log|det J_g(y)|.
    Jacobians come from torch.func.jacrev under vmap; the volume term is jacrev of slogdet(J_g)."""
    def terms(y: torch.Tensor):
        if y.ndim < 2:
            raise ValueError(f"y must be batched (B, ...), got shape {tuple(y.shape)}")
        event = y.shape[1:]
        single = _flat_single(inverse_map, event)
        flat = y.reshape(y.shape[0], -1)                                        # (B, D)

        def log_abs_det(yi):
            return torch.linalg.slogdet(torch.func.jacrev(single)(yi)).logabsdet

        jac = torch.func.vmap(torch.func.jacrev(single))(flat)                  # (B, D, D) = dg/dy
        x = inverse_map(y)                                                      # (B, *event)
        s_x = score_fn(x).reshape(y.shape[0], -1).to(flat.dtype)                # (B, D)
        transported = (jac.transpose(1, 2) @ s_x.unsqueeze(-1)).squeeze(-1)     # J_g^T s_X(g(y))
        volume = torch.func.vmap(torch.func.jacrev(log_abs_det))(flat)          # (B, D)
        return transported.reshape(y.shape), volume.reshape(y.shape)

    return terms


def pushforward_score(score_fn, inverse_map):
    """Build y -> grad_y log p_Y(y) = J_g(y)^T s_X(g(y)) + grad_y log|det J_g(y)| (batched, torch.func).
    See pushforward_score_terms for the arguments; this is the sum of its two terms."""
    terms = pushforward_score_terms(score_fn, inverse_map)

    def score(y):
        transported, volume = terms(y)
        return transported + volume

    return score


def pushforward_log_prob(log_prob_fn, inverse_map):
    """Build y -> log p_Y(y) = log p_X(g(y)) + log|det J_g(y)|, (B,); log_prob_fn: (B, *event) -> (B,).
    Its autograd gradient (autograd_score) is the score of the transformed distribution."""
    def log_prob(y):
        single = _flat_single(inverse_map, y.shape[1:])
        jac = torch.func.vmap(torch.func.jacrev(single))(y.reshape(y.shape[0], -1))
        return log_prob_fn(inverse_map(y)) + torch.linalg.slogdet(jac).logabsdet

    return log_prob


def _square_matrix(A, name: str = "A") -> torch.Tensor:
    A = torch.as_tensor(A, dtype=torch.float64)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square matrix (d, d), got shape {tuple(A.shape)}")
    return A


def linear_pushforward_score(score_fn, A):
    """y = A x with A invertible (d, d): s_Y(y) = A^-T s_X(A^-1 y) (the volume term is constant, so it
    drops out). score_fn: (B, d) -> (B, d). For noisy-space data y = A (x0 + sigma n), pass x's noisy
    score at that sigma."""
    A = _square_matrix(A)
    if torch.linalg.matrix_rank(A) < A.shape[0]:
        raise ValueError("A is singular: y = A x has no density on R^d (the push-forward is degenerate)")

    def score(y):
        x = torch.linalg.solve(A.to(y.device), y.double().T).T                  # A^-1 y, (B, d)
        return torch.linalg.solve(A.T.to(y.device), score_fn(x).double().T).T   # A^-T s_X(x)

    return score


def _orthogonal_matrix(T) -> torch.Tensor:
    T = _square_matrix(T, "T")
    err = (T @ T.T - torch.eye(T.shape[0], dtype=torch.float64)).abs().max().item()
    if err > 1e-10:
        raise ValueError(f"T is not orthogonal (max |T T^T - I| = {err:.3g}): the noise T(sigma n) has "
                         "covariance sigma^2 T T^T != sigma^2 I, so the noisy marginal does not commute with T")
    return T


def orthogonal_noisy_score(score_fn, T):
    """Orthogonal T (d, d): the noisy marginal of T(x) at sigma is the push-forward of x's noisy marginal,
    so s_T(y; sigma) = T s(T^T y; sigma) at every sigma. score_fn: (y (B, d), sigma) -> (B, d)."""
    T = _orthogonal_matrix(T)
    return lambda y, sigma: score_fn(y.double() @ T.to(y.device), sigma).double() @ T.T.to(y.device)


def orthogonal_noisy_denoiser(denoiser_fn, T):
    """Orthogonal T: the optimal denoiser is equivariant, D_T(y; sigma) = T D(T^T y; sigma)."""
    T = _orthogonal_matrix(T)
    return lambda y, sigma: denoiser_fn(y.double() @ T.to(y.device), sigma).double() @ T.T.to(y.device)


def _positive_scale(a) -> float:
    a = float(a)
    if not math.isfinite(a) or a <= 0:
        raise ValueError(f"the scale a must be a finite number > 0, got {a}")
    return a


def scaled_noisy_denoiser(denoiser_fn, a):
    """y = a x: a (x0 + sigma n) = a x0 + (a sigma) n, so the noise level becomes a sigma and
    D_Y(y; a sigma) = a D_X(y / a; sigma). Returns (y, sigma_y) -> a D_X(y / a; sigma_y / a)."""
    a = _positive_scale(a)
    return lambda y, sigma_y: a * denoiser_fn(y / a, torch.as_tensor(sigma_y, dtype=torch.float64) / a)


def scaled_noisy_score(score_fn, a):
    """y = a x: s_Y(y; a sigma) = s_X(y / a; sigma) / a. Returns (y, sigma_y) -> s_X(y / a; sigma_y / a) / a."""
    a = _positive_scale(a)
    return lambda y, sigma_y: score_fn(y / a, torch.as_tensor(sigma_y, dtype=torch.float64) / a) / a


# --- transforms of scoreaug_lab.transforms with fixed parameters -----------------------------------------

def _fixed_params(transform, params) -> torch.Tensor:
    params = torch.as_tensor(params, dtype=torch.float64).reshape(1, -1)
    return transform.check_params(params, 1)


def transform_inverse_map(transform, params):
    """g = T^-1 for a Transform with one fixed parameter row (n_params,) or (1, n_params): a batched
    function (B, ...) -> (B, ...) usable under torch.func, with no input checks inside (points outside T's
    image give NaN, e.g. a gap in a plotted density). Its `.check(y)` raises the transform's own ValueError
    for such points; the push-forward scores below call it before any differentiation."""
    if not transform.invertible:
        raise ValueError(f"transform {transform.name!r} is not invertible: no push-forward density")
    params = _fixed_params(transform, params)

    def params_for(y):
        return params.to(device=y.device, dtype=y.dtype).expand(y.shape[0], -1)

    def inverse(y):
        return transform._inverse(y, params_for(y))

    def checked(y):
        transform._check_x(y, "y")
        transform._check_inverse_domain(y, params_for(y))
        return y

    inverse.check = checked
    return inverse


def transform_pushforward_score_terms(score_fn, transform, params):
    """(transported, volume) terms of the push-forward score under y = T(x; params), params fixed."""
    inverse = transform_inverse_map(transform, params)
    terms = pushforward_score_terms(score_fn, inverse)
    return lambda y: terms(inverse.check(y))


def transform_pushforward_score(score_fn, transform, params):
    """Score of the distribution of T(x; params) for x with score score_fn (B, d) -> (B, d), params fixed:
    y -> J_{T^-1}(y)^T s_X(T^-1 y) + grad_y log|det J_{T^-1}(y)|, batched (torch.func)."""
    inverse = transform_inverse_map(transform, params)
    score = pushforward_score(score_fn, inverse)
    return lambda y: score(inverse.check(y))
