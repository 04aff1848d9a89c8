"""transforms.sampler: one transform per sample (counted), coded in its own omega slot, undone by inverse."""
import torch

from scoreaug_lab.transforms import TransformSampler, parse_transforms

from support import _points, images


def test_sampler_draws_one_transform_per_sample_and_codes_it():
    sampler = TransformSampler(parse_transforms("rot90,scale,translate"), p=0.8)
    g = torch.Generator().manual_seed(0)
    draw = sampler.draw(20_000, g)
    frac_identity = (draw.choice == -1).float().mean().item()
    assert abs(frac_identity - 0.2) < 0.02
    counts = torch.bincount(draw.choice[draw.choice >= 0], minlength=3).float() / 20_000
    assert (counts - 0.8 / 3).abs().max() < 0.02
    x = _points(20_000).float()
    y = sampler.apply(x, draw)
    omega = sampler.encode(draw)
    assert omega.shape == (20_000, 3 + 1 + 2)
    ident = draw.choice == -1
    assert torch.equal(y[ident], x[ident]) and (omega[ident] == 0).all()
    # each sample's omega lives in its own transform's slot only
    for k, sl in enumerate(sampler.slots):
        others = (draw.choice != k)
        assert (omega[others][:, sl] == 0).all()
    assert torch.allclose(sampler.inverse(y, draw), x, atol=1e-5)


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
