"""`make demo` / `scoreaug-lab demo`: no augmentation vs ScoreAug on the 8-mode ring mixture with 64
training points, several training seeds each; prints a table (mean +- std over seeds) and writes a
figure and results.json into the output folder.

ScoreAug here uses rot90 and flip (the mixture is symmetric under both) with augmentation probability 1:
every sample gets a random quarter turn and a random mirror bit, the identity included (k = 0, b = 0).
"""
from __future__ import annotations

import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

DEMO_CONFIG = dict(data="toy:gmm8", n_train=64, transforms="rot90,flip", aug_prob=1.0, steps=3000,
                   batch_size=128, lr=3e-3, ema_decay=0.995, log_every=100, ckpt_every=3000)
DEMO_VARIANTS = ("noaug", "scoreaug")


def _one_run(variant: str, seed: int, out: str, steps: int, n_samples: int) -> dict:
    """Train, sample (omega = 0) and measure one (variant, seed); runs in a worker process."""
    import torch

    torch.set_num_threads(1)
    from ..evaluate.evaluation import draw_samples
    from ..evaluate.metrics import memorisation, overfitting_gap, sliced_wasserstein
    from ..train.loop import TrainConfig, train

    config = TrainConfig(**{**DEMO_CONFIG, "steps": steps}, variant=variant, seed=seed,
                         out=str(Path(out) / f"{variant}_seed{seed}"), progress=False)
    t0 = time.perf_counter()
    state = train(config, resume=False)
    model, data = state.ema.module.eval(), state.setup.data
    samples = draw_samples(model, data.data_shape, range(n_samples))
    gap = overfitting_gap(model, data.train, data.heldout, n_per_band=256, seed=0)
    torch.save(samples, Path(config.out) / "samples.pt")
    return {"variant": variant, "seed": seed, **memorisation(samples, data.train),
            "sliced_wasserstein": sliced_wasserstein(samples, data.heldout),
            "loss_gap_small_sigma": gap[0]["gap"], "seconds": time.perf_counter() - t0}


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

    data = load_data(DEMO_CONFIG["data"], DEMO_CONFIG["n_train"], n_heldout=n_samples)
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


def write_figure(rows, summary, out: Path) -> Path:
    import matplotlib.pyplot as plt
    import torch

    from ..data import load_data
    from ..plotting import scatter_over_training

    train = load_data(DEMO_CONFIG["data"], DEMO_CONFIG["n_train"]).train.numpy()
    seed0 = min(r["seed"] for r in rows)
    fig, axes = plt.subplots(1, len(summary) + 1, figsize=(5 * (len(summary) + 1), 4.6))
    for ax, variant in zip(axes, summary):
        samples = torch.load(out / f"{variant}_seed{seed0}" / "samples.pt", weights_only=True).numpy()
        scatter_over_training(ax, samples, train, f"{variant} (seed {seed0}): samples over training points")
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


def run_demo(out="runs/demo", seeds=(0, 1, 2), steps: int = DEMO_CONFIG["steps"], n_samples: int = 1000,
             variants=DEMO_VARIANTS, workers: int | None = None) -> dict:
    from ..runs.checkpoint import save_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    jobs = [(v, s) for v in variants for s in seeds]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    print(f"demo: {len(jobs)} runs ({', '.join(variants)} x seeds {list(seeds)}), {steps} steps each, "
          f"{workers} worker process(es)", flush=True)
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_one_run, v, s, str(out), steps, n_samples) for v, s in jobs]
        rows = []
        for fut in futures:
            rows.append(fut.result())
            r = rows[-1]
            print(f"  {r['variant']:<9} seed {r['seed']}: memorised {r['memorised_fraction']:.3f} "
                  f"({r['seconds']:.1f} s)", flush=True)
    summary = summarise(rows)
    reference = fresh_reference(n_samples)
    table = format_table(summary, seeds, reference)
    figure = write_figure(rows, summary, out)
    elapsed = time.perf_counter() - t0
    save_json({"config": DEMO_CONFIG | {"steps": steps}, "seeds": list(seeds), "runs": rows,
               "summary": summary, "fresh_data": reference, "seconds": elapsed}, out / "results.json")
    print(table)
    print(f"figure: {figure}   results: {out / 'results.json'}   total {elapsed:.1f} s")
    return {"rows": rows, "summary": summary, "table": table, "figure": str(figure), "seconds": elapsed}
