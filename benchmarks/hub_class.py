"""A class-sized load on the local JupyterHub (as root): N students start their servers and run a walkthrough notebook
against the prepared run store at the same moment, over the hub's and the servers' HTTP APIs (course/hub_client.py);
one more student does it in Chromium and moves a widget.

    python benchmarks/hub_class.py [--students 25] [--notebook 00_quickstart] [--size teach] [--store DIR]
                                   [--browser-notebook 02_transforms_in_noisy_space] [--no-browser] [--out FILE]

Reported: server start and time to the first figure (p50 / p95 / max, from the moment all are released together),
the notebook's whole run, peak memory per student (the resident memory of all their processes: server + kernel)
and of the hub with its proxy, how many runs were trained during the class (expected: none), failures, and the load.
Without --store the notebook's runs are prepared first (`scoreaug-lab prepare`, timed apart).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from scoreaug_lab.course.hub import ClassHub, free_port
from scoreaug_lab.course.hub_client import HubAPI

ROOT = Path(__file__).resolve().parents[1]
MIB = 2 ** 20


def rss_by_uid() -> dict:
    """Resident bytes of every process, summed per uid (from /proc)."""
    totals: dict = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            uid, rss = int(fields["Uid"].split()[0]), int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
        except (OSError, KeyError, ValueError):
            continue
        totals[uid] = totals.get(uid, 0) + rss
    return totals


def rss_of(pids) -> int:
    total = 0
    for pid in pids:
        try:
            line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmRSS"))
            total += int(line.split()[1]) * 1024
        except (OSError, StopIteration):
            pass
    return total


def hub_pids(hub: ClassHub) -> list[int]:
    """The hub's process group (hub, proxy, culler)."""
    found = subprocess.run(["pgrep", "-g", str(hub.process.pid)], capture_output=True, text=True).stdout.split()
    proxy = hub.hub_dir / "jupyterhub-proxy.pid"
    return [int(p) for p in found] + ([int(proxy.read_text())] if proxy.is_file() else [])


class MemoryWatch(threading.Thread):
    def __init__(self, uids: dict, hub: ClassHub):
        super().__init__(daemon=True)
        self.uids, self.hub, self.peak, self.hub_peak, self.stop = uids, hub, {}, 0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            totals = rss_by_uid()
            for name, uid in self.uids.items():
                self.peak[name] = max(self.peak.get(name, 0), totals.get(uid, 0))
            self.hub_peak = max(self.hub_peak, rss_of(hub_pids(self.hub)))
            time.sleep(1.0)


def student(api: HubAPI, name: str, notebook: str, gate: threading.Barrier, t0: list, result: dict) -> None:
    try:
        gate.wait()
        server = api.start_server(name)
        result["server_s"] = time.monotonic() - t0[0]
        run = server.run_notebook(notebook, timeout=1800)
        result.update(first_figure_s=result["server_s"] + (run.first_figure or float("nan")),
                      notebook_s=time.monotonic() - t0[0], errors=run.errors)
    except Exception as err:                                   # a failure is a result: counted, not raised
        result["errors"] = [f"{type(err).__name__}: {err}"[:300]]


def browser_student(hub: ClassHub, name: str, notebook: str, gate: threading.Barrier, t0: list, result: dict,
                    shots: Path) -> None:
    """One student in Chromium: log in, open the notebook, Run All, wait for a widget's figure, drag a slider."""
    from playwright.sync_api import sync_playwright
    try:
        gate.wait()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            target = f"/user/{name}/lab/tree/walkthrough/{notebook}.ipynb"    # opened once, straight after login
            page.goto(f"{hub.url}/hub/login?next={urllib.parse.quote(target)}", wait_until="domcontentloaded")
            page.fill("#username_input", name)
            page.fill("#password_input", hub.password)
            page.click("#login_submit")
            result["phase"] = "logging in"
            launch = page.get_by_role("button", name="Launch Server")    # JupyterHub asks before it starts one
            launch.or_(page.locator(".jp-Notebook")).first.wait_for(timeout=300_000)
            if launch.count() and launch.is_visible():
                launch.click()
            page.wait_for_url("**/lab/**", timeout=300_000)
            result["server_s"] = time.monotonic() - t0[0]
            try:
                open_and_run_all(page, result)
                page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg, "
                                       ".jp-RenderedImage img').length > 0", timeout=600_000)
                result["first_figure_s"] = time.monotonic() - t0[0]
                result["phase"] = "dragging a slider"
                result["slider_s"] = drag_first_slider(page)
                result["phase"] = "done"
            finally:
                page.screenshot(path=str(shots / f"hub_class_{name}.png"))
                browser.close()
    except Exception as err:
        result["errors"] = [f"browser, {result.get('phase')}: {type(err).__name__}: {err}"[:300]]


def open_and_run_all(page, result: dict) -> None:
    """In the notebook just opened, wait for its kernel to be idle, Run > Run All Cells (as in tests/test_browser.py);
    the last phase reached goes into result["phase"]."""
    result["phase"] = "opening the notebook"
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=300_000)
    result["phase"] = "waiting for the kernel"
    page.wait_for_function("() => [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator, "
                           ".jp-KernelStatus')].some(e => /idle/i.test(e.getAttribute('data-status') || "
                           "e.textContent || ''))", timeout=300_000)
    result["phase"] = "Run All"
    for attempt in range(5):     # on a loaded hub the menu may act before the notebook is the active panel
        accept_kernel_dialog(page)
        page.locator(".jp-Notebook .jp-Cell").first.click()
        page.locator(".lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first.click()
        try:
            page.wait_for_function("() => document.querySelector('.jp-Dialog') || [...document.querySelectorAll("
                                   "'.jp-CodeCell .jp-InputPrompt')].some(p => /\\[\\d+\\]/.test(p.textContent))",
                                   timeout=240_000)
            if not page.locator(".jp-Dialog").count():
                break
        except Exception:
            pass
    result["phase"] = "waiting for the first figure"


def accept_kernel_dialog(page) -> None:
    """On a loaded hub JupyterLab may ask "Select Kernel" (its kernel list came late): take the preferred kernel and
    tick "Always start the preferred kernel", as a student told to would."""
    for _ in range(4):
        dialog = page.locator(".jp-Dialog").last
        if not page.locator(".jp-Dialog").count() or not dialog.is_visible():
            return
        box = dialog.locator("input[type=checkbox]")
        if box.count() and not box.first.is_checked():
            box.first.check()
        dialog.locator(".jp-mod-accept").first.click()
        page.wait_for_timeout(2000)


SIGNATURE_JS = "() => [...document.querySelectorAll('.js-plotly-plot .main-svg')].map(s => s.outerHTML.length).join()"


def drag_first_slider(page) -> float:
    """Drag the first widget slider to 70 % of its track; seconds until a plotly figure changed."""
    handle = page.locator(".widget-slider .noUi-handle").first
    handle.wait_for(timeout=600_000)
    handle.scroll_into_view_if_needed()
    base = page.locator(".widget-slider .noUi-base").first.bounding_box()
    box = handle.bounding_box()
    before = page.evaluate(SIGNATURE_JS)
    start = time.monotonic()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(base["x"] + 0.7 * base["width"], box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    page.wait_for_function(f"before => ({SIGNATURE_JS})() !== before", arg=before, timeout=300_000)
    return time.monotonic() - start


def quantiles(values) -> str:
    values = sorted(v for v in values if v == v)
    if not values:
        return "n/a"
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"{statistics.median(values):6.1f} / {p95:6.1f} / {values[-1]:6.1f}"


def prepare(notebook: str, size: str) -> Path:
    store = Path(tempfile.mkdtemp(prefix="hub-class-store-")) / "store"
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "scoreaug_lab.cli", "prepare", notebook[:2], "--runs", str(store),
                    "--size", size, "--no-progress"], check=True)
    print(f"prepared {notebook[:2]} at {size} size in {time.monotonic() - start:.0f} s: {store}", flush=True)
    return store


def run_class(args, store: Path) -> dict:
    os.environ["SCOREAUG_SIZE"] = args.size
    browser = [] if args.no_browser else ["browser"]
    hub = ClassHub(students=args.students + len(browser), prefix=args.prefix, port=free_port(),
                   hub_dir=f"/tmp/{args.prefix}-hub", store_from=store, course=ROOT / "notebooks" / "assignments",
                   mem_gb=args.mem, cpus=args.cpus)
    with hub:
        api = HubAPI(hub.url, hub.token)
        names = [a.name for a in hub.accounts.students]
        before = {p: p.stat().st_mtime_ns for p in hub.store.glob("*/checkpoint.pt")}
        watch = MemoryWatch({a.name: a.uid for a in hub.accounts.students}, hub)
        watch.start()
        results = {n: {} for n in names}
        gate, t0 = threading.Barrier(len(names) + 1), [0.0]
        threads = [threading.Thread(target=student, args=(api, n, f"walkthrough/{args.notebook}.ipynb", gate, t0,
                                                          results[n])) for n in names[:args.students]]
        if browser:
            threads.append(threading.Thread(target=browser_student, args=(hub, names[-1], args.browser_notebook, gate,
                                                                          t0, results[names[-1]], args.shots)))
        for thread in threads:
            thread.start()
        t0[0] = time.monotonic()
        gate.wait()
        load = []
        while any(t.is_alive() for t in threads):
            load.append(os.getloadavg()[0])
            time.sleep(2)
        watch.stop.set()
        shutil.copy(hub.hub_dir / "hub.log", args.shots / "hub_class_hub.log")   # the hub's and servers' log
        after = {p: p.stat().st_mtime_ns for p in hub.store.glob("*/checkpoint.pt")}
        trained = len(set(after) - set(before)) + sum(after[p] != before[p] for p in before if p in after)
        return {"students": args.students, "browser": names[-1] if browser else None, "notebook": args.notebook, "size": args.size,
                "results": results, "peak_rss_mib": {n: watch.peak.get(n, 0) / MIB for n in names},
                "hub_rss_mib": watch.hub_peak / MIB, "runs_trained": trained, "max_load": max(load or [0]),
                "cgroups": hub.limits.available, "mem_gb": args.mem, "cpus": args.cpus, "cpu_count": os.cpu_count()}


def report(r: dict) -> None:
    api = [v for k, v in r["results"].items() if k != r["browser"]]
    failed = {k: v["errors"] for k, v in r["results"].items() if v.get("errors")}
    print(f"\n{r['students']} students ran {r['notebook']} at {r['size']} size at the same moment "
          f"({r['cpu_count']} cores, limits {r['mem_gb']} GiB / {r['cpus']} CPU per student, "
          f"{'cgroups' if r['cgroups'] else 'advisory'}); peak load {r['max_load']:.1f}")
    print(f"  {'seconds from the start':32s} p50 / p95 / max")
    print(f"  {'server ready':32s} {quantiles(v.get('server_s', float('nan')) for v in api)}")
    print(f"  {'first figure':32s} {quantiles(v.get('first_figure_s', float('nan')) for v in api)}")
    print(f"  {'whole notebook':32s} {quantiles(v.get('notebook_s', float('nan')) for v in api)}")
    rss = list(r["peak_rss_mib"].values())
    print(f"  peak memory per student (server + kernel): median {statistics.median(rss):.0f} MiB, max {max(rss):.0f} "
          f"MiB; hub + proxy + culler {r['hub_rss_mib']:.0f} MiB")
    for name, v in r["results"].items():
        if name == r["browser"] and "slider_s" in v:
            print(f"  in Chromium ({name}): logged in and lab open at {v['server_s']:.1f} s, first figure at "
                  f"{v['first_figure_s']:.1f} s, a slider drag redrew its figure in {v['slider_s']:.2f} s")
    print(f"  runs trained during the class: {r['runs_trained']}; failures: {len(failed)}")
    for name, errors in failed.items():
        print(f"    {name}: {errors[:2]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=25)
    parser.add_argument("--notebook", default="00_quickstart")
    parser.add_argument("--browser-notebook", default="02_transforms_in_noisy_space")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--size", default="teach", choices=("teach", "test"))
    parser.add_argument("--store", default=None, help="a prepared run store (default: prepare one first)")
    parser.add_argument("--mem", type=float, default=3.0)
    parser.add_argument("--cpus", type=float, default=1.0)
    parser.add_argument("--prefix", default="sabench")
    parser.add_argument("--shots", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("the class hub creates Unix users: run as root")
    store = Path(args.store) if args.store else prepare(args.notebook, args.size)
    result = run_class(args, store)
    report(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1, default=str))
    failed = sum(bool(v.get("errors")) for v in result["results"].values())
    return 1 if failed or result["runs_trained"] else 0


if __name__ == "__main__":
    sys.exit(main())
