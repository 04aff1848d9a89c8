"""plotting: the image grid's layout, checked pixel by pixel against the images it lays out; notebook figures that fit
the output area, and how large their texts are drawn there (text_px, against the PNG the inline backend shows)."""
import io

import matplotlib.pyplot as plt
import pytest
import torch
from PIL import Image

from scoreaug_lab.plotting import INLINE_DPI, MAX_WIDTH_IN, OUTPUT_PX, fit_width, panels, small_texts, text_px


def test_image_grid_layout():
    from scoreaug_lab.plotting import image_grid
    images = torch.linspace(-1, 1, 5 * 3 * 32 * 32).reshape(5, 3, 32, 32)
    grid = image_grid(images, nrow=5, padding=2)
    assert grid.shape == (3, 32 + 4, 5 * 32 + 6 * 2)
    # the first image sits after the padding, mapped from [-1, 1] to [0, 1]
    assert (grid[:, 2:34, 2:34] - (images[0] + 1) / 2).abs().max() < 1e-6
    with pytest.raises(ValueError, match="an image grid needs"):
        image_grid(torch.zeros(2, 2, 8, 8))


def _shown_width_px(fig) -> int:
    """The width of the PNG the inline backend shows (dpi 100, trimmed to the drawn area): the oracle of text_px."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=INLINE_DPI, bbox_inches="tight")
    return Image.open(buffer).size[0]


def test_text_px_is_the_font_size_as_the_notebook_shows_it():
    fig, ax = plt.subplots(figsize=(16, 4))                     # wider than the output area: shown shrunk
    ax.set_title("a 9-point title", fontsize=9)
    shrink = OUTPUT_PX / _shown_width_px(fig)
    assert 0.6 < shrink < 0.8                                     # the drawn area: about 13 of the 16 inches
    sizes = dict((text, px) for px, text in text_px(fig))
    assert abs(sizes["a 9-point title"] - 9 * INLINE_DPI / 72 * shrink) < 0.05          # about 9 px
    assert ("a 9-point title" in [t for _, t in small_texts(fig)])
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 4))                      # narrower: shown at its own size
    ax.set_title("a 9-point title", fontsize=9)
    assert _shown_width_px(fig) < OUTPUT_PX
    assert dict((t, px) for px, t in text_px(fig))["a 9-point title"] == 9 * INLINE_DPI / 72
    assert small_texts(fig) == []
    plt.close(fig)


def test_panels_fit_the_output_area():
    assert fit_width(16, 4.2) == (MAX_WIDTH_IN, 4.2 * MAX_WIDTH_IN / 16) and fit_width(6, 4) == (6, 4)
    fig, axes = panels(1, 4, panel=(4, 4.2), sharey=True)
    for ax in axes:
        ax.set_title("sigma = 0.05", fontsize=9)
    assert axes.shape == (4,) and abs(fig.get_figwidth() - MAX_WIDTH_IN) < 1e-9
    assert _shown_width_px(fig) <= OUTPUT_PX + 2 and small_texts(fig) == []
    plt.close(fig)
