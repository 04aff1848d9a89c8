# ruff: noqa: F821  (the names come from the notebook, in whose kernel this runs)
# Headline of notebook 02, run in its kernel after its last cell (tests/test_notebooks.py): orthogonal maps keep
# white noise white (exactly, and the Monte Carlo agrees), bilinear rotation keeps about 4/9 of its variance, and
# the noisy-space optimum is equivariant where the clean-space one is not (brightness).
standard_error = math.sqrt(2 / (N_NOISE * SIZE * SIZE))
for label, (t, exact, (mc_variance, mc_correlation)) in stats.items():
    assert abs(mc_variance - exact.variance_ratio) < 8 * standard_error * max(1.0, exact.variance_ratio), label
    if t.orthogonal:
        assert abs(exact.variance_ratio - 1) < 1e-12 and abs(exact.neighbour_correlation) < 1e-12, label
assert abs(stats["brightness a = 1.5"][1].variance_ratio - 1.5 ** 2) < 1e-12
assert abs(stats["rotate 30°, bilinear"][1].variance_ratio_interior - 4 / 9) < 0.03
brightness = get_transform("brightness", "images")
params = brightness.params_from_controls({"a": 1.5})
y = x0 + 1.0 * noise
errors = {space: equivariance_check(transform_optimum(train, brightness, params, space), ideal, brightness, params,
                                    y, 1.0).relative for space in ("noisy", "clean")}
assert errors["noisy"] < 1e-9 and errors["clean"] > 1e-3, errors
# every figure the notebook drew (still open: the test runs it with MPLBACKEND=Agg) shows no text below 10 px in the
# output area of a 1400-pixel JupyterLab window (plotting.text_px)
import matplotlib.pyplot as _plt  # noqa: E402
from scoreaug_lab.plotting import small_texts as _small_texts  # noqa: E402
_small = {n: _small_texts(_plt.figure(n)) for n in _plt.get_fignums()}
assert _plt.get_fignums() and not any(_small.values()), {n: t[:5] for n, t in _small.items() if t}
print("notebook checks passed")
