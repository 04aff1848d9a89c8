"""transforms.linear: the fast noise statistics equal the dense matrix's, which wide transforms fall back to."""
import pytest
import torch

from scoreaug_lab.transforms import IMAGE_TRANSFORMS, get_transform, registry
from scoreaug_lab.transforms.images import ImageTransform
from scoreaug_lab.transforms.linear import image_noise_summary, transform_matrix


@pytest.mark.parametrize("name", sorted(registry("images")))
def test_fast_noise_statistics_equal_the_dense_matrix(name):
    t = get_transform(name, "images")
    g = torch.Generator().manual_seed(3)
    for _ in range(3):
        params = t.sample_params(1, g).double()
        h, w = (16, 16) if name == "rot90" else (16, 12)                       # rot90 needs squares
        fast = image_noise_summary(t, params, h, w)
        full = image_noise_summary(t, params, h, w, dense=True)
        assert fast.method == "probes" and full.method == "dense"
        assert (fast.variance - full.variance).abs().max() < 1e-12
        assert (fast.corr_right - full.corr_right).abs().max() < 1e-12
        assert (fast.corr_down - full.corr_down).abs().max() < 1e-12
        assert fast.partial_isometry == full.partial_isometry


class BoxBlur(ImageTransform):
    """A 3x3 box blur (zero padded): linear, support wider than 2x2, so the probes must be refused."""

    name, n_params, omega_dim = "box_blur", 1, 1
    linear = affine = True

    def _sample(self, batch, generator, device):
        return torch.zeros(batch, 1)

    def _apply(self, x, params):
        kernel = torch.full((1, 1, 3, 3), 1 / 9, dtype=x.dtype)
        c = x.shape[1]
        return torch.nn.functional.conv2d(x, kernel.expand(c, 1, 3, 3), padding=1, groups=c)

    def encode(self, params):
        return params.clone()


def test_noise_statistics_fall_back_to_the_dense_matrix_for_wide_transforms():
    t = BoxBlur()
    fast = image_noise_summary(t, torch.zeros(1, 1), 8, 8)
    full = image_noise_summary(t, torch.zeros(1, 1), 8, 8, dense=True)
    assert fast.method == "dense"
    assert (fast.variance - full.variance).abs().max() < 1e-12
    assert abs(fast.variance[3, 3].item() - 1 / 9) < 1e-12        # interior: 9 weights of 1/9


def test_noise_statistics_take_one_sample():
    rot90, two_rows = get_transform("rot90", "images"), torch.zeros(2, 1)
    with pytest.raises(ValueError, match=r"params must have shape \(B, 1\)"):
        image_noise_summary(rot90, two_rows, 4, 4, dense=True)
    with pytest.raises(ValueError, match=r"params must have shape \(B, 1\)"):
        transform_matrix(rot90, two_rows, (1, 4, 4))
    assert registry("images") is IMAGE_TRANSFORMS
