"""Images for plotly Image traces: a PNG data URI is far cheaper to send to the browser than the nested lists of `z`."""
from __future__ import annotations

import base64
import io

import numpy as np
import torch
from einops import rearrange
from PIL import Image as PILImage

MIN_IMAGE_PIXELS = 64


def to_rgb(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] (C = 1 or 3) -> (H, W, 3) uint8 (clipped)."""
    x = image.detach().double()
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    return rearrange(((x.clamp(-1, 1) + 1) * 127.5).round().byte(), "c h w -> h w c").numpy()


def png_source(image: torch.Tensor) -> tuple[str, int]:
    """(C, H, W) in [-1, 1] -> (PNG data URI, upscale factor f). Small images are enlarged by an integer factor f
    (nearest neighbour, so pixels stay crisp); a trace with dx = dy = 1/f keeps its axes in original pixels."""
    rgb = to_rgb(image)
    f = max(1, -(-MIN_IMAGE_PIXELS // max(rgb.shape[:2])))
    if f > 1:
        rgb = rgb.repeat(f, axis=0).repeat(f, axis=1)
    buf = io.BytesIO()
    PILImage.fromarray(rgb).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), f


def set_image(trace, image: torch.Tensor) -> None:
    """Show the (C, H, W) image in a plotly Image trace (in place)."""
    source, f = png_source(image)
    trace.source = source
    if trace.dx != 1 / f:
        trace.dx = trace.dy = 1 / f


BLANK = png_source(torch.zeros(1, 2, 2))[0]

__all__ = ["to_rgb", "png_source", "set_image", "BLANK", "MIN_IMAGE_PIXELS"]
