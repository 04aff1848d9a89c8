"""ScoreFieldExplorer: score fields in the plane, of the data, of a transformed distribution, of a model.

Data: a Gaussian mixture (default: 8 modes on a ring) whose noisy marginal p_sigma has a closed-form score. Four
panels at the chosen noise level sigma, every number from `scoreaug_lab.lab.score_fields`:

  1. the data score  grad log p_sigma(y)  (closed form), over log p_sigma and noisy samples y = x0 + sigma n
  2. the score of the transformed noisy distribution, i.e. of T(x0 + sigma n) (ScoreAug's input), from the
     push-forward formula (g = T^-1)
         grad log p_Y(y) = J_g(y)^T grad log p_sigma(g(y))  +  grad_y log|det J_g(y)|
     overlaid with an independent check (a closed form where there is one, else autograd of the push-forward
     log-density)
  3. the Jacobian term on its own (zero for linear maps and volume-preserving ones such as the quadratic
     shear; not for tanh)
  4. a model's score (D(y; sigma) - y) / sigma^2 (Tweedie) beside the data score. The model is given, or the button
     gets the model of notebook 01 from the run store (`course.lessons` "01": presets.mixture_config at the
     lesson's steps, as `scoreaug-lab prepare 01` trains it): loaded when the store holds it (a prepared class),
     else trained once by the project's training loop in a background thread; also `train_model()`.
"""
from __future__ import annotations

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..data import ring_mixture
from ..lab.score_fields import log_densities, model_field, pushforward_field, square_grid
from ..course import lessons
from ..runs.background import BackgroundTrainer
from ..runs.store import get_store
from ..transforms import registry
from .arrows import arrow_segments
from .carrier_figure_widget import FigureWidget
from .param_sliders import STYLE, ParamSliders, value_slider
from .widget_app import WidgetApp, row

COLOURS = {"data_score": "#1f77b4", "pushforward": "#d62728", "check": "#2ca02c", "jacobian": "#9467bd",
           "model": "#ff7f0e", "reference": "#aaaaaa"}
ARROWS = {"data_score": ("data score", 1, 1, 1.5), "pushforward": ("push-forward formula", 1, 2, 2.5),
          "check": ("independent check", 1, 2, 1.2), "jacobian": ("Jacobian term", 2, 1, 1.5),
          "reference": ("data score (reference)", 2, 2, 1.5), "model": ("model score", 2, 2, 1.5)}


class ScoreFieldExplorer(WidgetApp):
    """Score fields of a 2-D Gaussian mixture, its push-forward through a point transform, and a model.

    mixture: a data.GaussianMixture in R^2 (default ring_mixture(), the data of the training recipe); model:
    optional denoiser of points (B, 2) (called with omega=None); grid_size arrows per side over [-extent, extent]^2;
    density_size pixels per side of the log-density maps; train_steps: the steps of the button's model (default:
    the lesson's, 1,500 at teaching size); store: the RunStore that loads or trains it (default
    runs.store.get_store()).
    """

    title = "Score fields: data, push-forward through T, and a model"

    def __init__(self, mixture=None, model=None, transform: str = "rotate", sigma: float = 0.2,
                 grid_size: int = 17, extent: float = 1.6, density_size: int = 48, n_samples: int = 300,
                 train_steps: int | None = None, seed: int = 0, store=None):
        super().__init__()
        self.mixture = mixture if mixture is not None else ring_mixture()
        if self.mixture.dim != 2:
            raise ValueError(f"the score field explorer is for 2-D data, got a mixture in R^{self.mixture.dim}")
        names = list(registry("points"))
        if transform not in names:
            raise ValueError(f"unknown point transform {transform!r}; choose from {', '.join(names)}")
        self.model, self.model_source = model, ("given" if model is not None else None)
        self.train_steps, self.seed, self.extent, self.store = train_steps, int(seed), float(extent), store
        axis, self.grid = square_grid(extent, grid_size)                             # (G, 2)
        self.step = float(axis[1] - axis[0])
        dens_axis, self.dens_grid = square_grid(extent, density_size)                # (D * D, 2)
        self.dens_axis, self.density_size = dens_axis.numpy(), int(density_size)
        g = torch.Generator().manual_seed(seed)
        self.x0 = self.mixture.sample(n_samples, g).double()                     # (S, 2)
        self.noise = torch.randn(self.x0.shape, generator=g, dtype=torch.float64)
        self._transforms = {name: cls() for name, cls in registry("points").items()}
        self._memo: dict = {}
        self.trainer, self.traces = None, {}

        c = self.add_control
        c("sigma", value_slider("sigma", sigma, 0.01, 3.0))
        c("transform", W.Dropdown(options=names, value=transform, description="transform T", style=STYLE))
        self.sliders = ParamSliders(self._transforms.values())
        for name, widget in self.sliders.widgets.items():
            c(name, widget)
        c("show_check", W.Checkbox(value=True, description="overlay the independent check", indent=False))
        c("show_jacobian", W.Checkbox(value=True, description="show the Jacobian term", indent=False))
        c("show_density", W.Checkbox(value=True, description="log-density background", indent=False))
        self.buttons = {"train": W.Button(description="the lesson's model", icon="play", layout=W.Layout(
                                          width="auto"), tooltip="load notebook 01's model from the run store (or "
                                                                 "train it there once)")}
        self.buttons["train"].on_click(lambda _: self.train_model(background=True))
        self.train_status, self.info = W.HTML(), W.HTML()
        self.figures["fields"] = self._figure()
        ctl = self.controls
        self._finish(
            row(ctl["sigma"].box, ctl["transform"], self.buttons["train"], self.train_status), self.sliders.box,
            row(ctl["show_check"], ctl["show_jacobian"], ctl["show_density"]), self.info, self.figures["fields"])

    # --- model ------------------------------------------------------------------------------------------
    def model_config(self, steps: int | None = None):
        """The TrainConfig of the button's model: notebook 01's (lessons.get("01").model_config), at `steps`, else
        at train_steps, else at the lesson's steps."""
        steps = steps if steps is not None else self.train_steps
        return lessons.get("01").model_config(steps, seed=self.seed)

    def train_model(self, steps: int | None = None, background: bool = False):
        """Get the lesson's model (model_config) from the run store: loaded when the store holds it, else trained
        once. In the background (the button) the widget stays usable while it trains; else it returns the model."""
        config = self.model_config(steps)
        store = self.store if self.store is not None else get_store()
        if store.finished(config):                      # a prepared store: load it, nothing to wait for
            self._trained([store.get(config)], None)
            return self.model
        self.train_status.value = f"training the lesson's model ({config.steps} steps) ..."
        if background:
            self.trainer = self.trainer or BackgroundTrainer(store)
            self.trainer.submit([config], on_progress=self._progress, on_done=self._trained)
            return None
        self._trained([store.get(config)], None)
        return self.model

    def _progress(self, done: int, total: int, label: str) -> None:
        self.train_status.value = f"training the lesson's model: step {done} / {total} ..."

    def _trained(self, runs, error) -> None:
        if error is not None:
            self.train_status.value = f"<span style='color:#b00'>training failed: {error}</span>"
            return
        self.model, self.model_source = runs[0].model, "the lesson's run"
        self.train_status.value = f"model: {runs[0].key}, {runs[0].step} steps"
        self.refresh()

    # --- figure -----------------------------------------------------------------------------------------
    def _figure(self):
        titles = ["data score", "push-forward", "Jacobian term", "model"]             # set in _draw
        fig = FigureWidget(make_subplots(rows=2, cols=2, subplot_titles=titles, horizontal_spacing=0.06,
                                            vertical_spacing=0.14))

        def add(name, trace, row, col):
            fig.add_trace(trace, row=row, col=col)
            self.traces[name] = fig.data[-1]

        z = np.zeros((self.density_size, self.density_size))
        for name, col in (("log_p", 1), ("log_p_y", 2)):
            add(name, go.Heatmap(x=self.dens_axis, y=self.dens_axis, z=z, colorscale="Greys", reversescale=True,
                                 showscale=False, hoverinfo="skip", opacity=0.6), 1, col)
        for name, label, col in (("samples_y", "noisy samples y", 1), ("samples_ty", "T(y)", 2)):
            add(name, go.Scatter(x=[], y=[], mode="markers", name=label, showlegend=False,
                                 marker=dict(size=3, color="#555555", opacity=0.4)), 1, col)
        for name, (label, r, col, width) in ARROWS.items():
            add(name, go.Scatter(x=[], y=[], mode="lines", name=label, hoverinfo="skip",
                                 line=dict(color=COLOURS[name], width=width)), r, col)
        lim = [-self.extent * 1.05, self.extent * 1.05]
        for i in range(1, 5):
            sx = "" if i == 1 else str(i)
            fig.layout[f"xaxis{sx}"].update(range=lim, autorange=False, constrain="domain")
            fig.layout[f"yaxis{sx}"].update(range=lim, autorange=False, scaleanchor=f"x{sx}")
        fig.update_layout(height=820, margin=dict(l=10, r=10, t=60, b=40),         # as wide as the output area
                          legend=dict(orientation="h", y=-0.04))
        fig.update_annotations(font_size=13)            # the subplot titles: two lines at most, see _draw
        return fig

    # --- the update ---------------------------------------------------------------------------------------
    def _remember(self, kind: str, key, compute):
        """The library's result of kind `kind` for the last settings `key` (so display toggles only redraw)."""
        if kind not in self._memo or self._memo[kind][0] != key:
            self._memo[kind] = (key, compute())
        return self._memo[kind][1]

    def update(self) -> None:
        t = self._transforms[self.value("transform")]
        self.sliders.show(t)
        values = self.sliders.values(t)
        params = t.params_from_controls(values)                                    # (1, n_params), checked
        sigma = self.value("sigma")
        key = (t.name, tuple(params[0].tolist()), sigma)
        field = self._remember("field", key, lambda: pushforward_field(self.mixture, t, params, sigma, self.grid))
        densities = (self._remember("densities", key, lambda: log_densities(
            self.mixture, t, params, sigma, self.dens_grid)) if self.value("show_density") else None)
        samples_y = self.x0 + sigma * self.noise                                    # (S, 2)
        model = (None if self.model is None else self._remember("model", (id(self.model), sigma), lambda: model_field(
            self.model, self.mixture, self.grid, samples_y, sigma)))
        self.state = dict(
            transform=t.name, values=values, describe=t.describe(values), params=params[0].tolist(), sigma=sigma,
            flags=dict(t.flags), grid=self.grid.numpy(), valid=field.valid.numpy(), data_score=field.data_score.numpy(),
            transformed_score=field.total.numpy(), transported_term=field.transported.numpy(),
            jacobian_term=field.volume.numpy(), jacobian_max=field.jacobian_max, check_score=field.check.numpy(),
            check_method=field.method, check_max_abs_diff=field.check_max_abs_diff, model_source=self.model_source,
            model_score=None if model is None else model.score.numpy(),
            model_relative_error=float("nan") if model is None else model.relative_error)
        self._draw(field, densities, model, samples_y, t.apply(samples_y, params.expand(samples_y.shape[0], -1)))

    def _draw(self, field, densities, model, samples_y, samples_ty):
        fig, s, tr = self.figures["fields"], self.state, self.traces
        pts, length = self.grid.numpy(), 0.9 * self.step
        reference = float(np.percentile(np.linalg.norm(s["data_score"], axis=1), 90))
        empty = (np.array([]), np.array([]))
        # The maps in a batch of their own: in a batch that sets x and y of other traces, the browser loses the
        # x and y of traces whose x and y it does not set (the maps were drawn at pixel indices, not on the grid)
        with fig.batch_update():
            tr["log_p"].visible = tr["log_p_y"].visible = densities is not None
            if densities is not None:
                # NaN (outside T's image) as None: a gap in the heat map, and valid JSON for the front end
                n = self.density_size
                tr["log_p"].z, tr["log_p_y"].z = (np.where(np.isfinite(d), d, None).reshape(n, n)
                                                  for d in (d.numpy() for d in densities))
        with fig.batch_update():
            tr["samples_y"].x, tr["samples_y"].y = samples_y[:, 0].numpy(), samples_y[:, 1].numpy()
            tr["samples_ty"].x, tr["samples_ty"].y = samples_ty[:, 0].numpy(), samples_ty[:, 1].numpy()
            tr["data_score"].x, tr["data_score"].y = arrow_segments(pts, s["data_score"], length, reference)
            tr["pushforward"].x, tr["pushforward"].y = arrow_segments(pts, s["transformed_score"], length, reference)
            tr["check"].visible = self.value("show_check")
            tr["check"].x, tr["check"].y = arrow_segments(pts, s["check_score"], 0.6 * length, 0.6 * reference)
            tr["jacobian"].visible = self.value("show_jacobian")
            jac = np.linalg.norm(s["jacobian_term"], axis=1)
            jac_ref = max(float(np.percentile(jac[np.isfinite(jac)], 90)) if np.isfinite(jac).any() else 0.0, 1e-300)
            tr["jacobian"].x, tr["jacobian"].y = (arrow_segments(pts, s["jacobian_term"], length, jac_ref)
                                                  if s["jacobian_max"] > 1e-10 else empty)
            tr["reference"].x, tr["reference"].y = arrow_segments(pts, s["data_score"], length, reference)
            tr["model"].x, tr["model"].y = (empty if model is None else
                                            arrow_segments(pts, s["model_score"], length, reference))
            # two short lines each: a panel is about 260 px wide in a laptop's window
            titles = [
                f"data: grad log p_sigma<br>sigma = {s['sigma']:.3g}",
                f"push-forward through {s['describe']}<br>red: formula, green: check, diff "
                f"{s['check_max_abs_diff']:.1e}",
                (f"Jacobian term on its own<br>max |.| = {s['jacobian_max']:.3g}" if s["jacobian_max"] > 1e-10
                 else "Jacobian term: zero<br>(T affine or volume-preserving)"),
                ("model: none yet<br>(press 'the lesson's model')" if model is None else
                 f"model ({s['model_source']})<br>relative RMS error {s['model_relative_error']:.3f}, "
                 f"grey: data"),
            ]
            for ann, text in zip(fig.layout.annotations, titles):
                ann.text = text
        outside = int((~field.valid).sum())
        kinds = [k for k in ("linear", "affine", "orthogonal", "invertible") if s["flags"][k]]
        kinds += [] if s["flags"]["affine"] else ["non-linear"]
        self.info.value = (f"T = <b>{s['describe']}</b> ({', '.join(kinds)}); check: {s['check_method']}; "
                           f"max |formula - check| = {s['check_max_abs_diff']:.2e}"
                           + (f"; {outside} grid points lie outside T's image (no density there)" if outside else ""))
