"""models.unet: other image sizes, and DDPM++'s parameter counts and layout against EDM's SongUNet."""
import pytest
import torch

from scoreaug_lab.models import build_model


def test_non_square_and_other_power_of_two_sizes():
    for name, shape in [("unet-tiny", (3, 16, 32)), ("dit-tiny", (3, 16, 32)), ("unet-tiny", (1, 64, 64))]:
        model = build_model(name, (3, 32, 32) if shape[0] == 3 else (1, 64, 64))
        x = torch.randn(2, *shape)
        assert model(x, torch.ones(2)).shape == x.shape


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
