"""plotly FigureWidgets whose front-end code travels once per kernel instead of once per figure.

plotly's FigureWidget is an anywidget: its browser code (`_esm`: plotly.js and plotly's widget, about 5 MB) is a
synced trait, so every figure carries a copy in the widget state that an executed notebook saves (nbclient,
`jupyter nbconvert --execute`, JupyterLab's "save widget state"): the nine figures of notebook 02 made it 46 MB.
`FigureWidget(...)` here makes the same plotly FigureWidget, but the first one of a kernel (the carrier) carries
that code gzip-compressed (about 2 MB of base64, unpacked in the browser by DecompressionStream) and registers the
loaded module on the page (under a key naming the plotly version), and every later figure carries a stub of a few
hundred bytes that takes the module from there. A saved notebook thus holds the code once, compressed. Nothing a
saved figure could show is lost: plotly sends trace data as deltas, not as saved state, so a saved FigureWidget
never held its data. If the carrier is closed, the next figure becomes the carrier.

Every figure's code (carrier or stub) exports one shared stand-in for plotly's widget that is ready at once and
does not wait for plotly's code: anywidget gives a model 2 s to load and initialise, after which it drops every
message to that model for good (silently), and on a busy machine importing plotly.js takes longer than that, so a
figure would come up empty and never update. The stand-in keeps the figure's changes that arrive in the meantime
(plotly's `_py2js_*` deltas) and hands them to plotly's own model, in order, when plotly's code is there; views
render from then on.

A figure without a width of its own is as wide as the output area, and follows it when the window or JupyterLab's
side bar changes it (plotly's widget alone keeps the width it had when first drawn): config.responsive, and a
ResizeObserver on the figure's element (as wide as its container) that calls plotly's resize.

    fig = FigureWidget(make_subplots(rows=1, cols=2))      # a plotly.graph_objects.FigureWidget
"""
from __future__ import annotations

import base64
import gzip
import threading

import plotly
import plotly.graph_objects as go
from plotly.basewidget import BaseFigureWidget

KEY = f"__scoreaug_plotly_widget_{plotly.__version__}"
STUB_WAIT_MS = 1800     # anywidget gives a model 2 s to load its code

# The stand-in for plotly's widget factory, one per page (so every figure's module exports the same function): its
# initialize returns at once, queues plotly's deltas (a full `_widget_data` / `_widget_layout` supersedes the queue)
# until plotly's code is loaded, then lets plotly's model take the model and replays the queue; render waits for that.
_SHARED_FACTORY = """\
const FACTORY = KEY + ":factory";
if (!g[FACTORY]) {
  const DELTAS = ["_py2js_addTraces", "_py2js_deleteTraces", "_py2js_moveTraces", "_py2js_restyle",
                  "_py2js_relayout", "_py2js_update", "_py2js_animate", "_py2js_removeLayoutProps",
                  "_py2js_removeTraceProps"];
  g[FACTORY] = () => {
    let plotlyWidget = null;
    let attached = null;
    return {
      initialize({ model }) {
        const queue = [];
        const keep = DELTAS.map((name) => [name, () => {
          const value = model.get(name);
          if (value !== null && value !== undefined) queue.push([name, value]);
        }]);
        const supersede = () => { queue.length = 0; };
        for (const [name, fn] of keep) model.on(`change:${name}`, fn);
        model.on("change:_widget_data", supersede);
        model.on("change:_widget_layout", supersede);
        attached = g[KEY].then((mod) => {
          for (const [name, fn] of keep) model.off(`change:${name}`, fn);
          model.off("change:_widget_data", supersede);
          model.off("change:_widget_layout", supersede);
          plotlyWidget = mod.default();
          plotlyWidget.initialize({ model });
          for (const [name, value] of queue.splice(0)) { model.set(name, value); model.set(name, null); }
        });
        attached.catch((err) => console.error("scoreaug_lab: plotly's widget code could not be loaded", err));
      },
      async render(view) {
        await attached;
        const cleanup = plotlyWidget.render(view);
        // plotly's widget resizes a figure only on the window's resize event, and only as a Lumino widget (never
        // here): follow the output area instead (a narrower window, a side bar opened or closed), through the
        // handler plotly installs for config.responsive (figures with a width of their own keep it)
        let width = 0;
        const follow = new ResizeObserver(() => {
          const now = view.el.clientWidth;
          if (now > 0 && Math.abs(now - width) > 1) {
            width = now;
            if (view.el._responsiveChartHandler) view.el._responsiveChartHandler();
          }
        });
        follow.observe(view.el);
        return () => { follow.disconnect(); if (typeof cleanup === "function") cleanup(); };
      },
    };
  };
}
export default g[FACTORY];
"""

_CARRIER_ESM = """\
const KEY = %(key)s;
const g = globalThis;
if (!g[KEY]) {
  g[KEY] = (async () => {
    const packed = Uint8Array.from(atob(%(code)s), (c) => c.charCodeAt(0));
    const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream("gzip"));
    const url = URL.createObjectURL(new Blob([await new Response(stream).text()], {type: "text/javascript"}));
    try { return await import(url); } finally { URL.revokeObjectURL(url); }
  })();
  g[KEY].catch(() => { delete g[KEY]; });
}
""" + _SHARED_FACTORY

_STUB_ESM = """\
const KEY = %(key)s;
const g = globalThis;
const start = Date.now();
while (!g[KEY] && Date.now() - start < %(wait)d) await new Promise((r) => setTimeout(r, 20));
if (!g[KEY]) throw new Error("scoreaug_lab: plotly's widget code is not on this page yet; run the cell again");
""" + _SHARED_FACTORY


class CarrierFigureWidget(go.FigureWidget):
    """A FigureWidget carrying plotly's widget code (compressed) for every figure of the page."""


class StubFigureWidget(go.FigureWidget):
    """A FigureWidget taking plotly's widget code from the page (loaded by a carrier)."""


_lock = threading.Lock()
_carrier = None


def _prepare_classes() -> None:
    """Set the two classes' `_esm` once (compressing the bundle takes a fraction of a second)."""
    if "_esm" in CarrierFigureWidget.__dict__:
        return
    bundle = str(BaseFigureWidget._esm).encode()
    code = base64.b64encode(gzip.compress(bundle, 6)).decode()
    CarrierFigureWidget._esm = _CARRIER_ESM % {"key": repr(KEY), "code": repr(code)}
    StubFigureWidget._esm = _STUB_ESM % {"key": repr(KEY), "wait": STUB_WAIT_MS}


def FigureWidget(*args, **kwargs) -> go.FigureWidget:  # noqa: N802 - a drop-in for go.FigureWidget
    """A plotly FigureWidget (same arguments): the kernel's carrier of plotly's code if no open one exists, else a
    stub that takes the code from it."""
    global _carrier
    with _lock:
        _prepare_classes()
        carrier_open = _carrier is not None and getattr(_carrier, "comm", None) is not None
        cls = StubFigureWidget if carrier_open else CarrierFigureWidget
        fig = cls(*args, **kwargs)
        fig._config = {**fig._config, "responsive": True}     # as wide as the output area (see render above)
        if not carrier_open:
            _carrier = fig
        return fig


__all__ = ["FigureWidget", "CarrierFigureWidget", "StubFigureWidget", "KEY"]
