"""train.config: defaults by data kind, and bad configurations refused by name."""
import pytest

from scoreaug_lab.train.loop import TrainConfig, train


def test_bad_configs_raise():
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=10, grad_accum=3).validate()
    with pytest.raises(ValueError, match="unknown variant"):
        TrainConfig(variant="foo").validate()
    with pytest.raises(ValueError, match="unknown data spec"):
        train(TrainConfig(data="mnist", steps=1, progress=False))


def test_model_and_transforms_default_by_data_kind():
    assert TrainConfig(data="toy:gmm8").model == "mlp" and TrainConfig(data="toy:gmm8").transforms == "rot90,flip"
    images = TrainConfig(data="digits")
    assert images.model == "unet-tiny" and images.transforms == "brightness,translate,cutout,rot90"
    assert TrainConfig(data="digits", model="dit-s").model == "dit-s"


def test_image_options_are_checked():
    with pytest.raises(ValueError, match="label_dropout needs class_cond"):
        TrainConfig(data="digits", label_dropout=0.1).validate()
    with pytest.raises(ValueError, match="are for image data"):
        TrainConfig(data="toy:gmm8", xflip=True).validate()
    with pytest.raises(ValueError, match="class_cond needs a data set with class labels"):
        train(TrainConfig(data="toy:gmm8", class_cond=True, steps=1, progress=False))
