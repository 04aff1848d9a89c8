"""reproduce.suite: every budget's run list is its cells x arms x seeds, derived from the budget itself."""
import pytest

from scoreaug_lab.reproduce import BUDGETS, build_runs
from scoreaug_lab.reproduce.suite import ARMS, CLAIM3_ARMS, CLAIM4_ARMS, GRID_ARMS, resolve_size
from scoreaug_lab.train.config import TrainConfig

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
        for key, value in ARMS[r.arm].items():                          # the arm's own settings, resolved
            assert getattr(config, key) == (getattr(budget, value) if key.endswith("prob") else value), key
        shared = {k: v for k, v in r.config.items() if k not in AUGMENTATION_FIELDS}
        by_cell.setdefault((r.n_train, r.capacity, r.seed), []).append(shared)
    for cell, configs in by_cell.items():
        assert all(c == configs[0] for c in configs), f"arms of {cell} differ beyond their augmentation"
