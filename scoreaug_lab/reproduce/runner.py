"""Parallel, resumable execution of the suite: the toolkit's worker pool (runs.workers.WorkerPool: spawned
processes of one torch thread each), a tqdm progress bar with a time estimate, and every finished piece reused.

Layout under DIR:
    classifiers/<name>.pt (+ .json)     the proxy-FID feature network and the orientation classifier
    runs/<store key>/                   a run store (runs.store.RunStore): each run's folder (config.json,
                                        metrics.jsonl, checkpoint.pt) named by the store's key of its config,
                                        plus measures.json and samples_head.pt once measured

Reuse: a classifier whose .json records the same settings is kept; a run folder resumes from its checkpoint
(a finished one returns at once); measures.json is kept when its key (a hash of the run's config and measure
settings and of the classifiers it used) still matches. Jobs run in this order: classifiers, then training,
each run's measures as soon as its training and its classifiers are done.
"""
from __future__ import annotations

import json
import os
import time
from collections import deque
from pathlib import Path

from ..runs.keys import digest
from ..runs.store import RunStore
from ..runs.workers import JobFailed, WorkerPool
from ..train.config import TrainConfig
from .measures import SAMPLES_FILE
from .suite import RunSpec

MEASURES_FILE = "measures.json"
TRAIN_SHARE = 0.75       # of a run's estimated cost, for the progress bar


class RunFailed(JobFailed):
    """A job of the suite failed; what finished is kept, and a rerun resumes. exit_code: 2 when it failed on its
    input, 1 on the machine (a full disk, a killed worker), as JobFailed's."""


def _train(payload: dict) -> dict:
    from ..train.config import TrainConfig
    from ..train.loop import train
    t0, c0 = time.perf_counter(), time.process_time()
    state = train(TrainConfig.from_dict({**payload["config"], "out": payload["out"], "progress": False}))
    if state is None:   # already trained (by an earlier invocation)
        return {"seconds_train": None, "cpu_seconds_train": None}
    return {"seconds_train": time.perf_counter() - t0, "cpu_seconds_train": time.process_time() - c0}


def _measure(payload: dict) -> dict:
    from ..runs.checkpoint import save_json
    from .measures import measure_run
    c0 = time.process_time()
    result = measure_run(payload["out"], payload["measure"], Path(payload["classifiers"]), payload["device"])
    earlier = _read_json(Path(payload["out"]) / MEASURES_FILE)   # measured again: keep the training times
    earlier = earlier if isinstance(earlier, dict) else {}
    trained = {k: payload.get(k) if payload.get(k) is not None else earlier.get(k)
               for k in ("seconds_train", "cpu_seconds_train")}
    result = {**result, "key": payload["key"], "cpu_seconds_measure": time.process_time() - c0, **trained}
    save_json(result, Path(payload["out"]) / MEASURES_FILE)
    return result


def _job(kind: str, payload: dict) -> tuple:
    """(result, (worker pid, its CPU seconds so far, start-up included)) of one unit of work in a worker."""
    return _work(kind, payload), (os.getpid(), time.process_time())


def _work(kind: str, payload: dict):
    """Train a classifier; train a run; measure a run; or train and measure a run in one go (once the
    classifiers exist)."""
    if kind == "classifier":
        from .measures import train_classifier_for
        return train_classifier_for(payload["spec"], Path(payload["path"]))   # records its cpu_seconds
    if kind == "train":
        return _train(payload)
    if kind == "measure":
        return _measure(payload)
    return _measure({**payload, **_train(payload)})


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def samples_readable(path: Path) -> bool:
    """Whether a run's samples_head.pt loads (weights only) as a tensor."""
    import torch
    try:
        return isinstance(torch.load(path, map_location="cpu", weights_only=True), torch.Tensor)
    except Exception:   # noqa: BLE001 - missing, truncated, foreign: measured again
        return False


def classifier_cost(spec: dict) -> float:
    return spec["epochs"] * spec["n_train"] * (4 if spec["kind"] == "orientation" else 1) / 3000


class SuiteRunner:
    """Runs the classifiers and runs of a suite into `out`; `run()` returns (measures by run name,
    classifier infos by name)."""

    def __init__(self, out, runs: list[RunSpec], classifiers: dict, workers: int | None = None,
                 progress: bool = True, log=print):
        self.out, self.runs, self.classifiers = Path(out), runs, classifiers
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.progress, self.log = progress, log
        self.n_reused = 0
        self.worker_cpu = {}     # worker pid -> CPU seconds it used (start-up included), this invocation
        self.class_dir = self.out / "classifiers"
        self.class_dir.mkdir(parents=True, exist_ok=True)
        self.store = RunStore(self.out / "runs")

    def run_dir(self, spec: RunSpec) -> Path:
        return self.store.folder(TrainConfig.from_dict(spec.config))

    def measure_key(self, spec: RunSpec, infos: dict) -> str:
        used = {name: infos[name].get("spec") for name in (spec.measure["proxy"], spec.measure["orientation"]) if name}
        return digest({"config": spec.config, "measure": spec.measure, "classifiers": used})

    def _stored_classifier(self, name: str, spec: dict):
        info = _read_json(self.class_dir / f"{name}.json")
        ok = isinstance(info, dict) and info.get("spec") == spec and (self.class_dir / f"{name}.pt").is_file()
        return info if ok else None

    def _stored_measures(self, spec: RunSpec, infos: dict) -> dict | None:
        """The run's saved measures when they are of these settings and whole (samples_head.pt readable), else
        None: the run is measured again, and a damaged file is said in one line."""
        folder = self.run_dir(spec)
        path = folder / MEASURES_FILE
        stored = _read_json(path)
        if stored is None or not isinstance(stored, dict):
            if path.exists():
                self.log(f"reproduce: {path} is not a measures record; measuring {spec.name} again")
            return None
        if stored.get("key") != self.measure_key(spec, infos):
            return None
        if not samples_readable(folder / SAMPLES_FILE):
            self.log(f"reproduce: {folder / SAMPLES_FILE} is missing or unreadable; measuring {spec.name} again")
            return None
        return stored

    def run(self):
        from tqdm.auto import tqdm

        infos = {n: self._stored_classifier(n, s) for n, s in self.classifiers.items()}
        todo_classifiers = deque(n for n, info in infos.items() if info is None)
        results, to_train = {}, deque()
        for spec in self.runs:
            stored = None if todo_classifiers else self._stored_measures(spec, infos)
            if stored is not None:
                results[spec.name] = stored
            else:
                to_train.append(spec)
        self.n_reused = len(results)
        total = sum(classifier_cost(s) for s in self.classifiers.values()) + sum(s.cost for s in self.runs)
        done_cost = sum(classifier_cost(self.classifiers[n]) for n, i in infos.items() if i is not None) + \
            sum(s.cost for s in self.runs if s.name in results)
        self.log(f"reproduce: {len(self.runs)} runs ({len(results)} reused), {len(todo_classifiers)} classifier(s) "
                 f"to train, {self.workers} worker process(es) of one thread each; output in {self.out}")
        bar = tqdm(total=total, initial=done_cost, disable=not self.progress, unit="u",
                   desc="reproduce", dynamic_ncols=True,
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} work units "
                              "[{elapsed} elapsed, {remaining} left]")
        trained, ready, train_seconds = [], deque(), {}
        specs = {s.name: s for s in self.runs}

        def payload_of(spec, measured=True):
            return {"config": spec.config, "out": str(self.run_dir(spec)), "measure": spec.measure,
                    "classifiers": str(self.class_dir), "device": spec.config["device"],
                    "key": self.measure_key(spec, infos) if measured else None,
                    **train_seconds.get(spec.name, {})}

        def fill(pool):
            while len(pool.running) < self.workers:
                if todo_classifiers:
                    name = todo_classifiers.popleft()
                    payload = {"spec": self.classifiers[name], "path": str(self.class_dir / f"{name}.pt")}
                    pool.submit(("classifier", name), _job, "classifier", payload)
                elif ready:
                    spec = ready.popleft()
                    pool.submit(("measure", spec.name), _job, "measure", payload_of(spec))
                elif to_train:
                    spec = to_train.popleft()
                    kind = "run" if classifiers_ready(pool) else "train"   # measure at once when possible
                    pool.submit((kind, spec.name), _job, kind, payload_of(spec, kind == "run"))
                else:
                    return

        def classifiers_ready(pool):
            return not todo_classifiers and all(kind != "classifier" for kind, _ in pool.running)

        try:
            with WorkerPool(self.workers) as pool:
                fill(pool)
                for (kind, name), (value, (pid, cpu)) in pool.results():
                    self.worker_cpu[pid] = cpu
                    if kind == "classifier":
                        infos[name] = value
                        bar.update(classifier_cost(self.classifiers[name]))
                    elif kind == "train":
                        train_seconds[name] = value
                        trained.append(specs[name])
                        bar.update(specs[name].cost * TRAIN_SHARE)
                    else:
                        results[name] = value
                        bar.update(specs[name].cost * (1 - TRAIN_SHARE if kind == "measure" else 1))
                    if classifiers_ready(pool):
                        ready.extend(trained)
                        trained.clear()
                    fill(pool)
        except JobFailed as err:
            raise RunFailed(str(err).replace("ask again", "rerun the same command"), err.exit_code) from err
        finally:
            bar.n = min(bar.n, bar.total)
            bar.close()
        return results, infos


__all__ = ["SuiteRunner", "RunFailed", "MEASURES_FILE"]
