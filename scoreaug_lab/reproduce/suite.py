"""The reproduction's budgets and its run list, as data.

A budget fixes the scale (data, training-set sizes, model capacities, seeds, steps, samples); `build_runs`
turns it into the list of runs every claim needs (a run shared by two claims is trained once). Arms
(`arm_settings` gives each one's TrainConfig fields):

    noaug            no augmentation (the baseline of claims 1, 2, 5)
    scoreaug         ScoreAug: the paper's four transforms in noisy space, told omega, probability aug_prob
                     (the shift scaled to the image: 1 pixel of 8 for digits, as 4 of 32 for CIFAR-10)
    noisy-rot90      rot90 in noisy space, NOT told omega (claim 3), probability rot_prob
    scoreaug-rot90   rot90 in noisy space, told omega (claim 3)
    clean-geometric  EDM-style clean-space geometric augmentation, told omega (claim 4): scale, rotation,
                     stretch and shift each on with its own probability, an image untouched with probability
                     1 - clean_aug_prob
    combined         clean-geometric and scoreaug together, each told its omega (claim 4), each stage's
                     probability lowered so that an image is untouched as often as in the single arms

Pairing: every run of one seed shares the data draw, the initial weights of every layer the arms share (the
omega layer has its own generator: models.embedding), the batches, sigma and noise of every step (transform
parameters come from a second generator: train.loop), the evaluation probes and the sample seeds.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from ..presets import DIGIT_TRANSFORMS, PAPER_BATCH, PAPER_STEPS, get_preset
from ..runs.keys import digest
from ..transforms import PAPER_TRANSFORMS

ARMS = ("noaug", "scoreaug", "noisy-rot90", "scoreaug-rot90", "clean-geometric", "combined")
GRID_ARMS = ("noaug", "scoreaug")
CLAIM3_ARMS = ("noisy-rot90", "scoreaug-rot90")
CLAIM4_ARMS = ("clean-geometric", "scoreaug", "combined")


@dataclass(frozen=True)
class Capacity:
    label: str
    model: str
    model_kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Cells:
    """Training-set sizes x capacities of one data set (None as a size: every image of the pool)."""
    data: str
    label: str
    sizes: tuple
    capacities: tuple
    steps: int
    eval_every: int
    n_heldout: int
    batch_size: int
    seeds: tuple | None = None    # these cells' seeds (None: the budget's)


@dataclass(frozen=True)
class Budget:
    name: str
    description: str
    meaningless: bool             # smoke: the numbers test the code, not the method
    main: Cells                   # claims 1, 2 and 5 (and the cells of claims 3 and 4)
    extra: Cells | None           # more claim-1/2 cells (CIFAR-10 subset) when asked for and present
    seeds: tuple
    aug_prob: float               # ScoreAug's probability of transforming a sample
    rot_prob: float               # claim 3: rot90 with probability p (expect 3p/4 rotated samples without omega)
    clean_aug_prob: float         # clean-space geometric: probability that an image is changed at all
    claim3_cell: tuple            # (size, capacity label) of claim 3
    claim4_cell: tuple            # (size, capacity label) of claim 4
    n_samples: int                # samples per run (sample seeds 0..n-1, the same for every run)
    sampler_steps: int            # Heun steps (2 n - 1 network evaluations)
    n_per_band: int               # final train/held-out loss: probes per sigma band
    classifier_epochs: int
    orientation_epochs: int
    device: str = "cpu"
    inception: bool = False       # Inception FID too, where its weights are cached
    preset: str = ""              # the training preset of every run (else the digits recipe, presets.digits_config)
    expected_minutes: str = ""

    def with_changes(self, seeds=None, steps=None, data=None) -> "Budget":
        main = self.main
        if steps is not None:
            main = dataclasses.replace(main, steps=int(steps), eval_every=max(1, int(steps) // 20))
        if data is not None:
            main = dataclasses.replace(main, data=data, label=data_label(data))
        if seeds is None:
            return dataclasses.replace(self, main=main)
        extra = dataclasses.replace(self.extra, seeds=None) if self.extra is not None else None   # all cells
        return dataclasses.replace(self, main=main, extra=extra, seeds=tuple(seeds))


def data_label(spec: str) -> str:
    family, _, option = spec.partition(":")
    return family if family == "cifar10" else f"{family}{option}"


DIGIT_CAPS = (Capacity("c8", "unet-tiny", {"model_channels": 8}), Capacity("c16", "unet-tiny", {"model_channels": 16}))

BUDGETS = {
    "smoke": Budget(
        "smoke", "every code path at toy sizes, under 2 minutes; the numbers are meaningless", True,
        main=Cells("digits:8", "digits8", (16, 48), (Capacity("c4", "unet-tiny", {"model_channels": 4}),
                                                   Capacity("c8", "unet-tiny", {"model_channels": 8})),
                   steps=6, eval_every=3, n_heldout=300, batch_size=16),
        extra=Cells("cifar10", "cifar10", (16,), (Capacity("c4", "unet-tiny", {"model_channels": 4}),),
                    steps=2, eval_every=2, n_heldout=64, batch_size=8),
        seeds=(0, 1, 2), aug_prob=0.5, rot_prob=0.5, clean_aug_prob=0.5, claim3_cell=(48, "c4"),
        claim4_cell=(48, "c4"), n_samples=24, sampler_steps=3, n_per_band=32, classifier_epochs=1,
        orientation_epochs=1, expected_minutes="< 2"),
    "cpu": Budget(
        "cpu", "scikit-learn digits at 8x8, two tiny U-Nets, two training-set sizes, 8 seeds; about 30 min on 2 cores",
        False,
        main=Cells("digits:8", "digits8", (64, None), DIGIT_CAPS, steps=600, eval_every=30, n_heldout=300,
                   batch_size=64),
        extra=Cells("cifar10", "cifar10", (64,), (Capacity("c8", "unet-tiny", {"model_channels": 8}),),
                    steps=800, eval_every=80, n_heldout=1000, batch_size=32, seeds=(0, 1, 2)),
        seeds=tuple(range(8)), aug_prob=0.5, rot_prob=0.5, clean_aug_prob=0.5, claim3_cell=(None, "c16"),
        claim4_cell=(64, "c16"), n_samples=500, sampler_steps=18, n_per_band=1024, classifier_epochs=15,
        orientation_epochs=10, expected_minutes="about 35 on 2 cores (digits only; --with-cifar adds 3 seeds of "
        "CIFAR-10 at 32x32, about 30 more)"),
    "gpu": Budget(
        "gpu", "the paper's CIFAR-10 setting: EDM's 56 M DDPM++ (cifar10-paper preset), Inception FID where its "
        "weights are cached (else the proxy FID)", False,
        main=Cells("cifar10", "cifar10", (5000, 10_000, None),
                   (Capacity("ddpmpp-56M", "unet-ddpmpp", {}),
                    Capacity("ddpmpp-14M", "unet-ddpmpp", {"model_channels": 64})),
                   steps=PAPER_STEPS, eval_every=10_000, n_heldout=10_000, batch_size=PAPER_BATCH),
        extra=None, seeds=(0, 1, 2, 3, 4), aug_prob=0.12, rot_prob=0.5, clean_aug_prob=0.12,
        claim3_cell=(None, "ddpmpp-56M"), claim4_cell=(None, "ddpmpp-56M"), n_samples=10_000, sampler_steps=18,
        n_per_band=4096, classifier_epochs=30, orientation_epochs=15, device="cuda", inception=True,
        preset="cifar10-paper",
        expected_minutes="weeks of one GPU at full length (390,625 steps of 512 images per run); cut with --steps"),
}


@dataclass(frozen=True)
class RunSpec:
    name: str                     # the run's name in the report (its folder is the store's key)
    arm: str
    data_label: str
    n_train: int
    capacity: str
    seed: int
    config: dict                  # TrainConfig fields (out and progress are set by the runner)
    measure: dict                 # what measures.py computes and with which classifiers
    cost: float                   # relative cost, for the progress bar's time estimate


def resolve_size(data: str, size) -> int:
    """A training-set size; None: every training image of the data set's pool."""
    if size is not None:
        return int(size)
    from ..data.images import DIGITS_HELDOUT_PER_CLASS, read_cifar10_npz
    family, _, option = data.partition(":")
    if family == "digits":
        return 1797 - 10 * DIGITS_HELDOUT_PER_CLASS
    return read_cifar10_npz(option)[0].shape[0] if option else 50_000


def noisy_transforms(data: str) -> str:
    """The paper's four transforms with the shift scaled to the image: digits (8x8) shift by at most 1 pixel,
    as CIFAR-10's 4 of 32 (4 pixels would push half a digit out of the frame)."""
    return DIGIT_TRANSFORMS if data.startswith("digits") else PAPER_TRANSFORMS


def geometric_spec(changed: float) -> str:
    """EDM-style clean-space geometric augmentation that changes an image with probability `changed`: each of
    its four operations on independently with p_each, 1 - (1 - p_each)^4 = changed."""
    return f"geometric:p_each={1 - (1 - changed) ** 0.25:.6g}"


def stage_probability(p: float) -> float:
    """The probability of each of two independent stages that together change a sample with probability p."""
    return 1 - math.sqrt(1 - p)


def arm_settings(budget: "Budget", data: str, arm: str) -> dict:
    """The TrainConfig fields that make an arm what it is."""
    noisy = noisy_transforms(data)
    if arm == "noaug":
        return dict(variant="noaug")
    if arm == "scoreaug":
        return dict(variant="scoreaug", transforms=noisy, aug_prob=budget.aug_prob)
    if arm in ("noisy-rot90", "scoreaug-rot90"):
        return dict(variant=arm.split("-")[0], transforms="rot90", aug_prob=budget.rot_prob)
    if arm == "clean-geometric":
        return dict(variant="clean-omega", transforms=geometric_spec(budget.clean_aug_prob), aug_prob=1.0)
    if arm == "combined":   # each stage lowered: untouched as often as the single arms (both when they agree)
        return dict(variant="combined", transforms=noisy, aug_prob=stage_probability(budget.aug_prob),
                    clean_transforms=geometric_spec(stage_probability(budget.clean_aug_prob)), clean_aug_prob=1.0)
    raise ValueError(f"unknown arm {arm!r}; choose one of {', '.join(ARMS)}")


def arm_config(budget: Budget, cells: Cells, arm: str, n_train: int, cap: Capacity, seed: int) -> dict:
    """The TrainConfig fields of one run, resolved (out and progress left to the runner). Small budgets use
    the walkthrough's digits recipe (`presets.digits_config`), the gpu budget the cifar10-paper preset. Every
    run keeps the EMA weights of its lowest held-out loss (keep_best) for the measures at the best checkpoint."""
    from ..train.config import TrainConfig
    from ..presets import digits_config
    values = dict(data=cells.data, n_train=n_train, n_heldout=cells.n_heldout, seed=seed, data_seed=seed,
                  model=cap.model, model_kwargs=dict(cap.model_kwargs), steps=cells.steps,
                  batch_size=cells.batch_size, eval_every=cells.eval_every, log_every=max(1, cells.eval_every),
                  ckpt_every=max(1, min(cells.steps, 250 if cells.steps < 10_000 else 5000)), keep_best=True,
                  device=budget.device, progress=False, **arm_settings(budget, cells.data, arm))
    if budget.preset:
        preset = {k: v for k, v in get_preset(budget.preset).items() if k not in values and k != "transforms"}
        config = TrainConfig(**preset, **values, preset=budget.preset)
    else:
        config = digits_config(size="teach", warmup_steps=min(100, cells.steps // 10), **values)
    return {k: v for k, v in config.to_dict().items() if k not in ("out", "progress")}


def _cost(config: dict, budget: Budget) -> float:
    pixels = {"digits8": 64, "digits": 256}.get(data_label(config["data"]), 3072)
    width = config["model_kwargs"].get("model_channels", 32)
    train = config["steps"] * config["batch_size"] / 64 * (pixels / 64) ** 0.5 * (0.6 + width / 20)
    return train + budget.n_samples * budget.sampler_steps / 200 * (pixels / 64) ** 0.5


def build_runs(budget: Budget, with_extra: bool = False) -> list[RunSpec]:
    """Every run of the suite, each once (the scoreaug arm of claim 4 is the grid's run of that cell)."""
    cell_sets = [budget.main] + ([budget.extra] if with_extra and budget.extra is not None else [])
    wanted = []
    for cells in cell_sets:
        caps = {c.label: c for c in cells.capacities}
        for size in cells.sizes:
            for cap in cells.capacities:
                wanted += [(cells, arm, size, cap) for arm in GRID_ARMS]
        if cells is budget.main:
            for arms, (size, label) in ((CLAIM3_ARMS, budget.claim3_cell), (CLAIM4_ARMS, budget.claim4_cell)):
                wanted += [(cells, arm, size, caps[label]) for arm in arms]
    runs, seen = [], set()
    for cells, arm, size, cap in wanted:
        n = resolve_size(cells.data, size)
        for seed in cells.seeds or budget.seeds:
            config = arm_config(budget, cells, arm, n, cap, seed)
            name = f"{cells.label}-n{n}-{cap.label}-{arm}-s{seed}-{digest(config)}"
            if name in seen:
                continue
            seen.add(name)
            # sample seeds and loss probes follow the run's seed (shared by the arms of a seed, new for each seed,
            # so the spread over seeds includes the sampling noise of the measures)
            measure = dict(n_samples=budget.n_samples, sampler_steps=budget.sampler_steps,
                           first_sample_seed=seed * budget.n_samples, probe_seed=seed,
                           n_per_band=budget.n_per_band, proxy=f"proxy-{cells.label}",
                           orientation=f"orientation-{cells.label}" if cells is budget.main else None,
                           inception=budget.inception)   # rotation is claim 3's, measured on the main cells only
            runs.append(RunSpec(name, arm, cells.label, n, cap.label, seed, config, measure, _cost(config, budget)))
    return runs


def classifier_specs(budget: Budget, with_extra: bool = False) -> dict:
    """{name: settings} of the classifiers the measures need: one proxy-FID feature network (class labels) per
    data set and the orientation classifier of the main data set, each trained on its whole training pool."""
    out = {}
    for cells in [budget.main] + ([budget.extra] if with_extra and budget.extra is not None else []):
        pool = resolve_size(cells.data, None)
        n_train = min(pool, 256 if budget.meaningless else 10_000)
        width = 8 if budget.meaningless else 16 if cells.label != "cifar10" else 32
        common = dict(data=cells.data, n_heldout=cells.n_heldout, device=budget.device, width=width)
        out[f"proxy-{cells.label}"] = dict(kind="proxy", n_train=n_train, epochs=budget.classifier_epochs, **common)
        if cells is budget.main:   # claim 3's measure; the extra cells serve claims 1-2
            out[f"orientation-{cells.label}"] = dict(kind="orientation", n_train=min(n_train, 10_000),
                                                     epochs=budget.orientation_epochs, **common)
    return out


__all__ = ["ARMS", "arm_settings", "noisy_transforms", "geometric_spec", "stage_probability", "GRID_ARMS", "CLAIM3_ARMS", "CLAIM4_ARMS", "Capacity", "Cells", "Budget", "BUDGETS", "RunSpec",
           "build_runs", "classifier_specs", "resolve_size", "data_label"]
