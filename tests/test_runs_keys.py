"""Run-store keys (runs.keys.config_key): the keys of every config the project uses never change (prepared stores
and the committed reports in reports/ name their runs by them), and equal configs share one key whatever form
their values take (int or float, numpy or Python).

tests/data/config_keys.json holds the keys computed by the implementation before values were made canonical
(commit 19376f6); regenerate it only for a change of keys that is meant (and then rebuild every store)."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoreaug_lab.course.lessons import LESSONS
from scoreaug_lab.presets import PRESETS, SIZES, digits_config, get_preset, mixture_config, toy_config
from scoreaug_lab.reproduce.suite import BUDGETS, build_runs
from scoreaug_lab.runs.keys import KEY_EXCLUDES, config_key, digest
from scoreaug_lab.train.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
KEYS = Path(__file__).parent / "data" / "config_keys.json"


def project_configs() -> dict:
    """{label: TrainConfig} of every config the project builds: each lesson's runs and sample requests at both
    sizes, the recipes of presets, the training presets, and every run of every reproduction budget (labelled by
    its run name, which holds a digest of its config)."""
    out = {}
    for size in SIZES:
        for number, cls in LESSONS.items():
            lesson = cls(size)
            out.update({f"lesson {number} {size} config {i}": c for i, c in enumerate(lesson.configs())})
            out.update({f"lesson {number} {size} samples {i} n{n}": c
                        for i, (c, n) in enumerate(lesson.sample_requests())})
        out[f"toy_config {size}"] = toy_config(size=size)
        out[f"digits_config {size}"] = digits_config(size=size)
    out.update({f"preset {name}": TrainConfig(**get_preset(name), preset=name) for name in PRESETS})
    out["mixture_config"] = mixture_config()
    out["TrainConfig()"] = TrainConfig()
    for name, budget in BUDGETS.items():
        out.update({f"reproduce {name} {spec.name}": TrainConfig.from_dict(spec.config)
                    for spec in build_runs(budget, with_extra=True)})
    return out


def old_key(config: TrainConfig) -> str:
    """The key as the first implementation computed it (no canonical values): the digest of the raw fields."""
    fields = {k: v for k, v in config.to_dict().items() if k not in KEY_EXCLUDES}
    raw = hashlib.sha1(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()[:10]
    data = "".join(c if c.isalnum() else "-" for c in config.data)
    return f"{data}_{config.variant}_n{config.n_train}_{raw}"


@pytest.fixture(scope="module")
def configs():
    return project_configs()


def test_keys_of_every_project_config_are_unchanged(configs):
    expected = json.loads(KEYS.read_text())
    assert {label: config_key(c) for label, c in configs.items()} == expected


def test_project_configs_are_canonical_so_the_old_digest_still_applies(configs):
    assert all(config_key(c) == old_key(c) for c in configs.values())


def test_committed_reports_keep_their_run_names():
    """Each run of reports/*/results.json is named by the digest of its config (reproduce.suite.build_runs): read
    back through TrainConfig (whose values are now made canonical) it gives the same digest."""
    reports = sorted((ROOT / "reports").glob("*/results.json"))
    assert reports
    for results in reports:
        runs = json.loads(results.read_text())["runs"]
        assert runs
        for r in runs:
            fields = TrainConfig.from_dict(r["config"]).to_dict()
            assert r["name"].endswith("-" + digest({k: v for k, v in fields.items() if k not in ("out", "progress")}))


# --- equal configs, one key ----------------------------------------------------------------------------------
PROBABILITIES = st.sampled_from([0.0, 1.0, 0.5, 0.25])
recipes = st.fixed_dictionaries({
    "n_train": st.integers(1, 4096), "steps": st.integers(1, 10_000), "seed": st.integers(0, 2**32 - 1),
    "eval_every": st.integers(1, 100), "aug_prob": PROBABILITIES, "weight_decay": st.sampled_from([0.0, 1.0, 0.5]),
    "grad_clip": st.sampled_from([0.0, 1.0, 2.0, 0.5]),
    "label_dropout": st.just(0.0), "keep_best": st.booleans(), "amp": st.booleans(),
    "variant": st.sampled_from(["noaug", "scoreaug", "clean"]),
    "model_kwargs": st.fixed_dictionaries({"width": st.integers(1, 256), "depth": st.integers(1, 4)}),
})


def other_forms(recipe: dict, draw) -> dict:
    """The same recipe written differently: ints in float fields, whole floats in int fields, numpy scalars."""
    form = {}
    for k, v in recipe.items():
        if isinstance(v, bool):
            form[k] = draw(st.sampled_from([v, int(v), np.bool_(v)]))
        elif isinstance(v, int):
            form[k] = draw(st.sampled_from([v, float(v), np.int64(v), np.int32(v) if v < 2**31 else v]))
        elif isinstance(v, float):
            whole = [int(v), np.int64(int(v))] if v.is_integer() else []
            form[k] = draw(st.sampled_from([v, np.float64(v), *whole]))
        elif isinstance(v, dict):
            form[k] = {kk: draw(st.sampled_from([vv, np.int64(vv), np.int16(vv)])) for kk, vv in v.items()}
        else:
            form[k] = v
    return form


@settings(max_examples=60, deadline=None)
@given(recipe=recipes, data=st.data())
def test_equal_configs_share_one_key(recipe, data):
    config, other = TrainConfig(**recipe), TrainConfig(**other_forms(recipe, data.draw))
    assert config_key(other) == config_key(config)
    assert other.validate().to_dict() == config.to_dict()
    assert json.dumps(other.to_dict(), sort_keys=True) == json.dumps(config.to_dict(), sort_keys=True)


@settings(max_examples=60, deadline=None)
@given(recipe=recipes, field=st.sampled_from(["n_train", "steps", "seed", "aug_prob", "weight_decay", "grad_clip",
                                              "keep_best", "amp", "model_kwargs"]))
def test_different_configs_have_different_keys(recipe, field):
    changed = dict(recipe)
    value = recipe[field]
    if isinstance(value, bool):
        changed[field] = not value
    elif isinstance(value, dict):
        changed[field] = {**value, "width": value["width"] + 1}
    elif isinstance(value, float):
        changed[field] = value + 0.125
    else:
        changed[field] = value + 1 if value < 2**32 - 1 else value - 1
    assert config_key(TrainConfig(**changed)) != config_key(TrainConfig(**recipe))


def test_the_issue_cases_share_one_key():
    base = config_key(TrainConfig(weight_decay=0.0, aug_prob=1.0, model_kwargs={"width": 32}))
    assert config_key(TrainConfig(weight_decay=0, aug_prob=1, model_kwargs={"width": np.int64(32)})) == base
    assert config_key(TrainConfig(n_train=64.0)) == config_key(TrainConfig(n_train=64)) == "toy-gmm8_noaug_n64_76f2a92f12"
    mutated = TrainConfig()
    mutated.weight_decay, mutated.n_train = 0, np.float64(64.0)   # set after construction: the key is the same
    assert config_key(mutated) == config_key(TrainConfig())
