"""Two augmentations at once (the "combined" variant of the grid): EDM-style clean-space transforms, applied to
x0 before the noise, and ScoreAug's noisy-space transforms, applied after it, drawn independently per sample:

    input  T_n(T_c(x0) + sigma n)      target  T_n(T_c(x0))      omega = [omega_c, omega_n]

Each stage is a `TransformSampler` with its own transforms and probability; omega concatenates their codes
(zeros = no transform in either stage), so one model is told both. The object offers the sampler interface
that evaluation and widgets use (transforms, names, omega_dim, index, omega_for, draw, encode, apply)."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .sampler import Draw, TransformSampler


@dataclass
class TwoStageDraw:
    clean: Draw
    noisy: Draw

    def select(self, idx) -> "TwoStageDraw":
        return TwoStageDraw(self.clean.select(idx), self.noisy.select(idx))

    def to(self, device) -> "TwoStageDraw":
        return TwoStageDraw(self.clean.to(device), self.noisy.to(device))


class TwoStageSampler:
    """clean (TransformSampler) before the noise, noisy (TransformSampler) after it."""

    def __init__(self, clean: TransformSampler, noisy: TransformSampler):
        if clean.transforms[0].event_ndim != noisy.transforms[0].event_ndim:
            raise ValueError("the clean-space and noisy-space transforms must act on the same kind of data")
        clash = set(clean.names) & set(noisy.names)
        if clash:
            raise ValueError(f"a transform may be in one stage only (omega_for would be ambiguous): {sorted(clash)}")
        self.clean, self.noisy = clean, noisy
        self.transforms = clean.transforms + noisy.transforms
        self.omega_dim = clean.omega_dim + noisy.omega_dim

    @property
    def names(self):
        return self.clean.names + self.noisy.names

    def stage_of(self, name: str) -> str:
        """"clean" or "noisy": the stage a transform belongs to."""
        if name in self.clean.names:
            return "clean"
        self.noisy.index(name)  # a clear error for an unknown name
        return "noisy"

    def index(self, name: str) -> int:
        return self.names.index(name) if name in self.names else self.noisy.index(name)

    def draw(self, batch: int, generator: torch.Generator | None = None, device=None) -> TwoStageDraw:
        return TwoStageDraw(self.clean.draw(batch, generator, device), self.noisy.draw(batch, generator, device))

    def identity_draw(self, batch: int, device=None) -> TwoStageDraw:
        return TwoStageDraw(self.clean.identity_draw(batch, device), self.noisy.identity_draw(batch, device))

    def encode(self, draw: TwoStageDraw) -> torch.Tensor:
        """omega (B, omega_dim) = [omega_clean, omega_noisy]."""
        return torch.cat([self.clean.encode(draw.clean), self.noisy.encode(draw.noisy)], dim=1)

    def omega_for(self, name: str, params: torch.Tensor) -> torch.Tensor:
        """omega of one transform (the other stage's slots zero), for every row of params."""
        zeros_clean = torch.zeros(params.shape[0], self.clean.omega_dim, device=params.device)
        zeros_noisy = torch.zeros(params.shape[0], self.noisy.omega_dim, device=params.device)
        if self.stage_of(name) == "clean":
            return torch.cat([self.clean.omega_for(name, params), zeros_noisy], dim=1)
        return torch.cat([zeros_clean, self.noisy.omega_for(name, params)], dim=1)

    def apply(self, x: torch.Tensor, draw: TwoStageDraw) -> torch.Tensor:
        """T_n(T_c(x)): both stages on a clean batch (for reference sets; training uses `training_pair`)."""
        return self.noisy.apply(self.clean.apply(x, draw.clean), draw.noisy)

    def training_pair(self, x0: torch.Tensor, sigma_noise: torch.Tensor, draw: TwoStageDraw):
        """(target T_n(T_c(x0)), input T_n(T_c(x0) + sigma n)) with sigma_noise = sigma n, (B, ...) each."""
        moved = self.clean.apply_unchecked(x0, draw.clean)
        return self.noisy.apply_pair(moved, moved + sigma_noise, draw.noisy)

    def __repr__(self) -> str:
        return f"TwoStageSampler(clean={self.clean!r}, noisy={self.noisy!r})"


__all__ = ["TwoStageSampler", "TwoStageDraw"]
