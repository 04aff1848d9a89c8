"""`make demo` / `scoreaug-lab demo`: no augmentation vs ScoreAug on the 8-mode ring mixture with 64
training points, several training seeds each; prints a table (mean +- std over seeds) and writes a
figure and results.json into the output folder.

ScoreAug here uses rot90 and flip (the mixture is symmetric under both) with augmentation probability 1:
every sample gets a random quarter turn and a random mirror bit, the identity included (k = 0, b = 0).
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

DEMO_VARIANTS = ("noaug", "scoreaug")
DEMO_STEPS = 3000


def demo_configs(seeds, steps: int = DEMO_STEPS, variants=DEMO_VARIANTS) -> dict:
    """{(variant, seed): TrainConfig}: notebook 00's recipe (lessons.Quickstart), one run per variant and seed."""
    from .lessons import Quickstart

    lesson = Quickstart("teach")
    return {(v, seed): config for seed in seeds for v, config in lesson.runs(variants, steps, seed).items()}


def measure(store, run, n_samples: int) -> dict:
    """Memorisation and sliced Wasserstein distance of `n_samples` samples (omega = 0), and the train/held-out
    loss gap at small sigma, of one stored run."""
    from ..evaluate.metrics import memorisation, overfitting_gap, sliced_wasserstein

    model, data = run.model, run.data
    samples = store.samples(run, n_samples)                 # saved in the run's folder: the figure reuses them
    gap = overfitting_gap(model, data.train, data.heldout, n_per_band=256, seed=0)
    return {"variant": run.config.variant, "seed": run.config.seed, "run": str(run.run_dir),
            **memorisation(samples, data.train), "sliced_wasserstein": sliced_wasserstein(samples, data.heldout),
            "loss_gap_small_sigma": gap[0]["gap"]}


COLUMNS = [("memorised_fraction", "memorised"), ("mean_nn_distance", "NN dist"),
           ("sliced_wasserstein", "SW to fresh"), ("loss_gap_small_sigma", "gap s<0.05")]


def summarise(rows: list[dict]) -> dict:
    """{variant: {metric: (mean, std)}} over seeds."""
    out = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        out[variant] = {key: (statistics.mean(r[key] for r in mine),
                              statistics.stdev(r[key] for r in mine) if len(mine) > 1 else 0.0)
                        for key, _ in COLUMNS}
    return out


def fresh_reference(n_samples: int) -> dict:
    """Memorisation of fresh data from the true mixture: the level a model that does not copy reaches."""
    from ..data import load_data
    from ..evaluate.metrics import memorisation

    config = next(iter(demo_configs([0]).values()))
    data = load_data(config.data, config.n_train, n_heldout=n_samples)
    return memorisation(data.heldout, data.train)


def format_table(summary: dict, seeds, reference: dict | None = None) -> str:
    head = f"{'variant':<10}" + "".join(f"{label:>22}" for _, label in COLUMNS)
    lines = [f"8-mode mixture, 64 training points; mean +- std over seeds {list(seeds)}", head, "-" * len(head)]
    for variant, stats in summary.items():
        lines.append(f"{variant:<10}" + "".join(f"{stats[k][0]:>13.4f} +- {stats[k][1]:.4f}" for k, _ in COLUMNS))
    if reference is not None:
        lines.append(f"{'fresh data':<10}{reference['memorised_fraction']:>13.4f}{'':9}"
                     f"{reference['mean_nn_distance']:>13.4f}   (held-out points of the true mixture)")
    return "\n".join(lines)


def write_figure(rows, summary, store, runs: dict, n_samples: int, out: Path) -> Path:
    import matplotlib.pyplot as plt

    from ..plotting import scatter_over_training

    seed0 = min(r["seed"] for r in rows)
    fig, axes = plt.subplots(1, len(summary) + 1, figsize=(5 * (len(summary) + 1), 4.6))
    for ax, variant in zip(axes, summary):
        run = runs[variant, seed0]
        samples = store.samples(run, n_samples).numpy()
        scatter_over_training(ax, samples, run.data.train.numpy(),
                              f"{variant} (seed {seed0}): samples over training points")
        ax.set_xlim(-1.4, 1.4)
        ax.set_ylim(-1.4, 1.4)
    ax = axes[-1]
    names = list(summary)
    means = [summary[v]["memorised_fraction"][0] for v in names]
    stds = [summary[v]["memorised_fraction"][1] for v in names]
    ax.bar(names, means, yerr=stds, capsize=6, color=["tab:gray", "tab:green"][: len(names)])
    for v in names:
        pts = [r["memorised_fraction"] for r in rows if r["variant"] == v]
        ax.scatter([v] * len(pts), pts, color="black", zorder=3, s=12)
    ax.set_ylabel("memorised fraction of samples")
    ax.set_title("memorisation (mean +- std, dots: seeds)")
    path = out / "demo.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_demo(out="runs/demo", seeds=(0, 1, 2), steps: int = DEMO_STEPS, n_samples: int = 1000,
             variants=DEMO_VARIANTS, workers: int | None = None, root=None) -> dict:
    """Train (through the run store at `root`, default $SCOREAUG_RUNS or runs/store: notebook 00's runs are the
    demo's seed-0 runs), sample and measure every (variant, seed); the table, figure and results.json in `out`."""
    from ..runs.checkpoint import save_json
    from ..runs.store import get_store

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    configs = demo_configs(seeds, steps, variants)
    store = get_store(root)
    print(f"demo: {len(configs)} runs ({', '.join(variants)} x seeds {list(seeds)}), {steps} steps each, "
          f"in the run store {store.root}", flush=True)
    runs = store.get_many(configs, workers=workers, desc="demo")
    rows = []
    for (variant, seed), run in runs.items():
        rows.append(measure(store, run, n_samples))
        print(f"  {variant:<9} seed {seed}: memorised {rows[-1]['memorised_fraction']:.3f}", flush=True)
    summary = summarise(rows)
    reference = fresh_reference(n_samples)
    table = format_table(summary, seeds, reference)
    figure = write_figure(rows, summary, store, runs, n_samples, out)
    elapsed = time.perf_counter() - t0
    recipe = next(iter(configs.values())).to_dict()
    save_json({"recipe": {k: v for k, v in recipe.items() if k not in ("variant", "seed", "out", "progress")},
               "seeds": list(seeds), "runs": rows, "summary": summary, "fresh_data": reference, "seconds": elapsed},
              out / "results.json")
    print(table)
    print(f"figure: {figure}   results: {out / 'results.json'}   total {elapsed:.1f} s")
    return {"rows": rows, "summary": summary, "table": table, "figure": str(figure), "seconds": elapsed}
