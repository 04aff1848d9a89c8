"""reproduce.suite: every budget's run list is its cells x arms x seeds, derived from the budget itself."""
import pytest
import torch

from scoreaug_lab.reproduce import BUDGETS, build_runs
from scoreaug_lab.reproduce.suite import (CLAIM3_ARMS, CLAIM4_ARMS, GRID_ARMS, arm_settings, geometric_spec,
                                          resolve_size, stage_probability)
from scoreaug_lab.train.config import TrainConfig
from scoreaug_lab.train.distributed import detect
from scoreaug_lab.train.loop import Trainer

AUGMENTATION_FIELDS = {"variant", "transforms", "aug_prob", "clean_transforms", "clean_aug_prob"}


@pytest.mark.parametrize("name", list(BUDGETS))
def test_every_cell_of_the_budget_is_run_once_per_arm_and_seed(name):
    """The run list is the budget's cells x arms x seeds (derived here from the budget itself), each run once;
    within a cell and a seed the arms differ in their augmentation only (the same data, model, steps, seed)."""
    budget = BUDGETS[name]
    runs = build_runs(budget)
    assert len({r.name for r in runs}) == len(runs)
    cells = budget.main
    wanted = {(resolve_size(cells.data, n), c.label, arm) for n in cells.sizes for c in cells.capacities
              for arm in GRID_ARMS}
    for arms, (size, label) in ((CLAIM3_ARMS, budget.claim3_cell), (CLAIM4_ARMS, budget.claim4_cell)):
        wanted |= {(resolve_size(cells.data, size), label, arm) for arm in arms}
    got = {(r.n_train, r.capacity, r.arm, r.seed) for r in runs}
    assert got == {(*cell, seed) for cell in wanted for seed in budget.seeds}
    caps = {c.label: c for c in cells.capacities}
    by_cell = {}
    for r in runs:
        config = TrainConfig.from_dict({**r.config, "out": None})
        config.validate()
        assert (config.model, config.model_kwargs) == (caps[r.capacity].model, caps[r.capacity].model_kwargs)
        assert config.seed == config.data_seed == r.seed and config.steps == cells.steps
        for key, value in arm_settings(budget, cells.data, r.arm).items():     # the arm's own settings
            assert getattr(config, key) == value, key
        shared = {k: v for k, v in r.config.items() if k not in AUGMENTATION_FIELDS}
        by_cell.setdefault((r.n_train, r.capacity, r.seed), []).append(shared)
    for cell, configs in by_cell.items():
        assert all(c == configs[0] for c in configs), f"arms of {cell} differ beyond their augmentation"


def test_augmentation_strengths_are_scaled_and_matched():
    """Digits shift by 1 pixel of 8; EDM's clean-space operations each on with p_each so that an image changes
    with the stated probability; the combined arm's two stages leave an image untouched as often as one arm."""
    budget = BUDGETS["cpu"]
    assert "translate:max_shift=1" in arm_settings(budget, "digits:8", "scoreaug")["transforms"]
    assert "max_shift" not in arm_settings(budget, "cifar10", "scoreaug")["transforms"]      # 4 of 32, the default
    p_each = float(geometric_spec(0.5).split("p_each=")[1])
    assert abs(1 - (1 - p_each) ** 4 - 0.5) < 1e-5
    combined = arm_settings(budget, "digits:8", "combined")
    clean_each = float(combined["clean_transforms"].split("p_each=")[1])
    untouched = (1 - combined["aug_prob"]) * (1 - clean_each) ** 4
    assert abs(untouched - (1 - budget.aug_prob)) < 1e-5 and abs(stage_probability(0.5) - (1 - 0.5 ** 0.5)) < 1e-12


def _trainers(budget, cell_size, capacity, arms, seed=0):
    cells = budget.main
    cap = next(c for c in cells.capacities if c.label == capacity)
    n = resolve_size(cells.data, cell_size)
    runs = {r.arm: r for r in build_runs(budget) if (r.n_train, r.capacity, r.seed) == (n, capacity, seed)}
    return {arm: Trainer(TrainConfig.from_dict({**runs[arm].config, "out": None}), detect(), torch.device("cpu"))
            for arm in arms}


def test_arms_of_one_seed_share_weights_batches_sigma_and_noise():
    """Common random numbers on the cpu budget's claim-4 cell (every augmented kind of arm but rot90): the layers
    the arms share start identical, and at step k every arm draws the same batch indices, sigma and noise."""
    budget = BUDGETS["cpu"]
    trainers = _trainers(budget, budget.claim4_cell[0], budget.claim4_cell[1],
                         ("noaug", "scoreaug", "clean-geometric", "combined"))
    base = trainers["noaug"].model.state_dict()
    for arm, trainer in trainers.items():
        weights = trainer.model.state_dict()
        assert set(weights) - set(base) <= {"embed.omega.weight"}, arm     # the omega layer is the only extra
        assert all(torch.equal(base[k], weights[k]) for k in base), arm
    draws = {arm: [t.draw_batch() for _ in range(3)][-1] for arm, t in trainers.items()}    # step 3
    for arm, (idx, _, randomness, _) in draws.items():
        ref_idx, _, ref, _ = draws["noaug"]
        assert torch.equal(idx, ref_idx) and torch.equal(randomness.sigma, ref.sigma), arm
        assert torch.equal(randomness.noise, ref.noise), arm
        assert (randomness.transform_draw is None) == (arm == "noaug")


def test_an_arm_that_never_augments_trains_like_the_baseline():
    """End to end: ScoreAug at p = 0 (omega always 0, so its omega layer gets no gradient) takes the same steps
    as no augmentation, to rounding (the gradient norm sums one more, zero, tensor)."""
    budget = BUDGETS["smoke"]
    trainers = _trainers(budget, 16, "c4", ("noaug", "scoreaug"))
    still = trainers["scoreaug"]
    still.setup.sampler.p = 0.0
    for trainer in trainers.values():
        net = trainer.model
        for step in range(1, 6):
            trainer.set_learning_rate(step)
            trainer.train_step(net, None, step)
    a, b = trainers["noaug"].model.state_dict(), still.model.state_dict()
    assert all(torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-6) for k in a)
    assert not torch.equal(trainers["noaug"].model.state_dict()["conv_in.weight"],
                           _trainers(budget, 16, "c4", ("noaug",))["noaug"].model.state_dict()["conv_in.weight"])
