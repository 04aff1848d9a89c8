"""What the overfitting view computes for one setting (a training-set size, a variant, a denoiser): the data,
the denoiser's samples, how many of them copy a training point beside the level of fresh data, and the
train/held-out denoising loss of one sigma band; and the curve of memorisation against training-set size
over the settings visited. Notebooks call it as the OverfittingExplorer does.

Three denoisers of a toy setting (CURVE_DENOISERS):
  network  a run trained by the run store (`runs.store`) from `presets.toy_config` (not built here: see RunStore.get)
  optimum  the variant's optimal denoiser for the finite training set (`optima.variant_optimum`): it memorises
           perfectly, so its samples are (transformed) training points
  truth    the true-distribution denoiser where the data law is closed form (toy:gmm8): samples are fresh data

    store = get_store()
    data, model, key = toy_oracle(store, "toy:gmm8", 64, "noaug", "rot90,flip", denoiser="optimum")
    samples = store.oracle_samples(key, model, data.data_shape, 500)          # (500, 2)
    point = memorisation_point(store, samples, key, data, data_key("toy:gmm8", 64))
    lines = oracle_loss_lines(store, key, model, data, band=1, last_step=1000)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from .. import validation as V
from ..data import load_data
from ..diffusion import get_variant
from ..evaluate.metrics import memorisation, overfitting_gap
from ..optima import variant_optimum
from ..oracles import MixtureDenoiser
from ..transforms import build_sampler

CURVE_DENOISERS = {"network": "trained network", "optimum": "optimum (memorises)", "truth": "true distribution"}
N_HELDOUT = 1000   # held-out points of a toy setting (presets.TOY_TRAINING's n_heldout)


def data_key(spec: str, n_train: int, n_heldout: int = N_HELDOUT, seed: int = 0) -> tuple:
    """The memo key of a toy data split (the same split as a run with data_seed = seed)."""
    return ("data", spec, int(n_train), int(n_heldout), int(seed))


def stored_data(store, spec: str, n_train: int, n_heldout: int = N_HELDOUT, seed: int = 0):
    """load_data(spec, n_train, n_heldout, seed), memoised in the run store (toy splits are cheap but shared)."""
    return store.memo(data_key(spec, n_train, n_heldout, seed), lambda: load_data(spec, n_train, n_heldout, seed))


def oracle_draws(n_train: int) -> int:
    """Transform draws per family for the optimum: fewer for large sets (its cost is n_train x draws)."""
    return max(4, min(16, 8192 // max(n_train, 1)))


def toy_oracle(store, spec: str, n_train: int, variant: str, transforms: str, aug_prob: float = 0.5,
               denoiser: str = "optimum", seed: int = 0):
    """(data, model, key): the data split, the closed-form denoiser ("optimum" or "truth") and its memo key
    (samples: store.oracle_samples(key, ...)). The optimum is built once per key."""
    data = stored_data(store, spec, n_train)
    if denoiser == "truth":
        if data.truth is None:
            raise ValueError(f"{spec} has no closed-form true distribution")
        return data, MixtureDenoiser(data.truth), ("truth", spec, n_train)
    if denoiser != "optimum":
        raise ValueError(f"denoiser must be 'optimum' or 'truth' here, got {denoiser!r}")
    augmented = get_variant(variant).augmented
    sampler = build_sampler(transforms, "points", aug_prob) if augmented else None
    draws = oracle_draws(n_train)
    key = ("optimum", spec, n_train, variant, transforms if augmented else "", aug_prob, draws, seed)
    model = store.memo(("model", *key), lambda: variant_optimum(data.train, variant, sampler, n_draws=draws,
                                                                 seed=seed, dtype=torch.float32))
    return data, model, key


@dataclass(frozen=True)
class MemorisationPoint:
    """Copies of training points among the samples, and among as many fresh (held-out) points."""

    memorised_fraction: float
    mean_nn_distance: float
    fresh_memorised_fraction: float
    fresh_mean_nn_distance: float


def memorisation_point(store, samples: torch.Tensor, sample_key: tuple, data, split_key: tuple) -> MemorisationPoint:
    """metrics.memorisation of the samples (n, ...) and of the first n held-out points against the training
    set, memoised under the samples' and the split's keys."""
    n = int(samples.shape[0])
    mem = store.memo(("memorisation", *sample_key, n), lambda: memorisation(samples, data.train))
    fresh = store.memo(("fresh", *split_key, n), lambda: memorisation(data.heldout[:n], data.train))
    return MemorisationPoint(mem["memorised_fraction"], mem["mean_nn_distance"], fresh["memorised_fraction"],
                             fresh["mean_nn_distance"])


@dataclass(frozen=True)
class LossLines:
    """The EDM-weighted denoising loss of one sigma band on the training and the held-out set, by step."""

    steps: list
    train: list
    heldout: list

    @property
    def gap(self) -> float | None:
        """Last held-out minus last training loss (None without eval lines)."""
        return self.heldout[-1] - self.train[-1] if self.train else None


def check_band(band, n_bands: int | None) -> int:
    """`band` as an index of n_bands sigma bands (None: not known yet), else ValueError naming the choices."""
    return V.integer("band (a sigma band)", band, 0, None if n_bands is None else n_bands - 1)


def run_loss_lines(metrics: list, band: int) -> LossLines:
    """The eval lines of a run's metrics.jsonl for sigma band `band` (empty without --eval-every)."""
    evals = [m for m in metrics if "eval" in m]
    band = check_band(band, min((len(m["eval"]) for m in evals), default=None))
    return LossLines([m["step"] for m in evals], [m["eval"][band]["train"] for m in evals],
                     [m["eval"][band]["heldout"] for m in evals])


def oracle_loss_lines(store, key: tuple, model, data, band: int, last_step: int, seed: int = 0) -> LossLines:
    """An oracle does not train: its loss (metrics.overfitting_gap, 256 probes per band) as a flat line
    from step 0 to `last_step`."""
    band = check_band(band, None)
    rows = store.memo(("oracle_gap", *key, seed), lambda: overfitting_gap(model, data.train, data.heldout,
                                                                         n_per_band=256, seed=seed))
    band = check_band(band, len(rows))
    return LossLines([0, int(last_step)], [rows[band]["train"]] * 2, [rows[band]["heldout"]] * 2)


@dataclass
class MemorisationCurve:
    """Memorised fraction against training-set size, per group of settings (one curve per variant,
    transform family and denoiser), filled in as settings are visited."""

    points: dict = field(default_factory=dict)    # group -> {n_train: MemorisationPoint}

    def add(self, group: tuple, n_train: int, point: MemorisationPoint) -> None:
        self.points.setdefault(group, {})[int(n_train)] = point

    def sizes(self, group: tuple) -> list[int]:
        return sorted(self.points.get(group, {}))

    def memorised(self, group: tuple) -> list[float]:
        return [self.points[group][n].memorised_fraction for n in self.sizes(group)]

    def fresh(self, group: tuple) -> list[float]:
        return [self.points[group][n].fresh_memorised_fraction for n in self.sizes(group)]

    def as_dict(self, group: tuple) -> dict:
        """{n_train: memorised fraction} of one group."""
        return dict(zip(self.sizes(group), self.memorised(group)))


__all__ = ["CURVE_DENOISERS", "N_HELDOUT", "check_band", "data_key",
           "stored_data", "oracle_draws", "toy_oracle", "MemorisationPoint",
           "memorisation_point", "LossLines", "run_loss_lines", "oracle_loss_lines", "MemorisationCurve"]
