"""transforms.images (every image transform): torch.rot90/flip/roll references, white noise, bad input."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scoreaug_lab.transforms import IMAGE_TRANSFORMS, get_transform
from scoreaug_lab.transforms.linear import image_noise_summary

from support import centre_disc, images

NAMES = sorted(IMAGE_TRANSFORMS)
EXACT = ["brightness", "translate", "translate_circular", "cutout", "rot90", "xflip", "yflip"]
ORTHOGONAL = ["translate_circular", "rot90", "xflip", "yflip"]
INVERTIBLE = ["brightness", "translate_circular", "rot90", "xflip", "yflip"]
FAST = settings(max_examples=25, deadline=None)


def sampled(name, batch, seed=1, **kwargs):
    t = get_transform(name, "images", **kwargs)
    return t, t.sample_params(batch, torch.Generator().manual_seed(seed))


# --- flags -----------------------------------------------------------------------------------------------
def test_flags():
    for name in NAMES:
        t = get_transform(name, "images")
        assert t.event_ndim == 3 and t.linear and t.affine
        assert t.orthogonal == (name in ORTHOGONAL), name
        assert t.invertible == (name in INVERTIBLE), name
        assert t.exact_on_grid == (name in EXACT), name


@pytest.mark.parametrize("name", NAMES)
def test_identity_is_exact_and_encodes_to_zero(name):
    t = get_transform(name, "images")
    x = images()
    ident = t.identity_params(6)
    omega = t.encode(ident)
    assert omega.shape == (6, t.omega_dim) and torch.equal(omega, torch.zeros_like(omega))
    assert torch.equal(t.apply(x, ident), x)
    # a sample the transform changes never carries the zero code
    params = t.sample_params(64, torch.Generator().manual_seed(3))
    changed = (t.apply(images(64), params) != images(64)).flatten(1).any(1)
    assert (t.encode(params)[changed] != 0).any(1).all()


# --- exact references ---------------------------------------------------------------------------------
@given(ks=st.lists(st.integers(0, 3), min_size=1, max_size=6), size=st.integers(1, 7))
@FAST
def test_rot90_per_sample_matches_torch_rot90(ks, size):
    t = get_transform("rot90", "images")
    x = images(len(ks), 2, size)
    params = torch.tensor(ks, dtype=torch.float32)[:, None]
    expected = torch.stack([torch.rot90(x[b], k, dims=(-2, -1)) for b, k in enumerate(ks)])
    assert torch.equal(t.apply(x, params), expected)
    assert torch.equal(t.inverse(expected, params), x)


def test_flips_match_torch_flip():
    x = images(8)
    bits = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1], dtype=torch.float32)[:, None]
    for name, dim in (("xflip", -1), ("yflip", -2)):
        expected = torch.where(bits.view(-1, 1, 1, 1) > 0, x.flip(dim), x)
        assert torch.equal(get_transform(name, "images").apply(x, bits), expected)


def roll_reference(x, shifts, circular):
    """torch.roll sample by sample, then zero the wrapped rows/columns unless circular."""
    out = []
    for xi, (dy, dx) in zip(x, shifts.long().tolist()):
        yi = torch.roll(xi, shifts=(dy, dx), dims=(-2, -1))
        if not circular:
            h, w = xi.shape[-2:]
            rows, cols = torch.arange(h)[:, None] - dy, torch.arange(w)[None, :] - dx
            yi = yi * ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w))
        out.append(yi)
    return torch.stack(out)


@given(shifts=st.lists(st.tuples(st.integers(-10, 10), st.integers(-10, 10)), min_size=1, max_size=5),
       height=st.integers(1, 7), width=st.integers(1, 7))
@FAST
def test_translations_match_roll_references(shifts, height, width):
    x = (torch.rand(len(shifts), 2, height, width) * 2 - 1)
    params = torch.tensor(shifts, dtype=torch.float32)
    for name, circular in (("translate", False), ("translate_circular", True)):
        t = get_transform(name, "images", max_shift=4)
        assert torch.equal(t.apply(x, params), roll_reference(x, params, circular))
    circ = get_transform("translate_circular", "images")
    assert torch.equal(circ.inverse(circ.apply(x, params), params), x)


def cutout_reference(x, params):
    """Zero each sample's clipped square by slicing, with the documented integer box."""
    out = x.clone()
    h, w = x.shape[-2:]
    for b, (size, cy, cx) in enumerate(params.double().tolist()):
        side = round(size * min(h, w))
        top, left = math.floor(cy * h) - side // 2, math.floor(cx * w) - side // 2
        out[b, :, max(top, 0):max(top + side, 0), max(left, 0):max(left + side, 0)] = 0
    return out


@given(rows=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=5))
@FAST
def test_cutout_zeroes_exactly_its_square(rows):
    t = get_transform("cutout", "images")
    x = images(len(rows), 3, 10, dtype=torch.float64).abs() + 0.1      # no zero pixels before the cut
    params = torch.tensor(rows, dtype=torch.float64)
    y = t.apply(x, params)
    assert torch.equal(y, cutout_reference(x, params))
    side, top, left = t.box(params, 10, 10)
    clip = lambda a, b: (torch.minimum(b, torch.tensor(10.0)) - a.clamp(0, 10)).clamp(min=0)
    area = clip(top, top + side) * clip(left, left + side)
    assert torch.equal((y == 0).sum((1, 2, 3)).double(), 3 * area)           # 3 channels
    assert torch.equal(t.encode(params), params[:, :1])                     # omega: the size only


def test_cutout_square_inside_the_image():
    t = get_transform("cutout", "images")
    x = images(1, 1, 32).abs() + 0.1
    y = t.apply(x, torch.tensor([[0.25, 0.5, 0.5]]))                         # side 8 around the centre
    assert torch.equal((y[0, 0] == 0).nonzero().amin(0), torch.tensor([12, 12]))
    assert torch.equal((y[0, 0] == 0).nonzero().amax(0), torch.tensor([19, 19]))


# --- linearity, Jacobians, inverses --------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_jacobian_is_the_matrix_and_orthogonal_flag_is_true(name):
    t, params = sampled(name, 3, seed=5)
    if name == "cutout":
        params[:, 0] = 0.4                                                  # a visible square
    x = images(3, 2, 5, dtype=torch.float64)
    jac = t.jacobian(x, params).reshape(3, 50, 50)                         # (B, C*H*W, C*H*W), via vmap
    assert (torch.einsum("bij,bj->bi", jac, x.flatten(1)) - t.apply(x, params).flatten(1)).abs().max() < 1e-12
    gram = jac @ jac.transpose(1, 2)
    is_identity = (gram - torch.eye(50, dtype=torch.float64)).abs().amax((1, 2)) < 1e-12
    changed = (t.apply(x, params) != x).flatten(1).any(1)
    if t.orthogonal:
        assert is_identity.all()
    else:
        assert not is_identity[changed].any()


@given(seed=st.integers(0, 2 ** 31 - 1))
@FAST
def test_inverse_undoes_apply_for_invertible_transforms(seed):
    x = images(5, 3, 8, seed=seed)
    for name in INVERTIBLE:
        t, params = sampled(name, 5, seed)
        assert (t.inverse(t.apply(x, params), params) - x).abs().max() < 1e-6
        assert (t.apply(t.inverse(x, params), params) - x).abs().max() < 1e-6


# --- white noise -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ORTHOGONAL)
def test_orthogonal_maps_permute_noise_exactly(name):
    t, params = sampled(name, 256, seed=7)
    noise = torch.randn(256, 3, 16, 16, generator=torch.Generator().manual_seed(8))
    y = t.apply(noise, params)
    # a permutation of each sample's pixels: same values, same norm, exactly
    assert torch.equal(y.flatten(1).sort(1).values, noise.flatten(1).sort(1).values)
    # and the noise stays N(0, I): per-pixel variance 1, neighbours uncorrelated (Monte Carlo)
    var = y.var(0, unbiased=False)
    assert (var.mean() - 1).abs() < 0.02 and (var - 1).abs().max() < 0.5
    corr = (y[..., :, 1:] * y[..., :, :-1]).mean(0)
    assert corr.mean().abs() < 0.02
    exact = image_noise_summary(t, params[:1], 16, 16, dense=True)
    assert torch.equal(exact.variance, torch.ones(16, 16, dtype=torch.float64))
    assert exact.corr_right.abs().max() < 1e-15 and exact.corr_down.abs().max() < 1e-15


def test_non_orthogonal_noise_responses():
    n = 12
    a = 0.4
    log_a = torch.tensor([[a]], dtype=torch.float64)
    bright = image_noise_summary(get_transform("brightness", "images"), log_a, n, n, dense=True)
    assert (bright.variance - math.exp(2 * a)).abs().max() < 1e-12                # sigma -> a sigma
    shift = image_noise_summary(get_transform("translate", "images"), torch.tensor([[2.0, -3.0]]), n, n, dense=True)
    expected = torch.ones(n, n, dtype=torch.float64)
    expected[:2] = 0
    expected[:, -3:] = 0                                                           # noise-free zero padding
    assert torch.equal(shift.variance, expected)
    cut = get_transform("cutout", "images")
    params = torch.tensor([[0.5, 0.5, 0.5]])
    resp = image_noise_summary(cut, params, n, n, dense=True)
    assert torch.equal(resp.variance, 1.0 - cut.mask(params, n, n)[0].double())     # noise-free square


def test_noise_on_real_cifar_images(cifar_npz):
    data = np.load(cifar_npz)
    x0 = torch.from_numpy(data["x_train"][:64]).permute(0, 3, 1, 2).double() / 127.5 - 1
    sigma = 0.5
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    disc = centre_disc(32)
    for name in ORTHOGONAL + ["rotate", "rotate_nearest"]:
        t = get_transform(name, "images")
        params = (torch.full((64, 1), math.radians(30)) if name.startswith("rotate")
                  else t.sample_params(64, torch.Generator().manual_seed(1)))
        clean, noisy = t.apply(x0, params), t.apply(x0 + sigma * noise, params)
        residual = (noisy - clean) / sigma                                          # = T(n): T is linear
        assert (residual - t.apply(noise, params)).abs().max() < 1e-12
        ratio = residual.var(0, unbiased=False)[..., disc].mean().item()
        if name == "rotate":
            assert abs(ratio - 4 / 9) < 0.03
        else:
            assert abs(ratio - 1) < 0.05
        assert clean.abs().max() <= 1.0                                              # still in [-1, 1]


# --- dtypes, devices -------------------------------------------------------------------------------------
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", NAMES)
def test_dtype_and_device_follow_the_input(name, device):
    t, params = sampled(name, 4, seed=2)
    x64 = images(4, 3, 8, dtype=torch.float64).to(device)
    y64 = t.apply(x64, params.to(device))
    assert y64.dtype == torch.float64 and y64.device.type == device
    y32 = t.apply(x64.float(), params.to(device))
    assert y32.dtype == torch.float32
    assert (y32.double() - y64).abs().max() < (1e-6 if name in EXACT else 1e-5)
    assert t.sample_params(3, device=device).device.type == device


# --- bad input --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_raise(name):
    t = get_transform(name, "images")
    x = images(2)
    params = t.identity_params(2)
    with pytest.raises(ValueError, match="shape"):
        t.apply(x, params[:, :-1] if t.n_params > 1 else params.repeat(1, 2))
    with pytest.raises(ValueError):
        t.apply(x, params[:1])                                              # one row for a batch of two
    bad = params.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        t.apply(x, bad)
    nan_x = x.clone()
    nan_x[1, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        t.apply(nan_x, params)
    with pytest.raises(ValueError, match="dims"):
        t.apply(torch.zeros(2, 2), params)                                  # points, not images
    with pytest.raises(ValueError, match="floating point"):
        t.apply(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), params)
    if not t.invertible:
        with pytest.raises(ValueError, match="not invertible"):
            t.inverse(x, params)


@pytest.mark.parametrize("name, params", [("rot90", [[1.5]]), ("rot90", [[4.0]]), ("xflip", [[0.5]]),
                                          ("yflip", [[2.0]]), ("translate", [[0.5, 1.0]]),
                                          ("translate_circular", [[1.0, -0.2]]), ("cutout", [[1.5, 0.5, 0.5]]),
                                          ("cutout", [[0.2, -0.1, 0.5]])])
def test_out_of_range_parameters_raise(name, params):
    with pytest.raises(ValueError):
        get_transform(name, "images").apply(images(1), torch.tensor(params))


def test_rot90_needs_square_images():
    with pytest.raises(ValueError, match="square"):
        get_transform("rot90", "images").apply(torch.zeros(1, 3, 8, 6), torch.ones(1, 1))
