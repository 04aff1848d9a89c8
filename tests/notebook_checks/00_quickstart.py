# ruff: noqa: F821  (the names come from the notebook, in whose kernel this runs)
# Headline of notebook 00, run in its kernel after its last cell (tests/test_notebooks.py): one transform per
# sample (omega = 0 for 3 of its 8 outcomes), ScoreAug's pair is T(noisy input) -> T(x0), and the memorising
# oracle copies the training set that fresh data and the trained networks do not.
draw = sampler.draw(4000, torch.Generator().manual_seed(1))
identity_share = (sampler.encode(draw).abs().sum(1) == 0).double().mean().item()
assert abs(identity_share - 3 / 8) < 4 * (3 / 8 * 5 / 8 / 4000) ** 0.5, identity_share     # 4 standard errors
assert len(orientations) == 5, orientations          # identity, three rotations and one flip of a generic point
noisy, clean = x0 + randomness.sigma[:, None] * randomness.noise, x0
y_aug, target_aug, omega_aug = make_training_pair(x0, randomness, "scoreaug", sampler)
assert torch.allclose(y_aug, sampler.apply(noisy, randomness.transform_draw), atol=1e-6)
assert torch.allclose(target_aug, sampler.apply(clean, randomness.transform_draw), atol=1e-6)
assert torch.equal(omega_aug, sampler.encode(randomness.transform_draw))
assert all(run.step == STEPS for run in runs.values()), {v: run.step for v, run in runs.items()}
oracle = memorisation(samples["ideal (memorising oracle)"], data.train)
assert oracle["memorised_fraction"] == 1.0 and oracle["mean_nn_distance"] < 1e-3, oracle
fresh_share = memorisation(data.heldout[:N_SAMPLES], data.train)["memorised_fraction"]
for name in models:
    assert memorisation(samples[name], data.train)["memorised_fraction"] < 0.5 + fresh_share, name
# every figure the notebook drew (still open: the test runs it with MPLBACKEND=Agg) shows no text below 10 px in the
# output area of a 1400-pixel JupyterLab window (plotting.text_px)
import matplotlib.pyplot as _plt  # noqa: E402
from scoreaug_lab.plotting import small_texts as _small_texts  # noqa: E402
_small = {n: _small_texts(_plt.figure(n)) for n in _plt.get_fignums()}
assert _plt.get_fignums() and not any(_small.values()), {n: t[:5] for n, t in _small.items() if t}
print("notebook checks passed")
