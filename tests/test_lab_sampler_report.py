"""lab.sampler_report: the sampler's own start noise, its evaluation count, the true denoiser's samples."""
import pytest
import torch

from scoreaug_lab.data import ring_mixture
from scoreaug_lab.lab.sampler_report import sampler_report
from scoreaug_lab.oracles import MixtureDenoiser
from scoreaug_lab.sampling import SeededNoise


def test_sampler_report():
    mixture = ring_mixture()
    g = torch.Generator().manual_seed(0)
    reference, train = mixture.sample(2000, g).float(), mixture.sample(32, g).float()
    r = sampler_report(MixtureDenoiser(mixture), range(300), reference, train, n_trajectories=4, num_steps=18)
    assert r.nfe == 35 and r.trajectories.shape == (4, 19, 2) and r.samples.shape == (300, 2)
    assert torch.equal(r.trajectories[:, 0], SeededNoise(range(4)).randn((2,)) * 80.0)   # the sampler's own start
    assert torch.equal(r.trajectories[:, -1], r.samples[:4])
    assert r.sliced_wasserstein < 0.1 and r.memorised_fraction < 0.5 and r.sigmas[-1] == 0
    for bad in (dict(churn=float("nan")), dict(rho=float("nan")), dict(sigma_max=None), dict(num_steps=0),
                dict(method="rk4"), dict(sigma_min=100.0)):
        with pytest.raises(ValueError):
            sampler_report(MixtureDenoiser(mixture), range(3), reference, train, **bad)


def test_sampler_report_takes_any_integer_seeds_and_no_trajectories():
    import numpy as np
    from scoreaug_lab.sampling import sample
    mix = ring_mixture(4, 2.0, 0.2)
    model, ref = MixtureDenoiser(mix), mix.sample(50, torch.Generator().manual_seed(1)).float()
    report = sampler_report(model, np.arange(3, 9), ref, ref[:10], n_trajectories=0, num_steps=6)
    assert report.trajectories.shape == (0, 7, 2)
    assert torch.allclose(report.samples, sample(model, (2,), range(3, 9), num_steps=6).float(), atol=1e-6)
    with pytest.raises(ValueError, match="n_trajectories must be >= 0, got -1"):
        sampler_report(model, range(3), ref, ref, n_trajectories=-1)
