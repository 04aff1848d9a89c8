"""course.lessons: each notebook's runs (valid, shared where they should be), whatever SCOREAUG_SIZE says."""
from pathlib import Path

import pytest

from scoreaug_lab.course import lessons
from scoreaug_lab.runs.store import config_key

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def test_lessons_list_each_notebooks_runs():
    for number, cls in lessons.LESSONS.items():
        lesson = lessons.get(number, "test")
        assert lessons.get(cls.notebook, "test").notebook == cls.notebook
        assert (NOTEBOOKS / f"{cls.notebook}.ipynb").is_file()
        for config in lesson.configs():
            config.validate()
    teach, test = lessons.get("04", "teach"), lessons.get("04", "test")
    assert len(teach.toy_configs()) == 18 and len(test.toy_configs()) == 4
    # notebook 04's explorer run is its sweep's (64 points, seed 0) at teaching size; 05 reuses 04's digits runs
    assert config_key(teach.explorer_config()) in {config_key(c) for c in teach.toy_configs().values()}
    assert {config_key(c) for c in lessons.get("05", "teach").digit_configs(["noaug"]).values()} <= \
        {config_key(c) for c in teach.digit_configs().values()}
    assert lessons.get("02").configs() == [] and lessons.get("03").configs() == []
    with pytest.raises(ValueError, match="unknown notebook"):
        lessons.get("09")


def test_a_lessons_runs_depend_on_its_size_only(monkeypatch):
    """`prepare --size S` and a notebook at SCOREAUG_SIZE=S ask for the same runs, whatever the environment says."""
    for size in ("teach", "test"):
        keys = {}
        for env in ("teach", "test"):
            monkeypatch.setenv("SCOREAUG_SIZE", env)
            keys[env] = [config_key(c) for n in lessons.LESSONS for c in lessons.get(n, size).configs()]
            keys[env] += [" ".join(c) for c in lessons.get("06", size).commands("/store")]
        assert keys["teach"] == keys["test"], size
