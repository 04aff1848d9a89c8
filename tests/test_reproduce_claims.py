"""reproduce.claims: the claims' verdicts follow made-up values either way, never a fixed answer; the derived
measures (steps to the baseline's best, censoring) computed by hand."""
from scoreaug_lab.reproduce import BUDGETS
from scoreaug_lab.reproduce.claims import CLAIMS, EQUIVALENCE_MARGIN, Table, evaluate_claims
from scoreaug_lab.reproduce.suite import RunSpec

NOISE = (0.01, -0.02, 0.015, 0.0, -0.005)
CELLS = {"claim3": ("digits8", 48, "c8"), "claim4": ("digits8", 48, "c8")}


def _fake(arm, n, cap, seed, **values):
    spec = RunSpec(f"{arm}-{n}-{cap}-{seed}", arm, "digits8", n, cap, seed, {}, {}, 1.0)
    return spec, values


def _curve(best_step: int, best: float, steps=(50, 100, 150, 200)) -> list:
    """A held-out curve falling to `best` at `best_step`, then rising."""
    return [{"step": s, "heldout": best + abs(s - best_step) / 1000, "train": 0.0, "gap": 0.0} for s in steps]


def _grid(sign: int):
    """noaug and scoreaug in every cell; ScoreAug better (sign -1) or worse (+1) by 0.1 on every measure, and
    slower (sign -1: reaches the baseline's best 50-90 steps later) or faster."""
    runs, results = [], {}
    for seed, noise in enumerate(NOISE):
        for n in (16, 48):
            for cap in ("c4", "c8"):
                for arm in ("noaug", "scoreaug"):
                    shift = 0.0 if arm == "noaug" else sign * 0.1 + noise
                    lag = 0 if arm == "noaug" else -sign * (50 + 10 * seed)
                    spec, values = _fake(arm, n, cap, seed, gap=0.2 + shift, memorised=0.1, proxy_fid=1.0 + shift,
                                         proxy_fid_best=1.0 + shift, heldout_best=0.5 + shift,
                                         best_heldout_step=100 + lag, heldout_at_quarter=1.0 - lag / 1000,
                                         curve=_curve(100 + lag, 0.5 + (shift if sign > 0 else 0.0)))
                    runs.append(spec)
                    results[spec.name] = values
    return runs, results


def test_claim_verdicts_are_computed_from_the_values():
    """The same code gives 'reproduced' or 'contradicted' as the numbers say, never a fixed answer."""
    budget = BUDGETS["smoke"]
    for sign, expected in ((-1, "reproduced"), (+1, "contradicted")):
        runs, results = _grid(sign)
        claims = {c["id"]: c for c in evaluate_claims(budget, runs, results, CELLS)}
        assert claims[1]["verdict"] == expected and claims[2]["verdict"] == expected
        assert claims[3]["verdict"] == claims[4]["verdict"] == "inconclusive"     # no runs: nothing counted
        assert claims[3]["n_counted"] == 0
        # claim 1 counts the smallest size only (2 capacities x its 3 primary measures); the full size is shown
        assert claims[1]["n_counted"] == 6 and {c["n_train"] for c in claims[1]["comparisons"]} == {16, 48}
        assert all(c["n_train"] == 16 for c in claims[1]["comparisons"] if c["counted"])
    runs, results = _grid(-1)
    claim5 = {c["id"]: c for c in evaluate_claims(budget, runs, results, CELLS)}[5]
    assert claim5["verdict"] == "reproduced"
    assert [c.id for c in CLAIMS] == [1, 2, 3, 4, 5]


def test_steps_to_the_baseline_best_and_censoring():
    """ScoreAug reaches the same seed's noaug minimum at the first evaluation at or below it; never: the last
    step, counted as censored."""
    runs, results = [], {}
    for seed, (reach, never) in enumerate(((150, False), (200, False), (None, True))):
        base, base_values = _fake("noaug", 16, "c4", seed, heldout_best=0.5, curve=_curve(100, 0.5))
        curve = _curve(reach, 0.5) if reach else _curve(200, 0.6)
        treat, treat_values = _fake("scoreaug", 16, "c4", seed, heldout_best=min(p["heldout"] for p in curve),
                                    curve=curve)
        runs += [base, treat]
        results[base.name], results[treat.name] = base_values, treat_values
    table = Table(runs, results)
    got = table.steps_to_baseline_best("scoreaug", "digits8", 16, "c4")
    assert got == {0: (150, False), 1: (200, False), 2: (200, True)}
    assert table.censored("steps_to_baseline_best", "scoreaug", "digits8", 16, "c4") == 1
    assert table.steps_to_baseline_best("noaug", "digits8", 16, "c4") == {s: (100, False) for s in range(3)}


def _claim3(omega_leak: float):
    runs, results = [], {}
    for seed, noise in enumerate(NOISE):
        for k, (arm, rotated) in enumerate((("noaug", 0.05), ("noisy-rot90", 0.42), ("scoreaug-rot90", 0.05 + omega_leak))):
            spec, values = _fake(arm, 48, "c8", seed, judged_rotated=rotated + noise * (k - 1) / 5, proxy_fid_best=1.0)
            runs.append(spec)
            results[spec.name] = values
    return {c["id"]: c for c in evaluate_claims(BUDGETS["smoke"], runs, results, CELLS)}[3]


def test_claim3_needs_the_leak_and_equivalence_with_omega():
    """Leaks without omega against the noaug samples' level, and with omega within the margin: reproduced; with
    omega the samples rotate clearly more than the noaug ones: contradicted."""
    claim = _claim3(0.0)
    assert claim["verdict"] == "reproduced" and claim["n_counted"] == 2
    assert _claim3(3 * EQUIVALENCE_MARGIN)["verdict"] == "contradicted"
