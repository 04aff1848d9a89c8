"""OverfittingExplorer: how a diffusion model memorises a small toy training set, and what augmentation changes.

Choose a training-set size and a variant of the augmentation grid; see samples over the training points, the
fraction of samples that copy a training point (beside the level of fresh data, the reference), and the
training vs held-out denoising loss over training. Three denoisers (`memorisation_curve.CURVE_DENOISERS`):

  network  a small MLP trained on the fly from `presets.toy_config` (by the run store: trained once per setting)
  optimum  the variant's optimal denoiser for the finite training set (closed form, `optima.variant_optimum`):
           it memorises perfectly, so its samples are (transformed) training points
  truth    the true-distribution denoiser where the data law is closed form (toy:gmm8): samples are fresh data
"""
from __future__ import annotations

import math

import ipywidgets as W

from ..data import load_data
from ..diffusion import VARIANTS, get_variant
from ..lab.memorisation_curve import CURVE_DENOISERS, data_key, oracle_loss_lines, run_loss_lines, stored_data, toy_oracle
from ..presets import by_size, notebook_size
from ..presets import TOY_STEPS, toy_config
from ..train.config import TrainConfig
from ..transforms import build_sampler
from .overfitting_view import OverfittingView, band_control
from .param_sliders import choice_slider
from .widget_app import row

TRAIN_SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)
TRANSFORM_CHOICES = ("rot90,flip", "rotate", "scale:max_log=0.405", "translate:max_shift=0.5")


def _check_choices(data, sizes, n_train, variants, variant, transforms, denoiser):
    """The sizes (sorted), the default size and the denoiser choices; a clear ValueError for bad arguments."""
    if not str(data).startswith("toy:"):
        raise ValueError(f"on-the-fly runs are for toy data (toy:...), got {data!r}; notebook 04 shows image runs "
                         "(digits) from the run store")
    sizes = sorted({int(s) for s in sizes})
    if not sizes or sizes[0] < 2:
        raise ValueError("sizes must hold training-set sizes >= 2")
    if n_train is None:  # the size nearest 64 (log scale)
        n_train = min(sizes, key=lambda s: abs(math.log(s / 64)))
    if n_train not in sizes:
        raise ValueError(f"n_train {n_train} is not one of the sizes {sizes}")
    if any(v not in VARIANTS for v in variants) or variant not in variants:
        raise ValueError(f"variants must come from {', '.join(VARIANTS)} and include {variant!r}")
    choices = [k for k in CURVE_DENOISERS if k != "truth" or load_data(data, 2, 10).truth is not None]
    if denoiser not in choices:
        raise ValueError(f"denoiser must be one of {', '.join(choices)} for {data}, got {denoiser!r}")
    for spec in transforms:
        build_sampler(spec, "points")  # a clear error for a bad spec, now
    return sizes, n_train, choices


class OverfittingExplorer(OverfittingView):
    """Toy training-set size x variant x denoiser -> samples, memorisation and the train/held-out loss gap.

    controls: n_train, variant, transforms, denoiser, band. figures: samples (scatter), memorisation (against
    training-set size), loss. state: n_train, variant, transforms, denoiser, band, kind, step, run_key, run_dir,
      pending (run keys being trained, else None), n_train_shown, n_samples_shown, memorised_fraction,
      mean_nn_distance, fresh_memorised_fraction, fresh_mean_nn_distance, memorisation_curve ({n_train:
      fraction} of the current variant, transforms and denoiser), loss_steps, loss_train, loss_heldout, gap.
    In a notebook, runs train in a worker thread: call `wait()` before reading `state` in code.
    """

    title = "Overfitting explorer: memorisation vs training-set size"

    def __init__(self, data: str = "toy:gmm8", sizes=TRAIN_SIZES, n_train: int | None = None, variants=tuple(VARIANTS),
                 variant: str = "noaug", transforms=TRANSFORM_CHOICES, aug_prob: float = 0.5,
                 steps: int | None = None, n_samples: int | None = None, model_kwargs: dict | None = None,
                 train_kwargs: dict | None = None, seed: int = 0, denoiser: str = "network", store_dir=None,
                 device: str = "cpu", background: bool | None = None):
        transforms = list(transforms)
        sizes, n_train, choices = _check_choices(data, sizes, n_train, variants, variant, transforms, denoiser)
        super().__init__(store_dir, device, background)
        self.data_spec, self.seed, self.aug_prob = data, int(seed), float(aug_prob)
        self.steps = int(steps if steps is not None else TOY_STEPS[notebook_size()])
        self.n_samples = int(n_samples if n_samples is not None else by_size(teach=500, test=128))
        self.overrides = {**({"model_kwargs": dict(model_kwargs)} if model_kwargs is not None else {}),
                          **(train_kwargs or {})}
        n = self.add_control("n_train", choice_slider("n_train", sizes, n_train, continuous_update=False))
        v = self.add_control("variant", W.ToggleButtons(options=list(variants), value=variant, description="variant"))
        t = self.add_control("transforms", W.Dropdown(options=transforms, value=transforms[0],
                                                      description="transforms"))
        d = self.add_control("denoiser", W.ToggleButtons(options=[(CURVE_DENOISERS[k], k) for k in choices], value=denoiser,
                                                         description="denoiser", style={"button_width": "auto"}))
        b = self.add_control("band", band_control())
        self._finish(row(n.box, t), v, row(d, b), row(self.progress, self.note), self.view.box)

    def config(self, n_train: int | None = None, variant: str | None = None,
               transforms: str | None = None) -> TrainConfig:
        """The recipe (presets.toy_config) of a setting: the current one by default."""
        return toy_config(variant or self.value("variant"), transforms or self.value("transforms"),
                          int(n_train if n_train is not None else self.value("n_train")), seed=self.seed,
                          data=self.data_spec, aug_prob=self.aug_prob, steps=self.steps, **self.overrides)

    def update(self) -> None:
        n_train, variant = self.value("n_train"), self.value("variant")
        transforms, denoiser = self.value("transforms"), self.value("denoiser")
        group = (variant, transforms if get_variant(variant).augmented else "", denoiser)
        setting = dict(n_train=n_train, variant=variant, transforms=transforms, denoiser=denoiser)
        if denoiser == "network":
            self._show_network(group, setting)
        else:
            self._show_oracle(group, setting)

    def _show_oracle(self, group: tuple, setting: dict) -> None:
        n_train, denoiser = setting["n_train"], setting["denoiser"]
        data, model, key = toy_oracle(self.store, self.data_spec, n_train, setting["variant"], setting["transforms"],
                                      self.aug_prob, denoiser, self.seed)
        samples = self.store.oracle_samples(key, model, data.data_shape, self.n_samples)     # (n, 2)
        lines = oracle_loss_lines(self.store, key, model, data, self.value("band"), self.steps, self.seed)
        title = f"{setting['variant']}, n={n_train} ({CURVE_DENOISERS[denoiser]})"
        self.show(data, samples, (key, data_key(self.data_spec, n_train)), group, lines, title, **setting,
                  step=None, run_key=None, run_dir=None)

    def _show_network(self, group: tuple, setting: dict) -> None:
        runs = self.ensure([self.config()])
        if runs is None:  # training in the background: the new training set now, samples later
            self.show_pending(stored_data(self.store, self.data_spec, setting["n_train"]), **setting)
            return
        run = runs[0]
        samples = self.store.samples(run, self.n_samples)                                   # (n, 2)
        lines = run_loss_lines(run.metrics, self.value("band"))
        title = f"{setting['variant']}, n={setting['n_train']} (network, step {run.step})"
        self.show(run.data, samples, ((run.key,), ("run", run.key)), group, lines, title, **setting,
                  step=run.step, run_key=run.key, run_dir=str(run.run_dir))


__all__ = ["OverfittingExplorer", "TRAIN_SIZES", "TRANSFORM_CHOICES"]
