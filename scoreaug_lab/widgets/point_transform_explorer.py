"""PointTransformExplorer: what a transform of the plane does to noisy points, and what the best denoiser does.

Pick a toy set (held-out points x0), a noise level sigma, a point transform (rotations, flips, scaling, shear,
and the non-linear tanh and quadratic shear) and its parameters. Every number comes from
`scoreaug_lab.lab.noise_report.noise_report`; the widget shows x0, x0 + sigma n, T(x0 + sigma n) (noisy space) and
T(x0) + sigma n (clean space); the effective noise (T(x0 + sigma n) - T(x0)) / sigma against n (its covariance is
exactly A A^T for an affine T, a Monte Carlo estimate for a non-linear one, which also makes it non-Gaussian); and
D(T y; sigma, omega_T) beside T D(y; sigma, 0) for the chosen denoiser.

    app = PointTransformExplorer()                                  # toy:gmm8, rotate, the noisy-space optimum
    app = PointTransformExplorer(data="toy:moons", transform="tanh")
"""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..data import TOY_SETS
from .carrier_figure_widget import FigureWidget
from .transform_explorer_base import TransformExplorerBase
from .widget_app import row

VIEWS = {"x0": "x0", "noisy": "x0 + σn", "noisy_space": "T(x0 + σn)<br>noisy space",
         "clean_space": "T(x0) + σn<br>clean space"}
REFERENCE = {"noisy": "x0", "noisy_space": "t_x0", "clean_space": "t_x0"}     # drawn in grey under each panel
POINT_RANGE = 2.5                               # plotted square [-2.5, 2.5]^2
NOISE_RANGE = 4.5                               # effective noise in units of sigma (ticks at +-4 clear of the
                                                # panel's title)
MAX_NOISE_POINTS = 1000


def _points(name: str, colour: str, size: int = 4, **marker):
    return go.Scatter(x=[], y=[], mode="markers", name=name, marker=dict(size=size, color=colour, **marker))


def _xy(points) -> tuple:
    p = points.reshape(-1, 2).numpy()
    return p[:, 0], p[:, 1]


class PointTransformExplorer(TransformExplorerBase):
    """Interactive view of a point transform acting on noisy 2-D data (see the module docstring).

    data: "toy:gmm8", "toy:moons", ...; model (optional): a denoiser of points (B, 2), with sampler = its
    TransformSampler when it reads omega; denoiser: "noisy", "clean" or "model"; n_train: the optima's training set;
    n_points: held-out points shown.
    """

    kind = "points"
    title = "Point transform explorer: noisy space vs clean space"

    def __init__(self, data: str = "toy:gmm8", model=None, sampler=None, transform: str = "rotate",
                 sigma: float = 0.3, denoiser: str = "noisy", n_train: int = 64, n_points: int = 256,
                 n_noise_draws: int = 8, seed: int = 0):
        if n_points < 2:
            raise ValueError(f"n_points must be >= 2, got {n_points}")
        specs = {f"toy:{name}": f"toy:{name}" for name in TOY_SETS}
        super().__init__(specs, data, model, sampler, transform, sigma, denoiser, n_train, int(n_points),
                         n_noise_draws, seed)

    def _rows(self):
        return [row(self.controls["data"], self.controls["noise_seed"])]

    def _x0(self, split):
        return split.heldout[:self.n_heldout]                                             # (N, 2)

    # --- figures (built once; _draw only assigns data) -------------------------------------------------
    def _figures(self) -> None:
        views = FigureWidget(make_subplots(rows=1, cols=4, subplot_titles=list(VIEWS.values()),
                                              horizontal_spacing=0.04))
        for col, name in enumerate(VIEWS, start=1):
            if name in REFERENCE:
                self._add(views, f"{name}_reference", _points(REFERENCE[name], "#bbbbbb", 3), 1, col)
            self._add(views, name, _points(name, "#1f77b4"), 1, col)
        views.update_layout(height=360, margin=dict(l=30, r=10, t=110, b=30), title=dict(y=0.94, yanchor="top"),
                            showlegend=False)
        noise = FigureWidget(make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], subplot_titles=[
            "effective noise / σ, both coordinates", "effective noise / σ (red)<br>and n (grey)"]))
        self._add_histograms(noise)
        self._add(noise, "noise_reference", _points("n", "#bbbbbb", 3), 1, 2)
        self._add(noise, "noise_effective", _points("effective / σ", "#d62728", 3, opacity=0.5), 1, 2)
        noise.update_layout(barmode="overlay", height=420, margin=dict(l=40, r=10, t=110, b=40),
                            title=dict(y=0.94, yanchor="top"), legend=dict(orientation="h", y=-0.25))
        noise.update_xaxes(range=[-NOISE_RANGE, NOISE_RANGE], autorange=False, constrain="domain", row=1, col=2)
        noise.update_yaxes(range=[-NOISE_RANGE, NOISE_RANGE], autorange=False, scaleanchor="x2", row=1, col=2)
        eq = FigureWidget(make_subplots(rows=1, cols=3, horizontal_spacing=0.05, subplot_titles=[
            "D(T y; σ, ω_T)", "T D(y; σ, 0)", "T y, coloured by the error"]))
        self._add(eq, "d_ty", _points("D(T y)", "#2ca02c"), 1, 1)
        self._add(eq, "t_dy", _points("T D(y)", "#9467bd"), 1, 2)
        self._add(eq, "error", _points("|D(T y) − T D(y)|", [], 5, colorscale="Magma", cmin=0, showscale=True,
                                       colorbar=dict(len=0.8)), 1, 3)
        eq.update_layout(height=360, margin=dict(l=30, r=10, t=110, b=30), title=dict(y=0.94, yanchor="top"),
                         showlegend=False)
        for fig, n in ((views, 4), (eq, 3)):
            for i in range(1, n + 1):
                fig.update_xaxes(range=[-POINT_RANGE, POINT_RANGE], autorange=False, constrain="domain", row=1, col=i)
                fig.update_yaxes(range=[-POINT_RANGE, POINT_RANGE], autorange=False,
                                 scaleanchor=f"x{'' if i == 1 else i}", row=1, col=i)
        self.figures.update(views=views, noise=noise, equivariance=eq)

    def _draw(self, r) -> None:
        s, views, noise, eq = self.state, self.figures["views"], self.figures["noise"], self.figures["equivariance"]
        with views.batch_update():
            for name in VIEWS:
                self.traces[name].x, self.traces[name].y = _xy(getattr(r, name))
                if name in REFERENCE:
                    ref = self.traces[f"{name}_reference"]
                    ref.x, ref.y = _xy(getattr(r, REFERENCE[name]))
            flags = [k for k in ("linear", "affine", "orthogonal", "invertible") if s["flags"][k]]
            flags = ", ".join(flags + ([] if s["flags"]["affine"] else ["non-linear"]))
            views.layout.title.text = f"{s['title']}<br><sup>{flags}</sup>"
        # the histograms in a batch of their own: in a batch that also sets x and y of the scatter traces, the
        # browser loses the x of the bars (they were drawn at their indices 0..39, not at the bin centres)
        with noise.batch_update():
            self._draw_histograms(r)
        with noise.batch_update():
            for name, values in (("noise_reference", r.reference), ("noise_effective", r.effective)):
                self.traces[name].x, self.traces[name].y = _xy(values.reshape(-1, 2)[:MAX_NOISE_POINTS])
            st = r.statistics
            method = "exact, A Aᵀ" if st.exact else st.method.replace("Monte Carlo over", "Monte Carlo,")
            noise.layout.title.text = (f"variance ratio {st.variance_ratio:.4f}, correlation "
                                       f"{st.neighbour_correlation:.3f}<br><sup>{method}</sup>")
        with eq.batch_update():
            self._show_equivariance(r.available)
            if r.available:
                e = r.equivariance
                self.traces["d_ty"].x, self.traces["d_ty"].y = _xy(e.transformed_input)
                self.traces["t_dy"].x, self.traces["t_dy"].y = _xy(e.transformed_output)
                self.traces["error"].x, self.traces["error"].y = _xy(r.noisy_space)
                self.traces["error"].marker.color = r.error_map.numpy()
            eq.layout.title.text = (f"equivariance error {r.equivariance_error:.3g}<br><sup>{s['denoiser']}, RMS per "
                                    f"coordinate</sup>" if r.available else f"{s['denoiser']}: not available")
