"""A reproduction's committed record: the report, its results and figures copied into a versioned folder (for
example reports/reproduce-cpu/) with the commit and the environment that made them, and README's verdict table
generated from that results.json (tests/test_reproduce_publish.py fails when README and the results disagree).

    publish("runs/reproduce-cpu", "reports/reproduce-cpu")     # what `make reproduce` does after the run
    update_readme("README.md", "reports/reproduce-cpu/results.json")
"""
from __future__ import annotations

import json
import platform
import shutil
import subprocess
from pathlib import Path

from ..paths import project_root
from .outdir import check_folder
from .wording import SCALE, num, verdict_words

FILES = ("report.md", "results.json", "invocations.jsonl")
TABLE_START = "<!-- reproduce-table:start (generated from {source} by scoreaug_lab.reproduce.publish; do not edit) -->"
TABLE_END = "<!-- reproduce-table:end -->"


def git_state(root: Path | None) -> dict:
    """The checkout's commit and whether it had uncommitted changes (None where git or the checkout is absent)."""
    def git(*args):
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None
    if root is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "HEAD"), "dirty": None if status is None else bool(status)}


def publish(out, dest, readme=None) -> Path:
    """Copy DIR's report.md, results.json, invocation log and figures into `dest` (replacing what was there) and
    write provenance.json (commit, environment, command); update README's table when `readme` is given."""
    import torch
    out, dest = Path(out), Path(dest)
    results = out / "results.json"
    if not results.is_file():
        raise FileNotFoundError(f"{out} holds no results.json: run `scoreaug-lab reproduce --out {out}` first")
    if dest.resolve() == out.resolve():
        raise ValueError("publish into a folder other than the run folder")
    check_folder(dest, "--publish")         # absent, empty or an earlier record: a user's files stay untouched
    dest.mkdir(parents=True, exist_ok=True)
    for old in list(dest.glob("*.png")) + [dest / f for f in FILES]:
        old.unlink(missing_ok=True)
    for path in [out / f for f in FILES] + sorted(out.glob("*.png")):
        if path.is_file():
            shutil.copy2(path, dest / path.name)
    payload = json.loads(results.read_text())
    provenance = {**git_state(project_root()), "python": platform.python_version(), "torch": torch.__version__,
                  "platform": platform.platform(), "hardware": payload.get("hardware"), "command": payload.get("command"),
                  "source_folder": str(out)}
    (dest / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    if readme is not None:
        update_readme(readme, dest / "results.json")
    return dest


def readme_table(results: dict) -> str:
    """README's verdict table from a results.json: per claim, the counted comparisons with their intervals and
    permutation p, and the verdict worded as a direction at the suite's scale."""
    budget = results["budget"]
    scale = SCALE.get(budget["main"]["label"], budget["main"]["label"])
    seeds = ", ".join(map(str, results["seeds"]))
    rows = ["| # | claim | paper's number (their CIFAR-10 runs) | our primary measure (counted cells) | ours: mean "
            "difference [95 % CI], permutation p | verdict |", "|---|---|---|---|---|---|"]
    for claim in results["claims"]:
        counted = [c for c in claim["comparisons"] if c["counted"]]
        effects = "; ".join(f"{c['data']} n={c['n_train']} {c['capacity']} {c['metric']}: {num(c['difference']['mean'])} "
                            f"[{num(c['difference']['ci_low'])}, {num(c['difference']['ci_high'])}], p {num(c['p_permutation'])}"
                            for c in counted) or "no runs"
        measure = f"{claim['metric']}, {claim['treatment']} − {claim['baseline']} ({claim['expect']})"
        rows.append(f"| {claim['id']} | {claim['title']} | {claim['paper']} | {measure} | {effects} | "
                    f"{verdict_words(claim['verdict'], scale, claim['comparisons'])} |")
    res = results.get("resolution") or {}
    note = (f"Seeds {seeds} ({len(results['seeds'])}); a verdict needs |d_z| > {num(res.get('min_dz'))} "
            f"(t = {num(res.get('t'))}, interval half-width {num(res.get('multiplier'))} sd); the permutation p cannot go "
            f"below {num(res.get('min_permutation_p'))}.")
    return "\n".join(rows) + "\n\n" + note


def readme_block(results_path) -> str:
    results_path = Path(results_path)
    results = json.loads(results_path.read_text())
    source = results_path.as_posix()
    root = project_root()
    if root is not None and results_path.resolve().is_relative_to(root.resolve()):
        source = results_path.resolve().relative_to(root.resolve()).as_posix()
    return f"{TABLE_START.format(source=source)}\n{readme_table(results)}\n{TABLE_END}"


def update_readme(readme, results_path) -> None:
    """Replace the generated block of README (between the reproduce-table markers) with the table of
    `results_path`; a README without the markers is an error (nothing is appended blindly)."""
    readme = Path(readme)
    text = readme.read_text()
    start = text.find("<!-- reproduce-table:start")
    end = text.find(TABLE_END)
    if start < 0 or end < start:
        raise ValueError(f"{readme} has no reproduce-table markers to replace")
    readme.write_text(text[:start] + readme_block(results_path) + text[end + len(TABLE_END):])


__all__ = ["publish", "readme_table", "readme_block", "update_readme", "git_state"]
