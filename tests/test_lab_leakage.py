"""lab.leakage: the optima's leak table (exact sliced W2) and omega_T samples against Heun written out."""
import math

import pytest
import torch

from scoreaug_lab.evaluate.metrics import sliced_wasserstein
from scoreaug_lab.lab.leakage import distance_table, optimum_leak, optimum_setting, reference_sets, sample_sets
from scoreaug_lab.runs.store import RunStore
from scoreaug_lab.sampling import SeededNoise, edm_sigma_steps

SETS = ("unconditioned", "conditioned_0", "conditioned_T")


def test_leak_table_of_the_optima(tmp_path):
    """The unconditioned optimum of `scale` leaks (farther from the data than the conditioned optimum at
    omega = 0); the conditioned optimum at omega_T lands on T(data); distances are exact sliced W2."""
    store = RunStore(tmp_path)
    for pair in ("clean", "noisy"):
        result = optimum_leak(store, pair, "scale", 1.0, n_train=128, n_samples=256, n_draws=8)
        d = result.distances
        assert d["unconditioned"]["data"] > d["conditioned_0"]["data"] and result.leak > 0
        assert d["conditioned_T"]["transformed"] < 0.5 * d["conditioned_T"]["data"]
        assert d["conditioned_0"]["data"] < 0.5 * d["conditioned_0"]["transformed"]
        for s in SETS:
            for r, ref in result.references.items():
                assert abs(d[s][r] - sliced_wasserstein(result.samples[s], ref)) < 1e-12
        assert optimum_leak(store, pair, "scale", 1.0, n_train=128, n_samples=256, n_draws=8) is result  # memo
    setting = optimum_setting(store, "clean", "scale:max_log=0.693", 0.5, n_train=128)
    refs = reference_sets(setting, seed=1)
    a = math.exp(0.5 * 0.693)
    assert (refs["transformed"] - a * setting.data.heldout).abs().max() < 1e-6
    moved = (refs["augmented"] - setting.data.heldout).abs().amax(1) > 0   # aug_prob 1: every point transformed
    assert moved.float().mean() > 0.99


@pytest.mark.parametrize("spec, amount", [("scale", 0.5), ("translate:max_shift=0.75", 0.6), ("rotate", 1.0)])
def test_omega_t_sampling_of_scoreaug_starts_from_transformed_noise(tmp_path, spec, amount):
    """The conditioned_T set of a noisy-space pair ("matched" start) is EDM's Heun sampler, written out here,
    started from T(sigma_max n) with each sample's own seed."""
    store = RunStore(tmp_path)
    setting = optimum_setting(store, "noisy", spec, amount, n_train=24)
    n = 12
    got = sample_sets(store, setting, n, "matched")["conditioned_T"].double()
    model, t, params = setting.models["conditioned_T"][0], setting.transform, setting.params
    sigmas = edm_sigma_steps(18)
    x = t.apply(SeededNoise(range(n)).randn((2,)) * sigmas[0].item(), params.expand(n, -1).float())
    for s, s_next in zip(sigmas[:-1].tolist(), sigmas[1:].tolist()):         # Heun (EDM's Algorithm 1)
        d = (x - model(x, torch.full((n,), s))) / s
        x_next = x + (s_next - s) * d
        if s_next > 0:
            x_next = x + (s_next - s) * 0.5 * (d + (x_next - model(x_next, torch.full((n,), s_next))) / s_next)
        x = x_next
    assert (got - x.double()).abs().max() < 1e-4
    if t.name != "translate":      # a shift of the start by b at sigma = 80 is gone by the end: b * 0.002 / 80
        plain = sample_sets(store, setting, n, "plain")["conditioned_T"]
        assert (plain - got.float()).abs().max() > 0.01                     # the start matters: a different set


def test_start_noise_only_matters_in_noisy_space(tmp_path):
    store = RunStore(tmp_path)
    clean = optimum_setting(store, "clean", "scale:max_log=0.693", 1.0, n_train=64)
    a = sample_sets(store, clean, 32, "matched")["conditioned_T"]
    assert a is sample_sets(store, clean, 32, "plain")["conditioned_T"]       # the same draw, memoised once
    noisy = optimum_setting(store, "noisy", "scale:max_log=0.693", 1.0, n_train=64)
    matched, plain = (sample_sets(store, noisy, 32, s)["conditioned_T"] for s in ("matched", "plain"))
    assert (matched - plain).abs().max() > 0.05
    with pytest.raises(ValueError, match="start_noise"):
        sample_sets(store, noisy, 32, "sideways")
    table = distance_table({"x": matched}, {"y": plain}, seed=2)
    assert table["x"]["y"] == pytest.approx(sliced_wasserstein(matched, plain, seed=2), abs=1e-12)


def test_leak_families_by_name_and_distance_tables_of_one_shape():
    from scoreaug_lab.lab.leakage import LEAK_TRANSFORMS, family_spec
    assert family_spec(None, "rotate") == LEAK_TRANSFORMS["rotate"]
    assert family_spec({"mine": "scale:max_log=0.1"}, "mine") == "scale:max_log=0.1"
    with pytest.raises(ValueError, match="family must be one of mine, got 'scale'"):
        family_spec({"mine": "scale:max_log=0.1"}, "scale")
    a, b = torch.randn(7, 2, dtype=torch.float64), torch.randn(9, 2, dtype=torch.float64)
    table = distance_table({"a": a}, {"data": b})
    assert table["a"]["data"] == pytest.approx(sliced_wasserstein(a, b), rel=1e-12)
    with pytest.raises(ValueError, match="points of one shape"):
        distance_table({"a": a}, {"data": b, "flat": torch.randn(9, 1, dtype=torch.float64)})
