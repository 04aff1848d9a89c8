"""reproduce.wording: verdicts worded as directions at a scale, 'mixed' when counted comparisons disagree, the
headline naming every comparison that points the other way, and the resolution sentence's permutation floor."""
from scoreaug_lab.reproduce.verdicts import adjust_within_claim, combine, compare
from scoreaug_lab.reproduce.wording import headline, resolution_text, verdict_words

SCALE = "8×8-digit scale"


def _comparison(metric, diffs, counted=True, expect="lower"):
    base = {s: 1.0 for s in range(len(diffs))}
    treat = {s: 1.0 + d for s, d in enumerate(diffs)}
    return {"data": "digits8", "n_train": 64, "capacity": "c8", "metric": metric, "baseline_arm": "noaug",
            "treatment_arm": "scoreaug", "counted": counted, "primary": counted, **compare(base, treat, expect)}


def _claim(comparisons):
    adjust_within_claim(comparisons)
    return {"id": 1, "title": "a claim", "verdict": combine(comparisons), "comparisons": comparisons}


def test_verdict_words_never_bare_and_mixed_when_counted_comparisons_disagree():
    better = _comparison("heldout_best", [-0.3, -0.25, -0.35, -0.28, -0.31, -0.3])
    worse = _comparison("proxy_fid", [2.0, 2.5, 1.8, 2.2, 2.1, 2.4])
    claim = _claim([better, worse])
    assert claim["verdict"] == "contradicted"
    words = verdict_words(claim["verdict"], SCALE, claim["comparisons"])
    assert words.startswith("CONTRADICTED: opposite direction to the paper at 8×8-digit scale")
    assert "mixed: 1 of 2 counted comparisons in the paper's direction" in words
    assert "mixed" not in verdict_words("reproduced", SCALE, [better])
    line = headline([claim], SCALE)[0]
    assert "In the paper's direction: digits8 n=64 c8, heldout_best" in line and "proxy_fid:" not in line


def test_resolution_sentence_uses_the_fewest_paired_seeds_and_states_the_floor():
    five = _claim([_comparison("gap", [-0.1, -0.2, -0.15, -0.12, -0.11])])
    eight = _claim([_comparison("gap", [-0.1, -0.2, -0.15, -0.12, -0.11, -0.13, -0.14, -0.16])])
    text5, text8 = resolution_text([five]), resolution_text([eight])
    assert "n = 5 paired seeds" in text5 and "|d_z| > 1.24" in text5 and "cannot go below 0.0625" in text5
    assert "without assuming the differences are roughly normal" in text5
    assert "n = 8 paired seeds" in text8 and "0.00781" in text8 and "can confirm a verdict" in text8
