"""Plausible wrong answers to assignment 4 (overfitting and leakage): the graders' own tests.

Each entry names the question (the grade_id of its solution cell) and edits that cell's source: every
(old, new) pair replaces a text that must occur exactly once. `scoreaug_lab.course.catalogues.grade_catalogue` swaps
each one in, re-runs every autograded test cell, and expects its own question's points lost and no other's.
Question 4 is graded by hand (its rubric is in the source notebook). Kept outside source/, so
`nbgrader generate_assignment` never releases it.
"""

SUMMARISE = "return {key: summary.mean_std([row[key] for row in per_seed]) for key in per_seed[0]}"
COLUMN = "column = lambda key: [row[key] for row in per_seed]          # one metric over the seeds\n    "

WRONG_ANSWERS = [
    # question 1: sample a model and measure it
    dict(question="q1_sample_and_measure", name="memorisation measured against the held-out data",
         replace=[("copied = metrics.memorisation(samples, data.train)",
                   "copied = metrics.memorisation(samples, data.heldout)")]),
    dict(question="q1_sample_and_measure", name="sliced Wasserstein to the training set instead of held-out data",
         replace=[("metrics.sliced_wasserstein(samples, data.heldout)",
                   "metrics.sliced_wasserstein(samples, data.train)")]),
    dict(question="q1_sample_and_measure", name="every sample from seed 0",
         replace=[("range(n_samples))   # omega=None", "[0] * n_samples)   # omega=None")]),
    dict(question="q1_sample_and_measure", name="omega not zero at sampling (ones)",
         replace=[("samples = sampling.sample(model, data.data_shape, range(n_samples))",
                   "omega = torch.ones(n_samples, model.omega_dim) if model.omega_dim else None\n"
                   "    samples = sampling.sample(model, data.data_shape, range(n_samples), omega=omega)")]),
    dict(question="q1_sample_and_measure", name="held-out data measured instead of samples",
         replace=[("samples = sampling.sample(model, data.data_shape, range(n_samples))",
                   "samples = data.heldout[:n_samples]")]),
    dict(question="q1_sample_and_measure", name="too few sampler steps (4)",
         replace=[("range(n_samples))   # omega=None", "range(n_samples), num_steps=4)   # omega=None")]),
    # question 2: mean +- std over seeds (each rewrites the solution's one line; COLUMN: one metric over the seeds)
    dict(question="q2_summarise", name="population std (divides by n, ddof = 0)",
         replace=[(SUMMARISE, COLUMN + "return {key: (float(np.mean(column(key))), float(np.std(column(key))))\n"
                                       "            for key in per_seed[0]}")]),
    dict(question="q2_summarise", name="std over the wrong axis (over the metrics of a seed)",
         replace=[(SUMMARISE,
                   "table = np.array([[row[key] for key in per_seed[0]] for row in per_seed])   # (seeds, metrics)\n"
                   "    means, stds = table.mean(axis=0), table.std(axis=1, ddof=1)\n"
                   "    return {key: (float(m), float(s)) for key, m, s in zip(per_seed[0], means, stds)}")]),
    dict(question="q2_summarise", name="standard error (std / sqrt(n)) instead of std",
         replace=[(SUMMARISE, COLUMN + "n = len(per_seed)\n"
                                       "    return {key: (statistics.mean(column(key)), statistics.stdev(column(key)) / n**0.5)\n"
                                       "            for key in per_seed[0]}")]),
    dict(question="q2_summarise", name="variance instead of std",
         replace=[(SUMMARISE, COLUMN + "return {key: (statistics.mean(column(key)), statistics.variance(column(key)))\n"
                                       "            for key in per_seed[0]}")]),
    dict(question="q2_summarise", name="median instead of mean",
         replace=[(SUMMARISE, COLUMN + "return {key: (statistics.median(column(key)), statistics.stdev(column(key)))\n"
                                       "            for key in per_seed[0]}")]),
    dict(question="q2_summarise", name="half the range instead of the std",
         replace=[(SUMMARISE, COLUMN + "return {key: (statistics.mean(column(key)), (max(column(key)) - min(column(key))) / 2)\n"
                                       "            for key in per_seed[0]}")]),
    dict(question="q2_summarise", name="variance as E[x^2] - E[x]^2 (cancels for large values)",
         replace=[("return {key: summary.mean_std([row[key] for row in per_seed]) for key in per_seed[0]}",
                   "out = {}\n"
                   "    for key in per_seed[0]:\n"
                   "        v = [row[key] for row in per_seed]\n"
                   "        n, m = len(v), sum(v) / len(v)\n"
                   "        var = (sum(x * x for x in v) / n - m * m) * n / (n - 1)\n"
                   "        out[key] = (m, max(var, 0.0) ** 0.5)\n"
                   "    return out")]),
    # question 3: the leak
    dict(question="q3_leak", name="the sign reversed",
         replace=[("return (metrics.sliced_wasserstein(without, data.heldout)\n"
                   "            - metrics.sliced_wasserstein(with_zero, data.heldout))",
                   "return (metrics.sliced_wasserstein(with_zero, data.heldout)\n"
                   "            - metrics.sliced_wasserstein(without, data.heldout))")]),
    dict(question="q3_leak", name="distances to the training set instead of held-out data",
         replace=[("return (metrics.sliced_wasserstein(without, data.heldout)\n"
                   "            - metrics.sliced_wasserstein(with_zero, data.heldout))",
                   "return (metrics.sliced_wasserstein(without, data.train)\n"
                   "            - metrics.sliced_wasserstein(with_zero, data.train))")]),
    dict(question="q3_leak", name="the model with omega sampled at omega != 0 (ones)",
         replace=[("with_zero = sampling.sample(conditioned, data.data_shape, seeds)",
                   "ones = torch.ones(n_samples, conditioned.omega_dim) if conditioned.omega_dim else None\n"
                   "    with_zero = sampling.sample(conditioned, data.data_shape, seeds, omega=ones)")]),
    dict(question="q3_leak", name="the absolute value of the difference",
         replace=[("return (metrics.sliced_wasserstein(without, data.heldout)\n"
                   "            - metrics.sliced_wasserstein(with_zero, data.heldout))",
                   "return abs(metrics.sliced_wasserstein(without, data.heldout)\n"
                   "               - metrics.sliced_wasserstein(with_zero, data.heldout))")]),
    dict(question="q3_leak", name="a ratio instead of a difference",
         replace=[("return (metrics.sliced_wasserstein(without, data.heldout)\n"
                   "            - metrics.sliced_wasserstein(with_zero, data.heldout))",
                   "return (metrics.sliced_wasserstein(without, data.heldout)\n"
                   "            / metrics.sliced_wasserstein(with_zero, data.heldout))")]),
    dict(question="q3_leak", name="MMD instead of the sliced Wasserstein distance",
         replace=[("return (metrics.sliced_wasserstein(without, data.heldout)\n"
                   "            - metrics.sliced_wasserstein(with_zero, data.heldout))",
                   "return (metrics.mmd_rbf(without, data.heldout)\n"
                   "            - metrics.mmd_rbf(with_zero, data.heldout))")]),
    dict(question="q3_leak", name="the two sample sets compared with each other",
         replace=[("return (metrics.sliced_wasserstein(without, data.heldout)\n"
                   "            - metrics.sliced_wasserstein(with_zero, data.heldout))",
                   "return metrics.sliced_wasserstein(without, with_zero)")]),
]
