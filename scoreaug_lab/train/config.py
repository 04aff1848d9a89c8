"""TrainConfig: every setting of one training run, checked once where it enters, and the rule for what
may change when a run folder is resumed."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .. import validation as V
from ..data import data_kind
from ..diffusion import get_variant
from ..transforms import PAPER_TRANSFORMS, parse_transforms

MAX_COUNT = 10**9        # steps, sizes and intervals above this are typos, not plans

# What "auto" means for --model and --transforms, per data kind.
DEFAULT_MODELS = {"points": "mlp", "images": "unet-tiny"}
DEFAULT_TRANSFORMS = {"points": "rot90,flip", "images": PAPER_TRANSFORMS}
# The combined variant's clean-space stage: EDM's geometric augmentation (images), its analogue for points.
DEFAULT_CLEAN_TRANSFORMS = {"points": "rotate,scale", "images": "geometric"}


@dataclass
class TrainConfig:
    data: str = "toy:gmm8"
    n_train: int = 64
    n_heldout: int = 2000
    data_seed: int = 0
    variant: str = "noaug"
    transforms: str = "auto"     # auto: rot90,flip for points; the paper's four for images
    aug_prob: float = 0.5
    clean_transforms: str = "auto"   # the combined variant's clean-space stage; auto: EDM-style geometric family
    clean_aug_prob: float = 0.5
    model: str = "auto"          # auto: mlp for points, unet-tiny for images
    model_kwargs: dict = field(default_factory=dict)
    sigma_data: float = 0.5
    steps: int = 3000
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 0.0
    warmup_steps: int = 0
    grad_clip: float = 1.0
    grad_accum: int = 1
    ema_decay: float = 0.999
    seed: int = 0
    out: str | None = None
    ckpt_every: int = 1000
    log_every: int = 50
    eval_every: int = 0          # 0: no periodic train/held-out evaluation
    keep_best: bool = False      # also keep the EMA weights of the lowest held-out loss (best_ema.pt; needs eval_every)
    device: str = "auto"
    amp: bool = False            # bf16 autocast (CUDA only)
    progress: bool = True
    xflip: bool = False          # clean dataset x-flip with probability 1/2 (images), from the generator
    class_cond: bool = False     # condition on class labels (needs a labelled data set)
    label_dropout: float = 0.0   # probability of dropping a label (classifier-free guidance)
    channels_last: bool = False  # NHWC memory format for image models
    compile: bool = False        # torch.compile the training forward
    preset: str = ""             # the preset this run started from (a label; the values are above)

    def __post_init__(self):
        """One form per value (`canonical`); resolve model="auto" and transforms="auto" by data kind (left
        alone for an unknown spec, which `validate` reports)."""
        self.__dict__.update(canonical(self.__dict__))
        try:
            kind = data_kind(self.data)
        except ValueError:
            return
        if self.model in ("auto", None):
            self.model = DEFAULT_MODELS[kind]
        if self.transforms in ("auto", None):
            self.transforms = DEFAULT_TRANSFORMS[kind]
        if self.clean_transforms in ("auto", None):
            self.clean_transforms = DEFAULT_CLEAN_TRANSFORMS[kind]

    def validate(self) -> "TrainConfig":
        """Every field checked where it enters: finite numbers in range, seeds that do not alias, a usable
        run folder; one ValueError naming the field. Values set since construction are made canonical first."""
        self.__dict__.update(canonical(self.__dict__))
        get_variant(self.variant)
        kind = data_kind(self.data)
        parse_transforms(self.transforms, kind)  # a typo (or an empty list) fails even when unused
        parse_transforms(self.clean_transforms, kind)
        for name in ("n_train", "n_heldout", "steps", "batch_size", "grad_accum", "log_every", "ckpt_every"):
            V.integer(name, getattr(self, name), 1, MAX_COUNT)
        V.integer("eval_every", self.eval_every, 0)
        V.integer("warmup_steps", self.warmup_steps, 0)
        V.seed("seed", self.seed)
        V.seed("data_seed", self.data_seed)
        if self.batch_size % self.grad_accum:
            raise ValueError(f"batch_size {self.batch_size} is not divisible by grad_accum {self.grad_accum}")
        V.number("lr", self.lr, 0.0, 1.0, low_open=True)
        V.number("weight_decay", self.weight_decay, 0.0, 10.0)
        V.number("sigma_data", self.sigma_data, 0.0, 100.0, low_open=True)
        V.number("ema_decay", self.ema_decay, 0.0, 1.0, high_open=True)
        V.number("aug_prob", self.aug_prob, 0.0, 1.0)
        V.number("clean_aug_prob", self.clean_aug_prob, 0.0, 1.0)
        V.number("grad_clip (0: no clipping)", self.grad_clip, 0.0)
        V.number("label_dropout", self.label_dropout, 0.0, 1.0)
        if self.label_dropout and not self.class_cond:
            raise ValueError("label_dropout needs class_cond (--class-cond)")
        if kind != "images" and (self.xflip or self.channels_last):
            raise ValueError(f"xflip and channels_last are for image data, not {self.data!r}")
        if self.keep_best and not self.eval_every:
            raise ValueError("keep_best needs eval_every > 0 (the best is chosen among the evaluations)")
        if not isinstance(self.model_kwargs, dict):
            raise ValueError(f"model_kwargs must be a dict of model options, got {self.model_kwargs!r}")
        if self.out is not None:
            V.folder_path("the run folder (--out)", self.out)
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


def _as_float(value):
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:   # validate() names it
            return value
    return value


_COERCE = {"float": _as_float,
           "int": lambda v: int(v) if isinstance(v, float) and v.is_integer() else v,
           "bool": lambda v: bool(v) if type(v) is int and v in (0, 1) else v}
FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(TrainConfig)}   # declared types, as written


def canonical(values: dict) -> dict:
    """TrainConfig field values in one form each, so that equal configs are equal dicts (and share a run-store
    key): numpy scalars as Python numbers (also inside model_kwargs), an int in a float field as a float
    (weight_decay=0 -> 0.0), a whole float in an int field as an int (n_train=64.0 -> 64), 0 or 1 in a bool
    field as a bool. Other values stay as they are, for validate() to judge. Keys that are not fields pass."""
    return {k: _COERCE.get(FIELD_TYPES.get(k), lambda v: v)(V.plain(v)) for k, v in values.items()}


# Fields that may differ between a run and its resumption; all others must match the checkpoint.
RESUMABLE_CHANGES = {"steps", "out", "progress", "device", "ckpt_every", "log_every", "eval_every", "amp",
                     "compile", "channels_last", "preset"}


def check_resumable(saved: dict, config: TrainConfig) -> None:
    """A clear error when a run folder is resumed with a different set-up."""
    current = config.to_dict()
    # A field missing from an older checkpoint had its default value then.
    defaults = {f.name: f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
                for f in dataclasses.fields(TrainConfig)}
    diffs = [f"{k}={saved.get(k, defaults[k])!r} (now {current[k]!r})" for k in current
             if k not in RESUMABLE_CHANGES and saved.get(k, defaults[k]) != current[k]]
    if diffs:
        raise ValueError(f"{config.out} holds a checkpoint of a different run: {', '.join(diffs)}; "
                         "use the same options, a new --out, or --fresh to start over")


__all__ = ["TrainConfig", "canonical", "check_resumable", "RESUMABLE_CHANGES", "DEFAULT_MODELS", "DEFAULT_TRANSFORMS"]
