"""The paper's five claims as comparisons between arms of the suite, each with its metric, the direction the
paper expects and the cells it covers; `evaluate_claims` computes every comparison (`verdicts.compare`) and
each claim's verdict from its primary comparisons (`verdicts.combine`). Nothing here is written by hand but
the claims themselves and the paper's numbers (quoted from Hou et al., arXiv 2508.07926, as the toolkit's
design notes record them)."""
from __future__ import annotations

from dataclasses import dataclass

from .suite import Budget, RunSpec
from .verdicts import combine, compare, interval, one_sample

PAPER = "Hou et al., arXiv 2508.07926"

METRICS = {
    "gap": "held-out minus training denoising loss (EDM-weighted, mean over the sigma bands below 1)",
    "memorised": "fraction of samples that copy a training image (nearest < 1/3 of second nearest)",
    "proxy_fid": "proxy FID against the held-out images (toolkit classifier features; not Inception)",
    "inception_fid": "Inception FID against the held-out images",
    "judged_rotated": "fraction of samples the orientation classifier judges rotated",
    "best_heldout_step": "training step of the lowest held-out loss (evaluations during training)",
    "heldout_at_quarter": "held-out loss at a quarter of the training steps",
    "heldout_loss": "held-out denoising loss at the end (mean over the sigma bands below 1)",
}


@dataclass(frozen=True)
class Comparison:
    metric: str
    baseline: str
    treatment: str
    expect: str                 # "lower" | "higher": treatment vs baseline, as the paper has it
    primary: bool = True


@dataclass(frozen=True)
class Claim:
    id: int
    title: str
    paper: str                  # the paper's numbers, labelled
    cells: str                  # "smallest", "all", "largest+smallest", "claim3", "claim4"
    comparisons: tuple
    rule: str


CLAIMS = (
    Claim(1, "ScoreAug reduces overfitting in the data-limited regime, against no augmentation",
          f"CIFAR-10 FID 4.05 (no augmentation) -> 2.35 (ScoreAug) [{PAPER}]", "smallest",
          (Comparison("gap", "noaug", "scoreaug", "lower"), Comparison("memorised", "noaug", "scoreaug", "lower", False),
           Comparison("proxy_fid", "noaug", "scoreaug", "lower", False)),
          "reproduced when the gap is lower with ScoreAug at the smallest size for every capacity"),
    Claim(2, "... across data scales and model capacities",
          f"improvements reported across training-set sizes and model sizes [{PAPER}]", "all",
          (Comparison("gap", "noaug", "scoreaug", "lower"), Comparison("proxy_fid", "noaug", "scoreaug", "lower", False),
           Comparison("memorised", "noaug", "scoreaug", "lower", False)),
          "reproduced when the gap is lower with ScoreAug in every (data, size, capacity) cell"),
    Claim(3, "Rotation without the condition omega leaks; with omega it does not",
          f"CIFAR-10 FID 22.90 (rot90 without omega) vs 2.21 (with omega) [{PAPER}]", "claim3",
          (Comparison("judged_rotated", "scoreaug-rot90", "noisy-rot90", "higher"),
           Comparison("proxy_fid", "scoreaug-rot90", "noisy-rot90", "higher", False)),
          "reproduced when more samples are judged rotated without omega than with it"),
    Claim(4, "ScoreAug combines with clean-space (EDM non-leaking) augmentation for a further gain",
          f"CIFAR-10 FID 2.07 (EDM augmentation) -> 2.05 (combined); ScoreAug alone 2.35 [{PAPER}]", "claim4",
          (Comparison("proxy_fid", "clean-geometric", "combined", "lower"),
           Comparison("proxy_fid", "scoreaug", "combined", "lower"),
           Comparison("inception_fid", "clean-geometric", "combined", "lower", False),
           Comparison("gap", "clean-geometric", "combined", "lower", False),
           Comparison("gap", "scoreaug", "combined", "lower", False)),
          "reproduced when the combined variant has a lower proxy FID than each augmentation alone"),
    Claim(5, "Limitation: with little data ScoreAug converges more slowly and needs longer training",
          f"stated as a limitation, no number [{PAPER}]", "largest+smallest",
          (Comparison("best_heldout_step", "noaug", "scoreaug", "higher"),
           Comparison("heldout_at_quarter", "noaug", "scoreaug", "higher", False)),
          "reproduced when ScoreAug reaches its lowest held-out loss later than no augmentation at the smallest "
          "size, for every capacity (the largest size is shown for contrast, not counted)"),
)


class Table:
    """Per-seed values of every (data, size, capacity, arm) cell."""

    def __init__(self, runs: list[RunSpec], results: dict, run_dirs: dict | None = None):
        self.rows = [(spec, results[spec.name]) for spec in runs if spec.name in results]
        self.run_dirs = run_dirs or {}

    def values(self, metric, arm, data, n, cap) -> dict:
        return {s.seed: r[metric] for s, r in self.rows
                if (s.arm, s.data_label, s.n_train, s.capacity) == (arm, data, n, cap) and r.get(metric) is not None}

    def cells(self, data=None) -> list:
        """(data, n, capacity) of the grid (cells holding both noaug and scoreaug runs), in order."""
        seen = {}
        for s, _ in self.rows:
            if s.arm == "noaug" and (data is None or s.data_label == data):
                seen[(s.data_label, s.n_train, s.capacity)] = None
        return list(seen)


def _cells_of(claim: Claim, table: Table, budget: Budget, main_label: str, claim_cells: dict) -> list:
    grid = table.cells(main_label)
    sizes = sorted({n for _, n, _ in grid})
    if claim.cells == "smallest":
        return [c for c in grid if c[1] == sizes[0]]
    if claim.cells == "largest+smallest":
        return [c for c in grid if c[1] in (sizes[0], sizes[-1])]
    if claim.cells == "all":
        return table.cells()
    return [claim_cells[claim.cells]]


def evaluate_claims(budget: Budget, runs: list[RunSpec], results: dict, claim_cells: dict) -> list[dict]:
    """Every claim's comparisons (with intervals, effect sizes and verdicts), its arms' summaries and its verdict.
    claim_cells: {"claim3": (data, n, cap), "claim4": (...)}."""
    table = Table(runs, results)
    main_label = budget.main.label
    smallest = min((n for _, n, _ in table.cells(main_label)), default=None)
    out = []
    for claim in CLAIMS:
        cells = _cells_of(claim, table, budget, main_label, claim_cells)
        comparisons, arms = [], {}
        for data, n, cap in cells:
            for comp in claim.comparisons:
                base = table.values(comp.metric, comp.baseline, data, n, cap)
                treat = table.values(comp.metric, comp.treatment, data, n, cap)
                if not set(base) & set(treat):
                    continue
                counted = comp.primary and (claim.cells != "largest+smallest" or n == smallest)
                comparisons.append({"data": data, "n_train": n, "capacity": cap, "metric": comp.metric,
                                    "baseline_arm": comp.baseline, "treatment_arm": comp.treatment,
                                    "primary": comp.primary, "counted": counted, **compare(base, treat, comp.expect)})
                for arm, values in ((comp.baseline, base), (comp.treatment, treat)):
                    arms[(data, n, cap, arm, comp.metric)] = {"data": data, "n_train": n, "capacity": cap,
                                                              "arm": arm, "metric": comp.metric,
                                                              "values": values, **interval(values.values())}
        counted = [c["verdict"] for c in comparisons if c["counted"]]
        out.append({"id": claim.id, "title": claim.title, "paper": claim.paper, "rule": claim.rule,
                    "metric": claim.comparisons[0].metric, "metric_text": METRICS[claim.comparisons[0].metric],
                    "expect": claim.comparisons[0].expect, "baseline": claim.comparisons[0].baseline,
                    "treatment": claim.comparisons[0].treatment, "verdict": combine(counted),
                    "n_counted": len(counted), "comparisons": comparisons, "arms": list(arms.values())})
    return out


def baseline_overfits(budget: Budget, runs: list[RunSpec], results: dict) -> list[dict]:
    """The precondition of claims 1 and 5, measured rather than assumed: without augmentation, at the smallest
    size, the held-out loss exceeds the training loss (gap > 0), per capacity."""
    table = Table(runs, results)
    grid = table.cells(budget.main.label)
    if not grid:
        return []
    smallest = min(n for _, n, _ in grid)
    return [{"data": d, "n_train": n, "capacity": c, "metric": "gap",
             **one_sample(table.values("gap", "noaug", d, n, c), "higher")} for d, n, c in grid if n == smallest]


__all__ = ["PAPER", "METRICS", "Comparison", "Claim", "CLAIMS", "Table", "evaluate_claims", "baseline_overfits"]
