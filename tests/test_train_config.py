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


def test_values_are_canonical_by_declared_type():
    import numpy as np
    from scoreaug_lab.train.config import canonical
    config = TrainConfig(n_train=64.0, weight_decay=0, aug_prob=np.int64(1), steps=np.int32(5), amp=np.bool_(False),
                         keep_best=0, model_kwargs={"width": np.int64(32), "channel_mult": (np.int8(1), 2)})
    assert (config.n_train, config.weight_decay, config.aug_prob, config.steps) == (64, 0.0, 1.0, 5)
    assert [type(v) for v in (config.n_train, config.weight_decay, config.aug_prob, config.steps)] == [int, float,
                                                                                                     float, int]
    assert config.amp is False and config.keep_best is False
    assert config.model_kwargs == {"width": 32, "channel_mult": (1, 2)}
    assert type(config.model_kwargs["width"]) is int and isinstance(config.model_kwargs["channel_mult"], tuple)
    # what is not a form of a valid value is left for validate() to name
    assert canonical({"n_train": 64.5, "aug_prob": "high", "amp": 2, "other": np.float64(0.5)}) == {
        "n_train": 64.5, "aug_prob": "high", "amp": 2, "other": 0.5}


def test_a_value_set_after_construction_is_made_canonical_by_validate():
    config = TrainConfig(steps=1)
    config.n_train = 64.0
    assert config.validate().n_train == 64 and type(config.n_train) is int
    config.n_train = 64.5
    with pytest.raises(ValueError, match="n_train must be a whole number"):
        config.validate()
