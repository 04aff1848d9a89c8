"""plotting: the image grid's layout, checked pixel by pixel against the images it lays out."""
import pytest
import torch


def test_image_grid_layout():
    from scoreaug_lab.plotting import image_grid
    images = torch.linspace(-1, 1, 5 * 3 * 32 * 32).reshape(5, 3, 32, 32)
    grid = image_grid(images, nrow=5, padding=2)
    assert grid.shape == (3, 32 + 4, 5 * 32 + 6 * 2)
    # the first image sits after the padding, mapped from [-1, 1] to [0, 1]
    assert (grid[:, 2:34, 2:34] - (images[0] + 1) / 2).abs().max() < 1e-6
    with pytest.raises(ValueError, match="an image grid needs"):
        image_grid(torch.zeros(2, 2, 8, 8))
