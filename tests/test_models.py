"""Image denoisers (U-Net, DiT): calling convention, conditioning, preconditioning, shapes, registry."""
from __future__ import annotations

import pytest
import torch

from scoreaug_lab.diffusion import loss_weight
from scoreaug_lab.models import MODELS, build_model, drop_labels, labels_to_onehot
from scoreaug_lab.models.dit import DiTDenoiser, sincos_position_embedding
from scoreaug_lab.models.unet import UNetDenoiser

IMAGE_MODELS = ["unet-tiny", "dit-tiny"]
SHAPES = [(3, 32, 32), (1, 8, 8)]


def randomise(model: torch.nn.Module, seed: int = 0, std: float = 0.05) -> torch.nn.Module:
    """Fill the zero-initialised parameters (output layers, adaLN-Zero, biases) with small Gaussian
    noise: left at zero they would hide the effect of omega and labels on the output."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * std)
    return model


def make(name, shape, seed=0, **kw):
    torch.manual_seed(seed)
    return randomise(build_model(name, shape, **kw), seed).eval()


def batch(shape, b=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, *shape, generator=g)
    sigma = torch.exp(torch.randn(b, generator=g) * 1.2 - 1.2)
    return x, sigma


@pytest.mark.parametrize("name", IMAGE_MODELS)
@pytest.mark.parametrize("shape", SHAPES)
def test_forward_backward_cpu(name, shape):
    torch.manual_seed(0)
    model = build_model(name, shape, omega_dim=3, label_dim=10)  # default init (zero output layers)
    x, sigma = batch(shape)
    omega = torch.randn(4, 3)
    out = model(x, sigma, omega=omega, labels=torch.tensor([0, 3, 9, 1]))
    assert out.shape == x.shape and torch.isfinite(out).all()
    (out.square().mean()).backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    # The zero-initialised output layer receives a gradient, so training can start.
    last = model.conv_out if isinstance(model, UNetDenoiser) else model.out
    assert last.weight.grad.abs().max() > 0


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_omega_zero_is_bit_identical_to_no_omega(name):
    model = make(name, (3, 16, 16), omega_dim=5)
    x, sigma = batch((3, 16, 16))
    with torch.no_grad():
        plain = model(x, sigma)
        zero = model(x, sigma, omega=torch.zeros(4, 5))
        other = model(x, sigma, omega=torch.randn(4, 5))
    assert torch.equal(plain, zero)
    assert (other - plain).abs().max() > 1e-4  # omega does reach the output


@pytest.mark.parametrize("name, options", [(name, {}) for name in IMAGE_MODELS]
                         + [("unet-tiny", {"label_bias": True})])
def test_labels_condition_the_output(name, options):
    """With a biased label layer (unet-ddpmpp's), labels=None is the zero row: the bias alone."""
    model = make(name, (1, 8, 8), label_dim=10, **options)
    x, sigma = batch((1, 8, 8))
    idx = torch.tensor([0, 3, 7, 9])
    with torch.no_grad():
        unlabelled = model(x, sigma)
        by_index = model(x, sigma, labels=idx)
        by_onehot = model(x, sigma, labels=labels_to_onehot(idx, 10))
        shifted = model(x, sigma, labels=(idx + 1) % 10)
        zero_rows = model(x, sigma, labels=torch.zeros(4, 10))
        dropped = model(x, sigma, labels=drop_labels(labels_to_onehot(idx, 10), 1.0))
    assert torch.equal(by_index, by_onehot)
    assert torch.equal(zero_rows, unlabelled) and torch.equal(dropped, unlabelled)
    per_sample = (by_index - shifted).flatten(1).abs().amax(dim=1)
    assert (per_sample > 1e-4).all()
    assert (by_index - unlabelled).abs().max() > 1e-4


def test_drop_labels_zeroes_whole_rows_reproducibly():
    onehot = labels_to_onehot(torch.arange(1000) % 10, 10)
    assert torch.equal(drop_labels(onehot, 0.0, torch.Generator().manual_seed(0)), onehot)
    assert torch.equal(drop_labels(onehot, 1.0), torch.zeros_like(onehot))
    a = drop_labels(onehot, 0.3, torch.Generator().manual_seed(5))
    b = drop_labels(onehot, 0.3, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    kept = a.sum(dim=1)
    assert set(kept.tolist()) <= {0.0, 1.0}
    assert torch.equal(a[kept == 1], onehot[kept == 1])
    # Binomial(1000, 0.3) dropped: mean 300, sd 14.5; 5 sd either side.
    assert 227 < int((kept == 0).sum()) < 373
    with pytest.raises(ValueError, match="probability"):
        drop_labels(onehot, 1.5)
    with pytest.raises(ValueError, match="one-hot"):
        drop_labels(torch.arange(4), 0.1)


def probe_coefficients(model, sigma, shape):
    """(c_skip, c_out, c_in, c_noise), each (B,), read off model.forward with `raw` replaced by probes:
    x = 1, F = 0 gives D = c_skip; x = 0, F = 1 gives D = c_out; F sees x_in = c_in and c_noise."""
    seen = {}

    def probe(value):
        def raw(x_in, c_noise, omega, labels):
            seen.update(c_in=x_in.flatten(1)[:, 0], c_noise=c_noise)
            return torch.full_like(x_in, value)
        return raw

    ones = torch.ones(sigma.shape[0], *shape, dtype=sigma.dtype)
    with torch.no_grad():
        model.raw = probe(0.0)
        c_skip = model(ones, sigma).flatten(1)[:, 0]
        model.raw = probe(1.0)
        c_out = model(torch.zeros_like(ones), sigma).flatten(1)[:, 0]
        model(ones, sigma)
    del model.raw  # back to the class's method
    return c_skip, c_out, seen["c_in"], seen["c_noise"]


def test_preconditioning_meets_edm_requirements():
    """EDM (Karras et al. 2022, App. B.6) asks of the coefficients, for data of variance sd^2:
    unit-variance network input, c_in^2 (s^2 + sd^2) = 1; unit-variance training target,
    c_out^2 = (1 - c_skip)^2 sd^2 + c_skip^2 s^2; c_skip minimising that variance (so c_out),
    c_skip s^2 = (1 - c_skip) sd^2; and c_noise = ln(s) / 4. Checked in float64 on a probe, no formula
    retyped (the closed forms themselves are proved by sympy in tests/test_symbolic.py)."""
    sd = 0.5
    model = build_model("unet-tiny", (1, 8, 8)).double()
    s = torch.logspace(-3, 2, 11, dtype=torch.float64)  # 0.001 ... 100
    c_skip, c_out, c_in, c_noise = probe_coefficients(model, s, (1, 8, 8))
    assert (c_in**2 * (s**2 + sd**2) - 1).abs().max() < 1e-12
    assert ((c_out**2 - ((1 - c_skip) ** 2 * sd**2 + c_skip**2 * s**2)) / c_out**2).abs().max() < 1e-12
    assert (c_skip * s**2 - (1 - c_skip) * sd**2).abs().max() < 1e-12
    assert (c_out > 0).all() and (c_noise.exp() ** 4 / s - 1).abs().max() < 1e-12


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_preconditioning(name):
    """Every model wraps its raw network the same way: D = c_skip x + c_out F(c_in x; c_noise, omega),
    with the coefficients read off the probe (whose values the test above checks)."""
    model = make(name, (3, 16, 16), omega_dim=2)
    x, sigma = batch((3, 16, 16))
    omega = torch.randn(4, 2)
    coefficients = probe_coefficients(model, sigma, (3, 16, 16))
    c_skip, c_out, c_in, c_noise = (c[:, None, None, None] for c in coefficients)  # each (B, 1, 1, 1)
    with torch.no_grad():
        raw = model.raw(c_in * x, c_noise.flatten(), omega, None)
        full = model(x, sigma, omega=omega)
        assert (full - (c_skip * x + c_out * raw)).abs().max() < 1e-6


def test_fresh_models_start_as_the_skip_connection():
    """Zero-initialised output layers: an untrained model is D = c_skip x (EDM's starting point); c_skip
    read off the probe (checked against EDM's requirements above)."""
    for name in IMAGE_MODELS:
        torch.manual_seed(0)
        model = build_model(name, (1, 8, 8))
        x, sigma = batch((1, 8, 8))
        c_skip = probe_coefficients(model, sigma, (1, 8, 8))[0]
        assert (model(x, sigma) - c_skip[:, None, None, None] * x).abs().max() < 1e-6


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_channels_last_gives_the_same_outputs(name):
    model = make(name, (3, 16, 16), omega_dim=2, label_dim=10)
    x, sigma = batch((3, 16, 16))
    omega, labels = torch.randn(4, 2), torch.tensor([1, 2, 3, 4])
    with torch.no_grad():
        reference = model(x, sigma, omega=omega, labels=labels)
        model = model.to(memory_format=torch.channels_last)
        out = model(x.contiguous(memory_format=torch.channels_last), sigma, omega=omega, labels=labels)
    assert (out - reference).abs().max() < 1e-5


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_torch_compile_traces_without_graph_breaks(name):
    """fullgraph=True fails on any graph break; the 'eager' backend needs no C++ compiler."""
    model = make(name, (1, 8, 8), omega_dim=2, label_dim=10)
    x, sigma = batch((1, 8, 8))
    omega, labels = torch.randn(4, 2), torch.tensor([1, 2, 3, 4])
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    with torch.no_grad():
        got = compiled(x, sigma, omega=omega, labels=labels)
        expected = model(x, sigma, omega=omega, labels=labels)
    assert (got - expected).abs().max() < 1e-6


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_bad_shapes_raise_value_error(name):
    model = build_model(name, (3, 32, 32), omega_dim=2, label_dim=10)
    sigma = torch.ones(2)
    with pytest.raises(ValueError, match=r"expects images \(B, 3, H, W\)"):
        model(torch.randn(2, 1, 32, 32), sigma)
    with pytest.raises(ValueError, match=r"expects images"):
        model(torch.randn(2, 3, 32), sigma)
    with pytest.raises(ValueError, match="not divisible"):
        model(torch.randn(2, 3, 31, 32), sigma)
    with pytest.raises(ValueError, match="omega must have shape"):
        model(torch.randn(2, 3, 32, 32), sigma, omega=torch.zeros(2, 3))
    with pytest.raises(ValueError, match="class labels must lie in"):
        model(torch.randn(2, 3, 32, 32), sigma, labels=torch.tensor([0, 10]))
    with pytest.raises(ValueError, match="sigma must be"):
        model(torch.randn(2, 3, 32, 32), torch.ones(3))


def test_non_square_and_other_power_of_two_sizes():
    for name, shape in [("unet-tiny", (3, 16, 32)), ("dit-tiny", (3, 16, 32)), ("unet-tiny", (1, 64, 64))]:
        model = build_model(name, (3, 32, 32) if shape[0] == 3 else (1, 64, 64))
        x = torch.randn(2, *shape)
        assert model(x, torch.ones(2)).shape == x.shape


def test_bad_constructor_options_raise_value_error():
    with pytest.raises(ValueError, match="attn_resolutions"):
        build_model("unet-tiny", (3, 32, 32), attn_resolutions=(12,))
    with pytest.raises(ValueError, match="not divisible by 4"):
        build_model("unet-tiny", (3, 6, 6))
    with pytest.raises(ValueError, match="patch_size"):
        build_model("dit-tiny", (3, 6, 6), patch_size=4)
    with pytest.raises(ValueError, match="num_heads"):
        build_model("dit-tiny", (3, 8, 8), num_heads=5)
    with pytest.raises(ValueError, match="for images"):
        build_model("unet-tiny", (2,))
    with pytest.raises(ValueError, match="bad options"):
        build_model("dit-tiny", (3, 8, 8), not_an_option=1)


def test_registry_and_parameter_counts():
    """Counts on the meta device (no memory)."""
    assert {"unet-tiny", "unet-small", "unet-ddpmpp", "dit-tiny", "dit-s"} <= set(MODELS)
    counts = {}
    with torch.device("meta"):
        for name in ["unet-tiny", "unet-small", "unet-ddpmpp", "dit-tiny", "dit-s"]:
            counts[name] = build_model(name, (3, 32, 32)).n_params
    print({k: f"{v / 1e6:.2f} M" for k, v in counts.items()})
    assert counts["unet-tiny"] == 854_947 and counts["unet-small"] == 6_989_891  # regression pins
    assert 0.5e6 <= counts["dit-tiny"] <= 1e6
    assert 30e6 <= counts["dit-s"] <= 35e6  # DiT-S: about 33 M in the DiT paper


def test_ddpmpp_has_edms_parameter_count():
    """EDM's SongUNet for CIFAR-10 (DDPM++, Karras et al. 2022) has 55,732,739 parameters unconditional.
    Labels: + Linear(10 -> 128) with bias = 10*128 + 128 = 1,408 -> 55,734,147.
    omega (EDM's augment_dim = 9): + bias-free Linear(9 -> 128) = 9*128 = 1,152 -> 55,733,891.
    Both: 55,732,739 + 1,408 + 1,152 = 55,735,299."""
    counts = {}
    with torch.device("meta"):
        for omega_dim, label_dim in [(0, 0), (0, 10), (9, 0), (9, 10)]:
            model = build_model("unet-ddpmpp", (3, 32, 32), omega_dim=omega_dim, label_dim=label_dim)
            counts[omega_dim, label_dim] = model.n_params
    assert counts == {(0, 0): 55_732_739, (0, 10): 55_734_147, (9, 0): 55_733_891, (9, 10): 55_735_299}


def test_ddpmpp_layout():
    """The EDM CIFAR-10 layout: attention at 16x16 in the encoder (4 blocks) and decoder (1), and the middle."""
    with torch.device("meta"):
        model = build_model("unet-ddpmpp", (3, 32, 32))
    attn_enc = sum(b.attn is not None for b in model.enc)
    attn_dec = sum(b.attn is not None for b in model.dec)
    assert (attn_enc, attn_dec, model.mid[0].attn is not None) == (4, 1, True)
    assert len(model.enc) == 3 * 4 + 2 and len(model.dec) == 3 * 5 + 2
    # conv_in is 128 wide; level 0's first block widens it to 256 (1x1 skip), the last decoder block
    # reads cat(256, conv_in's 128 skip) = 384 channels.
    first, last = model.enc[0], model.dec[-1]
    assert (model.conv_in.out_channels, first.conv0.in_channels, first.conv0.out_channels) == (128, 128, 256)
    assert first.skip is not None and last.conv0.in_channels == 384
    assert all(b.dropout.p == pytest.approx(0.13) for b in [*model.enc, *model.mid, *model.dec])


def test_sincos_position_embedding_closed_form():
    emb = sincos_position_embedding(3, 4, 8)  # (12, 8): [sin r, sin r/100, cos r, cos r/100, same for c]
    rows = torch.arange(3.0).repeat_interleave(4)
    cols = torch.arange(4.0).repeat(3)
    freqs = torch.tensor([1.0, 0.01])
    expected = torch.cat([(rows[:, None] * freqs).sin(), (rows[:, None] * freqs).cos(),
                          (cols[:, None] * freqs).sin(), (cols[:, None] * freqs).cos()], dim=1)
    assert (emb - expected).abs().max() < 1e-6


def test_dit_patches_round_trip():
    """Patchify then unpatchify with matching identity maps returns every pixel to its place."""
    p, ch = 2, 2
    model = DiTDenoiser(in_channels=ch, img_resolution=8, patch_size=p, hidden=p * p * ch, depth=1, num_heads=2)
    model.blocks = torch.nn.ModuleList()
    model.norm_out = torch.nn.Identity()
    # Token channel k reads pixel (c, i, j), k = c p^2 + i p + j (the conv weight's order); the output
    # layer writes pixel (c, i, j) to index i p C + j C + c (unpatchify's order).
    perm = torch.zeros(p * p * ch, p * p * ch)
    for c in range(ch):
        for i in range(p):
            for j in range(p):
                perm[i * p * ch + j * ch + c, c * p * p + i * p + j] = 1.0
    with torch.no_grad():
        model.patchify.weight.copy_(torch.eye(p * p * ch).view(p * p * ch, ch, p, p))
        model.out.weight.copy_(perm)
        x = torch.randn(3, ch, 8, 8)
        c_noise = torch.zeros(3)
        # Everything left is linear: subtracting the zero image's output removes the position embedding.
        out = model.raw(x, c_noise, None, None) - model.raw(torch.zeros_like(x), c_noise, None, None)
    assert (out - x).abs().max() < 1e-6


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_tiny_model_overfits_one_batch(name):
    """Fixed images, noise and sigmas: 50 Adam steps cut the EDM-weighted loss at least 20-fold."""
    torch.manual_seed(0)
    model = build_model(name, (1, 8, 8))
    g = torch.Generator().manual_seed(3)
    x0 = torch.rand(8, 1, 8, 8, generator=g) * 2 - 1
    sigma = torch.exp(torch.linspace(-2.0, 1.0, 8))
    noisy = x0 + sigma[:, None, None, None] * torch.randn(x0.shape, generator=g)
    weight = loss_weight(sigma)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(50):
        loss = (weight * (model(noisy, sigma) - x0).square().flatten(1).mean(1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0], (losses[0], losses[-1])
