"""widgets.transform_explorer_base: both transform explorers survive 1,000 random changes."""
import pytest

from scoreaug_lab.widgets import ImageTransformExplorer, PointTransformExplorer

from support import fuzz


@pytest.mark.slow
def test_transform_explorers_survive_a_thousand_random_changes():
    fuzz(ImageTransformExplorer(data="digits", digits_size=8, cifar_path=False, n_train=12, n_noise_draws=2), 1000,
         seed=1)
    fuzz(PointTransformExplorer(n_train=12, n_points=32, n_noise_draws=2), 1000, seed=4)
