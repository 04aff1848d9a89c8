"""`scoreaug-lab reproduce`: the statistics against scipy and hand-computed cases, the verdict rule, the
orientation classifier on exact rotations of digits, the suite's run lists, and one smoke run end to end."""
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
from scoreaug_lab.reproduce import BUDGETS, build_runs
from scoreaug_lab.reproduce.claims import CLAIMS, evaluate_claims
from scoreaug_lab.reproduce.orientation import (corrected_fraction, judged_rotated, train_orientation_classifier,
                                                with_rotations)
from scoreaug_lab.reproduce.suite import ARMS, CLAIM3_ARMS, CLAIM4_ARMS, GRID_ARMS, RunSpec, resolve_size
from scoreaug_lab.reproduce.verdicts import (VERDICTS, cohens_dz, combine, compare, interval, one_sample,
                                             paired_differences, verdict)
from scoreaug_lab.runs.store import get_store
from scoreaug_lab.train.config import TrainConfig

T975_2 = 4.302652729749464      # t_{0.975, 2}, tabulated (3 seeds)


# --- statistics ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 5, 12])
def test_interval_matches_scipy_t_interval(n):
    values = np.random.default_rng(n).normal(0.3, 1.7, n)
    got = interval(values)
    lo, hi = stats.t.interval(0.95, n - 1, loc=values.mean(), scale=stats.sem(values))
    assert abs(got["ci_low"] - lo) < 1e-12 and abs(got["ci_high"] - hi) < 1e-12
    assert abs(got["std"] - values.std(ddof=1)) < 1e-12 and got["n"] == n


def test_paired_comparison_matches_scipy_ttest_rel():
    rng = np.random.default_rng(0)
    base = rng.normal(1.0, 0.2, 5)
    treat = base - 0.3 + rng.normal(0, 0.05, 5)
    result = compare(dict(enumerate(base)), dict(enumerate(treat)), "lower")
    ci = stats.ttest_rel(treat, base).confidence_interval(0.95)
    assert abs(result["difference"]["ci_low"] - ci.low) < 1e-12 and abs(result["difference"]["ci_high"] - ci.high) < 1e-12
    d = treat - base
    assert abs(result["cohens_dz"] - d.mean() / d.std(ddof=1)) < 1e-12
    assert result["verdict"] == "reproduced"


def test_one_sample_matches_scipy_ttest_1samp():
    values = {0: 0.12, 1: 0.30, 2: 0.21, 3: 0.18}
    got = one_sample(values, "higher", reference=0.1)
    ci = stats.ttest_1samp(list(values.values()), 0.1).confidence_interval(0.95)
    assert abs(got["difference"]["ci_low"] + 0.1 - ci.low) < 1e-12
    assert abs(got["difference"]["ci_high"] + 0.1 - ci.high) < 1e-12


def test_hand_computed_three_seed_cases():
    # d = (1, 2, 3): mean 2, sd 1, interval 2 -+ t_{0.975,2} / sqrt(3) = [-0.484, 4.484]: contains 0
    r = compare({0: 0.0, 1: 0.0, 2: 0.0}, {0: 1.0, 1: 2.0, 2: 3.0}, "higher")
    half = T975_2 / math.sqrt(3)
    assert abs(r["difference"]["ci_low"] - (2 - half)) < 1e-12 and abs(r["difference"]["ci_high"] - (2 + half)) < 1e-12
    assert r["verdict"] == "inconclusive" and abs(r["cohens_dz"] - 2.0) < 1e-12
    # d = (2, 3, 4): [0.516, 5.484]: excludes 0 above
    up = {0: 2.0, 1: 3.0, 2: 4.0}
    zero = {0: 0.0, 1: 0.0, 2: 0.0}
    assert compare(zero, up, "higher")["verdict"] == "reproduced"
    assert compare(zero, up, "lower")["verdict"] == "contradicted"
    assert compare(up, zero, "lower")["verdict"] == "reproduced"
    assert abs(compare(zero, up, "higher")["relative"]) != math.inf   # baseline 0: relative is nan, not an error


def test_verdict_rule_edges():
    assert verdict(0.1, 0.5, "higher") == "reproduced"
    assert verdict(-0.5, -0.1, "higher") == "contradicted"
    assert verdict(-0.5, -0.1, "lower") == "reproduced"
    assert verdict(0.0, 0.5, "higher") == "inconclusive"       # touching 0 does not exclude it
    assert verdict(-0.2, 0.3, "lower") == "inconclusive"
    assert verdict(math.nan, math.nan, "lower") == "inconclusive"
    with pytest.raises(ValueError, match="expect"):
        compare({0: 1.0}, {0: 2.0}, "better")


def test_degenerate_samples():
    one = compare({0: 1.0}, {0: 2.0}, "higher")                   # one seed: no interval
    assert one["verdict"] == "inconclusive" and math.isnan(one["difference"]["ci_low"])
    same = compare({0: 0.0, 1: 1.0, 2: 2.0}, {0: 1.0, 1: 2.0, 2: 3.0}, "higher")   # every seed +1
    assert same["difference"]["ci_low"] == same["difference"]["ci_high"] == 1.0
    assert same["verdict"] == "reproduced" and same["cohens_dz"] == math.inf
    assert math.isnan(cohens_dz([0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="share no seed"):
        compare({0: 1.0}, {1: 1.0}, "lower")


def test_pairs_by_seed_not_by_order():
    seeds, diffs = paired_differences({0: 1.0, 1: 5.0, 7: 9.0}, {1: 6.0, 0: 2.0, 3: 0.0})
    assert seeds == [0, 1] and diffs == [1.0, 1.0]


def test_combine():
    assert combine(["reproduced", "reproduced"]) == "reproduced"
    assert combine(["reproduced", "inconclusive"]) == "inconclusive"
    assert combine(["reproduced", "contradicted"]) == "contradicted"
    assert combine([]) == "inconclusive"


# --- orientation classifier ------------------------------------------------------------------------------
def test_rotations_are_the_toolkit_rot90():
    from scoreaug_lab.transforms import get_transform
    x = torch.randn(5, 1, 8, 8)
    rotated, turns = with_rotations(x)
    rot90 = get_transform("rot90", "images")
    for k in range(4):
        block = rotated[turns == k]
        assert torch.equal(block, rot90.apply(x, torch.full((5, 1), float(k))))
    with pytest.raises(ValueError, match="square"):
        with_rotations(torch.zeros(2, 1, 8, 6))


def test_corrected_fraction_inverts_the_mixing():
    false, detected = 0.05, 0.97
    for r in (0.0, 0.375, 1.0):
        assert abs(corrected_fraction(r * detected + (1 - r) * false, false, detected) - r) < 1e-12
    assert math.isnan(corrected_fraction(0.3, 0.5, 0.5))


@pytest.fixture(scope="module")
def orientation_net():
    torch.manual_seed(0)
    from scoreaug_lab.data import load_data
    data = load_data("digits:8", 1497, 300, seed=0)
    return data, train_orientation_classifier(data.train, data.heldout, epochs=3)


def test_orientation_classifier_on_exact_rotations_of_digits(orientation_net):
    data, (net, info) = orientation_net
    assert info["heldout_accuracy"] > 0.9
    rotated, turns = with_rotations(data.heldout)
    assert abs(judged_rotated(net, data.heldout)["judged_rotated"] - info["false_rotated"]) < 1e-12
    assert info["false_rotated"] < 0.12 and info["detected_rotated"] > 0.9
    # a set with a known share of rotated images: 3/8 rotated (k = 1, 2, 3 equally) reads as about 3/8
    mix = torch.cat([rotated[turns == 0][:250], rotated[turns == 1][:50], rotated[turns == 2][:50],
                     rotated[turns == 3][:50]])
    observed = judged_rotated(net, mix)["judged_rotated"]
    assert abs(corrected_fraction(observed, info["false_rotated"], info["detected_rotated"]) - 150 / 400) < 0.06


# --- the suite -------------------------------------------------------------------------------------------
AUGMENTATION_FIELDS = {"variant", "transforms", "aug_prob", "clean_transforms", "clean_aug_prob"}


@pytest.mark.parametrize("name", list(BUDGETS))
def test_every_cell_of_the_budget_is_run_once_per_arm_and_seed(name):
    """The run list is the budget's cells x arms x seeds (derived here from the budget itself), each run once;
    within a cell and a seed the arms differ in their augmentation only (the same data, model, steps, seed)."""
    budget = BUDGETS[name]
    runs = build_runs(budget)
    assert len({r.name for r in runs}) == len(runs)
    cells = budget.main
    wanted = {(resolve_size(cells.data, n), c.label, arm) for n in cells.sizes for c in cells.capacities
              for arm in GRID_ARMS}
    for arms, (size, label) in ((CLAIM3_ARMS, budget.claim3_cell), (CLAIM4_ARMS, budget.claim4_cell)):
        wanted |= {(resolve_size(cells.data, size), label, arm) for arm in arms}
    got = {(r.n_train, r.capacity, r.arm, r.seed) for r in runs}
    assert got == {(*cell, seed) for cell in wanted for seed in budget.seeds}
    caps = {c.label: c for c in cells.capacities}
    by_cell = {}
    for r in runs:
        config = TrainConfig.from_dict({**r.config, "out": None})
        config.validate()
        assert (config.model, config.model_kwargs) == (caps[r.capacity].model, caps[r.capacity].model_kwargs)
        assert config.seed == config.data_seed == r.seed and config.steps == cells.steps
        for key, value in ARMS[r.arm].items():                          # the arm's own settings, resolved
            assert getattr(config, key) == (getattr(budget, value) if key.endswith("prob") else value), key
        shared = {k: v for k, v in r.config.items() if k not in AUGMENTATION_FIELDS}
        by_cell.setdefault((r.n_train, r.capacity, r.seed), []).append(shared)
    for cell, configs in by_cell.items():
        assert all(c == configs[0] for c in configs), f"arms of {cell} differ beyond their augmentation"


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without a GPU")
def test_gpu_budget_refuses_cleanly_without_a_gpu(tmp_path):
    parser = Parser(prog="scoreaug-lab")
    add_reproduce_parser(parser.add_subparsers(dest="command", parser_class=Parser))
    args = parser.parse_args(["reproduce", "--budget", "gpu", "--out", str(tmp_path / "gpu")])
    with pytest.raises(ValueError, match="needs a CUDA GPU") as err:
        cmd_reproduce(args)
    assert "\n" not in str(err.value) and not (tmp_path / "gpu").exists()


def _fake(arm, n, cap, seed, **values):
    spec = RunSpec(f"{arm}-{n}-{cap}-{seed}", arm, "digits8", n, cap, seed, {}, {}, 1.0)
    return spec, values


def test_claim_verdicts_are_computed_from_the_values():
    """The same code gives 'reproduced' or 'contradicted' as the numbers say, never a fixed answer."""
    budget = BUDGETS["smoke"]
    cells = {"claim3": ("digits8", 48, "c8"), "claim4": ("digits8", 48, "c8")}
    for sign, expected in ((-1, "reproduced"), (+1, "contradicted")):
        runs, results = [], {}
        for seed, noise in enumerate((0.01, -0.02, 0.015)):
            for n in (16, 48):
                for cap in ("c4", "c8"):
                    for arm, gap in (("noaug", 0.2), ("scoreaug", 0.2 + sign * 0.1 + noise)):
                        spec, values = _fake(arm, n, cap, seed, gap=gap, memorised=0.0, proxy_fid=1.0,
                                             best_heldout_step=100 if arm == "noaug" else 100 - sign * (50 + 10 * seed),
                                             heldout_at_quarter=1.0)
                        runs.append(spec)
                        results[spec.name] = values
        claims = {c["id"]: c for c in evaluate_claims(budget, runs, results, cells)}
        assert claims[1]["verdict"] == expected and claims[2]["verdict"] == expected
        assert claims[5]["verdict"] == expected
        assert claims[3]["verdict"] == claims[4]["verdict"] == "inconclusive"     # no runs: nothing counted
        assert claims[3]["n_counted"] == 0
    assert [c.id for c in CLAIMS] == [1, 2, 3, 4, 5]


# --- the smoke budget end to end ----------------------------------------------------------------------------
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
    assert [c["id"] for c in saved["claims"]] == [1, 2, 3, 4, 5]
    for claim in saved["claims"]:
        assert claim["verdict"] in VERDICTS and claim["n_counted"] >= 1
        assert claim["verdict"].upper() in report
        # every counted verdict is the t-interval of the per-seed differences saved beside it
        for comp in claim["comparisons"]:
            d = np.array(comp["differences"])
            if len(d) > 1 and d.std() > 0:
                ci = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
                assert abs(comp["difference"]["ci_low"] - ci[0]) < 1e-9
            assert comp["verdict"] == verdict(comp["difference"]["ci_low"] if comp["difference"]["ci_low"] is not None
                                              else math.nan, comp["difference"]["ci_high"]
                                              if comp["difference"]["ci_high"] is not None else math.nan, comp["expect"])
        assert claim["verdict"] == combine(c["verdict"] for c in claim["comparisons"] if c["counted"])
    # a rerun reuses every finished run and redoes only what is missing (here one run folder, deleted): the
    # redone run reproduces its numbers exactly (one thread, every random number seeded)
    lost = saved["runs"][0]
    shutil.rmtree(get_store(out / "runs").folder(TrainConfig.from_dict(lost["config"])))   # the store's folder
    t0 = time.perf_counter()
    again = reproduce("smoke", out, workers=2, progress=False)
    resaved = json.loads((out / "results.json").read_text())
    assert resaved["n_reused"] == len(saved["runs"]) - 1
    redone = next(r for r in resaved["runs"] if r["name"] == lost["name"])["measures"]
    for key in ("gap", "proxy_fid", "judged_rotated", "memorised", "best_heldout_step"):
        assert redone[key] == lost["measures"][key], key
    assert [c["verdict"] for c in again["claims"]] == [c["verdict"] for c in saved["claims"]]
    assert time.perf_counter() - t0 < summary["wall_seconds"]
