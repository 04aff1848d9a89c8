"""The overfitting explorer's view: samples over the training points, the memorised fraction against
training-set size beside fresh data, and the train/held-out loss of one sigma band. Traces are kept by name when
the figures are built. Every number comes from `scoreaug_lab.lab.memorisation_curve`; this module only draws and
records state.
"""
from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

from ..diffusion import sigma_bands
from ..lab.memorisation_curve import LossLines, MemorisationCurve, memorisation_point
from .carrier_figure_widget import FigureWidget
from .run_backed_app import RunBackedApp, axis_range
from .widget_app import row

SQUARE = dict(width=380, height=380)


def band_label(low: float, high: float) -> str:
    return f"sigma {low:g} to {high:g}"


def band_control(value: int = 1) -> W.Dropdown:
    return W.Dropdown(options=[(band_label(lo, hi), i) for i, (lo, hi) in enumerate(sigma_bands())], value=value,
                      description="loss band")


def _scatter(name: str, **style) -> go.Scatter:
    return go.Scatter(x=[], y=[], name=name, **style)


class OverfittingFigures:
    """The three figures (samples, memorisation, loss); `traces[name]` is each trace, kept at build time."""

    def __init__(self):
        samples = FigureWidget(
            data=[_scatter("training points", mode="markers", marker=dict(symbol="x", size=7, color="#d62728")),
                  _scatter("samples", mode="markers", marker=dict(size=3, color="#1f77b4", opacity=0.5))],
            layout=dict(**SQUARE, title="samples", margin=dict(l=40, r=10, t=50, b=40),
                        xaxis=dict(range=[-1.5, 1.5]), yaxis=dict(range=[-1.5, 1.5], scaleanchor="x"),
                        legend=dict(orientation="h", y=-0.12)))
        curve = FigureWidget(
            data=[_scatter("samples", mode="lines+markers"),
                  _scatter("fresh data (reference)", mode="lines+markers", line=dict(dash="dash", color="gray")),
                  _scatter("this setting", mode="markers",
                           marker=dict(size=14, color="rgba(0,0,0,0)", line=dict(width=2, color="black")))],
            layout=dict(**SQUARE, title="fraction of samples that copy a training point",
                        margin=dict(l=50, r=10, t=50, b=40), xaxis=dict(type="log", title="training-set size"),
                        yaxis=dict(range=[-0.02, 1.02], title="memorised fraction"),
                        legend=dict(orientation="h", y=-0.2)))
        loss = FigureWidget(
            data=[_scatter("training set", mode="lines+markers"), _scatter("held-out set", mode="lines+markers")],
            layout=dict(**SQUARE, title="denoising loss", margin=dict(l=50, r=10, t=50, b=40),
                        xaxis=dict(title="training step"), yaxis=dict(title="EDM-weighted loss"),
                        legend=dict(orientation="h", y=-0.2)))
        self.figures = {"samples": samples, "memorisation": curve, "loss": loss}
        self.traces = {f"{fig}/{trace.name}": trace for fig, figure in self.figures.items() for trace in figure.data}
        # wraps onto a second line where the notebook is narrower than the three figures (none is clipped)
        self.box = row(samples, curve, loss)

    def show_training_set(self, train: np.ndarray, title: str) -> None:
        """Training points (N, 2) without samples (while the run trains)."""
        with self.figures["samples"].batch_update():
            self.traces["samples/training points"].update(x=train[:, 0], y=train[:, 1])
            self.traces["samples/samples"].update(x=[], y=[])
            self.figures["samples"].layout.title.text = title

    def show_points(self, train: np.ndarray, samples: np.ndarray, heldout: np.ndarray, title: str) -> None:
        fig, rng = self.figures["samples"], axis_range(train, heldout)
        with fig.batch_update():
            self.traces["samples/training points"].update(x=train[:, 0], y=train[:, 1])
            self.traces["samples/samples"].update(x=samples[:, 0], y=samples[:, 1])
            fig.layout.title.text = title
            fig.layout.xaxis.range = fig.layout.yaxis.range = rng

    def show_curve(self, sizes: list, memorised: list, fresh: list, n_train: int, current: float) -> None:
        with self.figures["memorisation"].batch_update():
            self.traces["memorisation/samples"].update(x=sizes, y=memorised)
            self.traces["memorisation/fresh data (reference)"].update(x=sizes, y=fresh)
            self.traces["memorisation/this setting"].update(x=[n_train], y=[current])

    def show_loss(self, lines: LossLines, band: int) -> None:
        fig = self.figures["loss"]
        with fig.batch_update():
            self.traces["loss/training set"].update(x=lines.steps, y=lines.train)
            self.traces["loss/held-out set"].update(x=lines.steps, y=lines.heldout)
            note = "" if lines.steps else " (no eval lines: train with --eval-every)"
            fig.layout.title.text = f"denoising loss, {band_label(*sigma_bands()[band])}{note}"
            finite = [v for v in lines.train + lines.heldout if v > 0 and math.isfinite(v)]
            fig.layout.yaxis.type = "log" if finite and max(finite) / min(finite) > 20 else "linear"


class OverfittingView(RunBackedApp):
    """A RunBackedApp drawing one setting at a time into `OverfittingFigures` and recording its numbers in
    `state`; subclasses build the controls and say which setting is shown (see `show`)."""

    def __init__(self, store_dir=None, device: str = "cpu", background: bool | None = None):
        super().__init__(store_dir, device, background)
        self.view = OverfittingFigures()
        self.figures = self.view.figures
        self.curve = MemorisationCurve()

    def show_pending(self, data, **state) -> None:
        """A run is training: the new training set now, its samples later; state: n_train, variant, ..."""
        self.view.show_training_set(data.train.numpy(), f"{state['variant']}, n={state['n_train']}: training...")
        self.state.update(**state, n_train_shown=len(data.train), n_samples_shown=0, kind=data.kind)

    def show(self, data, samples, keys: tuple, group: tuple, lines: LossLines, title: str, **state) -> None:
        """Draw samples (n, ...) of a denoiser over `data`; keys = (sample memo key, data split key);
        group = the curve the setting belongs to; state: n_train, variant, transforms, ... (recorded)."""
        n_train, band = state["n_train"], self.value("band")
        point = memorisation_point(self.store, samples, keys[0], data, keys[1])
        self.curve.add(group, n_train, point)
        self.view.show_points(data.train.numpy(), samples.numpy(), data.heldout[:500].numpy(), title)
        self.view.show_curve(self.curve.sizes(group), self.curve.memorised(group), self.curve.fresh(group), n_train,
                             point.memorised_fraction)
        self.view.show_loss(lines, band)
        self.state.update(
            **state, band=band, kind=data.kind, n_train_shown=int(data.train.shape[0]),
            n_samples_shown=int(samples.shape[0]), memorised_fraction=point.memorised_fraction,
            mean_nn_distance=point.mean_nn_distance, fresh_memorised_fraction=point.fresh_memorised_fraction,
            fresh_mean_nn_distance=point.fresh_mean_nn_distance, memorisation_curve=self.curve.as_dict(group),
            loss_steps=lines.steps, loss_train=lines.train, loss_heldout=lines.heldout, gap=lines.gap)


__all__ = ["OverfittingFigures", "OverfittingView", "band_control", "band_label"]
