"""ImageTransformExplorer: what an image transform does to a noisy image, and what the best denoiser does with it.

Pick an image (digits; CIFAR-10 when its .npz is found), a noise level sigma, a transform and its parameters.
Every number comes from `scoreaug_lab.lab.noise_report.noise_report` (the same call notebook 02 makes); the widget shows

    x0          x0 + sigma n          T(x0 + sigma n)   (noisy space: ScoreAug's input)
                                      T(x0) + sigma n   (clean space: conventional augmentation)

the histogram of the effective noise (T(x0 + sigma n) - T(x0)) / sigma against n, the exact per-pixel variance of T n
(transforms.linear: 1 for orthogonal T, a^2 for brightness a, about 4/9 inside a bilinear rotation), and the chosen
denoiser on both sides of the equivariance relation D(T y; sigma, omega_T) = T D(y; sigma, 0), with y = x0 + sigma n.
Where that denoiser does not exist in closed form (the noisy-space optimum of a bilinear rotation) the widget says
so in place of those panels.

    app = ImageTransformExplorer()                              # digits, rot90, the noisy-space optimum
    app = ImageTransformExplorer(data="cifar10", transform="rotate", denoiser="clean")
    app = ImageTransformExplorer(model=net, sampler=run_sampler, denoiser="model")
"""
from __future__ import annotations

from pathlib import Path

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..data import data_kind
from ..data.images import local_cifar_npz
from .carrier_figure_widget import FigureWidget
from .param_sliders import STYLE
from .pictures import BLANK, set_image
from .transform_explorer_base import TransformExplorerBase
from .widget_app import row

VIEWS = {"x0": "x0", "noisy": "x0 + σn", "noisy_space": "T(x0 + σn)<br>noisy space (ScoreAug)",
         "clean_space": "T(x0) + σn<br>clean space"}
N_HELDOUT = 64


def _image(name: str):
    return go.Image(source=BLANK, name=name, hoverinfo="skip")


class ImageTransformExplorer(TransformExplorerBase):
    """Interactive view of an image transform acting on noisy data (see the module docstring).

    data: "digits", "cifar10" or a spec of its own ("digits:32"); model (optional): any denoiser of these images,
    with sampler = its TransformSampler when it reads omega; denoiser: "noisy", "clean" or "model"; n_train: the
    optima's training set; x0 is one of 64 held-out images (index slider). cifar_path: a CIFAR-10 .npz (None: look
    for the local copy; False: no CIFAR-10).
    """

    kind = "images"
    title = "Image transform explorer: noisy space vs clean space"

    def __init__(self, data: str = "digits", model=None, sampler=None, transform: str = "rot90", sigma: float = 0.3,
                 denoiser: str = "noisy", n_train: int = 64, digits_size: int = 16, cifar_path=None,
                 n_noise_draws: int = 8, seed: int = 0):
        specs = {"digits": f"digits:{int(digits_size)}"}
        path = local_cifar_npz() if cifar_path is None else (Path(cifar_path) if cifar_path else None)
        if path is not None:
            specs["cifar10"] = f"cifar10:{path}"
        if data not in specs:
            if data.startswith("cifar10") and path is None:
                raise ValueError("CIFAR-10 was asked for but no .npz was found: pass cifar_path=... or set "
                                 "SCOREAUG_CIFAR_NPZ")
            if data_kind(data) != "images":
                raise ValueError(f"{data!r} is not an image data set: use PointTransformExplorer")
            specs[data] = data          # e.g. "digits:8": a spec of its own (load_data checks it)
        super().__init__(specs, data, model, sampler, transform, sigma, denoiser, n_train, N_HELDOUT,
                         n_noise_draws, seed)

    def _rows(self):
        self.add_control("index", W.IntSlider(value=0, min=0, max=N_HELDOUT - 1, description="image (held-out)",
                                              style=STYLE))
        return [row(*(self.controls[n] for n in ("data", "index", "noise_seed")))]

    def _x0(self, split):
        return split.heldout[self.value("index") % split.heldout.shape[0]].unsqueeze(0)     # (1, C, H, W)

    # --- figures (built once; _draw only assigns data) -------------------------------------------------
    def _figures(self) -> None:
        views = FigureWidget(make_subplots(rows=1, cols=4, subplot_titles=list(VIEWS.values()),
                                              horizontal_spacing=0.03))
        for col, name in enumerate(VIEWS, start=1):
            self._add(views, name, _image(name), 1, col)
        views.update_layout(height=360, margin=dict(l=10, r=10, t=110, b=10), title=dict(y=0.94, yanchor="top"))
        noise = FigureWidget(make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], subplot_titles=[
            "effective noise (T(x0 + σn) − T(x0)) / σ<br>against white noise n", "per-pixel variance of T n / σ²"]))
        self._add_histograms(noise)
        self._add(noise, "variance", go.Heatmap(z=np.zeros((2, 2)), zmin=0, zmax=1, colorscale="Viridis",
                                                colorbar=dict(len=0.8, x=1.0)), 1, 2)
        noise.update_layout(barmode="overlay", height=400, margin=dict(l=40, r=10, t=110, b=40),
                            title=dict(y=0.94, yanchor="top"), legend=dict(orientation="h", y=-0.3),
                            yaxis2=dict(autorange="reversed", scaleanchor="x2", showticklabels=False, showgrid=False),
                            xaxis2=dict(showticklabels=False, showgrid=False))
        eq = FigureWidget(make_subplots(rows=1, cols=3, horizontal_spacing=0.05, subplot_titles=[
            "D(T y; σ, ω_T)", "T D(y; σ, 0)", "|D(T y) − T D(y)|"]))
        self._add(eq, "d_ty", _image("d_ty"), 1, 1)
        self._add(eq, "t_dy", _image("t_dy"), 1, 2)
        self._add(eq, "error", go.Heatmap(z=np.zeros((2, 2)), colorscale="Magma", zmin=0, colorbar=dict(len=0.8)), 1, 3)
        eq.update_layout(height=360, margin=dict(l=10, r=10, t=110, b=10), title=dict(y=0.94, yanchor="top"),
                         plot_bgcolor="white")
        eq.update_yaxes(autorange="reversed", row=1, col=3)
        for fig, n in ((views, 4), (eq, 3)):
            for i in range(1, n + 1):
                fig.update_xaxes(showticklabels=False, row=1, col=i)
                fig.update_yaxes(showticklabels=False, scaleanchor=f"x{'' if i == 1 else i}", row=1, col=i)
        self.figures.update(views=views, noise=noise, equivariance=eq)

    def _draw(self, r) -> None:
        s, views, noise, eq = self.state, self.figures["views"], self.figures["noise"], self.figures["equivariance"]
        with views.batch_update():
            for name in VIEWS:
                set_image(self.traces[name], getattr(r, name)[0])
            flags = ", ".join(k for k, v in s["flags"].items() if v) or "non-linear"
            views.layout.title.text = f"{s['title']}<br><sup>{flags}</sup>"
        with noise.batch_update():
            self._draw_histograms(r)
            st = r.statistics
            var = st.variance.numpy() if st is not None else np.zeros(tuple(r.x0.shape[-2:]))
            self.traces["variance"].z, self.traces["variance"].zmax = var, max(1.0, float(var.max()))
            noise.layout.title.text = ("noise statistics: T is not linear" if st is None else
                                       f"variance ratio {st.variance_ratio:.4f}<br><sup>interior "
                                       f"{st.variance_ratio_interior:.4f}, all pixels {st.variance_ratio_all:.4f}, "
                                       f"noise-free {100 * st.noise_free_fraction:.1f}%, neighbour correlation "
                                       f"{st.neighbour_correlation:.3f}</sup>")
        with eq.batch_update():
            self._show_equivariance(r.available)
            if r.available:
                e = r.equivariance
                set_image(self.traces["d_ty"], e.transformed_input[0])
                set_image(self.traces["t_dy"], e.transformed_output[0])
                # colour scale from 0 to at least 1 % of the image's range: round-off shows as black
                emap = r.error_map.numpy()
                span = float(e.transformed_output.max() - e.transformed_output.min())
                self.traces["error"].z = emap
                self.traces["error"].zmax = max(float(emap.max()), 0.01 * span, 1e-12)
            eq.layout.title.text = (f"equivariance error {r.equivariance_error:.3g}<br><sup>{s['denoiser']}; RMS per "
                                    f"pixel, relative {r.equivariance_relative:.3g}</sup>" if r.available
                                    else f"{s['denoiser']}: not available")
