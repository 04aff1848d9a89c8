"""Cheating answers to assignment 4 (twins of the asked functions): graded like the wrong answers, in one kernel;
each must lose its question's points. Never released.
"""

TWIN_CHEATS = [
    dict(question="q1_sample_and_measure", name="the library's evaluate_points",
         source='''def sample_and_measure(model, data, n_samples):
    from scoreaug_lab.evaluate.evaluation import evaluate_points
    samples = sampling.sample(model, data.data_shape, range(n_samples))
    result = evaluate_points(model, data, samples, n_per_band=8)
    return {"memorised": result["memorisation"]["memorised_fraction"],
            "nn_distance": result["memorisation"]["mean_nn_distance"],
            "sw_heldout": result["sliced_wasserstein_to_fresh"]}
'''),
    dict(question="q3_leak", name="the leakage module's leak_of",
         source='''def leak(unconditioned, conditioned, data, n_samples):
    from scoreaug_lab import leakage
    sets = {"unconditioned": sampling.sample(unconditioned, data.data_shape, range(n_samples)),
            "conditioned_0": sampling.sample(conditioned, data.data_shape, range(n_samples))}
    return leakage.leak_of({k: {"data": metrics.sliced_wasserstein(v, data.heldout)} for k, v in sets.items()})
'''),
]
