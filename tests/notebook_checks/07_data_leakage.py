# ruff: noqa: F821  (the names come from the notebook, in whose kernel this runs)
# Headline of notebook 07, run in its kernel after its last cell (tests/test_notebooks.py): with omega = 0 the
# optimum samples the data; without omega the clean-space pair leaks the augmented data at least as much as the
# noisy-space pair (more for scaling), and in noisy space the start noise matters once T changes the noise level.
for (pair, name), result in optima.items():
    d = result.distances
    assert d["conditioned_0"]["data"] <= min(d[s]["data"] for s in SETS), (pair, name)
    assert abs(result.leak - (d["unconditioned"]["data"] - d["conditioned_0"]["data"])) < 1e-12
for name in TRANSFORMS:
    assert optima["clean", name].leak >= optima["noisy", name].leak - 0.01, name
assert optima["clean", "scale"].leak > optima["noisy", "scale"].leak + 0.005
starts = {start: optimum_leak(store, "noisy", "scale", 1.0, start_noise=start, **SIZES) for start in ("matched", "plain")}
matched, plain = (starts[s].distances["conditioned_T"]["transformed"] for s in ("matched", "plain"))
assert matched < plain - 0.05, (matched, plain)
print("notebook checks passed")
