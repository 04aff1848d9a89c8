"""models (build_model, MODELS): the registry, options refused by name, parameter counts on the meta device."""
import pytest
import torch

from scoreaug_lab.models import MODELS, build_model


def test_bad_constructor_options_raise_value_error():
    with pytest.raises(ValueError, match="attn_resolutions"):
        build_model("unet-tiny", (3, 32, 32), attn_resolutions=(12,))
    with pytest.raises(ValueError, match="not divisible by 4"):
        build_model("unet-tiny", (3, 6, 6))
    with pytest.raises(ValueError, match="patch_size"):
        build_model("dit-tiny", (3, 6, 6), patch_size=4)
    with pytest.raises(ValueError, match="num_heads"):
        build_model("dit-tiny", (3, 8, 8), num_heads=5)
    with pytest.raises(ValueError, match="for images"):
        build_model("unet-tiny", (2,))
    with pytest.raises(ValueError, match="bad options"):
        build_model("dit-tiny", (3, 8, 8), not_an_option=1)


def test_registry_and_parameter_counts():
    """Counts on the meta device (no memory)."""
    assert {"unet-tiny", "unet-small", "unet-ddpmpp", "dit-tiny", "dit-s"} <= set(MODELS)
    counts = {}
    with torch.device("meta"):
        for name in ["unet-tiny", "unet-small", "unet-ddpmpp", "dit-tiny", "dit-s"]:
            counts[name] = build_model(name, (3, 32, 32)).n_params
    print({k: f"{v / 1e6:.2f} M" for k, v in counts.items()})
    assert counts["unet-tiny"] == 854_947 and counts["unet-small"] == 6_989_891  # regression pins
    assert 0.5e6 <= counts["dit-tiny"] <= 1e6
    assert 30e6 <= counts["dit-s"] <= 35e6  # DiT-S: about 33 M in the DiT paper
