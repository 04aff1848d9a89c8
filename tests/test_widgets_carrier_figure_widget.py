"""widgets.carrier_figure_widget: plotly's code travels once (the carrier), checked in Chromium."""
import base64
import gzip
import json
import re
import shutil
from pathlib import Path

import plotly.graph_objects as go
import pytest
from plotly.basewidget import BaseFigureWidget

from scoreaug_lab.widgets import carrier_figure_widget as F

BUNDLE_MB = len(str(BaseFigureWidget._esm).encode()) / 1e6


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(F, "_carrier", None)
    return F


def state_bytes(widget) -> int:
    return len(json.dumps(widget.get_state(), default=str))


def test_one_carrier_then_stubs(fresh):
    a, b, c = fresh.FigureWidget(), fresh.FigureWidget(), fresh.FigureWidget(data=[go.Scatter(x=[0, 1], y=[1, 0])])
    assert all(isinstance(f, go.FigureWidget) for f in (a, b, c))
    assert isinstance(a, fresh.CarrierFigureWidget)
    assert isinstance(b, fresh.StubFigureWidget) and isinstance(c, fresh.StubFigureWidget)
    assert BUNDLE_MB > 3                               # plotly.js and its widget: what used to be in every figure
    assert state_bytes(a) < 0.5 * BUNDLE_MB * 1e6      # compressed: about 2.0 of 5.0 MB
    assert state_bytes(b) < 20_000 and state_bytes(c) < 20_000
    assert c.data[0].x == (0, 1)                       # a plotly FigureWidget like any other
    # the carrier's code is plotly's bundle, exactly
    code = re.search(r"atob\('([A-Za-z0-9+/=]+)'\)", a._esm).group(1)
    assert gzip.decompress(base64.b64decode(code)).decode() == str(BaseFigureWidget._esm)
    assert F.KEY in a._esm and F.KEY in b._esm
    a.close()                                          # no open carrier: the next figure carries the code
    assert isinstance(fresh.FigureWidget(), fresh.CarrierFigureWidget)


@pytest.mark.browser
@pytest.mark.slow
def test_the_modules_load_in_a_browser_as_anywidget_loads_them(fresh, tmp_path):
    """In Chromium, import the carrier and two stubs from blob URLs (what anywidget does with `_esm`): every one
    exports plotly's widget factory, the same function; a stub on a page without a carrier fails with a message."""
    chromium = next((p for p in ("/usr/bin/chromium", shutil.which("chromium")) if p and Path(p).is_file()), None)
    playwright = pytest.importorskip("playwright.sync_api")
    if chromium is None:
        pytest.skip("Chromium not found")
    carrier, stub = fresh.FigureWidget()._esm, fresh.FigureWidget()._esm
    script = """async ([carrier, stub, key]) => {
        const load = (code) => import(URL.createObjectURL(new Blob([code], {type: "text/javascript"})));
        const [s1, c, s2] = await Promise.all([load(stub), load(carrier), load(stub)]);
        const widget = c.default();
        return {same: s1.default === c.default && s2.default === c.default, type: typeof c.default,
                api: Object.keys(widget).sort(), keyed: key in globalThis};
    }"""
    lonely = """async (stub) => {
        try { await import(URL.createObjectURL(new Blob([stub], {type: "text/javascript"}))); return "loaded"; }
        catch (e) { return String(e.message); }
    }"""
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.set_default_timeout(120_000)
            page.goto("about:blank")
            assert page.evaluate(lonely, stub).startswith("scoreaug_lab: plotly's widget code is not on this page")
            result = page.evaluate(script, [carrier, stub, F.KEY])
        finally:
            browser.close()
    assert result == {"same": True, "type": "function", "api": ["initialize", "render"], "keyed": True}
