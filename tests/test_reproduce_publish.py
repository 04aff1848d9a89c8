"""reproduce.publish: the committed reproduction (reports/reproduce-cpu/) agrees with README's table and with
itself (every verdict recomputed from the per-seed values it saved); publishing copies and records provenance."""
import json
import re
import shutil
from pathlib import Path

import pytest

from scoreaug_lab.reproduce import BUDGETS
from scoreaug_lab.reproduce.claims import evaluate_claims
from scoreaug_lab.reproduce.publish import TABLE_END, publish, readme_block, update_readme
from scoreaug_lab.reproduce.suite import RunSpec

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "reports" / "reproduce-cpu"
CIFAR = ROOT / "reports" / "reproduce-cpu-cifar"


def _results(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())


def test_readme_table_is_the_one_generated_from_the_committed_results():
    assert readme_block(COMMITTED / "results.json") in (ROOT / "README.md").read_text(), \
        "README's reproduction table differs from reports/reproduce-cpu/results.json: regenerate it with " \
        "`scoreaug-lab reproduce --budget cpu --out runs/reproduce-cpu --publish reports/reproduce-cpu --readme README.md`"


@pytest.mark.parametrize("folder", [COMMITTED, CIFAR], ids=["digits", "cifar"])
def test_committed_verdicts_follow_from_the_saved_per_seed_values(folder):
    """A reviewer's check: rebuild every comparison and verdict from the runs' measures in results.json."""
    saved = _results(folder)
    assert not saved["meaningless"] and len(saved["seeds"]) >= 5
    runs = [RunSpec(**{k: r[k] for k in RunSpec.__dataclass_fields__}) for r in saved["runs"]]
    results = {r["name"]: r["measures"] for r in saved["runs"] if r["measures"]}
    assert len(results) == len(runs)
    cells = {k: tuple(v) for k, v in saved["claim_cells"].items()}
    again = evaluate_claims(BUDGETS["cpu"], runs, results, cells)
    for old, new in zip(saved["claims"], again):
        assert old["verdict"] == new["verdict"], old["id"]
        assert [c["verdict"] for c in old["comparisons"]] == [c["verdict"] for c in new["comparisons"]]
        for a, b in zip(old["comparisons"], new["comparisons"]):
            assert abs(a["difference"]["mean"] - b["difference"]["mean"]) <= 1e-9 * (1 + abs(b["difference"]["mean"]))
    provenance = json.loads((folder / "provenance.json").read_text())
    assert re.fullmatch(r"[0-9a-f]{40}", provenance["commit"]) and provenance["torch"]
    for claim_figures in saved["figures"].values():
        assert all((folder / name).is_file() for name in claim_figures)


def test_update_readme_replaces_only_the_generated_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- reproduce-table:start old -->\nstale | table\n" + TABLE_END + "\nafter\n")
    update_readme(readme, COMMITTED / "results.json")
    text = readme.read_text()
    assert text.startswith("before\n") and text.endswith("\nafter\n") and "stale" not in text
    assert readme_block(COMMITTED / "results.json") in text
    readme.write_text("no markers here\n")
    with pytest.raises(ValueError, match="markers"):
        update_readme(readme, COMMITTED / "results.json")


@pytest.mark.process   # publish asks git for the commit
def test_publish_copies_the_record_and_its_provenance(tmp_path):
    out = tmp_path / "run"
    shutil.copytree(COMMITTED, out)
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "stale.png").write_bytes(b"old figure")
    with pytest.raises(ValueError, match="did not write"):      # not a record: a user's folder stays as it is
        publish(out, tmp_path / "dest")
    assert [p.name for p in (tmp_path / "dest").iterdir()] == ["stale.png"]
    (tmp_path / "dest" / "provenance.json").write_text("{}")    # an earlier record: replaced
    dest = publish(out, tmp_path / "dest")
    for name in ("report.md", "results.json", "provenance.json"):
        assert (dest / name).is_file()
    assert not (dest / "stale.png").exists()
    assert {p.name for p in dest.glob("*.png")} == {p.name for p in out.glob("*.png")}
    with pytest.raises(ValueError, match="other than"):
        publish(out, out)
    with pytest.raises(FileNotFoundError, match="results.json"):
        publish(tmp_path / "empty", tmp_path / "elsewhere")
