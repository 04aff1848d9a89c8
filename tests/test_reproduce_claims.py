"""reproduce.claims: the claims' verdicts follow made-up values either way, never a fixed answer."""
from scoreaug_lab.reproduce import BUDGETS
from scoreaug_lab.reproduce.claims import CLAIMS, evaluate_claims
from scoreaug_lab.reproduce.suite import RunSpec


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
