# ruff: noqa: F821  (the names come from the notebook, in whose kernel this runs)
# Headline of notebook 06, run in its kernel after its last cell (tests/test_notebooks.py): every run trained to
# its step count, and each evaluation measured the run's own transforms with the library's flags for them.
from scoreaug_lab.transforms import get_transform

for key, out in runs.items():
    config = read_config(out)
    assert config.variant == key[0] and config.seed == key[1]
    assert max(m["step"] for m in read_metrics(out) if "loss" in m) == config.steps, key
    measured = evals[key]["equivariance_error"]
    assert sorted(measured) == sorted(config.transforms.split(",")), key
    for name, row in measured.items():
        t = get_transform(name, "images")
        assert row["orthogonal"] == t.orthogonal and row["invertible"] == t.invertible, (key, name)
# every figure the notebook drew (still open: the test runs it with MPLBACKEND=Agg) shows no text below 10 px in the
# output area of a 1400-pixel JupyterLab window (plotting.text_px)
import matplotlib.pyplot as _plt  # noqa: E402
from scoreaug_lab.plotting import small_texts as _small_texts  # noqa: E402
_small = {n: _small_texts(_plt.figure(n)) for n in _plt.get_fignums()}
assert _plt.get_fignums() and not any(_small.values()), {n: t[:5] for n, t in _small.items() if t}
print("notebook checks passed")
