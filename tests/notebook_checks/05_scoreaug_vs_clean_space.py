# ruff: noqa: F821  (the names come from the notebook, in whose kernel this runs)
# Headline of notebook 05, run in its kernel after its last cell (tests/test_notebooks.py): clean-space augmentation
# keeps the noise level, noisy-space augmentation keeps it only for orthogonal maps (scaling multiplies it by a),
# and every cell of the grid was trained with its own variant and transforms.
for spec, kind, x0 in (("rot90,flip", "points", points), ("scale:max_log=0.693", "points", points),
                       ("rot90", "images", digits), ("brightness", "images", digits)):
    sampler, draw, r = noise_ratios(spec, kind, x0)
    assert (r["clean"] - 1).abs().max() < 1e-4, spec
    if all(t.orthogonal for t in sampler.transforms):
        assert (r["noisy"] - 1).abs().max() < 1e-4, spec
    else:
        assert (r["noisy"] - 1).abs().max() > 0.1, spec
assert scale_check < 1e-4
for (family, variant, seed), run in toy_runs.items():
    assert run.config.variant == variant and run.config.seed == seed
    assert run.config.transforms == (FAMILIES[family] if variant != "noaug" else run.config.transforms)
for variant, seed in digit_runs:
    assert digit_runs[variant, seed].config.variant == variant
# every figure the notebook drew (still open: the test runs it with MPLBACKEND=Agg) shows no text below 10 px in the
# output area of a 1400-pixel JupyterLab window (plotting.text_px)
import matplotlib.pyplot as _plt  # noqa: E402
from scoreaug_lab.plotting import small_texts as _small_texts  # noqa: E402
_small = {n: _small_texts(_plt.figure(n)) for n in _plt.get_fignums()}
assert _plt.get_fignums() and not any(_small.values()), {n: t[:5] for n, t in _small.items() if t}
print("notebook checks passed")
