"""models.dit: the sin-cos position embedding against its closed form; patches round-trip."""
import torch

from scoreaug_lab.models.dit import DiTDenoiser, sincos_position_embedding


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
