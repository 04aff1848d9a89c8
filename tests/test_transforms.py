"""transforms (get_transform, parse_transforms): spec strings build transforms with their options."""
import pytest

from scoreaug_lab.transforms import get_transform, parse_transforms


def test_spec_parsing():
    ts = parse_transforms("rot90, flip,scale:max_log=0.25")
    assert [t.name for t in ts] == ["rot90", "flip", "scale"] and ts[2].max_log == 0.25


def test_spec_string_builds_the_transforms_with_their_options():
    ts = parse_transforms("brightness:max_log=0.3,rot90,translate:max_shift=4,cutout:max_size=0.25,"
                          "rotate:max_angle=45,rotate_nearest,geometric:translate_std=0.1", kind="images")
    assert [t.name for t in ts] == ["brightness", "rot90", "translate", "cutout", "rotate", "rotate_nearest",
                                    "geometric"]
    assert ts[0].max_log == 0.3 and ts[2].max_shift == 4 and ts[3].max_size == 0.25
    assert ts[4].max_angle == 45 and ts[4].interpolation == "bilinear"
    assert ts[5].interpolation == "nearest" and ts[6].translate_std == 0.1
    assert get_transform("rotate", "images", interpolation="nearest").name == "rotate_nearest"
    assert "max_shift=4" in repr(ts[2])


@pytest.mark.parametrize("spec", ["translate:max_shift=2.5", "translate:max_shift=-1", "cutout:max_size=2",
                                  "brightness:max_log=-1", "rotate:max_angle=-3", "geometric:scale_std=-1",
                                  "rotate:wobble=1", "zoom"])
def test_bad_options_raise(spec):
    with pytest.raises(ValueError):
        parse_transforms(spec, kind="images")
