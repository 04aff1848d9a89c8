"""The view both leakage explorers share: three panels of samples (without omega; with omega at 0; with omega
at omega_T) over the training points and T(training points), the sliced Wasserstein distances of each sample
set to the data, T(data) and the augmented data (bars and a table), the leak, and the start-noise toggle
(disabled for clean-space models, where it changes nothing). Traces are kept by name when the figures are
built. Every number comes from `scoreaug_lab.lab.leakage`; this module only draws and records state.
"""
from __future__ import annotations

import ipywidgets as W
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..diffusion import get_variant
from ..lab.leakage import REF_LABELS, REFERENCES, SET_LABELS, SETS, START_NOISE, LeakResult
from .carrier_figure_widget import FigureWidget
from .run_backed_app import RunBackedApp, axis_range

COLOURS = {"unconditioned": "#d62728", "conditioned_0": "#2ca02c", "conditioned_T": "#9467bd"}
# the distance bars tell their references apart by hatching as well as colour (red and green look alike to many)
PATTERNS = {"data": "", "transformed": "/", "augmented": "x"}
CLEAN_START = ("clean-space models were trained on T(x0) + sigma n, fresh isotropic noise: sampling starts from "
               "plain noise whatever this toggle says")
NOISY_START = ("noisy-space (ScoreAug) models were trained on T(x0 + sigma n): 'as in training' starts sampling at "
               "omega_T from T(noise), 'plain noise' from isotropic noise")


def start_noise_control(value: str) -> W.ToggleButtons:
    if value not in START_NOISE:
        raise ValueError(f"start_noise must be one of {', '.join(START_NOISE)}, got {value!r}")
    return W.ToggleButtons(options=[(label, key) for key, label in START_NOISE.items()], value=value,
                           description="start noise", style={"button_width": "auto"}, tooltip=NOISY_START)


def amount_control(value: float) -> W.FloatSlider:
    return W.FloatSlider(value=value, min=-1.0, max=1.0, step=0.1, description="amount", continuous_update=False,
                         readout_format=".1f",
                         tooltip="T's parameters at this fraction of the family's range (0: identity)")


def panel_traces(s: str, col: int) -> dict:
    """The traces of one panel (column col of SETS): training points (grey), T(training points) (orange, shown in
    the omega_T panel) and the set's samples."""
    def points(name, **style):
        return go.Scatter(x=[], y=[], mode="markers", name=name, **style)

    return {"training points": points("training points", legendgroup="data", showlegend=col == 1,
                                      marker=dict(size=4, color="rgba(120,120,120,0.45)")),
            "T(training points)": points("T(training points)", legendgroup="tdata", showlegend=col == 3,
                                         visible=col == 3, marker=dict(size=4, color="rgba(255,127,14,0.45)")),
            "samples": points(SET_LABELS[s], marker=dict(size=3, color=COLOURS[s], opacity=0.6))}


class LeakageFigures:
    """The samples figure (three panels), the distance bars and the summary table; `traces[name]` is each
    trace ("<set>/training points", "<set>/T(training points)", "<set>/samples", "distances/<reference>")."""

    def __init__(self):
        fig = FigureWidget(make_subplots(rows=1, cols=3, subplot_titles=[SET_LABELS[s] for s in SETS],
                                            horizontal_spacing=0.05))
        self.panel_titles = dict(zip(SETS, fig.layout.annotations))
        self.traces = {}
        for col, s in enumerate(SETS, start=1):
            for name, trace in panel_traces(s, col).items():
                fig.add_trace(trace, row=1, col=col)
                self.traces[f"{s}/{name}"] = fig.data[-1]
        fig.update_layout(height=450, margin=dict(l=30, r=10, t=110, b=30),   # as wide as the output area; 3-line titles
                          legend=dict(orientation="h", y=-0.08))
        for col in (1, 2, 3):
            fig.update_yaxes(scaleanchor=f"x{'' if col == 1 else col}", row=1, col=col)
        bars = FigureWidget(
            data=[go.Bar(x=[SET_LABELS[s] for s in SETS], y=[0, 0, 0], name=REF_LABELS[r],
                         marker_pattern_shape=PATTERNS[r]) for r in REFERENCES],
            layout=dict(width=520, height=340, barmode="group", title="sliced Wasserstein distance of the samples",
                        margin=dict(l=50, r=10, t=50, b=40), yaxis=dict(title="SW2", rangemode="tozero")))
        self.traces.update({f"distances/{r}": trace for r, trace in zip(REFERENCES, bars.data)})
        self.figures = {"samples": fig, "distances": bars}
        self.summary = W.HTML(value="")

    def show_pending(self, title: str) -> None:
        with self.figures["samples"].batch_update():
            for s in SETS:
                self.traces[f"{s}/samples"].update(x=[], y=[])
            self.figures["samples"].layout.title = title

    def show(self, result: LeakResult, titles: dict, title: str) -> None:
        train, t_train = result.setting.data.train.numpy(), result.transformed_train.numpy()
        rng = axis_range(train, t_train, result.references["augmented"].numpy(),
                         result.samples["unconditioned"].numpy())
        fig = self.figures["samples"]
        with fig.batch_update():
            for col, s in enumerate(SETS, start=1):
                points = result.samples[s].numpy()
                self.traces[f"{s}/training points"].update(x=train[:, 0], y=train[:, 1])
                self.traces[f"{s}/T(training points)"].update(x=t_train[:, 0], y=t_train[:, 1])
                self.traces[f"{s}/samples"].update(x=points[:, 0], y=points[:, 1])
                self.panel_titles[s].text = titles[s]
                axis = "" if col == 1 else str(col)
                fig.layout[f"xaxis{axis}"].range = fig.layout[f"yaxis{axis}"].range = rng
            fig.layout.title = title
        with self.figures["distances"].batch_update():
            for r in REFERENCES:
                self.traces[f"distances/{r}"].y = [result.distances[s][r] for s in SETS]
        self.summary.value = summary_html(result)


def summary_html(result: LeakResult) -> str:
    """The distance table and the leak as HTML."""
    d = result.distances
    head = "<tr><th></th>" + "".join(f"<th>{REF_LABELS[r]}</th>" for r in REFERENCES) + "</tr>"
    rows = "".join(f"<tr><td>{SET_LABELS[s]}</td>" + "".join(f"<td>{d[s][r]:.3f}</td>" for r in REFERENCES)
                   + "</tr>" for s in SETS)
    return (f"<table style='font-size:90%'>{head}{rows}</table><p>leak = SW(without omega, data) - "
            f"SW(with omega at 0, data) = <b>{result.leak:.3f}</b></p>")


class LeakageView(RunBackedApp):
    """A RunBackedApp drawing one leak measurement into `LeakageFigures` and recording it in `state`;
    subclasses build the controls (with `start_noise_control` registered as "start_noise") and the setting."""

    def __init__(self, store_dir=None, device: str = "cpu", background: bool | None = None):
        super().__init__(store_dir, device, background)
        self.view = LeakageFigures()
        self.figures = self.view.figures
        self.start_note = W.HTML(value="")

    def sync_start_noise(self, conditioned_variant: str) -> None:
        """Disable the start-noise toggle where it changes nothing (clean-space models), and say why."""
        clean = get_variant(conditioned_variant).space == "clean"
        control = self.controls["start_noise"]
        control.disabled, control.tooltip = clean, CLEAN_START if clean else NOISY_START
        self.start_note.value = f"<i style='font-size:85%'>{CLEAN_START}</i>" if clean else ""

    def show_pending(self, name: str, amount: float) -> None:
        self.view.show_pending(f"training the models for {name}...")
        self.state.update(transform=name, amount=amount, n_samples_shown=0)

    def show(self, result: LeakResult, amount: float, **state) -> None:
        setting = result.setting
        uncond, cond = setting.variants
        # short lines: a panel is a third of the output area, under 200 px in a laptop's window
        titles = {"unconditioned": f"{uncond}<br>without omega", "conditioned_0": f"{cond}<br>omega = 0",
                  "conditioned_T": f"{cond}<br>omega = omega_T<br>{setting.name}, amount {amount:+.1f}"}
        self.view.show(result, titles, f"{uncond} vs {cond}, transform family {setting.name}")
        self.state.update(
            **state, transform=setting.name, amount=amount, params=setting.params.flatten().tolist(),
            omega=setting.omega.flatten().tolist(), variants=list(setting.variants), distances=result.distances,
            leak=result.leak, start_noise_transformed=result.start_noise_transformed,
            samples=dict(result.samples), n_samples_shown=int(result.samples["unconditioned"].shape[0]))


__all__ = ["LeakageFigures", "LeakageView", "amount_control", "start_noise_control", "summary_html"]
