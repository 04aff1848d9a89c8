"""models.base: EDM preconditioning of every image denoiser, read off probes and checked against EDM's rules."""
import pytest
import torch

from scoreaug_lab.diffusion import loss_weight
from scoreaug_lab.models import build_model
from scoreaug_lab.models.unet import UNetDenoiser

from support import batch, make

IMAGE_MODELS = ["unet-tiny", "dit-tiny"]
SHAPES = [(3, 32, 32), (1, 8, 8)]


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
    retyped (the closed forms themselves are proved by sympy in tests/test_symbolic_edm.py)."""
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
