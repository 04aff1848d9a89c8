"""transforms.base: the checks every transform makes (shapes, rows, NaN), and amounts to parameters."""
import pytest
import torch

from scoreaug_lab.transforms import TransformSampler, get_transform, parse_transforms


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown points transform 'spin'"):
        get_transform("spin")
    t = get_transform("rotate")
    with pytest.raises(ValueError, match=r"params must have shape \(B, 1\)"):
        t.apply(torch.zeros(3, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="params hold 2 rows"):
        t.apply(torch.zeros(3, 2), torch.zeros(2, 1))
    with pytest.raises(ValueError, match="NaN"):
        t.apply(torch.tensor([[float("nan"), 0.0]]), torch.zeros(1, 1))
    with pytest.raises(ValueError, match="NaN"):
        t.apply(torch.zeros(1, 2), torch.tensor([[float("nan")]]))
    with pytest.raises(ValueError, match="2-D points"):
        t.apply(torch.zeros(3, 3), torch.zeros(3, 1))
    with pytest.raises(ValueError, match="inverse does not exist"):
        get_transform("tanh").inverse(torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0]]))
    with pytest.raises(ValueError, match="integer"):
        get_transform("rot90").apply(torch.zeros(1, 2), torch.tensor([[1.5]]))
    with pytest.raises(ValueError, match="key=value"):
        parse_transforms("scale:0.3")
    with pytest.raises(ValueError, match="bad options"):
        parse_transforms("scale:nonsense=1")
    with pytest.raises(ValueError, match="probability"):
        TransformSampler([t], p=1.5)


def test_params_at_maps_amounts_to_parameters():
    assert get_transform("scale", max_log=0.5).params_at(0.5).item() == pytest.approx(0.25)
    assert get_transform("translate", max_shift=0.8).params_at(-1).tolist() == [[pytest.approx(-0.8), 0.0]]
    assert get_transform("rot90").params_at(1.0).item() == 3
    assert get_transform("flip").params_at(0.2).item() == 0
    with pytest.raises(ValueError, match="amount"):
        get_transform("scale").params_at(1.5)
