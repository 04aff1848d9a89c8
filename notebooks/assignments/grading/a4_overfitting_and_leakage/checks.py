"""Assignment 4, the hidden checks (run by the grader, never sent to the sandbox or the students)."""
import statistics

from scoreaug_lab import sampling
from scoreaug_lab.course.checks import Failed, answer, expect, number, number_close
from scoreaug_lab.course.layout import cases_beside
from scoreaug_lab.evaluate import metrics

cases = cases_beside(__file__)


def q1_sample_and_measure(record):
    for name, model, data, n in cases.q1_cases():
        got = answer(record, name)
        expect(isinstance(got, dict) and set(got) == {"memorised", "nn_distance", "sw_heldout"},
               f"{name}: expected a dict of memorised, nn_distance and sw_heldout, got {got!r:.200}")
        samples = sampling.sample(model, data.data_shape, range(n))
        copied = metrics.memorisation(samples, data.train)
        number_close(got["memorised"], copied["memorised_fraction"], f"{name}: the memorised fraction",
                     atol=2 / n + 1e-12)
        number_close(got["nn_distance"], copied["mean_nn_distance"], f"{name}: the nearest-neighbour distance",
                     atol=1e-4)
        number_close(got["sw_heldout"], metrics.sliced_wasserstein(samples, data.heldout),
                     f"{name}: the sliced Wasserstein distance to the held-out data", atol=1e-4)


def q2_summarise(record):
    for name, rows in cases.q2_cases():
        got = answer(record, name)
        expect(isinstance(got, dict) and set(got) == set(rows[0]),
               f"{name}: one entry per metric {sorted(rows[0])}, got {got!r:.200}")
        for key in rows[0]:
            values = [r[key] for r in rows]
            pair = got[key]
            expect(isinstance(pair, list) and len(pair) == 2, f"{name}: {key} must be (mean, std), got {pair!r}")
            mean, std = number(pair[0], f"{name}: the mean of {key}"), number(pair[1], f"{name}: the std of {key}")
            number_close(mean, statistics.mean(values), f"{name}: the mean of {key}", atol=1e-12, rtol=1e-12)
            number_close(std, statistics.stdev(values), f"{name}: the sample std of {key} (divide by n - 1)",
                         atol=1e-12, rtol=1e-9)


def q3_leak(record):
    for name, a, b, data, n in cases.q3_cases():
        sa, sb = sampling.sample(a, (2,), range(n)), sampling.sample(b, (2,), range(n))
        want = metrics.sliced_wasserstein(sa, data.heldout) - metrics.sliced_wasserstein(sb, data.heldout)
        number_close(answer(record, name), want, f"the leak, {name}", atol=1e-6)


CHECKS = {"q1_sample_and_measure": q1_sample_and_measure, "q2_summarise": q2_summarise, "q3_leak": q3_leak}
__all__ = ["CHECKS", "Failed"]
