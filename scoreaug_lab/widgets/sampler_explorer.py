"""SamplerExplorer: EDM's sampler on a toy set, re-run on every change of its settings.

Noise levels sigma_i = (smax^(1/rho) + i/(N-1) (smin^(1/rho) - smax^(1/rho)))^rho, then 0; Heun (2 denoiser
calls per step, 1 on the last) or Euler; churn adds fresh noise before each step (EDM's stochastic
sampler). Shows the samples over the data (or the training points) and a few whole trajectories, the
noise schedule, and how far the samples are from the data (sliced Wasserstein distance to fresh
samples of the mixture) and from the training points (memorisation).

Denoisers: the mixture's true (MMSE) denoiser, the ideal denoiser of a small training set (it can only
reproduce training points: memorisation), or a given model. Sample i always uses seed base + i, so the
same settings give the same samples, and adding samples keeps the first ones.
"""
from __future__ import annotations

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..data import ring_mixture
from ..metrics import memorisation, model_device, sliced_wasserstein
from ..sampling import METHODS, SeededNoise, edm_sigma_steps, sample_trajectory
from .base import WidgetApp
from .oracles import IdealDenoiser, MixtureDenoiser

TRUE = "true denoiser (mixture)"
IDEAL = "ideal denoiser (training set)"
MODEL = "model"
AXIS_RANGE = [-2.0, 2.0]


class SamplerExplorer(WidgetApp):
    """Interactive EDM sampler on 2-D data (see the module docstring).

    model: optional denoiser of points (B, 2) (called with omega=None, the identity); mixture: a 2-D
    GaussianMixture (default ring_mixture()), for the true denoiser and the reference samples; train:
    training points (N, 2) for the ideal denoiser and the memorisation measure (default: n_train points
    drawn from the mixture). max_samples, max_steps bound the sliders.
    """

    title = "Sampler explorer: steps, churn, rho"

    def __init__(self, model=None, mixture=None, train: torch.Tensor | None = None, n_samples: int = 500,
                 n_trajectories: int = 8, steps: int = 18, max_samples: int = 2000, max_steps: int = 64,
                 n_train: int = 32, n_reference: int = 2000, seed: int = 0):
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

        style = {"description_width": "initial"}
        c = self.add_control
        c("denoiser", W.Dropdown(options=list(self.denoisers), value=MODEL if model is not None else TRUE,
                                 description="denoiser", style=style))
        c("method", W.Dropdown(options=list(METHODS), value="heun", description="method", style=style))
        c("steps", W.IntSlider(value=steps, min=1, max=max_steps, description="steps", style=style))
        c("churn", W.FloatSlider(value=0.0, min=0.0, max=40.0, step=0.5, description="churn", style=style))
        c("rho", W.FloatSlider(value=7.0, min=1.0, max=12.0, step=0.5, description="rho", style=style))
        c("sigma_min", W.FloatLogSlider(value=0.002, base=10, min=-3, max=-0.5, step=0.05, description="sigma_min",
                                        readout_format=".3g", style=style))
        c("sigma_max", W.FloatLogSlider(value=80.0, base=10, min=0, max=2, step=0.05, description="sigma_max",
                                        readout_format=".3g", style=style))
        c("n_samples", W.IntSlider(value=n_samples, min=1, max=max_samples, description="samples", style=style))
        c("seed", W.IntSlider(value=0, min=0, max=99, description="seed", style=style))
        c("n_trajectories", W.IntSlider(value=n_trajectories, min=0, max=32, description="trajectories",
                                        style=style))
        self.info = W.HTML()
        self.figures["samples"] = self._samples_figure()
        self.figures["schedule"] = self._schedule_figure()
        ctl = self.controls
        self._finish(
            W.HBox([ctl["denoiser"], ctl["method"], ctl["steps"]]),
            W.HBox([ctl["churn"], ctl["rho"], ctl["sigma_min"], ctl["sigma_max"]]),
            W.HBox([ctl["n_samples"], ctl["seed"], ctl["n_trajectories"]]),
            self.info, W.HBox([self.figures["samples"], self.figures["schedule"]]))

    # --- figures ---------------------------------------------------------------------------------------
    def _samples_figure(self):
        fig = go.FigureWidget()
        ref = self.reference.numpy()
        fig.add_trace(go.Scatter(x=ref[:, 0], y=ref[:, 1], mode="markers", name="data (fresh samples)",
                                 marker=dict(size=3, color="#cccccc")))
        tr = self.train.numpy()
        fig.add_trace(go.Scatter(x=tr[:, 0], y=tr[:, 1], mode="markers", name="training points",
                                 marker=dict(size=9, symbol="x", color="#d62728")))
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="samples",
                                 marker=dict(size=4, color="#1f77b4", opacity=0.7)))
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines", name="trajectories",
                                 line=dict(color="#ff7f0e", width=1)))
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="trajectory ends",
                                 marker=dict(size=7, color="#ff7f0e", symbol="circle-open")))
        fig.update_layout(width=520, height=520, margin=dict(l=10, r=10, t=50, b=10),
                          xaxis=dict(range=AXIS_RANGE, autorange=False),
                          yaxis=dict(range=AXIS_RANGE, autorange=False, scaleanchor="x"),
                          legend=dict(orientation="h", y=-0.08))
        return fig

    def _schedule_figure(self):
        fig = go.FigureWidget(make_subplots(rows=1, cols=1))
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines+markers", name="sigma_i"))
        fig.update_layout(width=420, height=520, margin=dict(l=10, r=10, t=50, b=10), title="noise levels",
                          xaxis_title="step i", yaxis=dict(type="log", title="sigma_i"))
        return fig

    # --- the update ------------------------------------------------------------------------------------
    def update(self) -> None:
        v = {name: ctl.value for name, ctl in self.controls.items()}
        model = self.denoisers[v["denoiser"]]
        n = int(v["n_samples"])
        base = int(v["seed"]) * self.max_samples
        seeds = list(range(base, base + n))
        n_traj = min(int(v["n_trajectories"]), n)
        kwargs = dict(num_steps=int(v["steps"]), sigma_min=float(v["sigma_min"]), sigma_max=float(v["sigma_max"]),
                      rho=float(v["rho"]), method=v["method"], churn=float(v["churn"]))
        sigmas = edm_sigma_steps(kwargs["num_steps"], kwargs["sigma_min"], kwargs["sigma_max"], kwargs["rho"])
        device = model_device(model)
        start = SeededNoise(seeds[:max(n_traj, 1)]).randn((2,), torch.float32)[:n_traj] * sigmas[0].item()
        path = [start]
        state = None
        for state in sample_trajectory(model, (2,), seeds, device=device, **kwargs):
            path.append(state.x[:n_traj].detach().cpu())
        samples = state.x.detach().cpu().float()
        trajectories = torch.stack(path, dim=1)                                      # (n_traj, steps + 1, 2)
        finite = torch.isfinite(samples).all(1)
        swd = sliced_wasserstein(samples[finite], self.reference, n_projections=64) if finite.sum() >= 2 \
            else float("nan")
        mem = memorisation(samples[finite], self.train) if finite.any() else \
            {"memorised_fraction": float("nan"), "mean_nn_distance": float("nan")}
        self.state = dict(samples=samples.numpy(), trajectories=trajectories.numpy(), sigmas=sigmas.numpy(),
                          nfe=state.nfe, seeds=(seeds[0], seeds[-1]), denoiser=v["denoiser"],
                          sliced_wasserstein=swd, **mem, **kwargs)
        self._draw(samples, trajectories)

    def _draw(self, samples, trajectories):
        s = self.state
        fig, sched = self.figures["samples"], self.figures["schedule"]
        with fig.batch_update():
            fig.data[2].x, fig.data[2].y = samples[:, 0].numpy(), samples[:, 1].numpy()
            if trajectories.shape[0]:
                gap = torch.full((trajectories.shape[0], 1, 2), float("nan"))
                lines = torch.cat([trajectories, gap], dim=1).reshape(-1, 2).numpy()
                ends = trajectories[:, -1].numpy()
            else:
                lines = ends = np.zeros((0, 2))
            fig.data[3].x, fig.data[3].y = lines[:, 0], lines[:, 1]
            fig.data[4].x, fig.data[4].y = ends[:, 0], ends[:, 1]
            fig.layout.title.text = (f"{s['method']}, {s['num_steps']} steps ({s['nfe']} denoiser calls), churn "
                                     f"{s['churn']:.3g}, rho {s['rho']:.3g}")
        with sched.batch_update():
            sig = s["sigmas"][:-1]
            sched.data[0].x, sched.data[0].y = np.arange(sig.shape[0]), sig
        self.info.value = (f"{s['denoiser']}: sliced Wasserstein distance to the data "
                           f"<b>{s['sliced_wasserstein']:.3f}</b>; "
                           f"memorised <b>{100 * s['memorised_fraction']:.1f}%</b> of the samples (nearest training "
                           f"point closer than 1/3 of the second nearest), mean distance to the nearest training "
                           f"point {s['mean_nn_distance']:.3f}")
