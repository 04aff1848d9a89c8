"""Plain helpers shared by several test files (`from support import ...`; tests/ is on sys.path)."""
import random

import ipywidgets as W
import numpy as np
import torch

from scoreaug_lab.models import build_model
from scoreaug_lab.runs.checkpoint import load_checkpoint


# --- points and images -----------------------------------------------------------------------------------
def _scaled_points(n, seed, scale=0.6):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def _points(n=256, seed=1):
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def images(batch=6, channels=3, size=8, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, channels, size, size, generator=g, dtype=torch.float64) * 2 - 1).to(dtype)


def centre_disc(size, margin=1.5):
    """(N, N) bool: pixels whose rotated source keeps all bilinear neighbours inside the image."""
    c = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    return (c[:, None] ** 2 + c[None, :] ** 2).sqrt() < size / 2 - margin


def _g(seed):
    return torch.Generator().manual_seed(seed)


def _cifar(path, n_train=None, n_test=None):
    d = np.load(path)
    conv = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float() / 127.5 - 1  # noqa: E731
    return (conv(d["x_train"][:n_train]), torch.from_numpy(d["y_train"][:n_train]).long(),
            conv(d["x_test"][:n_test]), torch.from_numpy(d["y_test"][:n_test]).long())


# --- models ----------------------------------------------------------------------------------------------
def randomise(model: torch.nn.Module, seed: int = 0, std: float = 0.05) -> torch.nn.Module:
    """Fill the zero-initialised parameters (output layers, adaLN-Zero, biases) with small Gaussian
    noise: left at zero they would hide the effect of omega and labels on the output."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.copy_(torch.randn(p.shape, generator=g) * std)
    return model


def make(name, shape, seed=0, **kw):
    torch.manual_seed(seed)
    return randomise(build_model(name, shape, **kw), seed).eval()


def batch(shape, b=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, *shape, generator=g)
    sigma = torch.exp(torch.randn(b, generator=g) * 1.2 - 1.2)
    return x, sigma


# --- training runs ---------------------------------------------------------------------------------------
def _weights(run_dir):
    ckpt = load_checkpoint(run_dir / "checkpoint.pt")
    return ckpt["model"], ckpt["ema"], ckpt["optimizer"]["state"]


def _equal_dicts(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


# --- widgets driven headless -----------------------------------------------------------------------------
def set_values(app, **values):
    with app.hold():
        for name, value in values.items():
            app.controls[name].value = value
    assert app.last_error is None, app.last_error


def _figure_ids(app):
    return {k: (id(fig), [id(t) for t in fig.data]) for k, fig in app.figures.items()}


def _hammer(app, values: dict, invalid: dict, n: int = 1000, seed: int = 0) -> list:
    """Random changes, about one in ten invalid (where a control accepts one): each invalid value is refused
    and put back, each valid change is shown without error."""
    rng = random.Random(seed)
    problems = []
    for _ in range(n):
        name = rng.choice(list(values))
        bad = bool(invalid.get(name)) and rng.random() < 0.1
        before = app.controls[name].value
        value = rng.choice(invalid[name] if bad else values[name])
        app.controls[name].value = value
        if bad and (app.last_error is None or app.controls[name].value != before):
            problems.append((name, value, "not refused"))
        elif not bad and value != before and app.last_error is not None:
            problems.append((name, value, app.last_error))
    return problems


def random_value(control, rng):
    if isinstance(control, (W.Dropdown, W.SelectionSlider)):
        return control.options[rng.integers(len(control.options))][1] if isinstance(control.options[0], tuple) \
            else control.options[rng.integers(len(control.options))]
    if isinstance(control, W.Checkbox):
        return bool(rng.integers(2))
    if isinstance(control, W.IntSlider):
        return int(rng.integers(control.min, control.max + 1))
    if isinstance(control, W.FloatSlider):
        return float(rng.uniform(control.min, control.max))
    raise AssertionError(f"no random value for {type(control).__name__}")


def assert_json_safe(fig):
    """What the front end receives (plotly's widget serializer) is valid JSON: no NaN outside binary buffers."""
    import json
    from plotly.serializers import _py_to_js

    def strip(obj):
        if isinstance(obj, dict):
            return None if "buffer" in obj else {k: strip(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    json.dumps(strip(_py_to_js({"data": fig._data, "layout": fig._layout}, None)), allow_nan=False)


def fuzz(app, n, seed=0):
    rng = np.random.default_rng(seed)
    names = list(app.controls)
    figures = {k: (v, [id(tr) for tr in v.data]) for k, v in app.figures.items()}
    for _ in range(n):
        name = names[rng.integers(len(names))]
        app.controls[name].value = random_value(app.controls[name], rng)
    assert app.errors == [], app.errors[:3]
    assert app.last_error is None
    for k, (fig, traces) in figures.items():
        assert app.figures[k] is fig and [id(tr) for tr in fig.data] == traces
        assert_json_safe(fig)


# --- numbers ---------------------------------------------------------------------------------------------
def _relative(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


# --- real small disks ------------------------------------------------------------------------------------
def mount_tmpfs(path, size: str, read_only: bool = False):
    """Mount a tmpfs of `size` (e.g. '300k') at `path` (read-only when asked); a context manager that always
    unmounts. The test is skipped, with the reason, where the machine refuses mounts (not root, a container)."""
    import contextlib
    import subprocess

    import pytest

    @contextlib.contextmanager
    def mounted():
        path.mkdir(parents=True, exist_ok=True)
        options = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root and mount rights): {done.stderr.strip()[:120]}")
        try:
            yield path
        finally:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
    return mounted()
