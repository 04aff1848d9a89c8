# ruff: noqa: F821  (the names come from the notebook, in whose kernel this runs)
# Headline of notebook 01, run in its kernel after its last cell (tests/test_notebooks.py): the closed-form score
# is autograd's, Tweedie turns it into the posterior mean, the ideal denoiser D* copies its training points
# while the true denoiser samples like fresh data, and Heun at 18 steps is as close to the data as fresh samples.
for sigma in (0.02, 0.3, 3.0):
    y = x0 + sigma * noise
    closed, by_autograd = mixture.score(y, sigma), autograd_score(lambda v: mixture.log_prob(v, sigma))(y)
    assert (closed - by_autograd).abs().max() < 1e-9 * (1 + closed.abs().max()), sigma
    assert (mixture.denoiser(y, sigma) - score_to_denoiser(y, sigma, closed)).abs().max() < 1e-9, sigma
    tweedie = score_to_denoiser(y, sigma, autograd_score(lambda v: empirical_log_prob(v, sigma))(y))
    assert (ideal_denoiser(y, sigma, train) - tweedie).abs().max() < 1e-9, sigma
ideal_share = memorisation(samples["ideal denoiser D*"], train.float())["memorised_fraction"]
true_share = memorisation(samples["true denoiser"], train.float())["memorised_fraction"]
fresh_share = memorisation(fresh, train.float())["memorised_fraction"]
assert ideal_share == 1.0 and abs(true_share - fresh_share) < 0.1, (ideal_share, true_share, fresh_share)
baseline = sliced_wasserstein(fresh, reference)                 # two fresh samples of the mixture
assert sliced_wasserstein(samples["true denoiser"], reference) < 1.5 * baseline
assert sliced_wasserstein(samples["ideal denoiser D*"], reference) > 1.5 * baseline
coarse = sample(true_denoiser, (2,), range(N_SAMPLES), num_steps=3, method="euler")
assert sliced_wasserstein(coarse, reference) > 3 * baseline    # three Euler steps are far from the data
state = sampler_app.state
expected = sample(sampler_app.denoisers[state["denoiser"]], (2,), range(state["seeds"][0], state["seeds"][1] + 1),
                  num_steps=state["num_steps"], method=state["method"])
assert torch.allclose(torch.from_numpy(state["samples"]), expected, atol=1e-5)
# every figure the notebook drew (still open: the test runs it with MPLBACKEND=Agg) shows no text below 10 px in the
# output area of a 1400-pixel JupyterLab window (plotting.text_px)
import matplotlib.pyplot as _plt  # noqa: E402
from scoreaug_lab.plotting import small_texts as _small_texts  # noqa: E402
_small = {n: _small_texts(_plt.figure(n)) for n in _plt.get_fignums()}
assert _plt.get_fignums() and not any(_small.values()), {n: t[:5] for n, t in _small.items() if t}
print("notebook checks passed")
