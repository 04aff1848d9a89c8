"""ScoreFieldExplorer: score fields in the plane, of the data, of a transformed distribution, of a model.

Data: a Gaussian mixture (default: 8 modes on a ring) whose noisy marginal p_sigma has a closed-form
score. Four panels at the chosen noise level sigma:

  1. the data score  grad log p_sigma(y)  (closed form), over log p_sigma and noisy samples y = x0 + sigma n
  2. the score of the transformed noisy distribution, i.e. of T(x0 + sigma n) (ScoreAug's input), from the
     push-forward formula (g = T^-1)
         grad log p_Y(y) = J_g(y)^T grad log p_sigma(g(y))  +  grad_y log|det J_g(y)|
                           (the transported score)              (the Jacobian, or volume, term)
     overlaid with an independent check: the closed form where there is one (orthogonal T: T s(T^T y);
     scaling a: s(y / a) / a; other linear A: A^-T s(A^-1 y)), else autograd (torch.func) of the
     push-forward log-density log p_sigma(g(y)) + log|det J_g(y)|
  3. the Jacobian term on its own (zero for linear maps and volume-preserving ones such as the quadratic
     shear; not for tanh)
  4. a model's score (D(y; sigma) - y) / sigma^2 (Tweedie) beside the data score; the model is given or
     trained on demand in a couple of seconds (button "train a small model", or `train_model()`).
"""
from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from ..data import ring_mixture
from ..diffusion import diffusion_loss
from ..metrics import model_device
from ..models import MLPDenoiser
from ..scores import (autograd_score, linear_pushforward_score, orthogonal_noisy_score, pushforward_log_prob,
                      scaled_noisy_score, transform_inverse_map, transform_matrix,
                      transform_pushforward_score_terms)
from ..transforms import registry
from .arrows import arrow_segments
from .base import WidgetApp
from .params import all_control_names, control_names, make_param_controls, params_from_values

COLOURS = {"data": "#1f77b4", "pushforward": "#d62728", "check": "#2ca02c", "jacobian": "#9467bd",
           "model": "#ff7f0e", "reference": "#aaaaaa"}


def train_toy_denoiser(mixture, steps: int = 400, batch_size: int = 256, seed: int = 0, lr: float = 3e-3,
                       width: int = 64, depth: int = 2) -> MLPDenoiser:
    """A small MLP denoiser trained on fresh samples of `mixture` (no augmentation), in about 2 s on a CPU."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    torch.manual_seed(seed)
    net = MLPDenoiser(dim=mixture.dim, width=width, depth=depth, fourier_features=32)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        loss = diffusion_loss(net, mixture.sample(batch_size, g), "noaug", generator=g).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()


def inside_image(transform, params: torch.Tensor, y: torch.Tensor, tol: float = 1e-9) -> torch.Tensor:
    """(B,) bool: points y (B, d) that T maps onto, i.e. where g = T^-1 exists (tanh: the open cube
    |y| < 1/k). Found by mapping back and forth, with no knowledge of the particular transform."""
    p = params.expand(y.shape[0], -1)
    back = transform._inverse(y, p)
    ok = torch.isfinite(back).all(1) & (back.abs() < 1e6).all(1)
    there = transform._apply(torch.where(ok[:, None], back, torch.zeros_like(back)), p)
    return ok & ((there - y).abs() <= tol * (1 + y.abs())).all(1)


class ScoreFieldExplorer(WidgetApp):
    """Score fields of a 2-D Gaussian mixture, its push-forward through a point transform, and a model.

    mixture: a data.GaussianMixture in R^2 (default ring_mixture()); model: optional denoiser of points
    (B, 2) (called with omega=None); grid_size arrows per side over [-extent, extent]^2; density_size
    pixels per side of the log-density maps; train_steps for the on-demand model.
    """

    title = "Score fields: data, push-forward through T, and a model"

    def __init__(self, mixture=None, model=None, transform: str = "rotate", sigma: float = 0.2,
                 grid_size: int = 17, extent: float = 1.6, density_size: int = 48, n_samples: int = 300,
                 train_steps: int = 400, seed: int = 0):
        super().__init__()
        self.mixture = mixture if mixture is not None else ring_mixture()
        if self.mixture.dim != 2:
            raise ValueError(f"the score field explorer is for 2-D data, got a mixture in R^{self.mixture.dim}")
        if grid_size < 2 or density_size < 2 or extent <= 0:
            raise ValueError("grid_size and density_size must be >= 2 and extent > 0")
        names = list(registry("points"))
        if transform not in names:
            raise ValueError(f"unknown point transform {transform!r}; choose from {', '.join(names)}")
        self.model, self.model_source = model, ("given" if model is not None else None)
        self.train_steps, self.seed, self.extent = int(train_steps), int(seed), float(extent)
        axis = torch.linspace(-extent, extent, grid_size, dtype=torch.float64)
        self.grid = torch.stack(torch.meshgrid(axis, axis, indexing="xy"), -1).reshape(-1, 2)  # (G*G, 2)
        self.step = float(axis[1] - axis[0])
        dens_axis = torch.linspace(-extent, extent, density_size, dtype=torch.float64)
        self.dens_axis = dens_axis.numpy()
        self.dens_grid = torch.stack(torch.meshgrid(dens_axis, dens_axis, indexing="xy"), -1).reshape(-1, 2)
        self.density_size = int(density_size)
        g = torch.Generator().manual_seed(seed)
        self.x0 = self.mixture.sample(n_samples, g).double()                     # (S, 2)
        self.noise = torch.randn(self.x0.shape, generator=g, dtype=torch.float64)
        self._transforms = {name: cls() for name, cls in registry("points").items()}

        style = {"description_width": "initial"}
        c = self.add_control
        c("sigma", W.FloatLogSlider(value=sigma, base=10, min=-2, max=0.5, step=0.01, description="sigma",
                                    readout_format=".3f", style=style))
        c("transform", W.Dropdown(options=names, value=transform, description="transform T", style=style))
        self.param_names = all_control_names("points")
        for name, widget in make_param_controls(self.param_names).items():
            c(name, widget)
        c("show_check", W.Checkbox(value=True, description="overlay the independent check", indent=False))
        c("show_jacobian", W.Checkbox(value=True, description="show the Jacobian term", indent=False))
        c("show_density", W.Checkbox(value=True, description="log-density background", indent=False))
        self.buttons = {"train": W.Button(description="train a small model", icon="play",
                                          layout=W.Layout(width="auto"))}
        self.buttons["train"].on_click(lambda _: self.train_model())
        self.info = W.HTML()
        self.figures["fields"] = self._figure()
        ctl = self.controls
        self._finish(
            W.HBox([ctl["sigma"], ctl["transform"], self.buttons["train"]]),
            W.Box([ctl[n] for n in self.param_names], layout=W.Layout(display="flex", flex_flow="row wrap")),
            W.HBox([ctl["show_check"], ctl["show_jacobian"], ctl["show_density"]]),
            self.info, self.figures["fields"])

    # --- model ------------------------------------------------------------------------------------------
    def train_model(self, steps: int | None = None) -> MLPDenoiser:
        """Train a small MLP on the mixture (no augmentation), show its score field, and return it."""
        self.status.value = "training a small model ..."
        self.model = train_toy_denoiser(self.mixture, steps or self.train_steps, seed=self.seed)
        self.model_source = "trained"
        self.refresh()
        return self.model

    # --- figure -----------------------------------------------------------------------------------------
    _TITLES = ["data: grad log p_sigma", "push-forward: score of T(x0 + sigma n)",
               "Jacobian term grad log|det J_g| on its own", "model: (D(y) - y) / sigma^2"]

    def _figure(self):
        fig = go.FigureWidget(make_subplots(rows=2, cols=2, subplot_titles=self._TITLES,
                                            horizontal_spacing=0.06, vertical_spacing=0.12))
        z = np.zeros((self.density_size, self.density_size))
        for row, col in ((1, 1), (1, 2)):                                      # traces 0, 1: log-densities
            fig.add_trace(go.Heatmap(x=self.dens_axis, y=self.dens_axis, z=z, colorscale="Greys", reversescale=True,
                                     showscale=False, hoverinfo="skip", opacity=0.6), row=row, col=col)
        for col, name in ((1, "noisy samples y"), (2, "T(y)")):              # traces 2, 3: samples
            fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name=name, showlegend=False,
                                     marker=dict(size=3, color="#555555", opacity=0.4)), row=1, col=col)

        def arrows(name, colour, row, col, dash=None, width=1.5):
            fig.add_trace(go.Scatter(x=[], y=[], mode="lines", name=name, hoverinfo="skip",
                                     line=dict(color=colour, width=width, dash=dash)), row=row, col=col)

        arrows("data score", COLOURS["data"], 1, 1)                              # 4
        arrows("push-forward formula", COLOURS["pushforward"], 1, 2, width=2.5)  # 5
        arrows("independent check", COLOURS["check"], 1, 2, width=1.2)           # 6
        arrows("Jacobian term", COLOURS["jacobian"], 2, 1)                       # 7
        arrows("data score (reference)", COLOURS["reference"], 2, 2)             # 8
        arrows("model score", COLOURS["model"], 2, 2)                            # 9
        lim = [-self.extent * 1.05, self.extent * 1.05]
        for i in range(1, 5):
            sx = "" if i == 1 else str(i)
            fig.layout[f"xaxis{sx}"].update(range=lim, autorange=False, constrain="domain")
            fig.layout[f"yaxis{sx}"].update(range=lim, autorange=False, scaleanchor=f"x{sx}")
        fig.update_layout(width=940, height=820, margin=dict(l=10, r=10, t=60, b=40),
                          legend=dict(orientation="h", y=-0.04))
        fig.update_annotations(font_size=13)            # the subplot titles: two lines at most, see _draw
        return fig

    # --- the update ---------------------------------------------------------------------------------------
    def _check(self, t, params, sigma, score_x, y):
        """(check score at y, method) from a route independent of pushforward_score_terms."""
        if t.linear and t.orthogonal:
            mat = transform_matrix(t, params, 2)
            return orthogonal_noisy_score(lambda x, s: self.mixture.score(x, s), mat)(y, sigma), \
                "closed form T s(T^T y; sigma)"
        if t.name == "scale":
            a = math.exp(params[0, 0].item())
            return scaled_noisy_score(lambda x, s: self.mixture.score(x, s), a)(y, a * sigma), \
                "closed form s(y / a; sigma) / a (noise level a sigma)"
        if t.linear:
            mat = transform_matrix(t, params, 2)
            return linear_pushforward_score(score_x, mat)(y), "closed form A^-T s(A^-1 y)"
        inverse = transform_inverse_map(t, params)
        log_prob = pushforward_log_prob(lambda x: self.mixture.log_prob(x, sigma), inverse)
        return autograd_score(log_prob)(y), "autograd of log p(g(y)) + log|det J_g(y)| (torch.func)"

    def _fields(self, name, t, params, sigma) -> dict:
        """Data score, push-forward terms and the check on the grid (remembered for the last settings, so
        that the display toggles only redraw)."""
        key = (name, tuple(params[0].tolist()), sigma)
        if getattr(self, "_fields_key", None) == key:
            return self._fields_value
        grid = self.grid

        def score_x(x):
            return self.mixture.score(x, sigma)

        data_score = score_x(grid)                                                   # (G, 2)
        valid = inside_image(t, params, grid)
        y = grid[valid]
        transported = torch.full_like(grid, float("nan"))
        volume = torch.full_like(grid, float("nan"))
        check = torch.full_like(grid, float("nan"))
        method = "none"
        if valid.any():
            terms = transform_pushforward_score_terms(score_x, t, params)
            tr, vol = terms(y)
            transported[valid], volume[valid] = tr, vol
            chk, method = self._check(t, params, sigma, score_x, y)
            check[valid] = chk.double()
        total = transported + volume
        diff = (total - check)[valid]
        samples_y = self.x0 + sigma * self.noise
        out = dict(data_score=data_score, valid=valid, transported=transported, volume=volume, check=check,
                   total=total, method=method, check_err=diff.abs().max().item() if diff.numel() else 0.0,
                   jac_max=volume[valid].norm(dim=1).max().item() if valid.any() else 0.0,
                   samples_y=samples_y, samples_ty=t.apply(samples_y, params.expand(samples_y.shape[0], -1)),
                   densities=None)
        self._fields_key, self._fields_value = key, out
        return out

    def update(self) -> None:
        name = self.value("transform")
        shown = set(control_names("points", name))
        for n in self.param_names:
            self.controls[n].layout.display = None if n in shown else "none"
        t = self._transforms[name]
        params = params_from_values("points", t, {n: self.controls[n].value for n in self.param_names})
        sigma = float(self.value("sigma"))
        grid = self.grid
        f = self._fields(name, t, params, sigma)
        data_score, valid, transported, volume, check, total = (
            f["data_score"], f["valid"], f["transported"], f["volume"], f["check"], f["total"])
        method, check_err, jac_max = f["method"], f["check_err"], f["jac_max"]
        samples_y, samples_ty = f["samples_y"], f["samples_ty"]

        densities = None
        if self.value("show_density"):
            if f["densities"] is None:
                f["densities"] = self._densities(t, params, sigma)
            densities = f["densities"]

        model_score, model_err = None, float("nan")
        if self.model is not None:
            # the model's score on the grid, and its error where the data are: at the noisy samples y ~ p_sigma
            points = torch.cat([grid, samples_y])
            dev = model_device(self.model)
            with torch.no_grad():
                den = self.model(points.float().to(dev), torch.full((points.shape[0],), sigma, device=dev))
            scores = (den.double().cpu() - points) / sigma ** 2
            model_score, at_samples = scores[:grid.shape[0]], scores[grid.shape[0]:]
            truth = self.mixture.score(samples_y, sigma)
            model_err = ((at_samples - truth).pow(2).sum(1).mean() / truth.pow(2).sum(1).mean()).sqrt().item()

        self.state = dict(
            transform=name, params=params[0].tolist(), sigma=sigma, flags=dict(t.flags), grid=grid.numpy(),
            valid=valid.numpy(), data_score=data_score.numpy(), transformed_score=total.numpy(),
            transported_term=transported.numpy(), jacobian_term=volume.numpy(), jacobian_max=jac_max,
            check_score=check.numpy(), check_method=method, check_max_abs_diff=check_err,
            model_source=self.model_source, model_score=None if model_score is None else model_score.numpy(),
            model_relative_error=model_err)
        self._draw(data_score, total, check, volume, model_score, samples_y, samples_ty, densities, valid)

    def _densities(self, t, params, sigma):
        """(log p_sigma, log p_Y) on the density grid, (n, n) each; NaN outside T's image."""
        n = self.density_size
        data = self.mixture.log_prob(self.dens_grid, sigma).reshape(n, n)
        valid = inside_image(t, params, self.dens_grid)
        pushed = torch.full((self.dens_grid.shape[0],), float("nan"), dtype=torch.float64)
        if valid.any():
            if t.linear:   # constant Jacobian: log p_X(A^-1 y) - log|det A|
                inv = t._inverse(self.dens_grid[valid], params.expand(int(valid.sum()), -1))
                logdet = t.log_abs_det_jacobian(torch.zeros(1, 2, dtype=torch.float64), params)[0]
                pushed[valid] = self.mixture.log_prob(inv, sigma) - logdet
            else:
                log_prob = pushforward_log_prob(lambda x: self.mixture.log_prob(x, sigma),
                                                transform_inverse_map(t, params))
                pushed[valid] = log_prob(self.dens_grid[valid])
        return data.numpy(), pushed.reshape(n, n).numpy()

    def _draw(self, data_score, total, check, volume, model_score, samples_y, samples_ty, densities, valid):
        fig, s = self.figures["fields"], self.state
        pts = self.grid.numpy()
        length = 0.9 * self.step
        finite = np.linalg.norm(s["data_score"], axis=1)
        reference = float(np.percentile(finite, 90)) if finite.size else 1.0
        show_check, show_jac = self.value("show_check"), self.value("show_jacobian")
        # The maps in a batch of their own: in a batch that sets x and y of other traces, the browser loses the
        # x and y of traces whose x and y it does not set (the maps were drawn at pixel indices, not on the grid)
        with fig.batch_update():
            fig.data[0].visible = fig.data[1].visible = densities is not None
            if densities is not None:
                # NaN (outside T's image) as None: a gap in the heat map, and valid JSON for the front end
                fig.data[0].z, fig.data[1].z = (np.where(np.isfinite(d), d, None) for d in densities)
        with fig.batch_update():
            fig.data[2].x, fig.data[2].y = samples_y[:, 0].numpy(), samples_y[:, 1].numpy()
            fig.data[3].x, fig.data[3].y = samples_ty[:, 0].numpy(), samples_ty[:, 1].numpy()
            fig.data[4].x, fig.data[4].y = arrow_segments(pts, data_score.numpy(), length, reference)
            fig.data[5].x, fig.data[5].y = arrow_segments(pts, total.numpy(), length, reference)
            fig.data[6].visible = show_check
            fig.data[6].x, fig.data[6].y = arrow_segments(pts, check.numpy(), 0.6 * length, 0.6 * reference)
            fig.data[7].visible = show_jac
            jac_norm = np.linalg.norm(volume.numpy(), axis=1)
            jac_norm = jac_norm[np.isfinite(jac_norm)]
            jac_ref = max(float(np.percentile(jac_norm, 90)) if jac_norm.size else 0.0, 1e-300)
            fig.data[7].x, fig.data[7].y = (arrow_segments(pts, volume.numpy(), length, jac_ref)
                                            if s["jacobian_max"] > 1e-10 else (np.array([]), np.array([])))
            fig.data[8].x, fig.data[8].y = arrow_segments(pts, data_score.numpy(), length, reference)
            if model_score is not None:
                fig.data[9].x, fig.data[9].y = arrow_segments(pts, model_score.numpy(), length, reference)
            else:
                fig.data[9].x, fig.data[9].y = np.array([]), np.array([])
            titles = [
                f"data: grad log p_sigma, sigma = {s['sigma']:.3g}",
                f"push-forward through {s['transform']} (red)<br>vs check (green): "
                f"max diff {s['check_max_abs_diff']:.1e}",
                (f"Jacobian term on its own: max |.| = {s['jacobian_max']:.3g}" if s["jacobian_max"] > 1e-10
                 else "Jacobian term: zero (log|det J_g| is constant:<br>linear or affine, or volume-"
                      "preserving, e.g. the quadratic shear)"),
                ("model: none yet (press 'train a small model')" if model_score is None else
                 f"model ({s['model_source']}, grey: data score):<br>relative RMS error "
                 f"{s['model_relative_error']:.3f} at y ~ p_sigma"),
            ]
            for ann, text in zip(fig.layout.annotations, titles):
                ann.text = text
        outside = int((~valid).sum())
        kinds = [k for k in ("linear", "affine", "orthogonal", "invertible") if s["flags"][k]]
        kinds += [] if s["flags"]["affine"] else ["non-linear"]
        self.info.value = (f"T = <b>{s['transform']}</b> ({', '.join(kinds)}); check: {s['check_method']}; "
                           f"max |formula - check| = {s['check_max_abs_diff']:.2e}"
                           + (f"; {outside} grid points lie outside T's image (no density there)" if outside else ""))
