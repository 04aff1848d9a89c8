"""Assignment 4, the hidden inputs and how each answer is called on them (sent into the sandbox).

The models are closed-form optima of small training sets (no training): the ideal denoiser, rot90 without omega
(the augmented law), and rot90 with omega read at sampling time.
"""
import numpy as np
import torch

from scoreaug_lab.data import load_data

FORBIDDEN = {
    "q1_sample_and_measure": ["scoreaug_lab.evaluate.evaluation.evaluate_points",
                              "scoreaug_lab.lab.memorisation_curve.memorisation_point"],
    "q2_summarise": ["scoreaug_lab.evaluate.summary.fmt"],
    "q3_leak": ["scoreaug_lab.lab.leakage.leak_of", "scoreaug_lab.lab.leakage.distance_table",
                "scoreaug_lab.lab.leakage.measure_leak", "scoreaug_lab.lab.leakage.optimum_leak",
                "scoreaug_lab.lab.leakage.network_leak"],
}


class ConditionedOptimum:
    """omega = 0: the ideal denoiser of the data; any other omega: the optimum for a quarter turn."""

    label_dim, sigma_data, device = 0, 0.5, torch.device("cpu")

    def __init__(self, train, sampler):
        from scoreaug_lab.optima import variant_optimum

        self.omega_dim = sampler.omega_dim
        self.identity = variant_optimum(train, "scoreaug", sampler)
        self.turned = variant_optimum(train, "scoreaug", sampler, at=("rot90", [[1.0]]))

    def __call__(self, x, sigma, omega=None, labels=None):
        out = self.identity(x, sigma)
        if omega is not None:
            rows = omega.abs().sum(1) > 0
            if rows.any():
                sig = torch.as_tensor(sigma).reshape(-1).expand(x.shape[0])
                out[rows] = self.turned(x[rows], sig[rows])
        return out.to(x.dtype)


def models(train):
    """(ideal denoiser, rot90 without omega, rot90 with omega) of one training set."""
    from scoreaug_lab.optima import variant_optimum
    from scoreaug_lab.oracles import IdealDenoiser
    from scoreaug_lab.transforms import build_sampler

    sampler = build_sampler("rot90", "points", p=1.0)
    return (IdealDenoiser(train), variant_optimum(train, "noisy", sampler), ConditionedOptimum(train, sampler))


# --- question 1 -----------------------------------------------------------------------------------------------
def q1_cases():
    """[(name, model, data, n_samples)]."""
    small = load_data("toy:gmm8", n_train=12, n_heldout=200, seed=0)
    moons = load_data("toy:moons", n_train=48, n_heldout=300, seed=5)
    ideal, without, with_omega = models(moons.train)
    return [("the ideal denoiser of 12 ring points (visible)", models(small.train)[0], small, 40),
            ("the ideal denoiser of 48 moons", ideal, moons, 120),
            ("rot90 without omega", without, moons, 120),
            ("rot90 with omega", with_omega, moons, 120),
            ("one sample", ideal, moons, 1)]


def q1_sample_and_measure(call):
    return {name: call(model, data, n) for name, model, data, n in q1_cases()}


# --- question 2 -----------------------------------------------------------------------------------------------
def q2_cases():
    """[(name, per-seed rows)]."""
    rng = np.random.default_rng(3)
    out = [("two seeds, two metrics (visible)", [{"m": 1.0, "d": 0.5}, {"m": 3.0, "d": 0.5}])]
    for n_seeds, names in ((3, ["a", "b"]), (2, ["x"]), (5, ["p", "q", "r"]), (4, ["u", "v", "w", "z"])):
        rows = [{k: float(rng.normal(1.0, 2.0)) for k in names} for _ in range(n_seeds)]
        out.append((f"{n_seeds} seeds of {len(names)} metrics", rows))
    out.append(("large values that cancel", [{"big": 1e8 + 1.0}, {"big": 1e8 - 1.0}, {"big": 1e8 + 3.0}]))
    return out


def q2_summarise(call):
    out = {}
    for name, rows in q2_cases():
        got = call([dict(r) for r in rows])
        out[name] = ({str(k): list(v) if isinstance(v, (tuple, list)) else v for k, v in got.items()}
                     if isinstance(got, dict) else got)
    return out


# --- question 3 -----------------------------------------------------------------------------------------------
def q3_cases():
    """[(name, unconditioned, conditioned, data, n)]."""
    same = load_data("toy:moons", n_train=16, n_heldout=200, seed=1)
    data = load_data("toy:moons", n_train=40, n_heldout=300, seed=8)
    ideal = models(same.train)[0]
    _, without, with_omega = models(data.train)
    return [("a model against itself (visible)", ideal, ideal, same, 30),
            ("rot90 without omega against rot90 with omega", without, with_omega, data, 100),
            ("the other way round", with_omega, without, data, 100)]


def q3_leak(call):
    return {name: call(a, b, data, n) for name, a, b, data, n in q3_cases()}


PROBES = {"q1_sample_and_measure": q1_sample_and_measure, "q2_summarise": q2_summarise, "q3_leak": q3_leak}
