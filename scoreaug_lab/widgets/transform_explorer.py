"""TransformExplorer: what a transform does to a noisy sample, and what the best denoiser does with it.

Pick an image (digits; CIFAR-10 when its .npz is found) or a 2-D point cloud (a toy set), a noise
level sigma, a transform and its parameters. The widget shows, side by side,

    x0          x0 + sigma n          T(x0 + sigma n)   (noisy space: ScoreAug's input)
                                      T(x0) + sigma n   (clean space: conventional augmentation)

the statistics of the effective noise T(x0 + sigma n) - T(x0) = sigma T n (linear T): its histogram
against sigma n, the variance ratio Var / sigma^2 (1 for orthogonal T, a^2 for brightness a, about 4/9
for bilinear rotation, computed exactly from T's matrix), the noise-free fraction and the neighbour
correlation; and the equivariance of a denoiser, D(T y; sigma, omega_T) beside T D(y; sigma, 0) with
y = x0 + sigma n, their difference as a heat map and its size.

The denoiser is an oracle (no training needed; see widgets.oracles) or a given model:
  noisy-space optimum  E[T x0 | T(x0 + sigma n)] over a small training set (ScoreAug's optimum)
  clean-space optimum  ideal denoiser of the transformed training set at noise sigma
  model                model(T y, sigma, omega_T) beside T model(y, sigma, omega = 0)

    app = TransformExplorer()                     # digits, rot90, the noisy-space optimum
    app = TransformExplorer(model=net, sampler=run_sampler, data="cifar10")
"""
from __future__ import annotations

import base64
import io
from pathlib import Path

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image as PILImage
from plotly.subplots import make_subplots

from ..data import TOY_SETS, data_kind, load_data
from ..data.images import local_cifar_npz
from ..metrics import model_device
from ..scores import ideal_denoiser
from ..transforms import registry
from .base import WidgetApp
from .noise_stats import image_noise_summary, point_noise_summary
from .oracles import clean_space_oracle, noisy_space_oracle
from .params import all_control_names, control_names, make_param_controls, params_from_values

NOISY_ORACLE = "noisy-space optimum (ScoreAug)"
CLEAN_ORACLE = "clean-space optimum"
MODEL = "model"
HIST_BINS = np.linspace(-4.0, 4.0, 41)          # noise in units of sigma
POINT_RANGE = 2.5                               # plotted square [-2.5, 2.5]^2 for point clouds


def _short(params) -> str:
    """Parameters for a title: a few significant digits, at most six numbers."""
    values = np.asarray(params, dtype=float).ravel()
    text = ", ".join(f"{v:.3g}" for v in values[:6])
    return f"({text}{', ...' if values.size > 6 else ''})"


def to_rgb(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] (C = 1 or 3) -> (H, W, 3) uint8 (clipped)."""
    x = image.detach().double()
    if x.shape[0] == 1:
        x = x.expand(3, -1, -1)
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()


MIN_IMAGE_PIXELS = 64


def png_source(image: torch.Tensor) -> tuple[str, int]:
    """(C, H, W) in [-1, 1] -> (PNG data URI, upscale factor f) for a plotly Image trace's `source`.

    A short string is far cheaper to send to the browser than the nested lists of `z`. Small images are
    enlarged by an integer factor f (nearest neighbour, so pixels stay crisp); the trace's dx = dy = 1/f
    keeps its axes in pixels of the original image."""
    rgb = to_rgb(image)
    f = max(1, -(-MIN_IMAGE_PIXELS // max(rgb.shape[:2])))
    if f > 1:
        rgb = rgb.repeat(f, axis=0).repeat(f, axis=1)
    buf = io.BytesIO()
    PILImage.fromarray(rgb).save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii"), f


def _set_image(trace, image: torch.Tensor) -> None:
    source, f = png_source(image)
    trace.source = source
    if trace.dx != 1 / f:
        trace.dx = trace.dy = 1 / f


def _key(t: torch.Tensor) -> tuple:
    return tuple(float(v) for v in t.reshape(-1).tolist())


class TransformExplorer(WidgetApp):
    """Interactive view of a transform acting on noisy data (see the module docstring).

    data: initial data set label ("digits", "cifar10", "toy:gmm8", ...); model (optional) any denoiser
    model(x, sigma, omega=None, labels=None) for one data shape; sampler: the model's TransformSampler
    (needed when the model is conditioned on omega: omega_T = sampler.omega_for(T, params)).
    n_train: size of the oracles' training set; x0 is a held-out image (index slider) or n_points
    held-out points. cifar_path: a CIFAR-10 .npz (None: look for the local copy; False: no CIFAR-10).
    """

    title = "Transform explorer: noisy space vs clean space"

    def __init__(self, data: str = "digits", model=None, sampler=None, transform: str | None = None,
                 sigma: float = 0.3, n_train: int = 64, digits_size: int = 16, cifar_path=None,
                 n_points: int = 256, n_noise_draws: int = 8, seed: int = 0):
        super().__init__()
        if n_train < 2 or n_points < 2 or n_noise_draws < 1:
            raise ValueError("n_train and n_points must be >= 2 and n_noise_draws >= 1")
        if model is not None and getattr(model, "omega_dim", 0) > 0 and sampler is None:
            raise ValueError("the model is conditioned on omega: pass the TransformSampler it was trained with "
                             "(sampler=...), so that omega_T can be encoded")
        self.model, self.sampler = model, sampler
        self.n_train, self.n_points, self.n_noise_draws = int(n_train), int(n_points), int(n_noise_draws)
        self.seed = int(seed)
        self.specs = {"digits": f"digits:{int(digits_size)}"}
        path = local_cifar_npz() if cifar_path is None else (Path(cifar_path) if cifar_path else None)
        if path is not None:
            self.specs["cifar10"] = f"cifar10:{path}"
        self.specs.update({f"toy:{name}": f"toy:{name}" for name in TOY_SETS})
        if data not in self.specs:
            if data.startswith("cifar10") and path is None:
                raise ValueError("CIFAR-10 was asked for but no .npz was found: pass cifar_path=... or set "
                                 "SCOREAUG_CIFAR_NPZ")
            self.specs[data] = data          # e.g. "digits:8": a spec of its own (load_data checks it)
        self._data_cache: dict = {}
        self._cache: dict = {}               # small caches: transformed training sets, noise draws, stats
        self._transforms: dict = {}

        kind = self._dataset(data)["kind"]
        names = list(registry(kind))
        transform = transform or "rot90"
        if transform not in names:
            raise ValueError(f"unknown {kind} transform {transform!r}; choose from {', '.join(names)}")
        style = {"description_width": "initial"}
        c = self.add_control
        c("data", W.Dropdown(options=list(self.specs), value=data, description="data", style=style))
        c("index", W.IntSlider(value=0, min=0, max=63, description="image (held-out)", style=style))
        c("noise_seed", W.IntSlider(value=0, min=0, max=99, description="noise draw", style=style))
        c("sigma", W.FloatLogSlider(value=sigma, base=10, min=-2, max=1, step=0.01, description="sigma",
                                    readout_format=".3f", style=style))
        c("transform", W.Dropdown(options=names, value=transform, description="transform", style=style))
        c("denoiser", W.Dropdown(options=self._denoiser_options(), value=NOISY_ORACLE,
                                 description="denoiser", style=style))
        param_names = list(dict.fromkeys(all_control_names("images") + all_control_names("points")))
        for name, widget in make_param_controls(param_names).items():
            c(name, widget)
        self.param_names = param_names

        # a new data set switches the transform list at once (so that, under hold(), a transform of the new
        # kind can be chosen next); update() re-checks it
        self.controls["data"].observe(lambda ch: self._sync_controls(data_kind(self.specs[ch["new"]])),
                                      names="value")
        self.info = W.HTML()
        self.figures["views"] = self._views_figure()
        self.figures["noise"] = self._noise_figure()
        self.figures["equivariance"] = self._equivariance_figure()
        controls = self.controls
        self._finish(
            W.HBox([controls["data"], controls["index"], controls["noise_seed"]]),
            W.HBox([controls["sigma"], controls["transform"], controls["denoiser"]]),
            W.Box([controls[n] for n in param_names], layout=W.Layout(display="flex", flex_flow="row wrap")),
            self.info, self.figures["views"], self.figures["noise"], self.figures["equivariance"])

    # --- data, transforms, caches -------------------------------------------------------------------
    def _dataset(self, label: str) -> dict:
        if label not in self._data_cache:
            spec = self.specs[label]
            split = load_data(spec, self.n_train, n_heldout=max(64, self.n_points), seed=self.seed)
            entry = {"kind": split.kind, "train": split.train.double(), "spec": spec}
            if split.kind == "points":
                entry["x0"] = split.heldout[:self.n_points].double()                # (N, 2)
            else:
                entry["heldout"] = split.heldout[:64].double()                      # (64, C, H, W)
            self._data_cache[label] = entry
        return self._data_cache[label]

    def _transform(self, kind: str, name: str):
        """The sampler's own instance when the model was trained with this transform (its options and its
        omega encoding), else the registry's default."""
        if self.sampler is not None and name in self.sampler.names and self.sampler.transforms[0].event_ndim == (
                3 if kind == "images" else 1):
            return self.sampler.transforms[self.sampler.index(name)]
        key = (kind, name)
        if key not in self._transforms:
            self._transforms[key] = registry(kind)[name]()
        return self._transforms[key]

    def _cached(self, key, compute):
        if key not in self._cache:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = compute()
        return self._cache[key]

    def _denoiser_options(self):
        return [NOISY_ORACLE, CLEAN_ORACLE] + ([MODEL] if self.model is not None else [])

    def _noise(self, shape, seed: int) -> torch.Tensor:
        """(n_noise_draws, *shape) white noise, fixed per (shape, seed)."""
        def draw():
            g = torch.Generator().manual_seed(10_007 * int(seed) + 1)
            return torch.randn((self.n_noise_draws, *shape), generator=g, dtype=torch.float64)
        return self._cached(("noise", tuple(shape), int(seed)), draw)

    # --- figures (built once; update() only assigns data) ----------------------------------------------
    _VIEW_TITLES = ["x0", "x0 + σn", "T(x0 + σn)<br>noisy space (ScoreAug)", "T(x0) + σn<br>clean space"]

    def _views_figure(self):
        fig = go.FigureWidget(make_subplots(rows=1, cols=4, subplot_titles=self._VIEW_TITLES,
                                            horizontal_spacing=0.03))
        blank = png_source(torch.zeros(1, 2, 2))[0]
        for col in range(1, 5):
            fig.add_trace(go.Image(source=blank, name="image", hoverinfo="skip"), row=1, col=col)
        for col in range(1, 5):
            fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="reference", showlegend=col == 1,
                                     marker=dict(size=3, color="#bbbbbb")), row=1, col=col)
        for col in range(1, 5):
            fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="points", showlegend=False,
                                     marker=dict(size=4, color="#1f77b4")), row=1, col=col)
        fig.update_layout(height=360, margin=dict(l=10, r=10, t=110, b=10), title=dict(y=0.94, yanchor="top"),
                          showlegend=False)
        return fig

    def _noise_figure(self):
        fig = go.FigureWidget(make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4], subplot_titles=[
            "effective noise T(x0 + σn) − T(x0)<br>against σn (units of σ)", "per-pixel variance / σ²"]))
        centres = (HIST_BINS[:-1] + HIST_BINS[1:]) / 2
        fig.add_trace(go.Bar(x=centres, y=np.zeros_like(centres), name="sigma n (reference)",
                             marker_color="#bbbbbb", opacity=0.6), row=1, col=1)
        fig.add_trace(go.Bar(x=centres, y=np.zeros_like(centres), name="T(x0 + sigma n) - T(x0)",
                             marker_color="#d62728", opacity=0.6), row=1, col=1)
        fig.add_trace(go.Heatmap(z=np.zeros((2, 2)), zmin=0, zmax=1, colorscale="Viridis",
                                 colorbar=dict(len=0.8, x=1.0)), row=1, col=2)
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="sigma n / sigma",
                                 marker=dict(size=3, color="#bbbbbb")), row=1, col=2)
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", name="effective / sigma",
                                 marker=dict(size=3, color="#d62728", opacity=0.5)), row=1, col=2)
        fig.update_layout(barmode="overlay", height=400, margin=dict(l=40, r=10, t=110, b=40),
                          title=dict(y=0.94, yanchor="top"),
                          legend=dict(orientation="h", y=-0.3))
        fig.update_xaxes(title_text="noise / sigma", row=1, col=1)
        return fig

    _EQ_TITLES = ["D(T y; σ, ω_T)", "T D(y; σ, 0)", "|D(T y) − T D(y)|"]

    def _equivariance_figure(self):
        fig = go.FigureWidget(make_subplots(rows=1, cols=3, subplot_titles=self._EQ_TITLES,
                                            horizontal_spacing=0.05))
        blank = png_source(torch.zeros(1, 2, 2))[0]
        fig.add_trace(go.Image(source=blank, hoverinfo="skip"), row=1, col=1)
        fig.add_trace(go.Image(source=blank, hoverinfo="skip"), row=1, col=2)
        fig.add_trace(go.Heatmap(z=np.zeros((2, 2)), colorscale="Magma", zmin=0,
                                 colorbar=dict(len=0.8)), row=1, col=3)
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", marker=dict(size=4, color="#2ca02c")), row=1, col=1)
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", marker=dict(size=4, color="#9467bd")), row=1, col=2)
        fig.add_trace(go.Scatter(x=[], y=[], mode="markers", marker=dict(
            size=5, color=[], colorscale="Magma", cmin=0, showscale=False)), row=1, col=3)
        fig.update_layout(height=360, margin=dict(l=10, r=10, t=110, b=10), title=dict(y=0.94, yanchor="top"),
                          showlegend=False)
        return fig

    # --- the update ------------------------------------------------------------------------------------
    def _sync_controls(self, kind: str) -> None:
        """Transform list of the data kind and which parameter sliders show (no refresh)."""
        names = list(registry(kind))
        t_ctl = self.controls["transform"]
        with self.hold(refresh=False):
            if list(t_ctl.options) != names:
                current = t_ctl.value
                t_ctl.options = names
                t_ctl.value = current if current in names else ("rot90" if "rot90" in names else names[0])
        shown = set(control_names(kind, t_ctl.value))
        for name in self.param_names:
            self.controls[name].layout.display = None if name in shown else "none"
        self.controls["index"].layout.display = None if kind == "images" else "none"

    def update(self) -> None:
        ds = self._dataset(self.value("data"))
        kind = ds["kind"]
        self._sync_controls(kind)
        name = self.value("transform")
        t = self._transform(kind, name)
        values = {n: self.controls[n].value for n in self.param_names}
        params = params_from_values(kind, t, values)                                  # (1, n_params)
        sigma = float(self.value("sigma"))
        if kind == "images":
            x0 = ds["heldout"][self.value("index") % ds["heldout"].shape[0]].unsqueeze(0)   # (1, C, H, W)
        else:
            x0 = ds["x0"]                                                             # (N, 2)
        batch = x0.shape[0]
        noise = self._noise(x0.shape, self.value("noise_seed"))                       # (K, B, ...)
        k = noise.shape[0]

        def apply(x):
            return t.apply(x, params.expand(x.shape[0], -1))

        # T(x0) and T(x0 + sigma n_k) for every draw in one call
        stacked = torch.cat([x0, (x0.unsqueeze(0) + sigma * noise).reshape(-1, *x0.shape[1:])])
        mapped = apply(stacked)
        t_x0, t_noisy = mapped[:batch], mapped[batch:].reshape(k, *x0.shape)
        noisy = x0 + sigma * noise[0]                                                 # y = x0 + sigma n
        noisy_space = t_noisy[0]                                                      # T(x0 + sigma n)
        clean_space = t_x0 + sigma * noise[0]                                         # T(x0) + sigma n
        effective = (t_noisy - t_x0.unsqueeze(0)) / sigma                             # sigma T n / sigma
        hist_eff = np.histogram(effective.reshape(-1).numpy(), HIST_BINS, density=True)[0]
        hist_ref = np.histogram(noise.reshape(-1).numpy(), HIST_BINS, density=True)[0]

        # exact noise statistics
        if kind == "images":
            h, w = x0.shape[-2:]
            stats = self._cached(("stats", name, id(t), _key(params), h, w),
                                 lambda: image_noise_summary(t, params, h, w))
            numbers = dict(variance_ratio=stats.variance_ratio, variance_ratio_all=stats.variance_ratio_all,
                           variance_ratio_interior=stats.variance_ratio_interior,
                           noise_free_fraction=stats.noise_free_fraction,
                           neighbour_correlation=stats.neighbour_correlation, noise_stats_exact=True,
                           noise_stats_method=f"exact from T's matrix ({stats.method})")
            partial_iso = stats.sparse is not None and stats.sparse.is_partial_isometry()
        else:
            key = ("pstats", ds["spec"], name, id(t), _key(params)) + (
                () if t.affine else (sigma, self.value("noise_seed")))
            stats = self._cached(key, lambda: point_noise_summary(t, params, x0, sigma, noise))
            numbers = dict(variance_ratio=stats.variance_ratio, variance_ratio_all=stats.variance_ratio,
                           variance_ratio_interior=stats.variance_ratio, noise_free_fraction=0.0,
                           neighbour_correlation=stats.neighbour_correlation, noise_stats_exact=stats.exact,
                           noise_stats_method=stats.method)
            partial_iso = False

        # the denoiser on both sides of the equivariance relation
        d_ty, t_dy, available, note = self._equivariance(ds, t, params, name, noisy, noisy_space, sigma, partial_iso)
        if available:
            err = d_ty - t_dy                                                         # (B, ...)
            per_item = err.reshape(batch, -1).norm(dim=1)
            eq_error = (per_item / (err[0].numel() ** 0.5)).mean().item()             # per-coordinate RMS
            eq_relative = (per_item / t_dy.reshape(batch, -1).norm(dim=1).clamp(min=1e-12)).mean().item()
        else:
            err, eq_error, eq_relative = None, float("nan"), float("nan")
        if available and not t.affine and t.invertible:
            note += (" | T is non-linear: E[T x0 | T y] = E[T x0 | y] differs from T E[x0 | y] (Jensen), so even "
                     "the optimum is not equivariant in this sense")

        self.state = dict(
            kind=kind, data=self.value("data"), transform=name, params=params[0].tolist(), sigma=sigma,
            flags=dict(t.flags), x0=x0.numpy(), noisy=noisy.numpy(), noisy_space=noisy_space.numpy(),
            clean_space=clean_space.numpy(), t_x0=t_x0.numpy(),
            noise_hist=dict(edges=HIST_BINS, effective=hist_eff, reference=hist_ref),
            denoiser=self.value("denoiser"), oracle_available=available, oracle_note=note,
            denoised_transformed=None if d_ty is None else d_ty.numpy(),
            transformed_denoised=None if t_dy is None else t_dy.numpy(),
            equivariance_map=None if err is None else self._error_map(err, kind),
            equivariance_error=eq_error, equivariance_relative=eq_relative, **numbers)
        if kind == "images":
            self.state["variance_map"] = stats.variance.numpy()
        else:
            self.state["noise_covariance"] = stats.covariance.numpy()
        self._draw(kind, x0, noisy, noisy_space, clean_space, t_x0, effective, noise, stats, d_ty, t_dy, err,
                   hist_eff, hist_ref)

    def _equivariance(self, ds, t, params, name, y, ty, sigma, partial_iso):
        """(D(T y; sigma, omega_T), T D(y; sigma, 0), available, note) for the chosen denoiser."""
        choice = self.value("denoiser")
        train = ds["train"]
        t_train = self._cached(("t_train", ds["spec"], name, id(t), _key(params)),
                               lambda: t.apply(train, params.expand(train.shape[0], -1)))
        apply = lambda x: t.apply(x, params.expand(x.shape[0], -1))                    # noqa: E731
        if choice == MODEL:
            return self._model_equivariance(t, params, name, y, ty, sigma, apply)
        oracle = (noisy_space_oracle(train, t_train, t, params, partial_iso) if choice == NOISY_ORACLE
                  else clean_space_oracle(train, t_train))
        if not oracle.available:
            return None, None, False, oracle.note
        d_ty = oracle.denoise(ty, sigma)
        t_dy = apply(ideal_denoiser(y, sigma, train))
        return d_ty, t_dy, True, oracle.note + f" (training set of {train.shape[0]})"

    def _model_equivariance(self, t, params, name, y, ty, sigma, apply):
        """The model on both sides: omega_T from the model's own sampler (zeros where it never saw T)."""
        model = self.model
        shape = tuple(y.shape[1:])
        expected = getattr(model, "dim", None)
        probe_shape = (expected,) if expected is not None else None
        if probe_shape is not None and probe_shape != shape:
            return None, None, False, f"the model denoises shape {probe_shape}, this data has shape {shape}"
        conditioned = getattr(model, "omega_dim", 0) > 0
        note = "model: D(T y; sigma, omega_T) vs T D(y; sigma, 0)"
        omega_t = omega_0 = None
        if conditioned:
            omega_0 = torch.zeros(y.shape[0], self.sampler.omega_dim)
            if name in self.sampler.names and self.sampler.transforms[0].event_ndim == t.event_ndim:
                omega_t = self.sampler.omega_for(name, params.float().expand(y.shape[0], -1))
            else:
                omega_t = omega_0
                note += f" | the model was not trained with {name}: omega = 0 on both sides"
        else:
            note += " | the model is not conditioned on omega"
        device = model_device(model)
        x = torch.cat([ty, y]).float().to(device)
        sig = torch.full((x.shape[0],), sigma, device=device)
        omega = None if not conditioned else torch.cat([omega_t, omega_0]).to(device)
        try:
            with torch.no_grad():
                out = model(x, sig, omega=omega).double().cpu()
        except (ValueError, RuntimeError) as err:
            return None, None, False, f"the model cannot denoise this data: {err}"
        d_ty, d_y = out[:y.shape[0]], out[y.shape[0]:]
        return d_ty, apply(d_y), True, note

    @staticmethod
    def _error_map(err: torch.Tensor, kind: str) -> np.ndarray:
        if kind == "images":
            return err[0].norm(dim=0).numpy()                                        # (H, W) over channels
        return err.norm(dim=1).numpy()                                               # (N,) per point

    # --- drawing -------------------------------------------------------------------------------------------
    def _draw(self, kind, x0, noisy, noisy_space, clean_space, t_x0, effective, noise, stats, d_ty, t_dy, err,
              hist_eff, hist_ref):
        views, nfig, efig = self.figures["views"], self.figures["noise"], self.figures["equivariance"]
        images, have = kind == "images", d_ty is not None
        s = self.state
        mode = (images, have)
        relayout = mode != getattr(self, "_mode", None)      # visibility and axes change only with the mode
        self._mode = mode
        with views.batch_update():
            panels = [x0, noisy, noisy_space, clean_space]
            refs = [None, x0, t_x0, t_x0]
            if relayout:
                for i in range(4):
                    views.data[i].visible = images
                    views.data[4 + i].visible = not images and refs[i] is not None
                    views.data[8 + i].visible = not images
                self._axes(views, 4, images)
            for i in range(4):
                if images:
                    _set_image(views.data[i], panels[i][0])
                else:
                    views.data[8 + i].x, views.data[8 + i].y = panels[i][:, 0].numpy(), panels[i][:, 1].numpy()
                    if refs[i] is not None:
                        views.data[4 + i].x, views.data[4 + i].y = refs[i][:, 0].numpy(), refs[i][:, 1].numpy()
            views.layout.title.text = (f"{s['transform']} {_short(s['params'])}, σ = {s['sigma']:.3g}<br>"
                                       f"<sup>{', '.join(k for k, v in s['flags'].items() if v) or 'non-linear'}"
                                       "</sup>")
        with nfig.batch_update():
            nfig.data[0].y, nfig.data[1].y = hist_ref, hist_eff
            if relayout:
                nfig.data[2].visible = images
                nfig.data[3].visible = nfig.data[4].visible = not images
                nfig.layout.yaxis2.autorange = "reversed" if images else True
                nfig.layout.yaxis2.scaleanchor = "x2"
            if images:
                var = stats.variance.numpy()
                nfig.data[2].z = var
                nfig.data[2].zmax = max(1.0, float(var.max()))
            else:
                ref = noise.reshape(-1, 2)[:1000].numpy()
                eff = effective.reshape(-1, 2)[:1000].numpy()
                nfig.data[3].x, nfig.data[3].y = ref[:, 0], ref[:, 1]
                nfig.data[4].x, nfig.data[4].y = eff[:, 0], eff[:, 1]
            nfig.layout.title.text = (f"variance ratio {s['variance_ratio']:.4f}<br><sup>interior "
                                      f"{s['variance_ratio_interior']:.4f}, all pixels {s['variance_ratio_all']:.4f}, "
                                      f"noise-free {100 * s['noise_free_fraction']:.1f}%, neighbour correlation "
                                      f"{s['neighbour_correlation']:.3f}</sup>") if images else (
                f"variance ratio {s['variance_ratio']:.4f}, correlation of the two coordinates "
                f"{s['neighbour_correlation']:.3f} ({s['noise_stats_method']})")
        with efig.batch_update():
            if relayout:
                for i in range(3):
                    efig.data[i].visible = images and have
                    efig.data[3 + i].visible = not images and have
                self._axes(efig, 3, images)
            if have and images:
                _set_image(efig.data[0], d_ty[0])
                _set_image(efig.data[1], t_dy[0])
                # colour scale from 0 to at least 1 % of the image's range: round-off shows as black
                emap = s["equivariance_map"]
                efig.data[2].z = emap
                efig.data[2].zmax = max(float(np.max(emap)), 0.01 * float(t_dy.max() - t_dy.min()), 1e-12)
            elif have:
                efig.data[3].x, efig.data[3].y = d_ty[:, 0].numpy(), d_ty[:, 1].numpy()
                efig.data[4].x, efig.data[4].y = t_dy[:, 0].numpy(), t_dy[:, 1].numpy()
                efig.data[5].x, efig.data[5].y = noisy_space[:, 0].numpy(), noisy_space[:, 1].numpy()
                efig.data[5].marker.color = s["equivariance_map"]
            efig.layout.title.text = (f"equivariance error {s['equivariance_error']:.3g}<br><sup>{s['denoiser']}; "
                                      f"RMS per coordinate, relative {s['equivariance_relative']:.3g}</sup>"
                                      if have else f"{s['denoiser']}: not available")
        self.info.value = (f"<b>{s['denoiser']}</b>: {s['oracle_note']}<br>"
                           f"variance ratio <b>{s['variance_ratio']:.4f}</b> "
                           f"(1 for orthogonal T; a<sup>2</sup> for brightness a; about 4/9 inside a bilinear "
                           f"rotation), neighbour correlation <b>{s['neighbour_correlation']:.3f}</b>; "
                           f"equivariance error <b>{s['equivariance_error']:.3g}</b>")

    @staticmethod
    def _axes(fig, n, images):
        for i in range(1, n + 1):
            sx = "" if i == 1 else str(i)
            xa, ya = fig.layout[f"xaxis{sx}"], fig.layout[f"yaxis{sx}"]
            xa.showticklabels = ya.showticklabels = not images
            xa.scaleanchor = None
            ya.scaleanchor = f"x{sx}"
            if images:
                xa.autorange, ya.autorange = True, "reversed"
                xa.range = ya.range = None
            else:
                xa.autorange = ya.autorange = False
                xa.range = ya.range = [-POINT_RANGE, POINT_RANGE]
