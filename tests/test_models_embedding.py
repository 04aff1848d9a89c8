"""models.embedding: omega = 0 is bit for bit no omega; labels condition the output; dropped is no label."""
import pytest
import torch

from scoreaug_lab.models import drop_labels, labels_to_onehot

from support import batch, make

IMAGE_MODELS = ["unet-tiny", "dit-tiny"]


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


@pytest.mark.parametrize("name", ["unet-tiny", "dit-tiny", "mlp"])
def test_the_omega_layer_draws_from_its_own_stream(name):
    """Under one seed a model with omega and one without start from the same weights in every layer they share
    (the omega layer consumes none of the global stream); the omega weights follow the seed and keep torch's
    Kaiming-uniform bound 1/sqrt(fan_in)."""
    from scoreaug_lab.models import build_model
    shape = (2,) if name == "mlp" else (1, 8, 8)
    built = {}
    for seed in (0, 1):
        for omega_dim in (0, 5):
            torch.manual_seed(seed)
            built[(seed, omega_dim)] = build_model(name, shape, omega_dim=omega_dim).state_dict()
            built[(seed, omega_dim, "after")] = torch.rand(3)          # the global stream after building
    for seed in (0, 1):
        plain, with_omega = built[(seed, 0)], built[(seed, 5)]
        assert set(with_omega) - set(plain) == {"embed.omega.weight"}
        assert all(torch.equal(plain[k], with_omega[k]) for k in plain)
        assert torch.equal(built[(seed, 0, "after")], built[(seed, 5, "after")])
        w = with_omega["embed.omega.weight"]
        assert w.abs().max() <= 1 / 5 ** 0.5 and w.std() > 0.05
    assert not torch.equal(built[(0, 5)]["embed.omega.weight"], built[(1, 5)]["embed.omega.weight"])
