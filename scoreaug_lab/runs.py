"""Reading a run folder written by `scoreaug-lab train`: its config and its EMA model."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from .checkpoint import check_run_checkpoint, load_checkpoint, load_weights
from .config import TrainConfig
from .run_folder import CHECKPOINT, CONFIG, METRICS
from .setup import build_setup, resolve_device


def load_run(run_dir, device: str = "auto", use_ema: bool = True) -> SimpleNamespace:
    """SimpleNamespace(config, setup, model, step, run_dir): `model` is the EMA denoiser in eval mode
    (or the raw one with use_ema=False), with the run's data, variant and transform sampler in `setup`."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run folder {run_dir} does not exist")
    if not (run_dir / CHECKPOINT).is_file():
        raise FileNotFoundError(f"{run_dir} holds no {CHECKPOINT}: was it written by `scoreaug-lab train`?")
    dev = resolve_device(device)
    path = run_dir / CHECKPOINT
    ckpt = check_run_checkpoint(load_checkpoint(path, map_location=dev), path, ("step", "config", "model", "ema"))
    try:
        config = TrainConfig.from_dict(ckpt["config"])
    except TypeError as err:
        raise ValueError(f"{path}: its config is not a TrainConfig ({err})") from None
    config.device = str(dev)
    setup = build_setup(config, dev)
    load_weights(setup.model, ckpt["model"], path)
    load_weights(setup.ema, ckpt["ema"], path, "EMA")
    model = setup.ema.module if use_ema else setup.model
    model.eval()
    return SimpleNamespace(config=config, setup=setup, model=model, step=int(ckpt["step"]), run_dir=run_dir)


def read_metrics(run_dir) -> list[dict]:
    """The metric lines of a run (metrics.jsonl), in order."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_config(run_dir) -> TrainConfig:
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} holds no {CONFIG}")
    return TrainConfig.from_dict(json.loads(path.read_text()))


def list_runs(runs_dir) -> list[Path]:
    """Run folders (holding config.json and checkpoint.pt) directly in `runs_dir` or one level below, sorted."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise FileNotFoundError(f"runs folder {runs_dir} does not exist")
    found = []
    for candidate in [runs_dir, *sorted(p for p in runs_dir.iterdir() if p.is_dir())]:
        for folder in [candidate] if candidate == runs_dir else [candidate, *sorted(candidate.iterdir())]:
            if folder.is_dir() and (folder / CHECKPOINT).is_file() and (folder / CONFIG).is_file():
                found.append(folder)
    return sorted(dict.fromkeys(found))
