"""Right answers to assignment 4 written differently from the key: each must get full marks and pass its visible
tests (catalogues.grade_catalogue(..., "right")). Kept outside source/, never released.
"""

RIGHT_ANSWERS = [
    # question 1: sample and measure
    dict(question="q1_sample_and_measure", name="seeds as a list, omega zeros passed explicitly when the model has them",
         source='''def sample_and_measure(model, data, n_samples):
    seeds = list(range(n_samples))
    omega = torch.zeros(n_samples, model.omega_dim) if getattr(model, "omega_dim", 0) else None
    samples = sampling.sample(model, data.data_shape, seeds, omega=omega)
    result = metrics.memorisation(samples, data.train)
    return dict(memorised=float(result["memorised_fraction"]), nn_distance=float(result["mean_nn_distance"]),
                sw_heldout=float(metrics.sliced_wasserstein(samples, data.heldout)))
'''),
    dict(question="q1_sample_and_measure", name="printing progress, numpy floats in the dict",
         source='''def sample_and_measure(model, data, n_samples):
    print(f"sampling {n_samples} points ...")
    samples = sampling.sample(model, tuple(data.data_shape), range(n_samples))
    copied = metrics.memorisation(samples, data.train)
    sw = metrics.sliced_wasserstein(samples, data.heldout)
    print(f"memorised {copied['memorised_fraction']:.3f}, SW {sw:.4f}")
    return {"memorised": np.float64(copied["memorised_fraction"]), "nn_distance": np.float64(copied["mean_nn_distance"]),
            "sw_heldout": np.float64(sw)}
'''),
    dict(question="q1_sample_and_measure", name="the nearest-neighbour distance computed again with cdist",
         source='''def sample_and_measure(model, data, n_samples):
    samples = sampling.sample(model, data.data_shape, range(n_samples))
    nearest = torch.cdist(samples.double().reshape(n_samples, -1), data.train.double().reshape(len(data.train), -1))
    return {"memorised": metrics.memorisation(samples, data.train)["memorised_fraction"],
            "nn_distance": nearest.min(1).values.mean().item(),
            "sw_heldout": metrics.sliced_wasserstein(samples, data.heldout)}
'''),
    # question 2: mean and std over seeds
    dict(question="q2_summarise", name="the statistics module",
         source='''def summarise(per_seed):
    return {key: (statistics.mean(r[key] for r in per_seed), statistics.stdev([r[key] for r in per_seed]))
            for key in per_seed[0]}
'''),
    dict(question="q2_summarise", name="numpy with ddof=1, returning numpy floats",
         source='''def summarise(per_seed):
    out = {}
    for key in per_seed[0]:
        values = np.array([row[key] for row in per_seed], dtype=float)
        out[key] = (values.mean(), values.std(ddof=1))
    return out
'''),
    dict(question="q2_summarise", name="two passes by hand, torch for the sum, lists instead of tuples",
         source='''def summarise(per_seed):
    summary_rows = {}
    for key in per_seed[0]:
        values = torch.tensor([row[key] for row in per_seed], dtype=torch.float64)
        mean = values.mean()
        std = torch.sqrt(((values - mean) ** 2).sum() / (len(values) - 1))
        summary_rows[key] = [mean.item(), std.item()]
    return summary_rows
'''),
    # question 3: the leak
    dict(question="q3_leak", name="one helper for both distances",
         source='''def leak(unconditioned, conditioned, data, n_samples):
    def distance(model):
        return metrics.sliced_wasserstein(sampling.sample(model, data.data_shape, list(range(n_samples))), data.heldout)
    return distance(unconditioned) - distance(conditioned)
'''),
    dict(question="q3_leak", name="explicit omega zeros for the conditioned model, a warning when it is negative",
         source='''import warnings

def leak(unconditioned, conditioned, data, n_samples):
    zeros = torch.zeros(n_samples, conditioned.omega_dim) if conditioned.omega_dim else None
    without = sampling.sample(unconditioned, data.data_shape, range(n_samples))
    with_zero = sampling.sample(conditioned, data.data_shape, range(n_samples), omega=zeros)
    value = metrics.sliced_wasserstein(without, data.heldout) - metrics.sliced_wasserstein(with_zero, data.heldout)
    if value < 0:
        warnings.warn(f"negative leak {value:.4f}: the conditioned model strays further", UserWarning)
    return value
'''),
    dict(question="q3_leak", name="as a numpy float, the sets in a dict",
         source='''def leak(unconditioned, conditioned, data, n_samples):
    sets = {name: sampling.sample(model, data.data_shape, range(n_samples))
            for name, model in (("without", unconditioned), ("with", conditioned))}
    distances = {name: metrics.sliced_wasserstein(s, data.heldout) for name, s in sets.items()}
    return np.float64(distances["without"] - distances["with"])
'''),
]
