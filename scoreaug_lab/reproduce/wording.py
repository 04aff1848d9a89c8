"""The words of the reproduction's report and README table: numbers as text, what is paired, how fine the seeds
resolve, verdicts worded as directions at the suite's scale (never a bare verdict beside the paper's FIDs), and
the headline. report.py lays the tables out; every verdict comes from claims.evaluate_claims."""
from __future__ import annotations

import math

from .verdicts import resolution

SCALE = {"digits8": "8×8-digit scale", "digits": "16×16-digit scale", "cifar10": "CIFAR-10-subset scale"}

DIRECTION_WORDS = {"reproduced": "same direction as the paper", "contradicted": "opposite direction to the paper",
                   "inconclusive": "undecided"}

def num(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.0f}" if abs(x) >= 1000 else f"{x:.3g}"

def mean_pm(s: dict) -> str:
    return f"{num(s['mean'])} ± {num(s['std'])}" if s["n"] > 1 else f"{num(s['mean'])} (1 seed)"

def spans_zero(s: dict) -> bool:
    lo, hi = s.get("ci_low"), s.get("ci_high")
    return lo is not None and hi is not None and not (math.isnan(lo) or math.isnan(hi)) and lo <= 0 <= hi

def relative(x) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:+.3g} %"

def ci(s: dict) -> str:
    return f"[{num(s['ci_low'])}, {num(s['ci_high'])}]"

def cell_text(c: dict) -> str:
    return f"{c['data']} n={c['n_train']} {c['capacity']}"

def verdict_words(verdict: str, scale: str, comparisons: list | None = None) -> str:
    """'REPRODUCED: same direction as the paper at 8×8-digit scale' (never a bare verdict beside the paper's FIDs);
    'mixed' when the counted comparisons do not all point one way."""
    text = f"{verdict.upper()}: {DIRECTION_WORDS[verdict]} at {scale}"
    counted = [c for c in comparisons or [] if c["counted"]]
    ways = {c["verdict"] for c in counted} - {"inconclusive"}
    if len(ways) > 1:
        agree = sum(c["verdict"] == "reproduced" for c in counted)
        text += f" (mixed: {agree} of {len(counted)} counted comparisons in the paper's direction)"
    return text

def p_text(c: dict) -> str:
    return f"perm. p {num(c.get('p_permutation'))}"

def effect_text(c: dict) -> str:
    return (f"{cell_text(c)}, {c['metric']} {c['treatment_arm']} − {c['baseline_arm']}: {num(c['difference']['mean'])} "
            f"{ci(c['difference'])}, d_z {num(c['cohens_dz'])}, {p_text(c)}")

def pairing_text(budget) -> str:
    return (f"Seeds {', '.join(map(str, budget.seeds))}; arms are compared paired by seed. Within a seed every arm "
            "shares: the training subset and the held-out images; the initial weights of every layer the arms share "
            "(the omega layer, which only augmented arms have, draws from a generator of its own); the batch "
            "indices, noise levels sigma and noises of every training step (transform choices and parameters come "
            "from a second generator); the evaluation probes during training and at the end (seeded with s); and the "
            f"sample seeds s·{budget.n_samples} .. s·{budget.n_samples} + {budget.n_samples - 1} ({budget.n_samples} "
            f"samples, Heun with {budget.sampler_steps} steps, omega = 0). Arms differ in their augmentation only. "
            "Across seeds the training subsets, initial weights, training noise, probes and samples all change, but "
            "the held-out images do not (one fixed split; at the full training-set size the training images do not "
            "either): the intervals are conditional on that evaluation set.")

def resolution_text(claims: list) -> str:
    paired = [len(c["seeds"]) for claim in claims for c in claim["comparisons"] if c["counted"]]
    r = resolution(min(paired) if paired else 0)
    floor = ("so no verdict here holds without assuming the differences are roughly normal"
             if r["min_permutation_p"] >= 0.05 else "so the permutation test can confirm a verdict without that "
             "assumption")
    return (f"With n = {r['n']} paired seeds (the fewest in any counted comparison): t_0.975,{r['n'] - 1} = "
            f"{num(r['t'])}; an interval's half-width is {num(r['multiplier'])} × sd(d), so a comparison reaches a "
            f"verdict only when |d_z| > {num(r['min_dz'])} (smaller true effects read as inconclusive most of the "
            f"time); the exact sign-flip permutation p shown beside each interval cannot go below "
            f"{num(r['min_permutation_p'])}, {floor}.")

def headline(claims: list, scale: str) -> list:
    """One line per claim: its verdict, then every comparison (counted or not) whose interval points the other way."""
    lines = []
    for claim in claims:
        line = f"- Claim {claim['id']} ({claim['title']}): {verdict_words(claim['verdict'], scale, claim['comparisons'])}"
        against = [c for c in claim["comparisons"] if c["verdict"] == "contradicted"]
        towards = [c for c in claim["comparisons"] if c["verdict"] == "reproduced"]
        other = towards if claim["verdict"] == "contradicted" else against
        if other:
            word = "in the paper's direction" if claim["verdict"] == "contradicted" else "against the paper"
            line += f". {word.capitalize()}: " + "; ".join(effect_text(c) + ("" if c["counted"] else " (not counted)")
                                                           for c in other)
        lines.append(line)
    return lines

def settings_text(budget, runs) -> str:
    """Which settings are the paper's and which the toolkit's choices, from the runs' own configs."""
    by_arm = {r.arm: r.config for r in runs}
    parts = []
    for arm, what in (("scoreaug", "ScoreAug"), ("noisy-rot90", "claim 3's rot90"),
                      ("clean-geometric", "clean-space geometric (EDM-style, told omega)"), ("combined", "combined")):
        c = by_arm.get(arm)
        if c is None:
            continue
        text = f"{what}: `{c['transforms']}` at p = {c['aug_prob']:.4g}"
        if arm == "combined":
            text += f", clean stage `{c['clean_transforms']}` at p = {c['clean_aug_prob']:.4g}"
        parts.append(text)
    return ("Augmentations (the transforms are the paper's, their strengths and probabilities the toolkit's: the "
            "shift is scaled to the image, 1 pixel of 8 as the paper's 4 of 32; EDM's operations each on with its own "
            "probability; the combined arm's stages lowered so that an image is untouched as often as in a single "
            "arm): " + "; ".join(parts) + ".")


__all__ = ["SCALE", "num", "mean_pm", "spans_zero", "relative", "ci", "cell_text", "verdict_words", "effect_text", "pairing_text",
           "resolution_text", "headline", "settings_text"]
