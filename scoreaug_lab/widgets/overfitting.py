"""OverfittingExplorer: how a diffusion model memorises a small training set, and what augmentation changes.

Choose a training-set size and a variant of the augmentation grid; see samples over the training points, the
fraction of samples that copy a training point (beside the level of fresh data, the reference), and the
training vs held-out denoising loss over training. Three denoisers:

  network  a small MLP trained on the fly (toy data; cached by configuration, trained once per setting)
  optimum  the variant's optimal denoiser for the finite training set (closed form, `variant_optima`): it
           memorises perfectly, so its samples are (transformed) training points
  truth    the true-distribution denoiser where the data law is closed form (toy:gmm8): samples are
           fresh data

With `runs_dir=` it reads run folders written by `scoreaug-lab train` instead (points or images).
"""
from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch

from ..data import load_data
from ..diffusion import VARIANTS, sigma_bands
from ..metrics import memorisation, overfitting_gap
from ..notebook import by_size
from ..runs import read_config
from ..training import TrainConfig
from ..transforms import build_sampler
from .oracles import MixtureDenoiser
from .run_app import RunBackedApp, axis_range, grid_rgb, png_data_uri
from .runcache import list_runs
from .variant_optima import variant_optimum

SIZES = (8, 16, 32, 64, 128, 256, 512, 1024)
TRANSFORM_CHOICES = ("rot90,flip", "rotate", "scale:max_log=0.405", "translate:max_shift=0.5")
# The teaching-size toy setting (about 1,000 steps of a 2-block MLP: a few seconds per setting on a CPU).
TOY_TRAINING = dict(n_heldout=1000, model="mlp", batch_size=128, lr=3e-3, ema_decay=0.995)
TOY_MODEL_TEACH = dict(width=128, depth=2, fourier_features=32)
TOY_MODEL_TEST = dict(width=32, depth=1, fourier_features=8)
DENOISERS = {"network": "trained network", "optimum": "optimum (memorises)", "truth": "true distribution"}


def band_label(low: float, high: float) -> str:
    return f"sigma {low:g} to {high:g}"


def oracle_draws(n_train: int) -> int:
    """Transform draws per family for the optimum: fewer for large sets (its cost is n_train x draws)."""
    return max(4, min(16, 8192 // max(n_train, 1)))


class OverfittingExplorer(RunBackedApp):
    """Training-set size x variant -> samples, memorisation and the train/held-out loss gap.

    controls: n_train, variant, transforms, denoiser, band (toy mode) or run, band (runs_dir mode).
    figures: samples (scatter; image runs use `grid`), memorisation (vs training-set size), loss.
    state: mode, n_train, variant, transforms, denoiser, band, kind ("points"/"images"), step, run, run_key,
      run_dir, pending (run keys being trained, else None), n_train_shown, n_samples_shown,
      memorised_fraction, mean_nn_distance, fresh_memorised_fraction, fresh_mean_nn_distance,
      memorisation_curve ({n_train: fraction} of the current variant), loss_steps, loss_train,
      loss_heldout (the chosen band's eval lines), gap (last held-out - train loss), grid_shape (images).
    In a notebook, runs train in a worker thread: call `wait()` before reading `state` in code.
    """

    title = "Overfitting explorer: memorisation vs training-set size"

    def __init__(self, data: str = "toy:gmm8", sizes=SIZES, n_train: int | None = None, variants=tuple(VARIANTS),
                 variant: str = "noaug", transforms=TRANSFORM_CHOICES, aug_prob: float = 0.5,
                 steps: int | None = None, n_samples: int | None = None, model_kwargs: dict | None = None,
                 train_kwargs: dict | None = None, seed: int = 0, denoiser: str = "network", runs_dir=None,
                 cache_dir=None, device: str = "cpu", background: bool | None = None, image_samples: int = 16):
        super().__init__(cache_dir, device, background)
        self.runs_dir = runs_dir
        self.mode = "runs" if runs_dir is not None else "toy"
        self.data_spec, self.seed, self.aug_prob = data, int(seed), float(aug_prob)
        self.steps = int(steps if steps is not None else by_size(teach=1000, test=60))
        self.n_samples = int(n_samples if n_samples is not None else by_size(teach=500, test=128))
        self.image_samples = int(image_samples)
        self.model_kwargs = dict(model_kwargs if model_kwargs is not None
                                 else by_size(teach=TOY_MODEL_TEACH, test=TOY_MODEL_TEST))
        self.train_kwargs = dict(train_kwargs or {})
        self._curves: dict = {}   # (variant, transforms, denoiser or run-group) -> {n_train: (mem, fresh)}
        bands = sigma_bands()
        band = W.Dropdown(options=[(band_label(lo, hi), i) for i, (lo, hi) in enumerate(bands)], value=1,
                          description="loss band")
        if self.mode == "toy":
            if not str(data).startswith("toy:"):
                raise ValueError(f"on-the-fly runs are for toy data (toy:...), got {data!r}; for image data "
                                 "train with `scoreaug-lab train` and pass runs_dir=")
            sizes = sorted({int(s) for s in sizes})
            if not sizes or sizes[0] < 2:
                raise ValueError("sizes must hold training-set sizes >= 2")
            if n_train is None:  # the size nearest 64 (log scale)
                n_train = min(sizes, key=lambda s: abs(math.log(s / 64)))
            if n_train not in sizes:
                raise ValueError(f"n_train {n_train} is not one of the sizes {sizes}")
            unknown = [v for v in variants if v not in VARIANTS]
            if unknown or variant not in variants:
                raise ValueError(f"variants must come from {', '.join(VARIANTS)} and include {variant!r}")
            self._truth = load_data(data, 2, 10).truth
            choices = [k for k in DENOISERS if k != "truth" or self._truth is not None]
            if denoiser not in choices:
                raise ValueError(f"denoiser must be one of {', '.join(choices)} for {data}, got {denoiser!r}")
            transforms = list(transforms)
            for spec in transforms:
                build_sampler(spec, "points")  # a clear error for a bad spec, now
            controls = [
                self.add_control("n_train", W.SelectionSlider(options=sizes, value=n_train, description="n_train",
                                                              continuous_update=False)),
                self.add_control("variant", W.ToggleButtons(options=list(variants), value=variant,
                                                            description="variant")),
                self.add_control("transforms", W.Dropdown(options=transforms, value=transforms[0],
                                                          description="transforms")),
                self.add_control("denoiser", W.ToggleButtons(options=[(DENOISERS[k], k) for k in choices],
                                                             value=denoiser, description="denoiser",
                                                             style={"button_width": "auto"})),
                self.add_control("band", band),
            ]
            rows = [W.HBox(controls[:1] + controls[2:3]), controls[1], W.HBox(controls[3:])]
        else:
            self.rescan_button = W.Button(description="rescan folder", layout=W.Layout(width="130px"))
            self.rescan_button.on_click(lambda _: self.rescan())
            run = self.add_control("run", W.Dropdown(options=self._run_options(), description="run",
                                                     layout=W.Layout(width="640px")))
            rows = [W.HBox([run, self.rescan_button]), self.add_control("band", band)]
        self.figures["samples"] = go.FigureWidget(
            data=[go.Scatter(x=[], y=[], mode="markers", name="training points",
                             marker=dict(symbol="x", size=7, color="#d62728")),
                  go.Scatter(x=[], y=[], mode="markers", name="samples",
                             marker=dict(size=3, color="#1f77b4", opacity=0.5))],
            layout=dict(width=380, height=380, title="samples", margin=dict(l=40, r=10, t=50, b=40),
                        xaxis=dict(range=[-1.5, 1.5]), yaxis=dict(range=[-1.5, 1.5], scaleanchor="x"),
                        legend=dict(orientation="h", y=-0.12)))
        self.figures["grid"] = go.FigureWidget(
            data=[go.Image(source=png_data_uri(np.full((8, 8, 3), 255, dtype=np.uint8)))],
            layout=dict(width=380, height=380, title="samples", margin=dict(l=10, r=10, t=50, b=10),
                        xaxis=dict(visible=False), yaxis=dict(visible=False)))
        self.figures["memorisation"] = go.FigureWidget(
            data=[go.Scatter(x=[], y=[], mode="lines+markers", name="samples"),
                  go.Scatter(x=[], y=[], mode="lines+markers", name="fresh data (reference)",
                             line=dict(dash="dash", color="gray")),
                  go.Scatter(x=[], y=[], mode="markers", name="this setting",
                             marker=dict(size=14, color="rgba(0,0,0,0)", line=dict(width=2, color="black")))],
            layout=dict(width=380, height=380, title="fraction of samples that copy a training point",
                        margin=dict(l=50, r=10, t=50, b=40), xaxis=dict(type="log", title="training-set size"),
                        yaxis=dict(range=[-0.02, 1.02], title="memorised fraction"),
                        legend=dict(orientation="h", y=-0.2)))
        self.figures["loss"] = go.FigureWidget(
            data=[go.Scatter(x=[], y=[], mode="lines+markers", name="training set"),
                  go.Scatter(x=[], y=[], mode="lines+markers", name="held-out set")],
            layout=dict(width=380, height=380, title="denoising loss", margin=dict(l=50, r=10, t=50, b=40),
                        xaxis=dict(title="training step"), yaxis=dict(title="EDM-weighted loss"),
                        legend=dict(orientation="h", y=-0.2)))
        self._scatter_box = W.Box([self.figures["samples"]])
        self._grid_box = W.Box([self.figures["grid"]], layout=W.Layout(display="none"))
        # wrap onto a second line where the notebook is narrower than the three figures (none is clipped)
        plots = W.HBox([self._scatter_box, self._grid_box, self.figures["memorisation"], self.figures["loss"]],
                       layout=W.Layout(flex_flow="row wrap"))
        self._finish(*rows, W.HBox([self.progress, self.note]), plots)

    # --- settings -> runs ---------------------------------------------------------------------------
    def config(self, n_train: int | None = None, variant: str | None = None,
               transforms: str | None = None) -> TrainConfig:
        """The TrainConfig of a toy setting (the current one by default)."""
        n_train = int(n_train if n_train is not None else self.value("n_train"))
        variant = variant or self.value("variant")
        transforms = transforms or self.value("transforms")
        augmented = VARIANTS[variant].augmented
        values = {**TOY_TRAINING, "data": self.data_spec, "n_train": n_train, "variant": variant,
                  # noaug runs ignore the transforms: one run serves every transform choice
                  "transforms": transforms if augmented else "auto", "aug_prob": self.aug_prob if augmented else 0.5,
                  "model_kwargs": self.model_kwargs, "steps": self.steps, "seed": self.seed,
                  "log_every": max(1, self.steps // 50), "ckpt_every": self.steps,
                  "eval_every": max(1, self.steps // 10), **self.train_kwargs}
        return TrainConfig(**values)

    def _data(self, n_train: int):
        return self.cache.memo(("data", self.data_spec, n_train, 1000),
                               lambda: load_data(self.data_spec, n_train, 1000))

    def _oracle(self, n_train: int, variant: str, transforms: str, denoiser: str):
        data = self._data(n_train)
        if denoiser == "truth":
            return data, MixtureDenoiser(data.truth), ("truth", self.data_spec, n_train)
        sampler = build_sampler(transforms, "points", self.aug_prob) if VARIANTS[variant].augmented else None
        draws = oracle_draws(n_train)
        key = ("optimum", self.data_spec, n_train, variant, transforms if sampler else "", self.aug_prob, draws)
        # built once per key (its k-means draws cost more than a redraw of the figures that use it)
        model = self.cache.memo(("model", *key), lambda: variant_optimum(
            data.train, variant, sampler, n_draws=draws, seed=self.seed, dtype=torch.float32))
        return data, model, key

    # --- runs folder --------------------------------------------------------------------------------
    def _run_options(self):
        options = []
        for folder in list_runs(self.runs_dir):
            try:
                cfg = read_config(folder)
                label = f"{folder.name}  ({cfg.variant}, n={cfg.n_train}, {cfg.data})"
            except (OSError, ValueError, TypeError) as err:
                label = f"{folder.name}  (unreadable config: {err})"
            options.append((label, str(folder)))
        if not options:
            raise ValueError(f"no run folders (config.json + checkpoint.pt) in {self.runs_dir}; "
                             "write some with `scoreaug-lab train --out ...`")
        return options

    def rescan(self) -> None:
        """List the runs folder again (new runs written since the widget was made)."""
        control = self.controls["run"]
        current = control.value
        options = self._run_options()
        with self.hold():  # one refresh after both changes
            control.options = options
            values = [v for _, v in options]
            control.value = current if current in values else values[0]

    # --- the view -----------------------------------------------------------------------------------
    def update(self) -> None:
        if self.mode == "runs":
            run = self.cache.load(self.value("run"))
            cfg = run.config
            group = ("run", cfg.data, cfg.variant, cfg.transforms if VARIANTS[cfg.variant].augmented else "")
            self.state.update(mode="runs", run=str(run.run_dir), denoiser="network")
            self._show(run.data, cfg.n_train, cfg.variant, cfg.transforms, group, run=run, step=run.step)
            return
        n_train, variant = self.value("n_train"), self.value("variant")
        transforms, denoiser = self.value("transforms"), self.value("denoiser")
        group = (variant, transforms if VARIANTS[variant].augmented else "", denoiser)
        self.state.update(mode="toy", denoiser=denoiser, run=None)
        if denoiser == "network":
            config = self.config()
            data = self._data(n_train)
            runs = self.ensure([config])
            if runs is None:  # training in the background: show the new training set now, samples later
                self._show_pending(data, n_train, variant, transforms)
                return
            self._show(runs[0].data, n_train, variant, transforms, group, run=runs[0], step=runs[0].step)
        else:
            data, model, key = self._oracle(n_train, variant, transforms, denoiser)
            self._show(data, n_train, variant, transforms, group, oracle=(model, key))

    def _show_pending(self, data, n_train, variant, transforms) -> None:
        train = data.train.numpy()
        with self.figures["samples"].batch_update():
            self.figures["samples"].data[0].update(x=train[:, 0], y=train[:, 1])
            self.figures["samples"].data[1].update(x=[], y=[])
            self.figures["samples"].layout.title.text = f"{variant}, n={n_train}: training..."
        self.state.update(n_train=n_train, variant=variant, transforms=transforms, n_train_shown=len(train),
                          n_samples_shown=0, kind="points")

    def _show(self, data, n_train, variant, transforms, group, run=None, oracle=None, step=None) -> None:
        band = self.value("band")
        if run is not None:
            n = self.image_samples if run.kind == "images" else self.n_samples
            samples = self.cache.samples(run, n)
            sample_key = (run.key, n)
            name = f"{variant}, n={n_train} (network, step {step})"
        else:
            model, key = oracle
            n = self.n_samples
            samples = self.cache.oracle_samples(key, model, data.data_shape, n)
            sample_key = (key, n)
            name = f"{variant}, n={n_train} ({DENOISERS[self.value('denoiser')]})"
        mem = self.cache.memo(("memorisation", *sample_key), lambda: memorisation(samples, data.train))
        fresh = self.cache.memo(("fresh", self.data_spec if run is None else run.key, n_train, n),
                                lambda: memorisation(data.heldout[:n], data.train))
        self._curves.setdefault(group, {})[n_train] = (mem["memorised_fraction"], fresh["memorised_fraction"])
        steps, train_loss, heldout_loss = self._losses(run, oracle, data, band)
        self._draw(data, samples, name, group, n_train, steps, train_loss, heldout_loss, band)
        self.state.update(
            n_train=n_train, variant=variant, transforms=transforms, band=band, step=step, kind=data.kind,
            run_dir=None if run is None or run.run_dir is None else str(run.run_dir),
            run_key=run.key if run is not None else None,
            n_train_shown=int(data.train.shape[0]), n_samples_shown=int(samples.shape[0]),
            memorised_fraction=mem["memorised_fraction"], mean_nn_distance=mem["mean_nn_distance"],
            fresh_memorised_fraction=fresh["memorised_fraction"], fresh_mean_nn_distance=fresh["mean_nn_distance"],
            memorisation_curve={k: v[0] for k, v in sorted(self._curves[group].items())},
            loss_steps=steps, loss_train=train_loss, loss_heldout=heldout_loss,
            gap=(heldout_loss[-1] - train_loss[-1]) if train_loss else None)

    def _losses(self, run, oracle, data, band):
        """(steps, train, held-out) of one sigma band: the run's eval lines, or the oracle's (constant) loss."""
        if run is not None:
            evals = [m for m in run.metrics if "eval" in m]
            return ([m["step"] for m in evals], [m["eval"][band]["train"] for m in evals],
                    [m["eval"][band]["heldout"] for m in evals])
        model, key = oracle
        rows = self.cache.memo(("oracle_gap", *key), lambda: overfitting_gap(
            model, data.train, data.heldout, n_per_band=256, seed=self.seed))
        return [0, self.steps], [rows[band]["train"]] * 2, [rows[band]["heldout"]] * 2

    def _draw(self, data, samples, name, group, n_train, steps, train_loss, heldout_loss, band) -> None:
        images = data.kind == "images"
        self._scatter_box.layout.display = "none" if images else ""
        self._grid_box.layout.display = "" if images else "none"
        if images:
            rgb = grid_rgb(samples)
            self.state["grid_shape"] = rgb.shape
            with self.figures["grid"].batch_update():
                self.figures["grid"].data[0].source = png_data_uri(rgb)
                self.figures["grid"].layout.title.text = name
        else:
            train, pts = data.train.numpy(), samples.numpy()
            rng = axis_range(train, data.heldout[:500].numpy())
            with self.figures["samples"].batch_update():
                self.figures["samples"].data[0].update(x=train[:, 0], y=train[:, 1])
                self.figures["samples"].data[1].update(x=pts[:, 0], y=pts[:, 1])
                self.figures["samples"].layout.title.text = name
                self.figures["samples"].layout.xaxis.range = rng
                self.figures["samples"].layout.yaxis.range = rng
        curve = sorted(self._curves[group].items())
        sizes = [k for k, _ in curve]
        fig = self.figures["memorisation"]
        with fig.batch_update():
            fig.data[0].update(x=sizes, y=[v[0] for _, v in curve])
            fig.data[1].update(x=sizes, y=[v[1] for _, v in curve])
            fig.data[2].update(x=[n_train], y=[self._curves[group][n_train][0]])
        lo, hi = sigma_bands()[band]
        fig = self.figures["loss"]
        with fig.batch_update():
            fig.data[0].update(x=steps, y=train_loss)
            fig.data[1].update(x=steps, y=heldout_loss)
            note = "" if steps else " (no eval lines: train with --eval-every)"
            fig.layout.title.text = f"denoising loss, {band_label(lo, hi)}{note}"
            finite = [v for v in train_loss + heldout_loss if v > 0 and math.isfinite(v)]
            fig.layout.yaxis.type = "log" if finite and max(finite) / min(finite) > 20 else "linear"


__all__ = ["OverfittingExplorer", "SIZES", "TRANSFORM_CHOICES"]
