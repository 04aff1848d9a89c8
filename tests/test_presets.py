"""presets: toy_config gives the settings the explorers and notebooks built by hand (the same run-store keys)."""
from scoreaug_lab.lab.leakage import leak_configs
from scoreaug_lab.presets import TOY_TRAINING, toy_config
from scoreaug_lab.runs.store import config_key
from scoreaug_lab.train.config import TrainConfig

TINY = dict(width=16, depth=1, fourier_features=4)


def test_widget_recipes_are_the_notebook_settings():
    """presets.toy_config gives the settings the explorers and notebooks 04/05/07 built by hand before (same
    config key, so stored runs are reused)."""
    old_overfit = TrainConfig(**TOY_TRAINING, data="toy:gmm8", n_train=64, variant="noaug", transforms="auto",
                              aug_prob=0.5, model_kwargs=TINY, steps=40, seed=2, data_seed=2, log_every=1,
                              ckpt_every=40, eval_every=4)
    assert config_key(toy_config("noaug", "rotate", 64, seed=2, data_seed=2, steps=40,
                                 model_kwargs=TINY)) == config_key(old_overfit)
    for pair, variants in (("clean", ("clean", "clean-omega")), ("noisy", ("noisy", "scoreaug"))):
        old = [TrainConfig(**TOY_TRAINING, data="toy:moons", n_train=64, transforms="scale:max_log=0.693",
                           aug_prob=1.0, model_kwargs=TINY, steps=20, seed=0, log_every=1, ckpt_every=20,
                           variant=v) for v in variants]
        new = leak_configs(pair, "scale:max_log=0.693", n_train=64, steps=20, model_kwargs=TINY)
        assert [config_key(c) for c in new] == [config_key(c) for c in old]
