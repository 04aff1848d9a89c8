"""Image transforms: exact references (torch.rot90, torch.flip, torch.roll), the flags, what they do to
white noise (orthogonal maps keep it exactly; bilinear rotation keeps about 4/9 of its variance),
the sampler, and bad input."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from scoreaug_lab.transforms import TransformSampler, get_transform, parse_transforms, registry
from scoreaug_lab.transforms import IMAGE_TRANSFORMS
from scoreaug_lab.transforms.linear import image_noise_summary, transform_matrix

NAMES = sorted(IMAGE_TRANSFORMS)
EXACT = ["brightness", "translate", "translate_circular", "cutout", "rot90", "xflip", "yflip"]
ORTHOGONAL = ["translate_circular", "rot90", "xflip", "yflip"]
INVERTIBLE = ["brightness", "translate_circular", "rot90", "xflip", "yflip"]
INTERPOLATED = ["rotate", "rotate_nearest", "geometric", "geometric_nearest"]
FAST = settings(max_examples=25, deadline=None)


def images(batch=6, channels=3, size=8, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, channels, size, size, generator=g, dtype=torch.float64) * 2 - 1).to(dtype)


def sampled(name, batch, seed=1, **kwargs):
    t = get_transform(name, "images", **kwargs)
    return t, t.sample_params(batch, torch.Generator().manual_seed(seed))


def centre_disc(size, margin=1.5):
    """(N, N) bool: pixels whose rotated source keeps all bilinear neighbours inside the image."""
    c = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    return (c[:, None] ** 2 + c[None, :] ** 2).sqrt() < size / 2 - margin


# --- registry, options, flags ------------------------------------------------------------------------
def test_spec_string_builds_the_transforms_with_their_options():
    ts = parse_transforms("brightness:max_log=0.3,rot90,translate:max_shift=4,cutout:max_size=0.25,"
                          "rotate:max_angle=45,rotate_nearest,geometric:translate_std=0.1", kind="images")
    assert [t.name for t in ts] == ["brightness", "rot90", "translate", "cutout", "rotate", "rotate_nearest",
                                    "geometric"]
    assert ts[0].max_log == 0.3 and ts[2].max_shift == 4 and ts[3].max_size == 0.25
    assert ts[4].max_angle == 45 and ts[4].interpolation == "bilinear"
    assert ts[5].interpolation == "nearest" and ts[6].translate_std == 0.1
    assert get_transform("rotate", "images", interpolation="nearest").name == "rotate_nearest"
    assert "max_shift=4" in repr(ts[2])


@pytest.mark.parametrize("spec", ["translate:max_shift=2.5", "translate:max_shift=-1", "cutout:max_size=2",
                                  "brightness:max_log=-1", "rotate:max_angle=-3", "geometric:scale_std=-1",
                                  "rotate:wobble=1", "zoom"])
def test_bad_options_raise(spec):
    with pytest.raises(ValueError):
        parse_transforms(spec, kind="images")


def test_unknown_interpolation_raises():
    for name in ("rotate", "geometric"):
        with pytest.raises(ValueError, match="interpolation"):
            get_transform(name, "images", interpolation="bicubic")


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


# --- the sampler, dtypes, devices -----------------------------------------------------------------------
def test_sampler_mixes_transforms_per_sample():
    spec = ("brightness:max_log=0.3,rot90,translate:max_shift=4,cutout,xflip,yflip,translate_circular,"
            "rotate,geometric")
    sampler = TransformSampler(parse_transforms(spec, kind="images"), p=0.8)
    x = images(64, 3, 16)
    draw = sampler.draw(64, torch.Generator().manual_seed(11))
    y, omega = sampler.apply(x, draw), sampler.encode(draw)
    assert omega.shape == (64, sampler.omega_dim) == (64, 1 + 3 + 2 + 1 + 1 + 1 + 2 + 2 + 7)
    assert len(set(draw.choice.tolist())) >= 8
    for b in range(64):
        k = int(draw.choice[b])
        if k < 0:
            assert torch.equal(y[b], x[b]) and torch.equal(omega[b], torch.zeros(sampler.omega_dim))
            continue
        t = sampler.transforms[k]
        assert torch.equal(y[b:b + 1], t.apply(x[b:b + 1], draw.params[k][b:b + 1]))
        slot = torch.zeros(sampler.omega_dim, dtype=torch.bool)
        slot[sampler.slots[k]] = True
        assert torch.equal(omega[b, slot], t.encode(draw.params[k][b:b + 1])[0])
        assert torch.equal(omega[b, ~slot], torch.zeros(int((~slot).sum())))
    inv = TransformSampler(parse_transforms("rot90,xflip,translate_circular,brightness", kind="images"))
    d = inv.draw(64, torch.Generator().manual_seed(12))
    assert (inv.inverse(inv.apply(x, d), d) - x).abs().max() < 1e-6
    assert torch.equal(sampler.apply(x, sampler.identity_draw(64)), x)


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


def test_noise_statistics_take_one_sample():
    rot90, two_rows = get_transform("rot90", "images"), torch.zeros(2, 1)
    with pytest.raises(ValueError, match=r"params must have shape \(B, 1\)"):
        image_noise_summary(rot90, two_rows, 4, 4, dense=True)
    with pytest.raises(ValueError, match=r"params must have shape \(B, 1\)"):
        transform_matrix(rot90, two_rows, (1, 4, 4))
    assert registry("images") is IMAGE_TRANSFORMS
