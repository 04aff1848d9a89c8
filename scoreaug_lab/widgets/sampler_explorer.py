"""SamplerExplorer: EDM's sampler on a toy set, re-run on every change of its settings.

Noise levels sigma_i = (smax^(1/rho) + i/(N-1) (smin^(1/rho) - smax^(1/rho)))^rho, then 0; Heun (2 denoiser
calls per step, 1 on the last) or Euler; churn adds fresh noise before each step (EDM's stochastic
sampler). Shows the samples over the data (or the training points) and a few whole trajectories, the
noise schedule, and how far the samples are from the data (sliced Wasserstein distance to fresh
samples of the mixture) and from the training points (memorisation); the numbers come from
`scoreaug_lab.lab.sampler_report.sampler_report`.

Denoisers: the mixture's true (MMSE) denoiser, the ideal denoiser of a small training set (it can only
reproduce training points: memorisation), or a given model. Sample i always uses seed base + i, so the
same settings give the same samples, and adding samples keeps the first ones.
"""
from __future__ import annotations

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch

from ..data import ring_mixture
from ..lab.sampler_report import sampler_report
from ..oracles import IdealDenoiser, MixtureDenoiser
from ..sampling import METHODS
from .carrier_figure_widget import FigureWidget
from .param_sliders import STYLE, value_slider
from .widget_app import WidgetApp, row

TRUE = "true denoiser (mixture)"
IDEAL = "ideal denoiser (training set)"
MODEL = "model"
AXIS_RANGE = [-2.0, 2.0]


def _trace(fig, traces: dict, name: str, trace):
    fig.add_trace(trace)
    traces[name] = fig.data[-1]


class SamplerExplorer(WidgetApp):
    """Interactive EDM sampler on 2-D data (see the module docstring).

    model: optional denoiser of points (B, 2) (called with omega=None, the identity); mixture: a 2-D
    GaussianMixture (default ring_mixture()), for the true denoiser and the reference samples; train:
    training points (N, 2) for the ideal denoiser and the memorisation measure (default: n_train points
    drawn from the mixture). max_samples, max_steps bound the sliders; sigma_min, sigma_max start the
    schedule's sliders (held exactly: they move over round values).
    """

    title = "Sampler explorer: steps, churn, rho"

    def __init__(self, model=None, mixture=None, train: torch.Tensor | None = None, n_samples: int = 500,
                 n_trajectories: int = 8, steps: int = 18, max_samples: int = 2000, max_steps: int = 64,
                 n_train: int = 32, n_reference: int = 2000, sigma_min: float = 0.002, sigma_max: float = 80.0,
                 seed: int = 0):
        super().__init__()
        self.mixture = mixture if mixture is not None else ring_mixture()
        if self.mixture.dim != 2:
            raise ValueError(f"the sampler explorer is for 2-D data, got a mixture in R^{self.mixture.dim}")
        if not 1 <= n_samples <= max_samples or not 1 <= steps <= max_steps:
            raise ValueError("need 1 <= n_samples <= max_samples and 1 <= steps <= max_steps")
        g = torch.Generator().manual_seed(10_000 + seed)
        self.train = (train if train is not None else self.mixture.sample(n_train, g)).float()
        if self.train.ndim != 2 or self.train.shape[1] != 2 or self.train.shape[0] < 2:
            raise ValueError(f"training points must be (N >= 2, 2), got shape {tuple(self.train.shape)}")
        self.reference = self.mixture.sample(n_reference, g).float()
        self.denoisers = {TRUE: MixtureDenoiser(self.mixture), IDEAL: IdealDenoiser(self.train)}
        if model is not None:
            self.denoisers[MODEL] = model
        self.max_samples = int(max_samples)
        self.report = None
        self.traces: dict = {}

        c = self.add_control
        c("denoiser", W.Dropdown(options=list(self.denoisers), value=MODEL if model is not None else TRUE,
                                 description="denoiser", style=STYLE))
        c("method", W.Dropdown(options=list(METHODS), value="heun", description="method", style=STYLE))
        c("steps", W.IntSlider(value=steps, min=1, max=max_steps, description="steps", style=STYLE))
        c("churn", W.FloatSlider(value=0.0, min=0.0, max=40.0, step=0.5, description="churn", style=STYLE))
        c("rho", W.FloatSlider(value=7.0, min=1.0, max=12.0, step=0.5, description="rho", style=STYLE))
        c("sigma_min", value_slider("sigma_min", sigma_min, 0.001, 0.3))
        c("sigma_max", value_slider("sigma_max", sigma_max, 1.0, 100.0))
        c("n_samples", W.IntSlider(value=n_samples, min=1, max=max_samples, description="samples", style=STYLE))
        c("seed", W.IntSlider(value=0, min=0, max=99, description="seed", style=STYLE))
        c("n_trajectories", W.IntSlider(value=n_trajectories, min=0, max=32, description="trajectories",
                                        style=STYLE))
        self.info = W.HTML()
        self.figures["samples"] = self._samples_figure()
        self.figures["schedule"] = self._schedule_figure()
        ctl = self.controls
        self._finish(
            row(ctl["denoiser"], ctl["method"], ctl["steps"]),
            row(ctl["churn"], ctl["rho"], ctl["sigma_min"].box, ctl["sigma_max"].box),
            row(ctl["n_samples"], ctl["seed"], ctl["n_trajectories"]),
            self.info, row(self.figures["samples"], self.figures["schedule"]))

    # --- figures ---------------------------------------------------------------------------------------
    def _samples_figure(self):
        fig, ref, tr = FigureWidget(), self.reference.numpy(), self.train.numpy()
        _trace(fig, self.traces, "data", go.Scatter(x=ref[:, 0], y=ref[:, 1], mode="markers",
                                                    name="data (fresh samples)", marker=dict(size=3, color="#cccccc")))
        _trace(fig, self.traces, "train", go.Scatter(x=tr[:, 0], y=tr[:, 1], mode="markers", name="training points",
                                                     marker=dict(size=9, symbol="x", color="#d62728")))
        _trace(fig, self.traces, "samples", go.Scatter(x=[], y=[], mode="markers", name="samples",
                                                       marker=dict(size=4, color="#1f77b4", opacity=0.7)))
        _trace(fig, self.traces, "trajectories", go.Scatter(x=[], y=[], mode="lines", name="trajectories",
                                                            line=dict(color="#ff7f0e", width=1)))
        _trace(fig, self.traces, "ends", go.Scatter(x=[], y=[], mode="markers", name="trajectory ends",
                                                    marker=dict(size=7, color="#ff7f0e", symbol="circle-open")))
        fig.update_layout(width=520, height=520, margin=dict(l=10, r=10, t=50, b=10),
                          xaxis=dict(range=AXIS_RANGE, autorange=False),
                          yaxis=dict(range=AXIS_RANGE, autorange=False, scaleanchor="x"),
                          legend=dict(orientation="h", y=-0.08))
        return fig

    def _schedule_figure(self):
        fig = FigureWidget()
        _trace(fig, self.traces, "sigmas", go.Scatter(x=[], y=[], mode="lines+markers", name="sigma_i"))
        fig.update_layout(width=420, height=520, margin=dict(l=10, r=10, t=50, b=10), title="noise levels",
                          xaxis_title="step i", yaxis=dict(type="log", title="sigma_i"))
        return fig

    # --- the update ------------------------------------------------------------------------------------
    def update(self) -> None:
        v = {name: ctl.value for name, ctl in self.controls.items()}
        base = int(v["seed"]) * self.max_samples
        settings = dict(num_steps=v["steps"], sigma_min=v["sigma_min"], sigma_max=v["sigma_max"], rho=v["rho"],
                        method=v["method"], churn=v["churn"])
        seeds = range(base, base + int(v["n_samples"]))
        r = sampler_report(self.denoisers[v["denoiser"]], seeds, self.reference, self.train, v["n_trajectories"],
                           **settings)
        self.report = r
        self.state = dict(samples=r.samples.numpy(), trajectories=r.trajectories.numpy(), sigmas=r.sigmas.numpy(),
                          nfe=r.nfe, seeds=(seeds[0], seeds[-1]), denoiser=v["denoiser"],
                          sliced_wasserstein=r.sliced_wasserstein, memorised_fraction=r.memorised_fraction,
                          mean_nn_distance=r.mean_nn_distance, **settings)
        self._draw(r)

    def _draw(self, r):
        s, tr = self.state, self.traces
        fig, sched = self.figures["samples"], self.figures["schedule"]
        with fig.batch_update():
            tr["samples"].x, tr["samples"].y = r.samples[:, 0].numpy(), r.samples[:, 1].numpy()
            paths = r.trajectories
            gap = torch.full((paths.shape[0], 1, paths.shape[2]), float("nan"))
            lines = torch.cat([paths, gap], dim=1).reshape(-1, 2).numpy()       # one polyline per sample, NaN gaps
            ends = paths[:, -1].numpy() if paths.shape[0] else np.zeros((0, 2))
            tr["trajectories"].x, tr["trajectories"].y = lines[:, 0], lines[:, 1]
            tr["ends"].x, tr["ends"].y = ends[:, 0], ends[:, 1]
            fig.layout.title.text = (f"{s['method']}, {s['num_steps']} steps ({s['nfe']} denoiser calls), churn "
                                     f"{s['churn']:.3g}, rho {s['rho']:.3g}")
        with sched.batch_update():
            sig = s["sigmas"][:-1]
            tr["sigmas"].x, tr["sigmas"].y = np.arange(sig.shape[0]), sig
        self.info.value = (f"{s['denoiser']}: sliced Wasserstein distance to the data "
                           f"<b>{s['sliced_wasserstein']:.3f}</b>; "
                           f"memorised <b>{100 * s['memorised_fraction']:.1f}%</b> of the samples (nearest training "
                           f"point closer than 1/3 of the second nearest), mean distance to the nearest training "
                           f"point {s['mean_nn_distance']:.3f}")
