# ruff: noqa: F821  (the names come from the notebook, in whose kernel this runs)
# Headline of notebook 04, run in its kernel after its last cell (tests/test_notebooks.py): the copied fractions
# are the library's memorisation of the stored samples (the explorer's path gives the same numbers), fewer training
# points mean more copying, and every digits run trained to its step count.
for row in toy_rows:
    run = toy_runs[row["n_train"], row["seed"]]
    expected = memorisation(store.samples(run, N_TOY_SAMPLES), run.data.train)["memorised_fraction"]
    assert abs(row["memorised"] - expected) < 1e-12, row
few, many = (mean_std(by_n(toy_rows, "memorised", n))[0] for n in (TOY_SIZES[0], TOY_SIZES[-1]))
assert few > many + 0.03, (few, many)
for key, run in digit_runs.items():
    assert run.step == run.config.steps, key
# every figure the notebook drew (still open: the test runs it with MPLBACKEND=Agg) shows no text below 10 px in the
# output area of a 1400-pixel JupyterLab window (plotting.text_px)
import matplotlib.pyplot as _plt  # noqa: E402
from scoreaug_lab.plotting import small_texts as _small_texts  # noqa: E402
_small = {n: _small_texts(_plt.figure(n)) for n in _plt.get_fignums()}
assert _plt.get_fignums() and not any(_small.values()), {n: t[:5] for n, t in _small.items() if t}
print("notebook checks passed")
