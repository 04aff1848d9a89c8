"""What the real-browser widget tests (tests/test_browser.py) do to a widget, as a student would: drag a slider handle
with the mouse, type a value into a slider's box and press Enter, pick a dropdown item, click a toggle button or a
checkbox; and what they check after each move:

  * the rendered figure changed: a hash of each plotly figure's rendered SVG (its `.main-svg` layers: points, lines,
    images, texts) differs from the one before the move;
  * the widget is at rest before anything is read: the kernel is idle, no training progress bar is shown and the
    figures did not change for a short while (conditions polled, never a fixed sleep alone);
  * no error: nothing in the widget's status line ("could not update: ...", "refused: ..."), no Python traceback
    or stderr output in the cell, no "Error displaying widget", no JavaScript exception on the page;
  * nothing is cut off: every text of every figure (titles, subplot titles, axis titles, tick labels, legend and
    colour-bar texts) lies inside its figure, titles and legends do not overlap each other or tick labels, every
    figure and control lies inside the output area, and no HTML text (labels, readouts, toggle buttons, the
    selected item of a dropdown, HTML lines) is clipped (scrollWidth against clientWidth; a dropdown's text is
    measured with the font it is drawn in).

Plain helpers, no pytest fixtures: tests/test_browser.py owns the server, the browser and the pages.
"""
from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

SECOND = 1000                       # playwright counts milliseconds
TOLERANCE_PX = 2                    # a text may touch its figure's border by this much
ERROR_TEXTS = ("could not update", "refused:", "Traceback", "Error displaying widget", "training failed",
               "Failed to load model class", "Error:")

# --- what is drawn ----------------------------------------------------------------------------------------
SIGNATURES_JS = """root => [...root.querySelectorAll('.js-plotly-plot')].map(plot => {
    const shown = plot.offsetParent !== null;
    let h1 = 0x811c9dc5 | 0, h2 = 7 | 0;
    for (const svg of plot.querySelectorAll('.main-svg')) {
        const s = svg.outerHTML;
        for (let i = 0; i < s.length; i++) {
            const c = s.charCodeAt(i);
            h1 = Math.imul(h1 ^ c, 16777619);
            h2 = (Math.imul(h2, 31) + c) | 0;
        }
    }
    return (shown ? '' : 'hidden:') + (h1 >>> 0).toString(16) + (h2 >>> 0).toString(16);
})"""

PROBLEMS_JS = """(root, tol) => {
    const problems = [];
    const rect = e => e.getBoundingClientRect();
    const fmt = b => `[${Math.round(b.left)}, ${Math.round(b.top)}, ${Math.round(b.right)}, ${Math.round(b.bottom)}]`;
    const shown = e => {
        for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
            const s = getComputedStyle(n);
            if (s.display === 'none' || s.visibility === 'hidden' || s.opacity === '0') return false;
        }
        const b = rect(e);
        return b.width > 0 && b.height > 0;
    };
    const outside = (a, b) => a.left < b.left - tol || a.right > b.right + tol || a.top < b.top - tol ||
                               a.bottom > b.bottom + tol;
    const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > tol &&
                              Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > tol;
    const say = e => JSON.stringify(e.textContent.trim().slice(0, 70));
    const area = rect(root);
    // the visible part of the notebook: the output area must not run past it
    const panel = root.closest('.jp-WindowedPanel-outer, .jp-Notebook') || document.body;
    const view = rect(panel);
    if (area.right > view.right + tol || area.left < view.left - tol)
        problems.push(`the output area ${fmt(area)} runs past the notebook ${fmt(view)}`);

    // 1. figures: inside the output area; their texts inside the figure and not on top of each other
    root.querySelectorAll('.js-plotly-plot').forEach((plot, k) => {
        if (!shown(plot)) return;
        const svg = plot.querySelector('.main-svg');
        const fig = rect(svg);
        // what the figure holds: traces at all (an empty figure never got its data), and x for every y
        const data = plot.data || [];
        if (!data.length) problems.push(`figure ${k} has no traces: its data never reached the browser`);
        data.forEach((t, i) => {
            const type = t.type || 'scatter';
            if ((type === 'scatter' || type === 'bar') && t.visible !== false && t.y && t.y.length &&
                    (!t.x || t.x.length !== t.y.length))
                problems.push(`figure ${k}: trace ${i} (${type} ${JSON.stringify(t.name)}) has ${t.y.length} y ` +
                              `values and ${t.x ? t.x.length : 'no'} x values: it is drawn at its indices`);
        });
        if (outside(fig, area)) problems.push(`figure ${k} ${fmt(fig)} is not inside the output area ${fmt(area)}`);
        const texts = [];
        for (const t of plot.querySelectorAll('.main-svg text')) {
            if (!t.textContent.trim() || !shown(t) || t.closest('.hoverlayer, .modebar')) continue;
            const cls = t.getAttribute('class') || '';
            const kind = t.closest('.legend') ? 'legend'
                : (/tick/.test(cls) || t.closest('.xaxislayer-above, .yaxislayer-above, .cbaxis')) ? 'tick' : 'title';
            const b = rect(t);
            texts.push({t, b, kind});
            if (outside(b, fig)) problems.push(`figure ${k}: ${kind} ${say(t)} at ${fmt(b)} is cut off by the figure ${fmt(fig)}`);
        }
        for (let i = 0; i < texts.length; i++)
            for (let j = i + 1; j < texts.length; j++) {
                const a = texts[i], b = texts[j];
                if (a.kind === 'tick' && b.kind === 'tick') continue;
                if (a.kind === 'legend' && b.kind === 'legend') continue;
                if (overlap(a.b, b.b))
                    problems.push(`figure ${k}: ${a.kind} ${say(a.t)} ${fmt(a.b)} overlaps ${b.kind} ${say(b.t)} ${fmt(b.b)}`);
            }
    });

    // 2. controls and HTML: inside the output area, no clipped text
    for (const e of root.querySelectorAll('.jupyter-widgets, .widget-label, .widget-readout')) {
        if (!shown(e) || e.closest('.js-plotly-plot')) continue;
        const b = rect(e);
        if (b.right > area.right + tol || b.left < area.left - tol)
            problems.push(`${e.className.split(' ').filter(c => c.startsWith('widget')).join('.')} ${say(e)} ${fmt(b)} runs past the output area ${fmt(area)}`);
    }
    for (const e of root.querySelectorAll('.widget-label, .widget-readout, .widget-toggle-button, .widget-html-content, .widget-label-basic span')) {
        if (!shown(e) || !e.textContent.trim()) continue;
        if (e.scrollWidth > e.clientWidth + 1)
            problems.push(`text ${say(e)} is clipped (${e.scrollWidth} px of text in ${e.clientWidth} px)`);
    }
    const canvas = document.createElement('canvas').getContext('2d');
    for (const s of root.querySelectorAll('select')) {
        if (!shown(s) || s.selectedIndex < 0) continue;
        const st = getComputedStyle(s);
        canvas.font = `${st.fontStyle} ${st.fontWeight} ${st.fontSize} ${st.fontFamily}`;
        const text = s.options[s.selectedIndex].text;
        const room = s.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight);
        if (canvas.measureText(text).width > room + 1)
            problems.push(`dropdown item ${JSON.stringify(text)} is clipped (${Math.ceil(canvas.measureText(text).width)} px of text in ${Math.floor(room)} px)`);
    }
    return problems;
}"""

READOUT_JS = """slider => {
    const readout = slider.querySelector('.widget-readout');
    if (readout && getComputedStyle(readout).display !== 'none') return readout.textContent;
    const box = slider.nextElementSibling && slider.nextElementSibling.querySelector('input');
    return box ? box.value : (readout ? readout.textContent : '');
}"""

# how wide each shown slider's track is (the part the handle moves along), by its label
TRACKS_JS = """root => [...root.querySelectorAll('.widget-slider')].filter(s => s.offsetParent !== null).map(s => [
    (s.querySelector('.widget-label') || {textContent: '?'}).textContent.trim(),
    s.querySelector('.slider-container').getBoundingClientRect().width])"""

DRAG_TARGET_JS = """(slider, fraction) => {
    const base = slider.querySelector('.noUi-base').getBoundingClientRect();
    const handle = slider.querySelector('.noUi-handle').getBoundingClientRect();
    return {from: [handle.left + handle.width / 2, handle.top + handle.height / 2],
            to: [base.left + fraction * base.width, handle.top + handle.height / 2]};
}"""


def number(text: str) -> float:
    """A slider readout as a number (ipywidgets writes negative numbers with the minus sign U+2212)."""
    return float(text.strip().replace("\u2212", "-"))


def exact(text: str) -> re.Pattern:
    return re.compile(f"^\\s*{re.escape(text)}\\s*$")


class KernelWatch:
    """The execution state of one kernel, read from the server's REST API."""

    def __init__(self, url: str, kernel_id: str):
        self.url, self.kernel_id = url, kernel_id

    def idle(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/kernels/{self.kernel_id}", timeout=5) as reply:
                return json.load(reply).get("execution_state") == "idle"
        except OSError:
            return False

    @classmethod
    def of_notebook(cls, url: str, name: str, timeout: float = 60.0) -> "KernelWatch":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"{url}/api/sessions", timeout=5) as reply:
                for session in json.load(reply):
                    if session.get("path", "").endswith(name) and session.get("kernel"):
                        return cls(url, session["kernel"]["id"])
            time.sleep(0.5)
        raise AssertionError(f"no kernel session for {name} within {timeout:.0f} s")


class WidgetDriver:
    """One widget's output area in the page: moves its controls as a student does and checks what it shows.

    Each move (`drag`, `select`, `toggle`, `check`) waits until a figure changed and the widget is at rest, then
    asserts no error and nothing cut off, and returns the indices of the figures that changed (in page order).
    """

    def __init__(self, page, cell, kernel: KernelWatch, name: str, shots: Path, errors: list,
                 timeout: float = 90.0):
        self.page, self.cell, self.kernel, self.name, self.shots = page, cell, kernel, name, shots
        self.output = cell.locator(".jp-OutputArea-output", has=page.locator(".widget-vbox")).first
        self.page_errors = errors            # JavaScript exceptions of the page (filled by the test's listener)
        self.timeout = timeout
        self.moves: list[str] = []

    # --- reading ----------------------------------------------------------------------------------------
    def signatures(self) -> list[str]:
        return self.output.evaluate(SIGNATURES_JS)

    def text(self) -> str:
        return self.output.inner_text()

    def busy(self) -> bool:
        """Training in the background: a progress bar is shown."""
        return self.output.evaluate(
            "root => [...root.querySelectorAll('.widget-progress')].some(e => e.offsetParent !== null)")

    def problems(self) -> list[str]:
        return self.output.evaluate(PROBLEMS_JS, TOLERANCE_PX)

    def control(self, kind: str, label: str):
        """The control of class `kind` (widget-slider, widget-dropdown, widget-toggle-buttons) named `label`."""
        return self.output.locator(f".{kind}", has=self.page.locator(".widget-label", has_text=exact(label))).first

    def readout(self, label: str) -> str:
        """The value slider `label` shows: its readout, or the box beside it where the value is typed (a selection
        slider's own readout, editable but deaf to typing, is hidden: param_sliders.TypedSelectionSlider)."""
        return self.control("widget-slider", label).evaluate(READOUT_JS).strip()

    def entry(self, label: str):
        """The text box beside slider `label` (a TypedSelectionSlider's) where a value is typed."""
        return self.control("widget-slider", label).locator("xpath=following-sibling::*[1]").locator("input")

    # --- waiting ----------------------------------------------------------------------------------------
    def wait_ready(self, figures: int = 1) -> list[str]:
        """The widget has rendered its figures (at least `figures` with axes and traces: plotly's code may load
        after the layout is drawn, on a busy machine seconds later) and is at rest."""
        self.output.wait_for(state="attached", timeout=self.timeout * SECOND)
        self.output.evaluate("e => e.scrollIntoView({block: 'start'})")    # in view, as a user would look at it
        self.page.wait_for_function(
            """([root, n]) => [...root.querySelectorAll('.js-plotly-plot')].filter(
                   p => p.querySelector('.main-svg .cartesianlayer, .main-svg .imagelayer')
                        && (p.data || []).length).length >= n""",
            arg=[self.output.element_handle(), figures], timeout=self.timeout * SECOND)
        return self.settle(None)

    def settle(self, before: list[str] | None, changed: int | None = None, quiet_s: float = 0.8) -> list[str]:
        """Wait until the figures differ from `before` (figure `changed` if given; None: no change needed), the
        kernel is idle, no training runs, and the figures stay the same for `quiet_s`; return their signatures."""
        deadline = time.monotonic() + self.timeout
        last, since = None, 0.0
        while True:
            now = time.monotonic()
            sig = self.signatures()
            moved = (before is None or (sig != before if changed is None else
                                        len(sig) > changed and sig[changed] != before[changed]))
            if moved and not self.busy() and self.kernel.idle():
                if sig == last:
                    if now - since >= quiet_s:
                        return sig
                else:
                    last, since = sig, now
            else:
                last = None
            if now > deadline:
                what = "no figure changed" if not moved else "the widget did not come to rest"
                raise AssertionError(f"{self.name}: {what} within {self.timeout:.0f} s after {self.moves[-1:]}"
                                     f"\n{self.text()[-2000:]}")
            self.page.wait_for_timeout(150)

    # --- checking ---------------------------------------------------------------------------------------
    def assert_healthy(self) -> None:
        """No error text in the widget or its cell, no JavaScript exception, nothing cut off."""
        cell_text = self.cell.locator(".jp-OutputArea").inner_text()
        for bad in ERROR_TEXTS:
            assert bad not in cell_text, f"{self.name}: {bad!r} shown after {self.moves}:\n{cell_text[-3000:]}"
        stderr = self.cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        assert stderr.count() == 0, f"{self.name}: stderr output in the cell: {stderr.first.inner_text()[:2000]}"
        assert not self.page_errors, f"{self.name}: JavaScript errors on the page: {self.page_errors}"
        problems = self.problems()
        assert not problems, f"{self.name}: cut off or overlapping after {self.moves}:\n" + "\n".join(problems)

    def _moved(self, before: list[str], changed: int | None) -> list[int]:
        after = self.settle(before, changed)
        self.assert_healthy()
        return [i for i, (a, b) in enumerate(zip(before, after)) if a != b]

    # --- moving, as a student -----------------------------------------------------------------------------
    def show(self) -> None:
        """Scroll the widget to the top of the view and move the mouse off its figures (plotly shows its
        mode bar over a hovered figure)."""
        self.output.evaluate("e => e.scrollIntoView({block: 'start'})")
        self.page.mouse.move(2, 2)
        self.next_frames()

    def next_frames(self) -> None:
        """Two animation frames later: the scroll is applied and painted."""
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def screenshot(self, suffix: str) -> Path:
        self.show()
        path = self.shots / f"{self.name}_{suffix}.png"
        self.output.screenshot(path=str(path), animations="disabled")
        return path

    def drag(self, label: str, fraction: float, changed: int | None = None) -> tuple[str, str]:
        """Drag the handle of slider `label` with the mouse to `fraction` of its track; (readout before, after)."""
        slider = self.control("widget-slider", label)
        slider.scroll_into_view_if_needed()
        before_value, before = self.readout(label), self.signatures()
        self.moves.append(f"drag {label} to {fraction:.0%}")
        spots = slider.evaluate(DRAG_TARGET_JS, fraction)
        mouse = self.page.mouse
        mouse.move(*spots["from"])
        mouse.down()
        mouse.move(*spots["to"], steps=4)
        mouse.up()
        mouse.move(2, 2)
        self.changed = self._moved(before, changed)
        after_value = self.readout(label)
        assert after_value != before_value, f"{self.name}: dragging {label} left it at {before_value}"
        return before_value, after_value

    def type(self, label: str, text: str, changed: int | None = None) -> list[int]:
        """Type `text` into the box of slider `label` and press Enter, as a student does; the box then shows the
        value taken (the slider's own readout would ignore it)."""
        box = self.entry(label)
        box.scroll_into_view_if_needed()
        before = self.signatures()
        self.moves.append(f"type {text!r} into {label}")
        box.fill(text)
        box.press("Enter")
        self.changed = self._moved(before, changed)
        return self.changed

    def tracks(self) -> dict[str, float]:
        """{label: width in pixels of the slider's track} of every shown slider."""
        return dict(self.output.evaluate(TRACKS_JS))

    def select(self, label: str, option: str, changed: int | None = None) -> list[int]:
        """Pick the item `option` (its text) of dropdown `label`."""
        select = self.control("widget-dropdown", label).locator("select")
        select.scroll_into_view_if_needed()
        before = self.signatures()
        self.moves.append(f"pick {option!r} in {label}")
        select.select_option(label=option)
        self.changed = self._moved(before, changed)
        return self.changed

    def toggle(self, label: str, button: str, changed: int | None = None) -> list[int]:
        """Click the button `button` of the ToggleButtons `label`."""
        target = self.control("widget-toggle-buttons", label).locator(".widget-toggle-button",
                                                                      has_text=exact(button))
        target.scroll_into_view_if_needed()
        before = self.signatures()
        self.moves.append(f"click {button!r} of {label}")
        target.click()
        self.changed = self._moved(before, changed)
        assert "mod-active" in (target.get_attribute("class") or ""), f"{button!r} is not pressed after the click"
        return self.changed

    def check(self, description: str, changed: int | None = None) -> list[int]:
        """Click the checkbox `description`."""
        box = self.output.locator(".widget-checkbox", has=self.page.locator(
            ".widget-label-basic span", has_text=exact(description))).locator("input[type=checkbox]").first
        box.scroll_into_view_if_needed()
        state, before = box.is_checked(), self.signatures()
        self.moves.append(f"click the checkbox {description!r}")
        box.click()
        self.changed = self._moved(before, changed)
        assert box.is_checked() != state, f"{self.name}: the checkbox {description!r} did not change"
        return self.changed

    def wait_for_figure_text(self, index: int, text: str) -> list[str]:
        """Wait until figure `index` shows `text` (e.g. a run trained in the background has been drawn), then
        until the widget is at rest."""
        self.page.wait_for_function(
            "([plot, text]) => [...plot.querySelectorAll('.main-svg text')].some(t => t.textContent.includes(text))",
            arg=[self.output.locator(".js-plotly-plot").nth(index).element_handle(), text],
            timeout=self.timeout * SECOND)
        return self.settle(None)

    def figure_text(self, index: int) -> str:
        """The texts drawn in figure `index` (titles, subplot titles, axis titles, legend), joined by newlines."""
        return self.output.locator(".js-plotly-plot").nth(index).evaluate(
            "p => [...p.querySelectorAll('.main-svg text')].map(t => t.textContent).join('\\n')")


__all__ = ["SECOND", "KernelWatch", "WidgetDriver", "exact", "number"]
