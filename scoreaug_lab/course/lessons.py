"""The runs each walkthrough notebook trains, as data: one definition shared by the notebook (which asks the
run store for them) and by `scoreaug-lab prepare` (which trains them beforehand, e.g. the night before a
class, into the same store).

    lesson = lessons.get("04")                   # teaching or test size from SCOREAUG_SIZE
    runs = get_store().get_many(lesson.toy_configs())   # {(n_train, seed): Run}, missing ones trained
    lesson.configs()                             # every run the notebook asks the store for
    cli.prepare.prepare(["04", "05"], workers=2) # what `scoreaug-lab prepare 04 05` does

Lessons whose runs come from the store (00, 01, 04, 05, 07) list TrainConfigs built from the recipes of
`presets` (toy_config, digits_config, mixture_config); notebook 06 teaches the command line, so its lesson
lists the `scoreaug-lab train`, `classifier` and `evaluate` argument lists it runs (`cli.runner.run_cli`, or
several at once in worker processes with `cli.runner.run_commands`), with run folders under <store>/06_cifar10. A
notebook reads
its sizes and seeds from its lesson and may change them (an exercise): the lesson builds the configs of
whatever it is given, so a changed setting is simply a run the store does not hold yet.
"""
from __future__ import annotations

from pathlib import Path

from ..presets import by_size, digits_config, mixture_config, notebook_size, toy_config
from ..train.config import TrainConfig


class Lesson:
    """What one notebook trains at a size ("teach" or "test"; None: SCOREAUG_SIZE)."""

    number = ""
    notebook = ""

    def __init__(self, size: str | None = None):
        self.size = notebook_size(size)

    def by_size(self, teach, test):
        return by_size(teach, test, self.size)

    def configs(self) -> list[TrainConfig]:
        """Every run the notebook gets from the run store (none by default)."""
        return []

    def commands(self, root=None) -> list[list[str]]:
        """Command lines (argument lists of `scoreaug-lab`) the notebook runs (none by default)."""
        return []

    def sample_requests(self) -> list[tuple[TrainConfig, int]]:
        """(config, n): the `RunStore.samples(run, n)` the notebook draws (saved in the run folders by `prepare`)."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size!r}): {len(self.configs())} store run(s)"


class Quickstart(Lesson):
    """00: no augmentation against ScoreAug (rot90 + flip, every sample transformed) on 64 points of the
    8-mode ring, the demo's setting (`make demo`), one seed."""

    number, notebook = "00", "00_quickstart"
    variants = ("noaug", "scoreaug")

    @property
    def steps(self) -> int:
        return self.by_size(3000, 150)

    def runs(self, variants=None, steps: int | None = None, seed: int = 0) -> dict:
        """{variant: TrainConfig}: the demo's recipe (an MLP, batch 128), a loss line every step / 300."""
        steps = self.steps if steps is None else int(steps)
        return {v: TrainConfig(data="toy:gmm8", n_train=64, variant=v, transforms="rot90,flip", aug_prob=1.0,
                               steps=steps, batch_size=128, lr=3e-3, ema_decay=0.995, seed=seed,
                               log_every=max(1, steps // 300), ckpt_every=steps)
                for v in (variants or self.variants)}

    def configs(self):
        return list(self.runs().values())


class DenoisingAndScores(Lesson):
    """01: the small network of the sampler and score-field explorers (presets.mixture_config)."""

    number, notebook = "01", "01_denoising_and_scores"

    @property
    def model_steps(self) -> int:
        return self.by_size(1500, 100)

    def model_config(self, steps: int | None = None, seed: int = 0) -> TrainConfig:
        return mixture_config(steps=self.model_steps if steps is None else int(steps), seed=int(seed))

    def configs(self):
        return [self.model_config()]


class TransformsInNoisySpace(Lesson):
    """02: closed-form optima and noise statistics only; nothing is trained."""

    number, notebook = "02", "02_transforms_in_noisy_space"


class ScoreRelationships(Lesson):
    """03: symbolic and autograd checks only; nothing is trained."""

    number, notebook = "03", "03_score_relationships"


class Overfitting(Lesson):
    """04: memorisation against training-set size: a toy sweep (noaug, sizes x seeds, the overfitting
    explorer's recipe) and a small U-Net on few vs many digits."""

    number, notebook = "04", "04_overfitting_with_little_data"

    @property
    def toy_sizes(self) -> tuple:
        return self.by_size((16, 32, 64, 128, 256, 1024), (16, 128))

    @property
    def toy_seeds(self) -> tuple:
        return self.by_size((0, 1, 2), (0, 1))

    @property
    def digit_sizes(self) -> tuple:
        return self.by_size((32, 1000), (16, 64))

    @property
    def digit_seeds(self) -> tuple:
        return (0, 1)

    def explorer_config(self) -> TrainConfig:
        """The OverfittingExplorer's first setting (noaug, 64 points, seed 0): the sweep's run of (64, 0)."""
        return toy_config("noaug", n_train=64, seed=0, size=self.size)

    def toy_configs(self, sizes=None, seeds=None) -> dict:
        """{(n_train, seed): TrainConfig}; seed s also draws the training points (data_seed = s)."""
        return {(n, s): toy_config("noaug", n_train=n, seed=s, data_seed=s, size=self.size)
                for n in (sizes or self.toy_sizes) for s in (seeds or self.toy_seeds)}

    def digit_configs(self, sizes=None, seeds=None) -> dict:
        """{(n_train, seed): TrainConfig} of presets.digits_config without augmentation."""
        return {(n, s): digits_config("noaug", n_train=n, seed=s, size=self.size)
                for n in (sizes or self.digit_sizes) for s in (seeds or self.digit_seeds)}

    @property
    def n_toy_samples(self) -> int:
        return self.by_size(500, 128)       # as the overfitting explorer

    @property
    def n_digit_samples(self) -> int:
        return self.by_size(256, 16)

    def configs(self):
        return [self.explorer_config(), *self.toy_configs().values(), *self.digit_configs().values()]

    def sample_requests(self):
        return [(c, self.n_toy_samples) for c in (self.explorer_config(), *self.toy_configs().values())] + \
               [(c, self.n_digit_samples) for c in self.digit_configs().values()]


class ScoreAugGrid(Lesson):
    """05: the grid of variants on the toy mixture (an orthogonal and a non-orthogonal family) and
    no augmentation / clean-space with omega / ScoreAug on digits (notebook 04's recipe)."""

    number, notebook = "05", "05_scoreaug_vs_clean_space"
    grid = ("noaug", "clean", "clean-omega", "noisy", "scoreaug")
    families = {"orthogonal: rot90,flip": "rot90,flip",          # symmetries of the 8-mode ring: no leak possible
                "non-orthogonal: scale": "scale:max_log=0.693"}   # x -> a x, a in [1/2, 2]: changes the noise level
    digit_variants = ("noaug", "clean-omega", "scoreaug")
    n_toy_train = 64
    aug_prob = 0.5

    @property
    def toy_seeds(self) -> tuple:
        return self.by_size((0, 1, 2), (0, 1))

    @property
    def digit_seeds(self) -> tuple:
        return (0, 1)

    @property
    def n_digits(self) -> int:
        return self.by_size(32, 16)

    def toy_configs(self, families=None, grid=None, seeds=None, aug_prob: float | None = None,
                    n_train: int | None = None) -> dict:
        """{(family, variant, seed): TrainConfig}: presets.toy_config, 64 points (the same for every seed), 5
        train/held-out evaluations logged; the noaug run is the same for both families."""
        families = self.families if families is None else families
        p = self.aug_prob if aug_prob is None else aug_prob
        n = self.n_toy_train if n_train is None else n_train
        return {(family, v, s): toy_config(v, spec, n, seed=s, aug_prob=p, evals=5, size=self.size)
                for family, spec in families.items() for v in (grid or self.grid) for s in (seeds or self.toy_seeds)}

    def digit_configs(self, variants=None, seeds=None, n_train: int | None = None) -> dict:
        """{(variant, seed): TrainConfig}: presets.digits_config with the paper's four transforms (the shift
        scaled to 8x8 digits: presets.DIGIT_TRANSFORMS)."""
        n = self.n_digits if n_train is None else n_train
        return {(v, s): digits_config(v, n_train=n, seed=s, size=self.size)
                for v in (variants or self.digit_variants) for s in (seeds or self.digit_seeds)}

    @property
    def n_toy_samples(self) -> int:
        return self.by_size(500, 128)

    @property
    def n_digit_samples(self) -> int:
        return self.by_size(256, 16)

    def configs(self):
        return [*self.toy_configs().values(), *self.digit_configs().values()]

    def sample_requests(self):
        return [(c, self.n_toy_samples) for c in self.toy_configs().values()] + \
               [(c, self.n_digit_samples) for c in self.digit_configs().values()]


class DataLeakage(Lesson):
    """07: the two pairs of toy networks of the leakage explorer (clean vs clean-omega, noisy vs scoreaug)
    trained with the scale family on the two moons."""

    number, notebook = "07", "07_data_leakage"

    @property
    def n_train(self) -> int:
        return self.by_size(256, 64)

    def pair_configs(self, family: str = "scale", n_train: int | None = None) -> dict:
        """{(pair, variant): TrainConfig} of both pairs (leakage.leak_configs with the explorer's defaults)."""
        from ..lab.leakage import LEAK_TRANSFORMS, PAIRS, leak_configs
        n = self.n_train if n_train is None else n_train
        steps = toy_config(size=self.size).steps
        return {(pair, config.variant): config for pair in PAIRS
                for config in leak_configs(pair, LEAK_TRANSFORMS[family], n_train=n, steps=steps, size=self.size)}

    def configs(self):
        return list(self.pair_configs().values())


class CifarScale(Lesson):
    """06: the command-line workflow on the CIFAR-10 subset (digits when it is absent): `train` for every
    variant and seed, the proxy-FID `classifier`, `evaluate` for every run. Folders under <store>/06_cifar10."""

    number, notebook = "06", "06_cifar10_scale"
    variants = ("noaug", "scoreaug")

    def __init__(self, size: str | None = None, gpu: bool | None = None, npz=None):
        super().__init__(size)
        if gpu is None:
            import torch
            gpu = torch.cuda.is_available()
        if npz is None:
            from ..data.images import local_cifar_npz
            npz = local_cifar_npz()
        self.gpu, self.npz = bool(gpu), (Path(npz) if npz else None)
        self.data = f"cifar10:{self.npz}" if self.npz else "digits"
        self.preset = "cifar10-cpu" if self.npz else "digits-cpu"

    @property
    def seeds(self) -> tuple:
        return self.by_size((0, 1, 2) if self.gpu else (0, 1), (0, 1))

    @property
    def small(self) -> list[str]:
        """`train` options after the preset (explicit options override it): the small setting."""
        by = self.by_size
        if self.gpu:
            small = ["--n-train", "2000", "--n-heldout", "1000", "--batch-size", "128", "--amp",
                     "--steps", str(by(4000, 3))]
        else:
            # about 75 s a run on one core (measured): 600 steps of 32 images, a U-Net of 8 base channels
            # (0.05 M parameters) in channels_last (the faster layout for convolutions on a CPU)
            small = ["--n-train", str(by(500, 32)), "--n-heldout", str(by(500, 32)),
                     "--batch-size", str(by(32, 8)), "--steps", str(by(600, 3)),
                     "--warmup-steps", str(by(50, 1)),
                     "--ema-decay", "0.99",   # EMA half-life 70 steps (the preset's 0.999 suits 3,000 steps)
                     "--model-opt", "model_channels=8", "--channels-last"]
        if self.size == "test":     # the test size also drops the U-Net's attention layer
            small += ["--model-opt", "mid_attention=0"]
        return small + ["--log-every", str(by(10, 1)), "--ckpt-every", str(by(200, 3))]

    @property
    def eval_options(self) -> list[str]:
        by = self.by_size
        return ["--n-samples", str(by(256, 8)), "--n-per-band", str(by(256, 8)), "--n-equivariance", str(by(64, 2))]

    @property
    def classifier_options(self) -> list[str]:
        if self.size == "test":
            return ["--epochs", "1", "--n-train", "256", "--width", "8", "--feature-dim", "16"]
        # on a CPU 3,000 images for 5 epochs (under a minute); on a GPU the whole training split for 15
        return ["--epochs", "15"] if self.gpu else ["--epochs", "5", "--n-train", "3000"]

    def runs_dir(self, root=None) -> Path:
        from ..runs.store import default_root
        return default_root(root) / "06_cifar10"

    def run_dir(self, variant: str, seed: int, root=None) -> Path:
        return self.runs_dir(root) / f"{variant}_seed{seed}"

    def train_commands(self, variants=None, seeds=None, small=None, root=None) -> dict:
        """{(variant, seed): argv of `scoreaug-lab train`}."""
        small = self.small if small is None else list(small)
        return {(v, s): ["train", "--preset", self.preset, "--data", self.data, "--variant", v, "--seed", str(s),
                         *small, "--out", str(self.run_dir(v, s, root)), "--no-progress"]
                for v in (variants or self.variants) for s in (seeds or self.seeds)}

    def classifier_path(self, root=None) -> Path:
        return self.runs_dir(root) / f"classifier_{self.data.split(':')[0]}.pt"

    def classifier_command(self, options=None, root=None) -> list[str]:
        options = self.classifier_options if options is None else list(options)
        return ["classifier", "--data", self.data, "--out", str(self.classifier_path(root)), *options]

    def fid_kind(self) -> tuple[str, str | None]:
        """("both" or "proxy", why not Inception): Inception only when its weights are already on disk (never
        downloaded) and at teaching size."""
        from ..evaluate.fid import find_inception_weights
        weights, reason = find_inception_weights(download=False)
        return ("both" if weights is not None and self.size == "teach" else "proxy"), reason

    def evaluate_command(self, run_dir, fid: str | None = None, options=None, root=None) -> list[str]:
        options = self.eval_options if options is None else list(options)
        fid = self.fid_kind()[0] if fid is None else fid
        return ["evaluate", "--run", str(run_dir), *options, "--fid", fid, "--classifier",
                str(self.classifier_path(root))]

    def commands(self, root=None) -> list[list[str]]:
        trains = list(self.train_commands(root=root).values())
        fid = self.fid_kind()[0]
        return [*trains, self.classifier_command(root=root),
                *[self.evaluate_command(self.run_dir(v, s, root), fid, root=root)
                  for v in self.variants for s in self.seeds]]


LESSONS = {cls.number: cls for cls in (Quickstart, DenoisingAndScores, TransformsInNoisySpace, ScoreRelationships,
                                       Overfitting, ScoreAugGrid, CifarScale, DataLeakage)}


def get(name: str, size: str | None = None) -> Lesson:
    """The lesson of a notebook by number or name ("04", "4", "04_overfitting_with_little_data", ".ipynb" too;
    not "4.5" or "7.py")."""
    path = Path(str(name))
    text = path.stem if path.suffix == ".ipynb" else path.name
    number = text.split("_")[0].zfill(2) if text[:1].isdigit() else text
    if number not in LESSONS:
        matches = [n for n, cls in LESSONS.items() if cls.notebook.startswith(text)]
        if len(matches) != 1:
            raise ValueError(f"unknown notebook {name!r}; choose from "
                             + ", ".join(f"{n} ({cls.notebook})" for n, cls in LESSONS.items()))
        number = matches[0]
    return LESSONS[number](size)


__all__ = ["Lesson", "LESSONS", "Quickstart", "DenoisingAndScores", "TransformsInNoisySpace", "ScoreRelationships",
           "Overfitting", "ScoreAugGrid", "CifarScale", "DataLeakage", "get"]
