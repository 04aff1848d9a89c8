"""transforms.resampled: rotate and geometric against rot90, shifts and a ramp; bilinear noise keeps 4/9."""
import math

import pytest
import torch

from scoreaug_lab.transforms import get_transform
from scoreaug_lab.transforms.linear import image_noise_summary

from support import centre_disc, images


def test_unknown_interpolation_raises():
    for name in ("rotate", "geometric"):
        with pytest.raises(ValueError, match="interpolation"):
            get_transform(name, "images", interpolation="bicubic")


@pytest.mark.parametrize("name", ["rotate", "rotate_nearest"])
def test_rotation_by_quarter_turns_matches_rot90(name):
    x = images(4, 3, 9)
    k = torch.tensor([0.0, 1.0, 2.0, 3.0])[:, None]
    got = get_transform(name, "images").apply(x, k * math.pi / 2)
    expected = get_transform("rot90", "images").apply(x, k)
    assert (got - expected).abs().max() < 1e-5


def test_geometric_reduces_to_rotate_and_integer_translate():
    x = images(3, 3, 12)
    theta = torch.tensor([[0.3], [-1.1], [2.0]])
    geo = get_transform("geometric", "images")
    zeros = torch.zeros(3, 1)
    rot = torch.cat([zeros, theta, zeros, zeros, zeros, zeros], 1)
    assert (geo.apply(x, rot) - get_transform("rotate", "images").apply(x, theta)).abs().max() < 1e-6
    shifts = torch.tensor([[1.0, -2.0], [0.0, 3.0], [-4.0, 0.0]])                    # (dy, dx) pixels
    shift = torch.cat([zeros.repeat(1, 4), shifts[:, 1:] / 12, shifts[:, :1] / 12], 1)  # (tx, ty) fractions
    assert (geo.apply(x, shift) - get_transform("translate", "images").apply(x, shifts)).abs().max() < 1e-5


def test_geometric_moves_a_linear_ramp_by_the_documented_affine_map():
    """Bilinear interpolation reproduces a linear ramp f(q) = c . q exactly, so away from the border the
    output is f(A^-1 (p - t)) with A built here from the docstring: R(theta) R(phi) diag(r, 1/r) R(-phi) s."""
    n = 32
    c = torch.arange(n, dtype=torch.float64) - (n - 1) / 2
    px, py = torch.meshgrid(c, c, indexing="xy")
    coef = torch.tensor([0.03, -0.02], dtype=torch.float64)
    ramp = (coef[0] * px + coef[1] * py)[None, None]

    def rot(a):  # counter-clockwise on screen for (x right, y down)
        return torch.tensor([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]], dtype=torch.float64)

    geo = get_transform("geometric", "images")
    for log_s, theta, log_r, phi, tx, ty in [(0.2, 0.4, 0.15, 0.7, 0.05, -0.03), (-0.1, -2.0, -0.2, 2.5, 0, 0.1)]:
        a = rot(theta) @ rot(phi) @ torch.diag(torch.tensor([math.exp(log_r), math.exp(-log_r)],
                                                            dtype=torch.float64)) @ rot(-phi) * math.exp(log_s)
        p = torch.stack([px, py], -1) - torch.tensor([tx * n, ty * n], dtype=torch.float64)
        q = p @ torch.linalg.inv(a).T                                                   # (N, N, 2)
        inside = (q.abs() < n / 2 - 1).all(-1)
        params = torch.tensor([[log_s, theta, log_r, phi, tx, ty]], dtype=torch.float64)
        out = geo.apply(ramp, params)[0, 0]
        assert inside.sum() > 200
        assert (out - q @ coef)[inside].abs().max() < 1e-9
        # (r, phi) and (1/r, phi + pi/2) are the same stretch, with the same code
        twin = params.clone()
        twin[0, 2], twin[0, 3] = -log_r, phi + math.pi / 2
        assert (geo.apply(ramp, twin) - geo.apply(ramp, params)).abs().max() < 1e-9
        assert (geo.encode(twin) - geo.encode(params)).abs().max() < 1e-12


def test_positive_angle_turns_counter_clockwise():
    x = torch.zeros(1, 1, 9, 9)
    x[0, 0, 4, 8] = 1.0                                                     # a dot at the right edge
    for name in ("rotate", "rotate_nearest"):
        y = get_transform(name, "images").apply(x, torch.tensor([[math.pi / 2]]))
        assert y[0, 0].argmax() == 0 * 9 + 4                                 # now at the top edge


@pytest.mark.parametrize("degrees", [10, 30, 45])
def test_bilinear_rotation_loses_noise_variance_and_correlates_neighbours(degrees):
    n = 32
    disc = centre_disc(n)
    theta = torch.tensor([[math.radians(degrees)]])
    bil = image_noise_summary(get_transform("rotate", "images"), theta, n, n, dense=True)
    near = image_noise_summary(get_transform("rotate_nearest", "images"), theta, n, n, dense=True)
    rot90 = image_noise_summary(get_transform("rot90", "images"), torch.ones(1, 1), n, n, dense=True)
    # bilinear weights (1-f, f) in x and y keep E[(1-f)^2 + f^2]^2 = (2/3)^2 = 4/9 of the variance
    assert abs(bil.variance[disc].mean() - 4 / 9) < 0.02
    assert bil.corr_right[disc[:, :-1]].mean() > 0.2 and bil.corr_down[disc[:-1]].mean() > 0.2
    # nearest copies one pixel per output pixel (variance 1) but repeats some: a few neighbours correlate
    assert torch.equal(near.variance[disc], torch.ones_like(near.variance[disc]))
    assert 0 < near.corr_right[disc[:, :-1]].mean() < 0.1
    assert torch.equal(rot90.variance, torch.ones(n, n, dtype=torch.float64))
    # Monte Carlo agrees with the exact response
    noise = torch.randn(2000, 1, n, n, generator=torch.Generator().manual_seed(degrees))
    y = get_transform("rotate", "images").apply(noise, theta.expand(2000, 1))
    mc = y.var(0, unbiased=False)[0]
    assert abs(mc[disc].mean() - bil.variance[disc].mean()) < 0.01


def test_geometric_operations_switch_on_independently_as_edm():
    """p_each < 1: each of scale, rotation, stretch and shift is on with probability p_each on its own coin (its
    parameters are the identity otherwise), so an image is untouched with probability (1 - p_each)^4 and left
    bit for bit as it was; p_each = 1 draws exactly what it always drew."""
    from scoreaug_lab.transforms.resampled import Geometric
    n, p_each = 20_000, 0.3
    params = Geometric(p_each=p_each).sample_params(n, torch.Generator().manual_seed(0))
    on = torch.stack([params[:, 0] != 0, params[:, 1] != 0, params[:, 2] != 0, params[:, 4] != 0], 1).double()
    sd = (p_each * (1 - p_each) / n) ** 0.5
    assert ((on.mean(0) - p_each).abs() < 5 * sd).all()
    corr = torch.corrcoef(on.T)
    assert (corr - torch.eye(4)).abs().max() < 0.05                               # independent coins
    untouched = (on.sum(1) == 0).double().mean()
    assert abs(untouched - (1 - p_each) ** 4) < 5 * ((1 - p_each) ** 4 / n) ** 0.5
    x = torch.rand(64, 1, 8, 8)
    small = Geometric(p_each=p_each).sample_params(64, torch.Generator().manual_seed(1))
    out = Geometric(p_each=p_each)._apply(x, small)
    same = (small[:, [0, 1, 2, 4, 5]] == 0).all(1)
    assert same.any() and torch.equal(out[same], x[same])
    g1, g2 = torch.Generator().manual_seed(2), torch.Generator().manual_seed(2)
    assert torch.equal(Geometric().sample_params(8, g1), Geometric(p_each=1.0).sample_params(8, g2))
    for bad in (-0.1, 1.5, "x"):
        with pytest.raises(ValueError, match="p_each"):
            Geometric(p_each=bad)
