"""reproduce.pipeline: the GPU budget refused without a GPU; the smoke budget end to end against scipy."""
import json
import math
import shutil
import time

import numpy as np
import pytest
import torch
from scipy import stats

from scoreaug_lab.cli.common import Parser
from scoreaug_lab.cli.reproduce import add_reproduce_parser, cmd_reproduce
from scoreaug_lab.reproduce.verdicts import VERDICTS, combine, verdict
from scoreaug_lab.runs.store import get_store
from scoreaug_lab.train.config import TrainConfig


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without a GPU")
def test_gpu_budget_refuses_cleanly_without_a_gpu(tmp_path):
    parser = Parser(prog="scoreaug-lab")
    add_reproduce_parser(parser.add_subparsers(dest="command", parser_class=Parser))
    args = parser.parse_args(["reproduce", "--budget", "gpu", "--out", str(tmp_path / "gpu")])
    with pytest.raises(ValueError, match="needs a CUDA GPU") as err:
        cmd_reproduce(args)
    assert "\n" not in str(err.value) and not (tmp_path / "gpu").exists()


@pytest.mark.slow
def test_smoke_reproduction_end_to_end(tmp_path):
    from scoreaug_lab.reproduce import reproduce
    from scoreaug_lab.reproduce.report import MEANINGLESS
    out = tmp_path / "smoke"
    clock = time.perf_counter()
    summary = reproduce("smoke", out, workers=2, progress=False, command="scoreaug-lab reproduce --budget smoke")
    wall = time.perf_counter() - clock
    for name in ("report.md", "results.json", "overfitting_curves.png", "grid_measures.png", "claim3_rotation.png",
                 "claim4_combined.png", "claim5_convergence.png", "gap_by_band.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    saved = json.loads((out / "results.json").read_text())
    report = (out / "report.md").read_text()
    assert saved["meaningless"] and saved["note"] == MEANINGLESS and MEANINGLESS in report
    assert saved["seeds"] == [0, 1, 2] and saved["hardware"]["torch"] == torch.__version__
    assert 0.5 * wall <= saved["wall_seconds"] <= wall            # the run's own clock, within this test's
    assert all(r["measures"] is not None for r in saved["runs"])
    # the best checkpoint's measures: its step is the evaluation of the lowest held-out loss in the run's curve
    for run in saved["runs"]:
        m = run["measures"]
        assert m["best_step"] == min(m["curve"], key=lambda p: p["heldout"])["step"] == m["best_heldout_step"]
        assert m["heldout_best"] == min(p["heldout"] for p in m["curve"])
    assert "omega layer" in report and "permutation p" in report and len(saved["invocations"]) == 1
    assert [c["id"] for c in saved["claims"]] == [1, 2, 3, 4, 5]
    for claim in saved["claims"]:
        assert claim["verdict"] in VERDICTS and claim["n_counted"] >= 1
        assert f"{claim['verdict'].upper()}: " in report and "at 8×8-digit scale" in report
        # every counted verdict is the t-interval of the per-seed differences saved beside it
        for comp in claim["comparisons"]:
            d = np.array(comp["differences"])
            if len(d) > 1 and d.std() > 0:
                ci = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
                assert abs(comp["difference"]["ci_low"] - ci[0]) < 1e-9
            lo, hi = (math.nan if comp["difference"][k] is None else comp["difference"][k] for k in ("ci_low", "ci_high"))
            if comp["expect"] != "equivalent":
                assert comp["verdict"] == verdict(lo, hi, comp["expect"])
            if d.size > 1:
                assert abs(comp["p_permutation"] - stats.permutation_test(
                    (d,), np.mean, permutation_type="samples", n_resamples=np.inf).pvalue) < 1e-9
        assert claim["verdict"] == combine(claim["comparisons"])
    # a rerun reuses every finished run and redoes only what is missing (here one run folder, deleted): the
    # redone run reproduces its numbers exactly (one thread, every random number seeded)
    lost = saved["runs"][0]
    shutil.rmtree(get_store(out / "runs").folder(TrainConfig.from_dict(lost["config"])))   # the store's folder
    t0 = time.perf_counter()
    again = reproduce("smoke", out, workers=2, progress=False)
    resaved = json.loads((out / "results.json").read_text())
    assert resaved["n_reused"] == len(saved["runs"]) - 1
    redone = next(r for r in resaved["runs"] if r["name"] == lost["name"])["measures"]
    for key in ("gap", "proxy_fid", "proxy_fid_best", "best_step", "judged_rotated", "memorised", "best_heldout_step"):
        assert redone[key] == lost["measures"][key], key
    assert [c["verdict"] for c in again["claims"]] == [c["verdict"] for c in saved["claims"]]
    assert time.perf_counter() - t0 < summary["wall_seconds"]
