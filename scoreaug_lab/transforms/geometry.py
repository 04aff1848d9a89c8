"""Pixel-grid helpers for the image transforms: exact moves by index gathering, resampling by grid_sample.

Coordinates: row i (down) and column j (right); centred pixel coordinates are x = j - (W-1)/2 (right)
and y = i - (H-1)/2 (down). A positive angle turns the picture counter-clockwise as it is displayed
(the way torch.rot90(x, 1, dims=(-2, -1)) turns it).

Everything here is batched over samples (no Python loop over the batch) and works under torch.func.vmap.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

INTERPOLATIONS = ("bilinear", "nearest")


def pixel_indices(height: int, width: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Row indices (H, 1) and column indices (1, W) as long tensors."""
    rows = torch.arange(height, device=device).view(height, 1)
    cols = torch.arange(width, device=device).view(1, width)
    return rows, cols


def gather_pixels(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor,
                  valid: torch.Tensor | None = None) -> torch.Tensor:
    """out[b, c, i, j] = x[b, c, rows[b, i, j], cols[b, i, j]], and 0 where `valid` is False.

    x (B, C, H, W); rows, cols, valid broadcast to (B, H, W). Exact: values are copied, never mixed.
    """
    batch, channels, height, width = x.shape
    inside_rows = rows.clamp(0, height - 1)
    inside_cols = cols.clamp(0, width - 1)
    flat = (inside_rows * width + inside_cols).expand(batch, height, width)            # (B, H, W)
    index = flat.reshape(batch, 1, height * width).expand(batch, channels, height * width)
    out = x.reshape(batch, channels, height * width).gather(2, index).reshape(batch, channels, height, width)
    if valid is not None:
        out = torch.where(valid.expand(batch, height, width).unsqueeze(1), out, torch.zeros_like(out))
    return out


def rot90_sources(k: torch.Tensor, size: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Source (rows, cols), each (B, N, N), of a per-sample quarter turn k (B, 1, 1) of N x N images.

    k = 1: out[i, j] = x[j, N-1-i] (counter-clockwise, as torch.rot90); k = 2: x[N-1-i, N-1-j];
    k = 3: x[N-1-j, i].
    """
    i, j = pixel_indices(size, size, device)
    last = size - 1
    rows = torch.where(k == 0, i, torch.where(k == 1, j, torch.where(k == 2, last - i, last - j)))
    cols = torch.where(k == 0, j, torch.where(k == 1, last - i, torch.where(k == 2, last - j, i)))
    return rows, cols


def shift_sources(shift_rows: torch.Tensor, shift_cols: torch.Tensor, height: int, width: int, device):
    """Source (rows, cols) of a translation by per-sample integer shifts (B, 1, 1), before wrapping or
    padding: out[i, j] = x[i - dy, j - dx] (the torch.roll convention)."""
    i, j = pixel_indices(height, width, device)
    return i - shift_rows, j - shift_cols                                              # (B, H, 1), (B, 1, W)


def rotation_matrix(theta: torch.Tensor) -> torch.Tensor:
    """(B, 2, 2) matrix turning centred pixel coordinates (x right, y down) counter-clockwise on screen
    by theta (B,) radians: (x, y) -> (x cos + y sin, -x sin + y cos)."""
    c, s = theta.cos(), theta.sin()
    return torch.stack([torch.stack([c, s], -1), torch.stack([-s, c], -1)], -2)


def low_precision(dtype: torch.dtype) -> bool:
    return dtype in (torch.float16, torch.bfloat16)


def resample(x: torch.Tensor, inverse_matrix: torch.Tensor, shift: torch.Tensor,
             mode: str = "bilinear") -> torch.Tensor:
    """Resample x (B, C, H, W) under the affine map q -> A q + t of centred pixel coordinates.

    The caller passes A^-1 (B, 2, 2) and t (B, 2) in pixels (x right, y down): each output pixel p reads
    the input at q = A^-1 (p - t), interpolated by `mode`, zero outside the image (one grid_sample).
    """
    if mode not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {mode!r}")
    work = torch.float32 if low_precision(x.dtype) else x.dtype
    batch, _, height, width = x.shape
    ys = torch.arange(height, device=x.device, dtype=work) - (height - 1) / 2
    xs = torch.arange(width, device=x.device, dtype=work) - (width - 1) / 2
    points = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)                    # (H, W, 2) as (x, y)
    points = points.unsqueeze(0) - shift.to(work).view(batch, 1, 1, 2)                  # (B, H, W, 2)
    source = torch.einsum("bkl,bhwl->bhwk", inverse_matrix.to(work), points)           # (B, H, W, 2)
    # centred pixel coordinate -> grid_sample's [-1, 1] with align_corners=False: u = 2 x / W
    scale = torch.tensor([2.0 / width, 2.0 / height], device=x.device, dtype=work)
    out = F.grid_sample(x.to(work), source * scale, mode=mode, padding_mode="zeros", align_corners=False)
    return out.to(x.dtype)
