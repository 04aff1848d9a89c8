"""A U-Net denoiser of the DDPM++ family (Song et al. 2021, as configured for CIFAR-10 in EDM).

Written afresh from the papers' descriptions. The layout:

    conv_in                       (B, C, H, W) -> (B, model_channels, H, W)
    encoder, per level l          [down block (l > 0)] + num_blocks residual blocks (+ attention at
                                  the chosen resolutions); every output is kept as a skip
    middle, lowest resolution     residual block with attention (optional) + residual block
    decoder, per level, reversed  [up block (l < last)] + (num_blocks + 1) residual blocks, each
                                  fed cat(h, skip); attention after the last one at chosen resolutions
    out                           GroupNorm -> SiLU -> conv3x3 (zero-initialised)

A residual block: GroupNorm -> SiLU -> [resample] -> conv3x3 -> inject the embedding -> GroupNorm ->
SiLU -> dropout -> conv3x3 (zero-initialised), plus a 1x1 projection of the (resampled) input when the
channels change or the block resamples; the sum is scaled by sqrt(1/2). The embedding is added as a
per-channel bias (DDPM++) or, with adaptive_scale=True, applied as scale and shift after the norm.
Down-sampling is 2x2 average pooling, up-sampling nearest-neighbour (the [1, 1] resampling filter).
"""
from __future__ import annotations

import math

import torch
from einops import rearrange
from torch import nn
from torch.nn import functional as F

from .base import EDMDenoiser
from .embedding import ConditionEmbedding

SKIP_SCALE = math.sqrt(0.5)


def group_norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 32 groups of at least 4 channels each (eps 1e-6)."""
    groups = max(1, min(32, channels // 4))
    while channels % groups:
        groups -= 1
    return nn.GroupNorm(groups, channels, eps=1e-6)


def _xavier(layer: nn.Module, zero: bool = False) -> nn.Module:
    """Xavier-uniform weights (or zeros) and zero bias."""
    if zero:
        nn.init.zeros_(layer.weight)
    else:
        nn.init.xavier_uniform_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def resample(x: torch.Tensor, mode: str | None) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, H/2, W/2) for 'down', (B, C, 2H, 2W) for 'up', unchanged for None."""
    if mode == "down":
        return F.avg_pool2d(x, 2)
    if mode == "up":
        return F.interpolate(x, scale_factor=2.0, mode="nearest")
    return x


class SelfAttention2d(nn.Module):
    """Multi-head self-attention over the H*W positions, residual, scaled by sqrt(1/2)."""

    def __init__(self, channels: int, num_heads: int = 1):
        super().__init__()
        if channels % num_heads:
            raise ValueError(f"attention: {channels} channels do not split into {num_heads} heads")
        self.num_heads = num_heads
        self.norm = group_norm(channels)
        self.qkv = _xavier(nn.Conv2d(channels, 3 * channels, 1))
        self.proj = _xavier(nn.Conv2d(channels, channels, 1), zero=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:]
        q, k, v = rearrange(self.qkv(self.norm(x)), "b (three heads d) h w -> three b heads (h w) d", three=3,
                            heads=self.num_heads)                   # each (B, heads, HW, C/heads)
        a = F.scaled_dot_product_attention(q, k, v)                # (B, heads, HW, C/heads)
        return (x + self.proj(rearrange(a, "b heads (h w) d -> b (heads d) h w", h=h, w=w))) * SKIP_SCALE


class ResidualBlock(nn.Module):
    """(B, C_in, H, W), emb (B, E) -> (B, C_out, H', W') with H' = H/2, 2H or H for down, up or None."""

    def __init__(self, in_channels: int, out_channels: int, emb_dim: int, resample_mode: str | None = None,
                 attention: bool = False, num_heads: int = 1, dropout: float = 0.0,
                 adaptive_scale: bool = False):
        super().__init__()
        self.resample_mode, self.adaptive_scale = resample_mode, adaptive_scale
        self.norm0 = group_norm(in_channels)
        self.conv0 = _xavier(nn.Conv2d(in_channels, out_channels, 3, padding=1))
        self.emb = _xavier(nn.Linear(emb_dim, out_channels * (2 if adaptive_scale else 1)))
        self.norm1 = group_norm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv1 = _xavier(nn.Conv2d(out_channels, out_channels, 3, padding=1), zero=True)
        needs_proj = in_channels != out_channels or resample_mode is not None
        self.skip = _xavier(nn.Conv2d(in_channels, out_channels, 1)) if needs_proj else None
        self.attn = SelfAttention2d(out_channels, num_heads) if attention else None

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv0(resample(F.silu(self.norm0(x)), self.resample_mode))
        params = self.emb(emb).to(h.dtype)[:, :, None, None]  # (B, C_out or 2 C_out, 1, 1)
        if self.adaptive_scale:
            scale, shift = params.chunk(2, dim=1)
            h = F.silu(torch.addcmul(shift, self.norm1(h), scale + 1))
        else:
            h = F.silu(self.norm1(h + params))
        h = self.conv1(self.dropout(h))
        x = resample(x, self.resample_mode)
        if self.skip is not None:
            x = self.skip(x)
        x = (h + x) * SKIP_SCALE
        return self.attn(x) if self.attn is not None else x


class UNetDenoiser(EDMDenoiser):
    """Images (B, C, H, W) -> denoised images (B, C, H, W); H and W divisible by 2^(levels - 1).

    channel_mult gives the width of each level as a multiple of model_channels (one level per entry,
    each halving the resolution); attn_resolutions names the resolutions (of an img_resolution-sized
    input) whose blocks carry self-attention; mid_attention puts one at the lowest resolution.
    label_bias gives the class-label layer a bias, as in EDM's SongUNet (labels=None is its zero row).
    """

    def __init__(self, in_channels: int = 3, img_resolution: int = 32, model_channels: int = 128,
                 channel_mult=(2, 2, 2), num_blocks: int = 4, attn_resolutions=(16,),
                 mid_attention: bool = True, num_heads: int = 1, dropout: float = 0.0, emb_mult: int = 4,
                 adaptive_scale: bool = False, sigma_data: float = 0.5, omega_dim: int = 0,
                 label_dim: int = 0, label_bias: bool = False):
        super().__init__(sigma_data, omega_dim, label_dim)
        channel_mult, attn_resolutions = tuple(channel_mult), tuple(attn_resolutions)
        if not channel_mult or min(channel_mult) < 1 or model_channels < 1 or num_blocks < 1:
            raise ValueError("UNetDenoiser needs model_channels >= 1, num_blocks >= 1 and a non-empty "
                             f"channel_mult of positive ints, got {model_channels}, {num_blocks}, {channel_mult}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout}")
        self.in_channels, self.img_resolution = int(in_channels), int(img_resolution)
        self.factor = 2 ** (len(channel_mult) - 1)  # total down-sampling
        if self.img_resolution % self.factor:
            raise ValueError(f"img_resolution {img_resolution} is not divisible by {self.factor} "
                             f"({len(channel_mult)} levels halve it {len(channel_mult) - 1} times)")
        resolutions = [self.img_resolution >> level for level in range(len(channel_mult))]
        unknown = sorted(set(attn_resolutions) - set(resolutions))
        if unknown:
            raise ValueError(f"attn_resolutions {unknown} are not among this U-Net's resolutions {resolutions}")

        emb_dim = model_channels * emb_mult
        self.embed = ConditionEmbedding(emb_dim, noise_channels=model_channels, omega_dim=omega_dim,
                                        label_dim=label_dim, label_bias=label_bias)
        block = dict(emb_dim=emb_dim, num_heads=num_heads, dropout=dropout, adaptive_scale=adaptive_scale)

        # Encoder: every output (conv_in's included) is a skip for the decoder. conv_in is model_channels
        # wide whatever channel_mult[0] is; the first block of level 0 widens it (SongUNet's layout).
        cout = model_channels
        self.conv_in = _xavier(nn.Conv2d(in_channels, cout, 3, padding=1))
        skip_channels = [cout]
        self.enc = nn.ModuleList()
        for level, mult in enumerate(channel_mult):
            if level > 0:
                self.enc.append(ResidualBlock(cout, cout, resample_mode="down", **block))
                skip_channels.append(cout)
            for _ in range(num_blocks):
                cin, cout = cout, model_channels * mult
                self.enc.append(ResidualBlock(cin, cout, attention=resolutions[level] in attn_resolutions,
                                              **block))
                skip_channels.append(cout)

        self.mid = nn.ModuleList([ResidualBlock(cout, cout, attention=mid_attention, **block),
                                  ResidualBlock(cout, cout, **block)])

        # Decoder: up blocks take no skip; the others take cat(h, skip) along channels.
        self.dec = nn.ModuleList()
        self.dec_takes_skip: list[bool] = []
        for level, mult in reversed(list(enumerate(channel_mult))):
            if level < len(channel_mult) - 1:
                self.dec.append(ResidualBlock(cout, cout, resample_mode="up", **block))
                self.dec_takes_skip.append(False)
            for index in range(num_blocks + 1):
                cin, cout = cout + skip_channels.pop(), model_channels * mult
                attention = index == num_blocks and resolutions[level] in attn_resolutions
                self.dec.append(ResidualBlock(cin, cout, attention=attention, **block))
                self.dec_takes_skip.append(True)
        assert not skip_channels

        self.norm_out = group_norm(cout)
        self.conv_out = _xavier(nn.Conv2d(cout, in_channels, 3, padding=1), zero=True)

    def check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"UNetDenoiser expects images (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        if x.shape[2] % self.factor or x.shape[3] % self.factor:
            raise ValueError(f"UNetDenoiser: image size {tuple(x.shape[2:])} is not divisible by its "
                             f"down-sampling factor {self.factor}")

    def raw(self, x_in, c_noise, omega, labels):
        emb = self.embed(c_noise, omega, labels)  # (B, E)
        h = self.conv_in(x_in)
        skips = [h]
        for block in self.enc:
            h = block(h, emb)
            skips.append(h)
        for block in self.mid:
            h = block(h, emb)
        for block, takes_skip in zip(self.dec, self.dec_takes_skip):
            if takes_skip:
                h = torch.cat([h, skips.pop()], dim=1)
            h = block(h, emb)
        return self.conv_out(F.silu(self.norm_out(h)))


# Named configurations (registered in models/__init__.py); attention_at_half means attention at
# resolution H/2 (16x16 for CIFAR-10, as in the EDM paper).
UNET_CONFIGS = {
    # about 0.85 M parameters: a notebook/CPU model with one attention layer (in the middle).
    "unet-tiny": dict(model_channels=32, channel_mult=(1, 1, 2), num_blocks=1, attn_resolutions=(),
                      mid_attention=True),
    "unet-small": dict(model_channels=64, channel_mult=(1, 2, 2), num_blocks=2, attention_at_half=True),
    # EDM's DDPM++ for CIFAR-10 (SongUNet): 128 channels, multipliers 2-2-2, 4 blocks, attention at
    # 16x16, dropout 0.13, a biased label layer; 55,732,739 parameters unconditional, as EDM's.
    "unet-ddpmpp": dict(model_channels=128, channel_mult=(2, 2, 2), num_blocks=4, attention_at_half=True,
                        dropout=0.13, label_bias=True),
}


def build_unet(config: str, data_shape, **kwargs) -> UNetDenoiser:
    """A U-Net from a named configuration for images of shape data_shape = (C, H, W); kwargs override."""
    if len(data_shape) != 3:
        raise ValueError(f"model {config!r} is for images (C, H, W), got data shape {tuple(data_shape)}")
    channels, height, _ = data_shape
    options = dict(UNET_CONFIGS[config])
    if options.pop("attention_at_half", False):
        options["attn_resolutions"] = (height // 2,)
    options.update(kwargs)
    return UNetDenoiser(in_channels=channels, img_resolution=height, **options)
