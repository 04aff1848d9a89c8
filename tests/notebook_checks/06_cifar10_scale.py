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
print("notebook checks passed")
