"""A student in a real browser: JupyterLab (with nbgrader's extension) serves the student version of assignment 1,
Chromium (driven by playwright) types an answer to question 1 into its solution cell (one that raises a
FutureWarning, as torch.func does) and presses the toolbar's Validate button; nbgrader's dialog must list the test
cells of the unanswered questions 2-4 as failed and not the answered question 1: a warning costs nothing. A screenshot goes to artifacts/ (git-ignored).

Like tests/test_browser.py (whose server and browser helpers it reuses): skipped, with the reason, without Chromium
or playwright, failing instead under SCOREAUG_REQUIRE_BROWSER=1; the server runs on 127.0.0.1 from a temporary
copy of the course (its folder holds nbgrader_config.py, which Validate reads) and is stopped by its PID.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from scoreaug_lab.course.commands import generate, tool_env
from scoreaug_lab.course.layout import assignment_names, copy_course, source_notebook
from test_browser import (ARTIFACTS, CHROMIUM_ARGS, SECOND, LabServer, _unavailable, accept_kernel_dialog,  # noqa: F401
                          chromium, free_port, stop_server, wait_until_answering, write_lab_settings)

COURSE = Path(__file__).resolve().parents[1] / "notebooks" / "assignments"
NAME = assignment_names(COURSE)[0]             # a1_denoisers_and_scores
ANSWER = '''import warnings

def edm_preconditioning(sigma, sigma_data):
    warnings.warn("torch and sympy warn about things a student cannot change", FutureWarning)
    total = sigma**2 + sigma_data**2
    return {"c_skip": sigma_data**2 / total, "c_out": sigma * sigma_data / sp.sqrt(total),
            "c_in": 1 / sp.sqrt(total), "c_noise": sp.log(sigma) / 4, "lambda": total / (sigma * sigma_data) ** 2}
'''

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def course_lab(chromium, tmp_path_factory):  # noqa: F811  (the fixture of test_browser)
    """JupyterLab on 127.0.0.1:<free port> in a temporary course holding the released assignment 1."""
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        _unavailable("nbgrader (the instructor extra) is not installed: pip install -e '.[instructor]'")
    home = tmp_path_factory.mktemp("lab")
    root = copy_course(COURSE, home / "course")
    generate(root, [NAME])
    write_lab_settings(home / "settings")
    port = free_port()
    env = {**tool_env(), "SCOREAUG_SIZE": "test", "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1",
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--IdentityProvider.token=",
               "--ServerApp.password=", "--ServerApp.ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
               f"--notebook-dir={root}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    log = home / "jupyterlab.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_answering(server)
        yield server, root
    finally:
        stop_server(server)
    assert server.process.poll() is not None, "JupyterLab is still running"


def test_validate_reports_passing_and_failing_questions(course_lab, chromium):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    lab, root = course_lab
    notebook = source_notebook(root, NAME).name
    relative = f"release/{NAME}/{notebook}"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            page.set_default_timeout(60 * SECOND)
            page.goto(f"{lab.url}/lab/tree/{relative}", wait_until="domcontentloaded")
            page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=90 * SECOND)
            accept_kernel_dialog(page)

            # the student answers question 1 in its solution cell
            cell = page.locator(".jp-CodeCell", has_text="def edm_preconditioning").first
            editor = cell.locator(".cm-content").first
            editor.click()
            page.keyboard.press("Control+a")
            page.keyboard.press("Backspace")
            page.keyboard.insert_text(ANSWER)
            expect(editor).to_contain_text('"c_noise": sp.log(sigma) / 4')

            # nbgrader's Validate button (it saves the notebook, then validates it on the server)
            page.locator(".jp-NotebookPanel-toolbar .jp-ToolbarButtonComponent", has_text="Validate").first.click()
            dialog = page.locator(".jp-Dialog", has_text="Validation Results")
            dialog.wait_for(state="visible", timeout=180 * SECOND)
            body = dialog.locator(".validation-failed")
            expect(body).to_contain_text("The following cell failed", timeout=10 * SECOND)
            text = body.inner_text()
            assert text.count("The following cell failed") == 3, text[:2000]
            dialog.screenshot(path=str(ARTIFACTS / "browser_assignment_validate.png"))
            for question in (2, 3, 4):
                assert f"# Tests for question {question}" in text, f"question {question} is unanswered: it must fail"
            assert "NotImplementedError" in text
            assert "# Tests for question 1" not in text, "question 1 is answered: it must pass"
            saved = nbformat.read(str(root / relative), as_version=4)
            assert any('sp.log(sigma) / 4' in c.source for c in saved.cells), "Validate saved the student's answer"
        except Exception:
            if "page" in locals():
                page.screenshot(path=str(ARTIFACTS / "browser_assignment_failure.png"), full_page=True)
            print(lab.log_tail())
            raise
        finally:
            browser.close()
