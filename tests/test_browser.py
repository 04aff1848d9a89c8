"""A real browser, every widget of every notebook: JupyterLab serves a temporary copy of the walkthrough notebooks at
test size (SCOREAUG_SIZE=test, runs in a temporary store), Chromium (driven by playwright) runs each notebook that
shows widgets (01, 02, 04, 07) through the Run menu, and moves every widget's controls as a student does: drags
slider handles with the mouse, picks dropdown items, clicks toggle buttons and checkboxes. After each move
(tests/browser_support.py):

  * the rendered figure changed (a hash of each plotly figure's rendered SVG), and what changed is what the control
    says (a title quoting the new value, x0 unchanged when only sigma moves, ...);
  * no error: nothing in the widget's status line ("could not update", "refused"), no traceback or stderr in the
    cell, no JavaScript exception on the page, no widget model that failed to load;
  * nothing is cut off: every text of every figure inside the figure and clear of the other titles and legends,
    every figure and control inside the output area, no clipped label, readout, button or dropdown text;
  * in a laptop's window too (1000x700 with JupyterLab's side bar open, a ~670 px notebook column): after each
    notebook's widget tests, every explorer is checked again there, and its slider tracks are at least 100 px.

One JupyterLab server and one browser serve every test of this module; a notebook's page stays open for its
widgets' tests and its kernel is shut down when the next notebook opens. Notebook 04 runs down to its explorer
(the cells after it train the digit models that tests/test_notebooks.py already runs). Screenshots of each widget
before and after its moves go to artifacts/browser/ (git-ignored), a whole-page one when a test fails.

Skipped, with the reason, when Chromium (/usr/bin/chromium or `chromium` on PATH) or the playwright package is
missing; with SCOREAUG_REQUIRE_BROWSER=1 (as in CI) it fails instead. The server runs on 127.0.0.1 from a
temporary folder (it never writes next to the repository's notebooks) and is stopped by its PID afterwards,
together with its kernels.
"""
from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from browser_support import KernelWatch, WidgetDriver, exact, number

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK = NOTEBOOKS / "02_transforms_in_noisy_space.ipynb"
ARTIFACTS = ROOT / "artifacts"
SHOTS = ARTIFACTS / "browser"                      # screenshots of this module (git-ignored, as all of artifacts/)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# A desktop with a mouse, as a student's laptop: headless Chromium otherwise reports no hover-capable pointer, and
# plotly then shows its mode bar permanently (on top of the figures' titles) instead of on hover.
DESKTOP_POINTER = ("--blink-settings=primaryHoverType=2,availableHoverTypes=2,primaryPointerType=4,"
                   "availablePointerTypes=4")
VIEWPORT = {"width": 1400, "height": 2200}         # tall: a whole explorer fits on screen for its screenshots
LAPTOP = {"width": 1000, "height": 700}            # a laptop's browser window: with the side bar, a ~670 px notebook
MIN_TRACK_PX = 100                                 # a slider's track, where its handle moves, is at least this wide
WIDGET_CELL = "explorer = TransformExplorer("      # the source of the cell that shows notebook 02's explorer
SECOND = 1000                                      # playwright counts milliseconds
# the notebooks with widgets, in the order the tests use them, and the last cell each runs (None: all)
RUN_THROUGH = {"02_transforms_in_noisy_space.ipynb": None, "01_denoising_and_scores.ipynb": None,
               "04_overfitting_with_little_data.ipynb": "explorer.wait()", "07_data_leakage.ipynb": None}
NOTEBOOK_TIMEOUT_S = 420                           # running one notebook's cells, on a loaded 2-core machine

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser_widgets")]


def _unavailable(reason: str):
    """Skip, or fail where the browser test is required (SCOREAUG_REQUIRE_BROWSER=1, set by CI)."""
    if os.environ.get("SCOREAUG_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, but SCOREAUG_REQUIRE_BROWSER=1 requires the browser test to run")
    pytest.skip(reason)


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        _unavailable("Chromium not found (/usr/bin/chromium or `chromium` on PATH; Debian: apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright Python package is not installed (pip install playwright)")
    return path


# --- the JupyterLab server ---------------------------------------------------------------------------------
@dataclass
class LabServer:
    url: str
    process: subprocess.Popen
    log: Path

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.is_file() else ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_lab_settings(folder: Path) -> None:
    """User settings of this server only: every cell in the DOM (no windowing), no news or update checks."""
    settings = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
                "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                    {"fetchNews": "false", "checkForUpdates": False}}
    for name, values in settings.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def wait_until_answering(server: LabServer, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"JupyterLab exited with code {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/status", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {timeout:.0f} s:\n{server.log_tail()}")


def descendants(pid: int) -> list[int]:
    """PIDs of every process started below `pid` (the kernels run in their own sessions)."""
    try:
        import psutil
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except Exception:  # psutil missing, or the server already gone
        return []


def _api(url: str):
    """An opener holding the server's _xsrf cookie, and the header that repeats it (the server refuses a DELETE
    without them)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{url}/lab", timeout=10).close()
    xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
    return opener, {"X-XSRFToken": xsrf}


def shutdown_kernel(url: str, kernel_id: str) -> None:
    try:
        opener, headers = _api(url)
        request = urllib.request.Request(f"{url}/api/kernels/{kernel_id}", method="DELETE", headers=headers)
        opener.open(request, timeout=30).close()
    except (urllib.error.URLError, OSError):
        pass


def shutdown_kernels(url: str) -> None:
    try:
        with urllib.request.urlopen(f"{url}/api/kernels", timeout=5) as reply:
            kernels = json.load(reply)
    except (urllib.error.URLError, OSError, ValueError):
        return
    for kernel in kernels:
        shutdown_kernel(url, kernel["id"])


def stop_server(server: LabServer) -> None:
    """Kernels through the API, then the server's process group by its PID (TERM, then KILL), then any
    process it started that is still alive."""
    children = descendants(server.process.pid)
    if server.process.poll() is None:
        shutdown_kernels(server.url)
        children += [pid for pid in descendants(server.process.pid) if pid not in children]
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if server.process.poll() is not None:
            break
        try:
            os.killpg(server.process.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture(scope="module")
def lab(chromium, tmp_path_factory):
    """JupyterLab on 127.0.0.1:<free port>, serving a temporary copy of the notebooks at test size."""
    home = tmp_path_factory.mktemp("lab")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    for path in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(path, notebooks / path.name)
    write_lab_settings(home / "settings")
    port = free_port()
    # no MPLBACKEND: the kernel shows matplotlib figures inline, as for a student
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env.update({"SCOREAUG_SIZE": "test", "SCOREAUG_RUNS": str(home / "runs"),
                "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
                "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
                "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "PYTHONUNBUFFERED": "1"})
    log = home / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--IdentityProvider.token=",
               "--ServerApp.password=", "--ServerApp.ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
               f"--notebook-dir={notebooks}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=notebooks, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)  # its own process group
    server = LabServer(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_answering(server)
        yield server
    finally:
        stop_server(server)
    assert server.process.poll() is not None, "JupyterLab is still running"


# --- the browser ---------------------------------------------------------------------------------------------
def accept_kernel_dialog(page) -> None:
    """Accept a "Select Kernel" dialog if one appears (the notebook names python3, so usually none does)."""
    dialog = page.locator(".jp-Dialog")
    try:
        dialog.wait_for(state="visible", timeout=4 * SECOND)
    except Exception:
        return
    if "kernel" in dialog.inner_text().lower():
        dialog.locator(".jp-mod-accept").first.click()
        dialog.wait_for(state="hidden", timeout=20 * SECOND)


def run_menu(page, item: str) -> None:
    """Run > `item`, through the menu bar as a student would."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item", has_text=exact(item)).first.click()


def run_all_cells(page) -> None:
    """Run > Run All Cells, through the menu bar as a student would."""
    run_menu(page, "Run All Cells")


def wait_for_all_cells(page, n_code_cells: int, timeout: float) -> None:
    """Every code cell has an execution number, none is queued or running ([*])."""
    page.wait_for_function(
        """n => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                .map(p => p.textContent.trim());
            return prompts.length === n && prompts.every(t => /^\\[\\d+\\]:?$/.test(t));
        }""", arg=n_code_cells, timeout=timeout)


def wait_for_cells(page, n_run: int, timeout: float) -> None:
    """The first `n_run` code cells have an execution number and no cell is queued or running ([*]); fails at once,
    with the cell's error, where a cell raised (Run All stops there)."""
    outcome = page.wait_for_function(
        """n => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                .map(p => p.textContent.trim());
            const busy = prompts.some(t => t.includes('*'));
            if (prompts.length >= n && prompts.slice(0, n).every(t => /^\\[\\d+\\]:?$/.test(t)) && !busy)
                return 'done';
            const error = document.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"], '
                                                  + '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
            return !busy && error ? 'error: ' + error.innerText.slice(-3000) : false;
        }""", arg=n_run, timeout=timeout).json_value()
    assert outcome == "done", f"a cell of the notebook failed:\n{outcome}"


def code_cell(page, source: str):
    """The code cell whose source contains `source`."""
    return page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea-editor", has_text=source)).first


def image_sources(output) -> list[str]:
    """The data URIs of the plotly Image traces of the explorer's first figure (x0, x0 + sigma n, ...)."""
    return output.locator(".js-plotly-plot").first.evaluate(
        "plot => [...plot.querySelectorAll('image')].map(i => i.getAttribute('href') || i.getAttribute('xlink:href'))")


def show(output) -> None:
    """Scroll the notebook so that the explorer starts at the top of the view."""
    output.evaluate("e => e.scrollIntoView({block: 'start'})")
    output.page.wait_for_timeout(500)          # let the scroll and plotly's redraw settle before a screenshot


# --- a laptop's window ---------------------------------------------------------------------------------------
def open_side_bar(page) -> None:
    """JupyterLab's left side bar (the file browser) open, as JupyterLab starts: the notebook gets what is left."""
    stack = page.locator("#jp-left-stack")
    if not stack.is_visible():
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").first.click()
        stack.wait_for(state="visible")


def check_laptop_window(nb: "NotebookPage", label: str) -> None:
    """Every explorer of the open notebook in a 1000x700 window with the side bar open (a ~670 px notebook
    column): after the window shrinks, its figures follow the output area, nothing is cut off or runs past the
    notebook, no dropdown text is clipped (assert_healthy), and every slider's track is at least MIN_TRACK_PX wide.
    Screenshots of the window (<label>_<i>.png, the top of each explorer); the window is restored afterwards."""
    page = nb.page
    page.set_viewport_size(LAPTOP)
    try:
        open_side_bar(page)
        column = page.locator(".jp-NotebookPanel").first.bounding_box()["width"]
        assert column < 720, f"the notebook column is {column:.0f} px wide: not the laptop case"
        cells = page.locator(".jp-CodeCell", has=page.locator(".widget-vbox"))
        assert cells.count() > 0
        for i in range(cells.count()):
            w = WidgetDriver(page, cells.nth(i), nb.kernel, f"{label}_{i}", SHOTS, nb.errors)
            w.show()
            w.settle(None)
            w.assert_healthy()
            narrow = {name: round(px) for name, px in w.tracks().items() if px < MIN_TRACK_PX}
            assert not narrow, f"{w.name}: slider tracks narrower than {MIN_TRACK_PX} px: {narrow}"
            page.screenshot(path=str(SHOTS / f"{w.name}.png"))     # the window a student sees: side bar and all
    finally:
        page.set_viewport_size(VIEWPORT)
        page.wait_for_timeout(500)


@dataclass
class NotebookPage:
    """One notebook open in JupyterLab (its own workspace), its cells run, its kernel watched."""
    name: str
    page: object
    kernel: KernelWatch
    errors: list = field(default_factory=list)     # JavaScript exceptions and widget load failures of the page

    def widget(self, source: str, label: str, timeout: float = 120.0) -> WidgetDriver:
        """The widget shown by the cell whose source contains `source` (screenshots named after `label`)."""
        return WidgetDriver(self.page, code_cell(self.page, source), self.kernel, label, SHOTS, self.errors,
                            timeout=timeout)

    @contextlib.contextmanager
    def failure_shot(self, label: str, lab: LabServer):
        """On a failure: a screenshot of the whole page and the server's log."""
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):
                self.page.screenshot(path=str(SHOTS / f"failure_{label}.png"))
            print(lab.log_tail())
            raise


class Notebooks:
    """Opens each notebook once (runs its cells) and keeps its page for the tests of its widgets; opening the next
    notebook closes the previous page and shuts its kernel down (the machine runs one notebook at a time)."""

    WIDGET_LOAD_FAILURE = re.compile(r"anywidget|Failed to (load|initialize) (model|widget|view)|"
                                     r"Error (creating|displaying) (widget|view)|Could not create (a )?(model|view)")

    def __init__(self, lab: LabServer, browser):
        self.lab, self.browser = lab, browser
        self.current: NotebookPage | None = None

    def open(self, name: str) -> NotebookPage:
        if self.current is not None and self.current.name == name:
            return self.current
        self.close()
        page = self.browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(60 * SECOND)
        errors: list = []
        page.on("pageerror", lambda err: errors.append(f"page error: {err}"))
        page.on("console", lambda msg: errors.append(f"console {msg.type}: {msg.text[:500]}")
                if msg.type == "error" and self.WIDGET_LOAD_FAILURE.search(msg.text) else None)
        workspace = re.sub(r"\W", "", name.split("_")[0])   # its own workspace: no other notebook restored in it
        page.goto(f"{self.lab.url}/lab/workspaces/w{workspace}/tree/{name}", wait_until="domcontentloaded")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=90 * SECOND)
        accept_kernel_dialog(page)
        cells = [c for c in json.loads((NOTEBOOKS / name).read_text())["cells"] if c["cell_type"] == "code"]
        through = RUN_THROUGH[name]
        if through is None:
            run_all_cells(page)
            n_run = len(cells)
        else:      # select the cell after the last one to run, then Run > Run All Above Selected Cell
            n_run = next(i for i, c in enumerate(cells) if through in "".join(c["source"])) + 1
            page.locator(".jp-CodeCell").nth(n_run).locator(".jp-InputPrompt").click()
            run_menu(page, "Run All Above Selected Cell")
        self.current = NotebookPage(name, page, KernelWatch.of_notebook(self.lab.url, name), errors)
        with self.current.failure_shot(f"run_{name.split('_')[0]}", self.lab):
            wait_for_cells(page, n_run, timeout=NOTEBOOK_TIMEOUT_S * SECOND)
        return self.current

    def close(self) -> None:
        if self.current is not None:
            with contextlib.suppress(Exception):
                self.current.page.close()
            shutdown_kernel(self.lab.url, self.current.kernel.kernel_id)
            self.current = None


@pytest.fixture(scope="module")
def notebooks(lab, chromium):
    """One browser for the whole module; the notebooks' pages opened through it (see Notebooks)."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS + [DESKTOP_POINTER])
        opened = Notebooks(lab, browser)
        try:
            yield opened
        finally:
            opened.close()
            browser.close()


# --- notebook 02: the transform explorers ------------------------------------------------------------------------
def test_transform_explorer_in_jupyterlab(lab, notebooks):
    """Digits: the transform dropdown and the sigma slider change the rendered output as the mathematics says
    (brightness a = 1.5 multiplies the noise variance by a^2 = 2.25; a new sigma redraws the noisy image, not x0);
    then the image slider and the denoiser."""
    from playwright.sync_api import expect

    nb = notebooks.open(NOTEBOOK.name)
    w = nb.widget(WIDGET_CELL, "02_image_transform_explorer")
    output, page = w.output, nb.page
    with nb.failure_shot(w.name, lab):
        output.locator(".js-plotly-plot image").first.wait_for(state="attached", timeout=120 * SECOND)
        w.wait_ready(figures=3)
        info = output.locator(".widget-html", has_text="variance ratio").first
        expect(info).to_contain_text("variance ratio 1.0000", timeout=30 * SECOND)    # rot90: orthogonal
        w.assert_healthy()
        sigma_before = w.readout("sigma")
        sources_before = image_sources(output)
        assert len(sources_before) >= 4 and all(s.startswith("data:image/png;base64,") for s in sources_before)
        w.screenshot("before")

        # 1. the transform: brightness (a = 1.5 by default) multiplies the noise variance by a^2
        changed = w.select("transform", "brightness")
        assert {0, 1, 2} <= set(changed), f"every figure shows the new transform, changed: {changed}"
        expect(info).to_contain_text("variance ratio 2.2500", timeout=30 * SECOND)
        title = output.locator(".js-plotly-plot .gtitle").first
        expect(title).to_contain_text("brightness", timeout=30 * SECOND)

        # 2. the sigma slider, dragged with the mouse: the noisy image changes, x0 does not
        sources_mid = image_sources(output)
        w.drag("sigma", 0.75, changed=0)
        expect(title).to_contain_text(f"σ = {number(w.readout('sigma')):.3g}", timeout=30 * SECOND)
        sources_after = image_sources(output)
        assert sources_after[0] == sources_mid[0], "x0 must not change with sigma"
        assert sources_after[1] != sources_mid[1], "x0 + sigma n must change with sigma"
        assert sources_after[1:] != sources_before[1:]
        assert number(w.readout("sigma")) > number(sigma_before)
        expect(info).to_contain_text("variance ratio 2.2500")      # brightness still: the ratio is sigma-free

        # 2b. sigma typed into the box beside the slider, then Enter: the value taken exactly
        w.type("sigma", "0.45", changed=0)
        assert w.readout("sigma") == "0.45"
        expect(title).to_contain_text("σ = 0.45", timeout=30 * SECOND)

        # 3. another held-out image: x0 changes
        w.drag("image (held-out)", 0.5, changed=0)
        assert image_sources(output)[0] != sources_after[0], "a new image index must show a new x0"

        # 4. the clean-space optimum: the equivariance panels and their title change
        changed = w.select("denoiser", "clean-space optimum", changed=2)
        assert "clean-space optimum" in w.figure_text(2)
        w.screenshot("after")


def test_point_transform_explorer(lab, notebooks):
    """Toy points: a non-linear transform, its strength, sigma and the data set."""
    nb = notebooks.open(NOTEBOOK.name)
    w = nb.widget("points_explorer = PointTransformExplorer(", "02_point_transform_explorer")
    with nb.failure_shot(w.name, lab):
        w.wait_ready(figures=3)
        w.assert_healthy()
        assert "shear" in w.figure_text(0)
        w.screenshot("before")
        changed = w.select("transform", "tanh")
        assert {0, 1} <= set(changed), changed
        assert "tanh" in w.figure_text(0) and "non-linear" in w.figure_text(0)
        assert "Monte Carlo" in w.figure_text(1), "a non-linear T: the noise statistics are a Monte Carlo estimate"
        before, after = w.drag("tanh strength k", 0.9, changed=0)
        assert number(after) > number(before)
        w.drag("sigma", 0.2, changed=0)
        assert f"σ = {number(w.readout('sigma')):.3g}" in w.figure_text(0)
        w.select("data", "toy:moons", changed=0)
        w.screenshot("after")


def test_cifar_transform_explorer(lab, notebooks):
    """CIFAR-10 (when its .npz is found): transform, sigma and denoiser."""
    nb = notebooks.open(NOTEBOOK.name)
    cell = code_cell(nb.page, "cifar_explorer = TransformExplorer(")
    if "No local CIFAR-10" in cell.locator(".jp-OutputArea").inner_text():
        pytest.skip("no local CIFAR-10 .npz (SCOREAUG_CIFAR_NPZ): notebook 02 shows no CIFAR-10 explorer")
    w = nb.widget("cifar_explorer = TransformExplorer(", "02_cifar_transform_explorer")
    with nb.failure_shot(w.name, lab):
        w.wait_ready(figures=3)
        w.assert_healthy()
        w.screenshot("before")
        w.select("transform", "translate", changed=0)
        assert "translate" in w.figure_text(0)
        w.drag("sigma", 0.6, changed=0)
        w.select("denoiser", "noisy-space optimum (ScoreAug)", changed=2)
        assert "noisy-space optimum" in w.figure_text(2)
        w.screenshot("after")


def test_notebook_02_in_a_laptop_window(lab, notebooks):
    nb = notebooks.open(NOTEBOOK.name)
    with nb.failure_shot("02_laptop", lab):
        check_laptop_window(nb, "02_laptop")


# --- notebook 01: the sampler and the score fields ---------------------------------------------------------------
def test_sampler_explorer(lab, notebooks):
    nb = notebooks.open("01_denoising_and_scores.ipynb")
    w = nb.widget("sampler_app = SamplerExplorer(", "01_sampler_explorer")
    with nb.failure_shot(w.name, lab):
        w.wait_ready(figures=2)
        w.assert_healthy()
        assert "heun, 18 steps" in w.figure_text(0)
        w.screenshot("before")
        w.select("method", "euler", changed=0)
        assert "euler, 18 steps (18 denoiser calls)" in w.figure_text(0)
        before, after = w.drag("steps", 0.15, changed=1)           # the schedule: fewer noise levels
        assert int(after) < int(before)
        assert f"euler, {int(after)} steps" in w.figure_text(0)
        w.select("denoiser", "ideal denoiser (training set)", changed=0)
        assert "ideal denoiser" in w.text()
        w.drag("churn", 0.5, changed=0)
        assert f"churn {number(w.readout('churn')):.3g}" in w.figure_text(0)
        w.type("sigma_max", "50", changed=1)                          # the schedule starts at the typed value
        assert w.readout("sigma_max") == "50"
        w.screenshot("after")


def test_score_field_explorer(lab, notebooks):
    nb = notebooks.open("01_denoising_and_scores.ipynb")
    w = nb.widget("field_app = ScoreFieldExplorer(", "01_score_field_explorer")
    with nb.failure_shot(w.name, lab):
        w.wait_ready(figures=1)
        w.assert_healthy()
        w.screenshot("before")
        w.drag("sigma", 0.7, changed=0)
        assert f"sigma = {number(w.readout('sigma')):.3g}" in w.figure_text(0)
        w.type("sigma", "0.45", changed=0)
        assert w.readout("sigma") == "0.45" and "sigma = 0.45" in w.figure_text(0)
        w.select("transform T", "tanh", changed=0)
        assert "Jacobian term on its own" in w.figure_text(0), "tanh is not volume-preserving"
        w.drag("tanh strength k", 0.0, changed=0)                  # k = 0: the identity, not NaN
        assert w.readout("tanh strength k") == "0.00" and "nan" not in w.text().lower()
        w.drag("tanh strength k", 0.3, changed=0)
        w.check("show the Jacobian term", changed=0)
        w.check("log-density background", changed=0)
        w.screenshot("after")


def test_notebook_01_in_a_laptop_window(lab, notebooks):
    nb = notebooks.open("01_denoising_and_scores.ipynb")
    with nb.failure_shot("01_laptop", lab):
        check_laptop_window(nb, "01_laptop")


# --- notebook 04: the overfitting explorer -----------------------------------------------------------------------
def test_overfitting_explorer(lab, notebooks):
    nb = notebooks.open("04_overfitting_with_little_data.ipynb")
    w = nb.widget("explorer = OverfittingExplorer(", "04_overfitting_explorer", timeout=240.0)
    with nb.failure_shot(w.name, lab):
        w.wait_ready(figures=3)
        w.assert_healthy()
        assert "noaug, n=64 (network" in w.figure_text(0)
        w.screenshot("before")
        # the closed-form optimum first: no training
        w.toggle("denoiser", "optimum (memorises)", changed=0)
        assert "noaug, n=64 (optimum" in w.figure_text(0)
        before, after = w.drag("n_train", 0.2, changed=0)
        assert int(after) < int(before)
        assert f"n={int(after)} (optimum" in w.figure_text(0)
        w.type("n_train", "100", changed=0)                          # the nearest training-set size: 128
        assert w.readout("n_train") == "128" and "n=128 (optimum" in w.figure_text(0)
        w.type("n_train", after, changed=0)
        w.toggle("variant", "scoreaug", changed=0)
        assert "scoreaug" in w.figure_text(0)
        w.select("loss band", "sigma 0.002 to 0.05", changed=2)      # figures: samples, memorisation, loss
        assert "sigma 0.002 to 0.05" in w.figure_text(2)
        # back to a network: it trains in the background (progress bar), then shows its samples
        w.toggle("denoiser", "trained network", changed=0)
        w.wait_for_figure_text(0, f"scoreaug, n={int(after)} (network, step")
        w.assert_healthy()
        w.screenshot("after")


def test_notebook_04_in_a_laptop_window(lab, notebooks):
    nb = notebooks.open("04_overfitting_with_little_data.ipynb")
    with nb.failure_shot("04_laptop", lab):
        check_laptop_window(nb, "04_laptop")


# --- notebook 07: the leakage explorers --------------------------------------------------------------------------
def test_leakage_explorer_optima(lab, notebooks):
    nb = notebooks.open("07_data_leakage.ipynb")
    w = nb.widget('app = LeakageExplorer(pair="clean", denoiser="optimum"', "07_leakage_explorer_optima")
    with nb.failure_shot(w.name, lab):
        w.wait_ready(figures=2)
        w.assert_healthy()
        w.screenshot("before")
        w.select("models", "noisy space: noisy vs scoreaug", changed=0)
        assert "noisy vs scoreaug" in w.figure_text(0)
        before, after = w.drag("amount", 0.25, changed=0)
        assert number(after) < number(before)
        assert f"amount {number(after):+.1f}" in w.figure_text(0)
        w.toggle("start noise", "plain noise", changed=0)
        w.select("transform", "rotate", changed=0)
        assert "rotate" in w.figure_text(0)
        w.screenshot("after")


def test_leakage_explorer_networks(lab, notebooks):
    nb = notebooks.open("07_data_leakage.ipynb")
    w = nb.widget('nets = LeakageExplorer(pair="clean", denoiser="network"', "07_leakage_explorer_networks",
                  timeout=240.0)
    with nb.failure_shot(w.name, lab):
        w.wait_ready(figures=2)
        w.assert_healthy()
        w.screenshot("before")
        before, after = w.drag("amount", 0.75, changed=0)
        assert f"amount {number(after):+.1f}" in w.figure_text(0)
        w.select("models", "noisy space: noisy vs scoreaug", changed=0)       # trained by the notebook's cell
        assert "noisy vs scoreaug" in w.figure_text(0)
        w.screenshot("after")


def test_notebook_07_in_a_laptop_window(lab, notebooks):
    nb = notebooks.open("07_data_leakage.ipynb")
    with nb.failure_shot("07_laptop", lab):
        check_laptop_window(nb, "07_laptop")
