"""reproduce.orientation: the toolkit's rot90, the mixing correction, the classifier on rotated digits."""
import math

import pytest
import torch

from scoreaug_lab.reproduce.orientation import (corrected_fraction, judged_rotated, train_orientation_classifier,
                                                with_rotations)


def test_rotations_are_the_toolkit_rot90():
    from scoreaug_lab.transforms import get_transform
    x = torch.randn(5, 1, 8, 8)
    rotated, turns = with_rotations(x)
    rot90 = get_transform("rot90", "images")
    for k in range(4):
        block = rotated[turns == k]
        assert torch.equal(block, rot90.apply(x, torch.full((5, 1), float(k))))
    with pytest.raises(ValueError, match="square"):
        with_rotations(torch.zeros(2, 1, 8, 6))


def test_corrected_fraction_inverts_the_mixing():
    false, detected = 0.05, 0.97
    for r in (0.0, 0.375, 1.0):
        assert abs(corrected_fraction(r * detected + (1 - r) * false, false, detected) - r) < 1e-12
    assert math.isnan(corrected_fraction(0.3, 0.5, 0.5))


@pytest.fixture(scope="module")
def orientation_net():
    torch.manual_seed(0)
    from scoreaug_lab.data import load_data
    data = load_data("digits:8", 1497, 300, seed=0)
    return data, train_orientation_classifier(data.train, data.heldout, epochs=3)


def test_orientation_classifier_on_exact_rotations_of_digits(orientation_net):
    data, (net, info) = orientation_net
    assert info["heldout_accuracy"] > 0.9
    rotated, turns = with_rotations(data.heldout)
    assert abs(judged_rotated(net, data.heldout)["judged_rotated"] - info["false_rotated"]) < 1e-12
    assert info["false_rotated"] < 0.12 and info["detected_rotated"] > 0.9
    # a set with a known share of rotated images: 3/8 rotated (k = 1, 2, 3 equally) reads as about 3/8
    mix = torch.cat([rotated[turns == 0][:250], rotated[turns == 1][:50], rotated[turns == 2][:50],
                     rotated[turns == 3][:50]])
    observed = judged_rotated(net, mix)["judged_rotated"]
    assert abs(corrected_fraction(observed, info["false_rotated"], info["detected_rotated"]) - 150 / 400) < 0.06
