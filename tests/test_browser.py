"""A real browser: JupyterLab serves a copy of notebook 02, Chromium (driven by playwright) runs all its cells,
changes the TransformExplorer's transform and its sigma slider, and the rendered output must change as the
mathematics says (brightness a = 1.5 multiplies the noise variance by a^2 = 2.25; a new sigma redraws the noisy
image but not x0). Screenshots before and after go to artifacts/ (git-ignored).

Skipped, with the reason, when Chromium (/usr/bin/chromium or `chromium` on PATH) or the playwright package is
missing; with SCOREAUG_REQUIRE_BROWSER=1 (as in CI) it fails instead. The server runs on 127.0.0.1 from a
temporary folder (it never writes next to the repository's notebooks) and is stopped by its PID afterwards,
together with its kernels.
"""
from __future__ import annotations

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
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "02_transforms_in_noisy_space.ipynb"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDGET_CELL = "explorer = TransformExplorer("      # the source of the cell that shows the explorer
SECOND = 1000                                      # playwright counts milliseconds

pytestmark = [pytest.mark.browser, pytest.mark.slow]


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


def shutdown_kernels(url: str) -> None:
    try:
        with urllib.request.urlopen(f"{url}/api/kernels", timeout=5) as reply:
            kernels = json.load(reply)
        for kernel in kernels:
            request = urllib.request.Request(f"{url}/api/kernels/{kernel['id']}", method="DELETE")
            urllib.request.urlopen(request, timeout=10).close()
    except (urllib.error.URLError, OSError, ValueError):
        pass


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
    """JupyterLab on 127.0.0.1:<free port>, serving a temporary copy of notebook 02 at test size."""
    home = tmp_path_factory.mktemp("lab")
    notebooks = home / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOK, notebooks / NOTEBOOK.name)
    write_lab_settings(home / "settings")
    port = free_port()
    env = {**os.environ, "SCOREAUG_SIZE": "test", "SCOREAUG_RUNS": str(home / "runs"), "MPLBACKEND": "Agg",
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "PYTHONUNBUFFERED": "1"}
    log = home / "jupyterlab.log"
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
               "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0", f"--notebook-dir={notebooks}"]
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


def run_all_cells(page) -> None:
    """Run > Run All Cells, through the menu bar as a student would."""
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()


def wait_for_all_cells(page, n_code_cells: int, timeout: float) -> None:
    """Every code cell has an execution number, none is queued or running ([*])."""
    page.wait_for_function(
        """n => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                .map(p => p.textContent.trim());
            return prompts.length === n && prompts.every(t => /^\\[\\d+\\]:?$/.test(t));
        }""", arg=n_code_cells, timeout=timeout)


def image_sources(output) -> list[str]:
    """The data URIs of the plotly Image traces of the explorer's first figure (x0, x0 + sigma n, ...)."""
    return output.locator(".js-plotly-plot").first.evaluate(
        "plot => [...plot.querySelectorAll('image')].map(i => i.getAttribute('href') || i.getAttribute('xlink:href'))")


def readout(output, label: str):
    return output.locator(".widget-slider", has=output.page.locator(".widget-label", has_text=re.compile(
        f"^{label}$"))).locator(".widget-readout")


def show(output) -> None:
    """Scroll the notebook so that the explorer starts at the top of the view."""
    output.evaluate("e => e.scrollIntoView({block: 'start'})")
    output.page.wait_for_timeout(500)          # let the scroll and plotly's redraw settle before a screenshot


def test_transform_explorer_in_jupyterlab(lab, chromium):
    from playwright.sync_api import expect, sync_playwright

    n_code_cells = sum(c["cell_type"] == "code" for c in json.loads(NOTEBOOK.read_text())["cells"])
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            # tall enough for the whole explorer to fit on screen (its screenshots are not clipped)
            page = browser.new_page(viewport={"width": 1400, "height": 2200})
            page.set_default_timeout(60 * SECOND)
            page.goto(f"{lab.url}/lab/tree/{NOTEBOOK.name}", wait_until="domcontentloaded")
            page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=90 * SECOND)
            accept_kernel_dialog(page)
            run_all_cells(page)

            # the explorer renders: its controls and its plotly figures
            cell = page.locator(".jp-CodeCell", has_text=WIDGET_CELL).first
            output = cell.locator(".jp-OutputArea-output").first
            output.locator(".js-plotly-plot image").first.wait_for(state="attached", timeout=120 * SECOND)
            wait_for_all_cells(page, n_code_cells, timeout=150 * SECOND)   # the kernel is free for the widget
            info = output.locator(".widget-html", has_text="variance ratio").first
            expect(info).to_contain_text("variance ratio 1.0000", timeout=30 * SECOND)    # rot90: orthogonal
            sigma = readout(output, "sigma")
            sigma_before = sigma.inner_text()
            sources_before = image_sources(output)
            assert len(sources_before) >= 4 and all(s.startswith("data:image/png;base64,") for s in sources_before)
            show(output)
            output.screenshot(path=str(ARTIFACTS / "browser_transform_explorer_before.png"))

            # 1. the transform: brightness (a = 1.5 by default) multiplies the noise variance by a^2
            transform = output.locator(".widget-dropdown", has=page.locator(".widget-label", has_text=re.compile(
                r"^transform$"))).locator("select")
            transform.select_option("brightness")
            expect(info).to_contain_text("variance ratio 2.2500", timeout=30 * SECOND)
            title = output.locator(".js-plotly-plot .gtitle").first
            expect(title).to_contain_text("brightness", timeout=30 * SECOND)

            # 2. the sigma slider, by keyboard on its handle: the noisy image changes, x0 does not
            sources_mid = image_sources(output)
            handle = output.locator(".widget-slider", has=page.locator(".widget-label", has_text=re.compile(
                r"^sigma$"))).locator(".noUi-handle")
            handle.focus()
            for _ in range(20):
                handle.press("ArrowRight")
            expect(sigma).not_to_have_text(sigma_before, timeout=30 * SECOND)
            page.wait_for_function(
                """([plot, before]) => {
                    const srcs = [...plot.querySelectorAll('image')].map(i => i.getAttribute('href'));
                    return srcs[1] !== before;
                }""", arg=[output.locator(".js-plotly-plot").first.element_handle(), sources_mid[1]],
                timeout=30 * SECOND)
            expect(title).to_contain_text(f"σ = {float(sigma.inner_text()):.3g}", timeout=30 * SECOND)
            sources_after = image_sources(output)
            assert sources_after[0] == sources_mid[0], "x0 must not change with sigma"
            assert sources_after[1] != sources_mid[1], "x0 + sigma n must change with sigma"
            assert sources_after[1:] != sources_before[1:]
            assert float(sigma.inner_text()) > float(sigma_before)
            expect(info).to_contain_text("variance ratio 2.2500")      # brightness still: the ratio is sigma-free
            assert "could not update" not in output.inner_text()
            show(output)
            output.screenshot(path=str(ARTIFACTS / "browser_transform_explorer_after.png"))
        except Exception:
            if "page" in locals():
                page.screenshot(path=str(ARTIFACTS / "browser_failure.png"), full_page=True)
            print(lab.log_tail())
            raise
        finally:
            browser.close()
