"""The per-sample transform sampler: one transform per sample (the identity with probability 1 - p), its
parameters and its code omega, applied in batches (a loop over transforms, never over the batch)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .base import cast_params, check_finite, uniform


@dataclass
class Draw:
    """One draw of the sampler: which transform each sample got (-1 = identity) and its parameters."""

    choice: torch.Tensor          # (B,) long, index into the sampler's transforms or -1
    params: list                  # one (B, n_params_k) tensor per transform (rows of others unused)

    def to(self, device) -> "Draw":
        return Draw(self.choice.to(device), [p.to(device) for p in self.params])

    def select(self, idx) -> "Draw":
        """The draw of a subset of the batch (a micro-batch or a data-parallel shard)."""
        return Draw(self.choice[idx], [p[idx] for p in self.params])

    def rows(self, k: int) -> torch.Tensor:
        """Indices of the samples that got transform k (computed once, then cached)."""
        cache = self.__dict__.setdefault("_rows", {})
        if k not in cache:
            cache[k] = (self.choice == k).nonzero(as_tuple=True)[0]
        return cache[k]

    def mask(self, k: int) -> torch.Tensor:
        """(B, 1) bool: the samples that got transform k (computed once, then cached: the training step
        uses it to transform the pair and again to encode omega)."""
        cache = self.__dict__.setdefault("_masks", {})
        if k not in cache:
            cache[k] = (self.choice == k).unsqueeze(1)
        return cache[k]


class TransformSampler:
    """Draws one transform per sample (the identity with probability 1 - p) and its omega.

    omega has one slot per transform, concatenated: a sample transformed by T_k carries encode_k(params)
    in slot k and zeros elsewhere; an untransformed sample carries all zeros.
    """

    def __init__(self, transforms, p: float = 1.0, weights=None):
        self.transforms = list(transforms)
        if not self.transforms:
            raise ValueError("TransformSampler needs at least one transform")
        if not 0.0 <= p <= 1.0 or not math.isfinite(p):
            raise ValueError(f"augmentation probability must lie in [0, 1], got {p}")
        kinds = {t.event_ndim for t in self.transforms}
        if len(kinds) > 1:
            raise ValueError("cannot mix point and image transforms in one sampler")
        self.p = float(p)
        w = torch.ones(len(self.transforms)) if weights is None else torch.as_tensor(weights, dtype=torch.float)
        if w.shape != (len(self.transforms),) or (w < 0).any() or w.sum() <= 0:
            raise ValueError("weights must be one non-negative number per transform, not all zero")
        self.cum_weights = torch.cumsum(w / w.sum(), 0)
        dims = [t.omega_dim for t in self.transforms]
        self.slots = [slice(a, a + d) for a, d in zip([0] + list(torch.tensor(dims).cumsum(0)[:-1].tolist()), dims)]
        self.omega_dim = sum(dims)

    @property
    def names(self):
        return [t.name for t in self.transforms]

    def draw(self, batch: int, generator: torch.Generator | None = None, device=None) -> Draw:
        """Random choices and parameters. The amount of randomness used does not depend on the outcome,
        so a run's random stream (and its resume) is reproducible."""
        u = uniform(batch, 0.0, 1.0, generator, device, cols=2)
        # transform k when u1 falls in its slice of [0, 1): count the cumulative weights below u1
        which = (u[:, 1:] >= self._thresholds(u.device)).sum(dim=1)
        choice = torch.where(u[:, 0] < self.p, which, -1)
        params = [t.sample_params(batch, generator, device) for t in self.transforms]
        return Draw(choice, params)

    def _thresholds(self, device) -> torch.Tensor:
        """The cumulative weights but the last, on `device` (moved once per device, not per draw)."""
        cache = self.__dict__.setdefault("_threshold_cache", {})
        if device not in cache:
            cache[device] = self.cum_weights[:-1].to(device)
        return cache[device]

    def identity_draw(self, batch: int, device=None) -> Draw:
        choice = torch.full((batch,), -1, dtype=torch.long, device=device)
        return Draw(choice, [t.identity_params(batch, device) for t in self.transforms])

    def _map(self, x: torch.Tensor, draw: Draw, inverse: bool, check_values: bool = True) -> torch.Tensor:
        # The sampler's own draws hold valid parameters by construction and x is checked once (shape,
        # and finite values unless check_values=False: the training hot path, whose data were checked
        # where they entered, skips that host sync); per-transform checks are skipped.
        for t in self.transforms:
            t._check_shape(x)
        if check_values:
            check_finite("input", x)
        if not inverse and self.whole_batch:
            return self._map_whole_batch(x, [draw.mask(k) for k in range(len(self.transforms))], draw.params)
        out = x.clone()
        for k, t in enumerate(self.transforms):  # loop over transforms, never over the batch
            idx = draw.rows(k)
            if idx.numel() == 0:
                continue
            params = cast_params(draw.params[k][idx], x)
            if inverse:
                t._check_inverse_domain(x[idx], params)
                out[idx] = t._inverse(x[idx], params)
            else:
                out[idx] = t._apply(x[idx], params)
        return out

    @property
    def whole_batch(self) -> bool:
        """Points are tiny: transforming the whole batch with every transform and picking each sample's
        result costs fewer operations than gathering and scattering subsets (images: the opposite)."""
        return self.transforms[0].event_ndim == 1

    def _map_whole_batch(self, x: torch.Tensor, masks: list, params: list) -> torch.Tensor:
        """Every transform on every row; row i keeps transform k's result where masks[k][i] (B, 1) holds."""
        out = x
        for k, t in enumerate(self.transforms):
            out = torch.where(masks[k], t._apply(x, cast_params(params[k], x)), out)
        return out

    def apply(self, x: torch.Tensor, draw: Draw) -> torch.Tensor:
        return self._map(x, draw, inverse=False)

    def apply_unchecked(self, x: torch.Tensor, draw: Draw) -> torch.Tensor:
        """`apply` without the finite-value check (no host sync): for data already checked."""
        return self._map(x, draw, inverse=False, check_values=False)

    def apply_pair(self, a: torch.Tensor, b: torch.Tensor, draw: Draw) -> tuple[torch.Tensor, torch.Tensor]:
        """(T(a), T(b)) for two batches that share one draw, e.g. the clean target T(x0) and the noisy
        input T(x0 + sigma n) of ScoreAug, in one pass over the transforms (the training hot path: no
        finite-value check, the data were checked where they entered)."""
        n = a.shape[0]
        # the draw stacked twice (torch.cat is several times cheaper than Tensor.repeat on the CPU)
        params = [torch.cat([p, p]) for p in draw.params]
        if self.whole_batch:   # points: the draw's own masks (cached: `encode` uses them again), stacked
            both = torch.cat([a, b])
            for t in self.transforms:
                t._check_shape(both)
            masks = [torch.cat([draw.mask(k)] * 2) for k in range(len(self.transforms))]
            both = self._map_whole_batch(both, masks, params)
        else:
            both = self._map(torch.cat([a, b]), Draw(torch.cat([draw.choice] * 2), params), inverse=False,
                             check_values=False)
        return both[:n], both[n:]

    def inverse(self, y: torch.Tensor, draw: Draw) -> torch.Tensor:
        return self._map(y, draw, inverse=True)

    def encode(self, draw: Draw) -> torch.Tensor:
        """omega (B, omega_dim): zeros for the identity, transform k's code in its slot."""
        batch = draw.choice.shape[0]
        if self.whole_batch:  # encode every row, keep each sample's own slot (see whole_batch)
            return torch.cat([torch.where(draw.mask(k), t.encode(draw.params[k]).float(), 0.0)
                              for k, t in enumerate(self.transforms)], dim=1)
        omega = torch.zeros(batch, self.omega_dim, device=draw.choice.device)
        for k, t in enumerate(self.transforms):
            idx = draw.rows(k)
            if idx.numel():
                omega[idx, self.slots[k]] = t.encode(draw.params[k].to(omega.device)[idx]).to(omega.dtype)
        return omega

    def omega_for(self, name: str, params: torch.Tensor) -> torch.Tensor:
        """omega of transform `name` with the given parameters for every sample (for evaluation)."""
        k = self.index(name)
        omega = torch.zeros(params.shape[0], self.omega_dim, device=params.device)
        omega[:, self.slots[k]] = self.transforms[k].encode(params).to(omega.dtype)
        return omega

    def index(self, name: str) -> int:
        if name not in self.names:
            raise ValueError(f"transform {name!r} is not in this sampler ({', '.join(self.names)})")
        return self.names.index(name)

    def __repr__(self) -> str:
        return f"TransformSampler({self.names}, p={self.p})"
