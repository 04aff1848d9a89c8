"""Speed against peers, side by side in one run: our training step and Heun sampler vs smalldiffusion and k-diffusion.

    pip install -e ".[bench]"          # the peers: smalldiffusion, k-diffusion (not in the default install)
    python benchmarks/peers.py [--part train|sample|both] [--steps 600] [--chunk 20] [--batch-size 128] ...

Training: our loop (`scoreaug_lab.train.loop.train_iter`, toy:gmm8, the walkthrough's toy MLP, variants noaug and
scoreaug, ScoreAug's transforms with probability 1) against smalldiffusion's `training_loop` on the same
network, batch, data points, optimiser (torch's AdamW, same learning rate; smalldiffusion's loop keeps
AdamW's default weight decay 0.01, ours has none) and one torch thread. smalldiffusion trains
*our* MLPDenoiser (same width, depth, Fourier features, embedding and EDM preconditioning, the same initial
weights as our noaug run), wrapped as a smalldiffusion model predicting x0 (its `PredX0` modifier: loss
MSE(x0, D(x0 + sigma eps; sigma))), with its own `ScheduleLogLinear` noise levels and `Accelerator` (CPU); its
DataLoader yields whole batches of indices drawn with replacement from the same 64 points (one gather per
batch, as our loop does, not one fetch per item). `--peer-net timeinput` gives it smalldiffusion's own
`TimeInputMLP` with hidden sizes (width,) * (2 depth + 1) instead. Per step ours does more than the peer:
EDM loss weighting, gradient-norm clipping, the EMA update, the learning-rate schedule, a non-finite-loss
watch, and for scoreaug the transform draw, the transform of input and target, and omega.

Sampling: our `scoreaug_lab.sampling.sample` (Heun, 18 steps, 35 denoiser calls, per-sample seeded start noise)
against k-diffusion's `sample_heun` (with its `get_sigmas_karras(18, 0.002, 80, 7)` schedule and torch.randn
start noise, as one calls it) with the same denoiser (a toy MLP trained for --denoiser-steps steps) on the same
batch size. Then both samplers start from the same noise and their samples are compared.

Each timed contestant advances in chunks, the chunks interleaved round by round (the order rotating), so that
all see the same machine load; the first chunk of each is a warm-up. Printed: median time per step (per
sampling run) with the 10th-90th percentile over chunks, the median CPU time of this thread (time.thread_time,
which leaves out waiting for a core), and the ratio ours / peer of both (target <= 1.0). The load average
(/proc/loadavg) is printed before and after: on a shared machine the absolute times are noisy, the ratios
less so (a few per cent between runs at a load of several processes per core; more --steps or --rounds helps).
"""
from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import statistics
import sys
import time
import types

import torch

from scoreaug_lab.presets import TOY_MODEL, TOY_TRAINING, toy_config

MISSING = 'benchmarks/peers.py needs the peer packages (smalldiffusion, k-diffusion): pip install -e ".[bench]"'


def import_peers():
    """(smalldiffusion, k_diffusion.sampling), or exit with one line when either is missing.

    k-diffusion's top-level `__init__` imports all of the package (CLIP, wandb, kornia, clean-fid, ...; its CLIP
    dependency fails to import without setuptools' pkg_resources); its sampler module needs none of that, so
    only `k_diffusion.sampling` (and its `utils`) is loaded, under an empty package module."""
    try:
        import smalldiffusion
    except ImportError as err:
        sys.exit(f"{MISSING} ({err})")
    if "k_diffusion" not in sys.modules:
        spec = importlib.util.find_spec("k_diffusion")
        if spec is None or not spec.submodule_search_locations:
            sys.exit(f"{MISSING} (no module named 'k_diffusion')")
        package = types.ModuleType("k_diffusion")
        package.__path__, package.__spec__, package.__file__ = list(spec.submodule_search_locations), spec, spec.origin
        sys.modules["k_diffusion"] = package
    try:
        import k_diffusion.sampling as k_sampling
    except ImportError as err:
        sys.exit(f"{MISSING} (k_diffusion.sampling: {err})")
    return smalldiffusion, k_sampling


def load_line() -> str:
    try:
        with open("/proc/loadavg") as f:
            return "load average (1, 5, 15 min): " + " ".join(f.read().split()[:3]) + f" on {os.cpu_count()} CPUs"
    except OSError:
        return "load average: unavailable"


def interleave(contestants: dict, rounds: int, chunk: int) -> tuple[dict, dict]:
    """(wall, cpu): seconds per unit of each contestant, one entry per chunk. Each contestant is a callable
    running `chunk` units; one warm-up chunk each, then `rounds` rounds in a rotating order. cpu is this
    thread's CPU time (time.thread_time): on a loaded machine it leaves out the time spent waiting for a core."""
    names = list(contestants)
    for name in names:
        contestants[name](chunk)
    wall, cpu = {name: [] for name in names}, {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t0, c0 = time.perf_counter(), time.thread_time()
            contestants[name](chunk)
            cpu[name].append((time.thread_time() - c0) / chunk)
            wall[name].append((time.perf_counter() - t0) / chunk)
    return wall, cpu


def describe(name: str, wall: list, cpu: list, unit: str) -> str:
    ms = [t * 1e3 for t in wall]
    q = statistics.quantiles(ms, n=10) if len(ms) > 1 else [ms[0]] * 9
    return (f"  {name:<30} median {statistics.median(ms):8.3f} ms/{unit} (10th-90th percentile {q[0]:.3f}-{q[-1]:.3f});"
            f" CPU time {statistics.median(cpu) * 1e3:.3f} ms/{unit}")


def ratio_line(label: str, wall: dict, cpu: dict, ours: str, peer: str) -> str:
    return (f"  ratio {label} = {median(wall[ours]) / median(wall[peer]):.3f}  (target <= 1.0; "
            f"in CPU time {median(cpu[ours]) / median(cpu[peer]):.3f})")


def median(seconds: list) -> float:
    return statistics.median(seconds)


# --- training ---------------------------------------------------------------------------------------------
def our_config(args, variant: str):
    return toy_config(variant, transforms=args.transforms, aug_prob=1.0, size="teach", evals=0, seed=0,
                      steps=10**9, progress=False, batch_size=args.batch_size, lr=args.lr,
                      model_kwargs=model_kwargs(args))


def model_kwargs(args) -> dict:
    kwargs = dict(TOY_MODEL["teach"])
    if args.width:
        kwargs["width"] = args.width
    if args.depth:
        kwargs["depth"] = args.depth
    return kwargs


def our_loop(args, variant: str):
    from scoreaug_lab.train.loop import train_iter

    loop = train_iter(our_config(args, variant))

    def run(n):
        for _ in range(n):
            next(loop)
    return run, loop


def peer_loop(args, smalldiffusion):
    """smalldiffusion's training_loop on our data points, with our network (or its TimeInputMLP)."""
    from torch import nn
    from torch.utils.data import BatchSampler, DataLoader, Dataset

    from scoreaug_lab.train.build import build_setup

    config = our_config(args, "noaug")
    setup = build_setup(config, torch.device("cpu"))   # the same data points and initial weights as our noaug run
    train = setup.data.train
    width, depth = model_kwargs(args)["width"], model_kwargs(args)["depth"]

    if args.peer_net == "ours":
        class OurNet(nn.Module, smalldiffusion.ModelMixin):
            """Our MLPDenoiser as a smalldiffusion model: (x, sigma (B, 1) or scalar) -> D(x; sigma)."""

            def __init__(self, denoiser):
                super().__init__()
                self.denoiser, self.input_dims = denoiser, tuple(train.shape[1:])
                denoiser.check_values = False   # as our training loop does: the data were checked once

            def forward(self, x, sigma, cond=None):
                return self.denoiser(x, sigma.reshape(-1).expand(x.shape[0]))

        model = smalldiffusion.PredX0(OurNet)(setup.model)
        net = f"our MLPDenoiser (width {width}, depth {depth}, x0-prediction via smalldiffusion.PredX0)"
    else:
        torch.manual_seed(0)
        model = smalldiffusion.TimeInputMLP(dim=train.shape[1], hidden_dims=(width,) * (2 * depth + 1))
        net = f"smalldiffusion.TimeInputMLP (hidden {(width,) * (2 * depth + 1)}, eps-prediction)"
    n_params = sum(p.numel() for p in model.parameters())

    class Points(Dataset):
        def __len__(self):
            return train.shape[0]

        def __getitem__(self, i):
            return train[i]

        def __getitems__(self, indices):   # the DataLoader fetches a whole batch with one gather
            return train[indices]

    class BatchesWithReplacement(BatchSampler):
        """Batches of indices drawn with replacement from the training points (batch > points is allowed)."""

        def __init__(self, generator):
            self.generator, self.batch_size, self.drop_last = generator, args.batch_size, False

        def __len__(self):
            return 10**9

        def __iter__(self):
            while True:
                yield torch.randint(train.shape[0], (args.batch_size,), generator=self.generator)

    loader = DataLoader(Points(), batch_sampler=BatchesWithReplacement(torch.Generator().manual_seed(0)),
                        collate_fn=_whole_batch)
    schedule = smalldiffusion.ScheduleLogLinear(N=1000, sigma_min=0.002, sigma_max=80.0)
    accelerator = smalldiffusion.diffusion.Accelerator(cpu=True)
    # its loop's progress bar counts epochs (one here: the loader is endless); kept, but not drawn
    smalldiffusion.diffusion.tqdm = functools.partial(smalldiffusion.diffusion.tqdm, disable=True)
    loop = smalldiffusion.training_loop(loader, model, schedule, accelerator=accelerator, epochs=1, lr=args.lr)

    def run(n):
        for _ in range(n):
            next(loop)    # the previous step's backward and AdamW step, then this step's batch, noise and loss
    return run, net, n_params


def _whole_batch(batch):
    return batch    # already one (B, d) tensor: nothing to collate


def bench_training(args, smalldiffusion) -> None:
    contestants, ours = {}, {}
    for variant in ("scoreaug", "noaug"):
        contestants[f"ours {variant}"], ours[variant] = our_loop(args, variant)
    contestants["smalldiffusion training_loop"], net, peer_params = peer_loop(args, smalldiffusion)
    first = {v: next(loop) for v, loop in ours.items()}
    rounds = max(1, args.steps // args.chunk)
    wall, cpu = interleave(contestants, rounds, args.chunk)
    mk = model_kwargs(args)
    print(f"training step: toy:gmm8, 64 training points, batch {args.batch_size}, AdamW lr {args.lr}, "
          f"{rounds} rounds x {args.chunk} steps each (after a warm-up chunk), {torch.get_num_threads()} thread(s)")
    print(f"  ours: train_iter, MLPDenoiser width {mk['width']} depth {mk['depth']} fourier {mk['fourier_features']}"
          f" ({first['noaug'].model.n_params:,} parameters; scoreaug {first['scoreaug'].model.n_params:,} with the omega"
          f" input), transforms {args.transforms} with probability 1, EMA, clipping")
    print(f"  peer: smalldiffusion.training_loop, {net} ({peer_params:,} parameters), ScheduleLogLinear(1000, 0.002, 80)")
    for name in wall:
        print(describe(name, wall[name], cpu[name], "step"))
    for variant in ("scoreaug", "noaug"):
        print(ratio_line(f"ours {variant} / smalldiffusion", wall, cpu, f"ours {variant}", "smalldiffusion training_loop"))


# --- sampling ---------------------------------------------------------------------------------------------
def trained_denoiser(args):
    from scoreaug_lab.train.build import build_setup
    from scoreaug_lab.train.loop import train

    config = toy_config("noaug", size="teach", evals=0, seed=0, steps=max(args.denoiser_steps, 1), progress=False,
                        model_kwargs=model_kwargs(args))
    if args.denoiser_steps:
        model = train(config).ema.module
        note = f"toy MLP trained {args.denoiser_steps} steps on toy:gmm8 (EMA weights)"
    else:
        model = build_setup(config, torch.device("cpu")).model
        note = "untrained toy MLP"
    return model.eval(), note


def bench_sampling(args, k_sampling) -> None:
    from scoreaug_lab.sampling import SeededNoise, edm_sigma_steps, sample

    model, note = trained_denoiser(args)
    n = args.samples
    seeds = list(range(n))
    shape = (model.dim,)
    g = torch.Generator().manual_seed(0)

    def ours(k):
        for _ in range(k):
            sample(model, shape, seeds, num_steps=18, method="heun")

    fresh = iter(range(10**6, 10**9, n))

    def ours_new_seeds(k):                 # seeds never drawn before: the start noise is seeded row by row
        for _ in range(k):
            start = next(fresh)
            sample(model, shape, range(start, start + n), num_steps=18, method="heun")

    def peer(k):
        for _ in range(k):
            sigmas = k_sampling.get_sigmas_karras(18, 0.002, 80.0, 7.0)
            x = torch.randn((n, *shape), generator=g) * sigmas[0]
            k_sampling.sample_heun(model, x, sigmas, disable=True)

    with torch.no_grad():
        wall, cpu = interleave({"ours sample (heun)": ours, "ours, new seeds": ours_new_seeds,
                                "k-diffusion sample_heun": peer}, args.rounds, args.chunk_runs)
    print(f"sampler: Heun, 18 steps (35 denoiser calls), {n} samples of {note}, {args.rounds} rounds x "
          f"{args.chunk_runs} runs each (after a warm-up chunk), {torch.get_num_threads()} thread(s)")
    print("  ours: sampling.sample(model, (2,), seeds 0..n-1): per-sample seeded start noise (each seed's row cached after "
          "its first draw, as when a widget or the store samples the same seeds again), edm_sigma_steps")
    print("  ours, new seeds: the same with seeds never drawn before in the process (every row seeded afresh)")
    print("  peer: k_diffusion.sampling.sample_heun(model, torch.randn(n, 2) * sigmas[0], get_sigmas_karras(18, 0.002, 80, 7))")
    for name in wall:
        print(describe(name, wall[name], cpu[name], "run"))
    print(ratio_line("ours / k-diffusion", wall, cpu, "ours sample (heun)", "k-diffusion sample_heun"))
    print(ratio_line("ours with new seeds / k-diffusion", wall, cpu, "ours, new seeds", "k-diffusion sample_heun"))

    # the same start noise, the same denoiser: both are the deterministic Heun sampler of EDM's Algorithm 1
    with torch.no_grad():
        ours_sigmas, karras = edm_sigma_steps(18), k_sampling.get_sigmas_karras(18, 0.002, 80.0, 7.0)
        x_start = SeededNoise(seeds).randn(shape) * ours_sigmas[0].item()           # what `sample` starts from
        a = sample(model, shape, seeds, num_steps=18, method="heun")
        b = k_sampling.sample_heun(model, x_start.clone(), karras, disable=True)
        c = k_sampling.sample_heun(model, x_start.clone(), ours_sigmas, disable=True)
        a64 = sample(model, shape, seeds, num_steps=18, method="heun", dtype=torch.float64)
        x_start64 = SeededNoise(seeds).randn(shape, torch.float64) * ours_sigmas[0].item()
        c64 = k_sampling.sample_heun(model, x_start64, ours_sigmas, disable=True)
    print(f"  same start noise and denoiser (samples up to {a.abs().max().item():.2f} in size): max |ours - k-diffusion| "
          f"= {(a - b).abs().max().item():.2e} in float32 with each its own schedule; {(a - c).abs().max().item():.2e} "
          f"with our sigma steps given to sample_heun; {(a64 - c64).abs().max().item():.2e} with both in float64 "
          f"({'within' if (a - b).abs().max().item() <= 1e-5 * max(1.0, a.abs().max().item()) else 'NOT within'} 1e-5)")
    print(f"  the schedules differ by at most {(ours_sigmas - karras.double()).abs().max().item():.2e} (get_sigmas_karras "
          f"computes in float32, edm_sigma_steps in float64); both end in sigma = 0, reached by an Euler step")
    print("  (given float64 sigmas, sample_heun's arithmetic turns float64 after its first step, ours stays in the"
          " requested float32: the float32 differences are rounding, the float64 one shows the same algorithm)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--part", choices=("train", "sample", "both"), default="both", help="what to time (default both)")
    parser.add_argument("--steps", type=int, default=600, help="timed training steps per contestant (default 600)")
    parser.add_argument("--chunk", type=int, default=20, help="training steps per timed chunk (default 20)")
    parser.add_argument("--batch-size", type=int, default=TOY_TRAINING["batch_size"],
                        help=f"training batch (default {TOY_TRAINING['batch_size']}, the toy recipe's)")
    parser.add_argument("--lr", type=float, default=TOY_TRAINING["lr"], help="AdamW learning rate (default 3e-3)")
    parser.add_argument("--width", type=int, default=0, help=f"MLP width (default {TOY_MODEL['teach']['width']}, presets.TOY_MODEL)")
    parser.add_argument("--depth", type=int, default=0, help=f"MLP residual blocks (default {TOY_MODEL['teach']['depth']})")
    parser.add_argument("--transforms", default="rot90,flip", help="ScoreAug transforms (default rot90,flip)")
    parser.add_argument("--peer-net", choices=("ours", "timeinput"), default="ours",
                        help="network smalldiffusion trains: ours (our MLP, default) or its TimeInputMLP")
    parser.add_argument("--samples", type=int, default=1000, help="samples per sampling run (default 1000)")
    parser.add_argument("--rounds", type=int, default=15, help="sampling rounds (default 15)")
    parser.add_argument("--chunk-runs", type=int, default=2, help="sampling runs per timed chunk (default 2)")
    parser.add_argument("--denoiser-steps", type=int, default=300,
                        help="training steps of the sampled toy MLP (default 300; 0: untrained)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    for name in ("steps", "chunk", "batch_size", "samples", "rounds", "chunk_runs", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    smalldiffusion, k_sampling = import_peers()
    torch.set_num_threads(args.threads)
    import scoreaug_lab
    print(f"peers: smalldiffusion {_version('smalldiffusion')}, k-diffusion {_version('k-diffusion')}; "
          f"torch {torch.__version__}; scoreaug_lab from {os.path.dirname(scoreaug_lab.__file__)}")
    print(load_line() + " (before)")
    if args.part in ("train", "both"):
        bench_training(args, smalldiffusion)
    if args.part in ("sample", "both"):
        bench_sampling(args, k_sampling)
    print(load_line() + " (after)")


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()
