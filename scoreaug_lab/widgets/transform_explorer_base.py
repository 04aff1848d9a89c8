"""What the two transform explorers share: their controls, the call into the library (noise_report), the state it
leaves, and plotly traces kept by name. ImageTransformExplorer and PointTransformExplorer add their data and draw."""
from __future__ import annotations

import textwrap

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go

from ..data import load_data
from ..denoiser import as_denoiser
from ..lab.noise_report import HIST_BINS, noise_draws, noise_report, transform_for
from ..transforms import registry
from .param_sliders import STYLE, ParamSliders, value_slider
from .widget_app import WidgetApp, row

TRANSFORM_DENOISERS = {"noisy": "noisy-space optimum (ScoreAug)", "clean": "clean-space optimum", "model": "model"}
SIGMA_RANGE = (0.01, 10.0)


def wrap(text: str, width: int = 80) -> str:
    """Plotly does not wrap text: break it into lines of at most `width` characters."""
    return "<br>".join(textwrap.wrap(text, width))


class TransformExplorerBase(WidgetApp):
    """Controls: data, noise draw, sigma, transform, denoiser and the transform's parameter sliders. Subclasses set
    `kind`, implement `_x0(split)`, `_figures()`, `_rows()` (extra control rows) and `_draw(report)`."""

    kind = "images"

    def __init__(self, specs: dict, data: str, model=None, sampler=None, transform: str = "rot90",
                 sigma: float = 0.3, denoiser: str = "noisy", n_train: int = 64, n_heldout: int = 64,
                 n_noise_draws: int = 8, seed: int = 0):
        super().__init__()
        if n_train < 2 or n_noise_draws < 1:
            raise ValueError("n_train must be >= 2 and n_noise_draws >= 1")
        if data not in specs:
            raise ValueError(f"unknown data {data!r} for this explorer; choose from {', '.join(specs)}")
        model = None if model is None else as_denoiser(model)
        if model is not None and model.omega_dim > 0 and sampler is None:
            raise ValueError("the model is conditioned on omega: pass the TransformSampler it was trained with "
                             "(sampler=...), so that omega_T can be encoded")
        options = [(label, key) for key, label in TRANSFORM_DENOISERS.items() if key != "model" or model is not None]
        if denoiser not in dict(options).values():
            raise ValueError(f"denoiser must be one of {', '.join(v for _, v in options)}, got {denoiser!r}")
        names = list(registry(self.kind))
        if transform not in names:
            raise ValueError(f"unknown {self.kind} transform {transform!r}; choose from {', '.join(names)}")
        self.specs, self.model, self.sampler = dict(specs), model, sampler
        self.n_train, self.n_heldout, self.seed = int(n_train), int(n_heldout), int(seed)
        self.n_noise_draws = int(n_noise_draws)
        self._splits: dict = {}
        self.report = None
        self.traces: dict = {}                     # name -> plotly trace, kept when the figures are built
        c = self.add_control
        c("data", W.Dropdown(options=list(specs), value=data, description="data", style=STYLE))
        c("noise_seed", W.IntSlider(value=0, min=0, max=99, description="noise draw", style=STYLE))
        c("sigma", value_slider("sigma", sigma, *SIGMA_RANGE))
        c("transform", W.Dropdown(options=names, value=transform, description="transform", style=STYLE))
        c("denoiser", W.Dropdown(options=options, value=denoiser, description="denoiser", style=STYLE))
        self.sliders = ParamSliders([transform_for(self.kind, n, sampler) for n in names])
        for name, widget in self.sliders.widgets.items():
            c(name, widget)
        self.info = W.HTML()
        self._figures()
        self._note = self._unavailable_note(self.figures["equivariance"])
        self._shown = None                         # (available, note) the equivariance figure shows
        self._finish(*self._rows(), row(self.controls["sigma"].box, self.controls["transform"], self.controls["denoiser"]),
                     self.sliders.box, self.info, *self.figures.values())

    # --- data and the library call ----------------------------------------------------------------------
    def split(self):
        """The DataSplit of the chosen data (float64), loaded once per label."""
        label = self.value("data")
        if label not in self._splits:
            split = load_data(self.specs[label], self.n_train, n_heldout=self.n_heldout, seed=self.seed)
            split.train, split.heldout = split.train.double(), split.heldout.double()
            self._splits[label] = split
        return self._splits[label]

    def _x0(self, split):  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self) -> None:
        t = transform_for(self.kind, self.value("transform"), self.sampler)
        self.sliders.show(t)
        values = self.sliders.values(t)
        params = t.params_from_controls(values)                                    # (1, n_params), checked
        split = self.split()
        x0 = self._x0(split)
        choice = self.value("denoiser")
        report = noise_report(t, params, x0, self.value("sigma"), noise_draws(x0.shape, self.n_noise_draws,
                              self.value("noise_seed")), denoiser=self.model if choice == "model" else choice,
                              train=split.train, sampler=self.sampler)
        stats = report.statistics
        self.report = report
        note = report.note                         # it names the denoiser; where that one is not available,
        offered = [label for label, key in self.controls["denoiser"].options if key != choice]
        if not report.available and offered:       # the others this explorer offers
            note += "; the denoiser menu also offers: " + ", ".join(offered)
        self.state = dict(data=self.value("data"), transform=t.name, values=values, params=params[0].tolist(),
                          sigma=report.sigma, flags=dict(t.flags),
                          title=f"{t.describe(values)}, σ = {report.sigma:.3g}",
                          denoiser=TRANSFORM_DENOISERS[choice], available=report.available, note=note,
                          equivariance_error=report.equivariance_error,
                          equivariance_relative=report.equivariance_relative,
                          variance_ratio=stats.variance_ratio if stats is not None else float("nan"),
                          neighbour_correlation=stats.neighbour_correlation if stats is not None else float("nan"))
        self._draw(report)
        self.info.value = self._info_text()

    def _info_text(self) -> str:
        """The status line: the note (which names the denoiser), then the numbers, each kept on one line with its
        name (a browser would otherwise break 6.02e-16 after its hyphen)."""
        s = self.state

        def keep(text):
            return f"<span style='white-space:nowrap'>{text}</span>"

        eq = (keep(f"equivariance error <b>{s['equivariance_error']:.3g}</b>") if s["available"]
              else "equivariance: <b>not available</b>")
        ratio = keep(f"variance ratio <b>{s['variance_ratio']:.4f}</b>")
        corr = keep(f"correlation <b>{s['neighbour_correlation']:.3f}</b>")
        return (f"{s['note']}<br>{ratio} (1 for orthogonal T, a<sup>2</sup> for a scaling by a, about 4/9 inside a "
                f"bilinear rotation), {corr}; {eq}")

    # --- figures ---------------------------------------------------------------------------------------
    def _add(self, fig, name: str, trace, row: int, col: int):
        """Add `trace` to subplot (row, col) and keep it under `name` (figures are updated by name, in place)."""
        fig.add_trace(trace, row=row, col=col)
        self.traces[name] = fig.data[-1]
        return self.traces[name]

    def _add_histograms(self, fig, row: int = 1, col: int = 1) -> None:
        centres = (HIST_BINS[:-1] + HIST_BINS[1:]) / 2
        for name, label, colour in (("hist_reference", "n, white noise (reference)", "#bbbbbb"),
                                    ("hist_effective", "(T(x0 + σn) − T(x0)) / σ", "#d62728")):
            self._add(fig, name, go.Bar(x=centres, y=np.zeros_like(centres), name=label, marker_color=colour,
                                        opacity=0.6), row, col)
        fig.update_xaxes(title_text="noise / σ", row=row, col=col)

    def _draw_histograms(self, report) -> None:
        self.traces["hist_reference"].y = report.histogram["reference"]
        self.traces["hist_effective"].y = report.histogram["effective"]

    @staticmethod
    def _unavailable_note(fig):
        """The annotation that takes the place of the equivariance panels where the denoiser is not available."""
        fig.add_annotation(name="unavailable", text="", x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                           visible=False, font=dict(size=13), align="center")
        return next(fig.select_annotations(selector=dict(name="unavailable")))

    def _show_equivariance(self, available: bool) -> None:
        """The three equivariance panels (traces "d_ty", "t_dy", "error", their axes and titles) or, in their place,
        why the denoiser is not available. Plotly assignments are slow: only a change of what is shown is assigned."""
        fig, text = self.figures["equivariance"], "" if available else wrap(self.state["note"])
        if self._shown == (available, text):
            return
        self._shown = (available, text)
        self._note.visible, self._note.text = not available, text
        for name in ("d_ty", "t_dy", "error"):
            self.traces[name].visible = available
        for i in ("", "2", "3"):
            fig.layout[f"xaxis{i}"].visible = fig.layout[f"yaxis{i}"].visible = available
        for ann in fig.layout.annotations[:3]:                           # the subplot titles
            ann.visible = available
