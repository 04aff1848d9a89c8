"""Image data sets: CIFAR-10 (torchvision download or a local .npz) and scikit-learn's digits.

Specs (see `load_image_data`):

    cifar10              torchvision's CIFAR-10, downloaded into $SCOREAUG_DATA_DIR/cifar10 (default data/cifar10)
    cifar10:FILE.npz     a local file with uint8 x_train (N, 32, 32, 3), y_train (N,), x_test, y_test
    digits[:SIZE]        scikit-learn's 1,797 8x8 grey digits, zero-padded (with background) to SIZE x SIZE,
                         SIZE a power of two >= 8 (default 16)

Every set comes out as float32 (N, C, H, W) with pixels in [-1, 1], labels as long (N,).

Subsets are balanced and nested: the pool is put in a *balanced order* (a random order within each
class, then the classes interleaved), and the training set is its first n_train images. So every
prefix holds each class as evenly as the pool allows, and a smaller training set (same seed) is always
a subset of a larger one. The held-out set is the official test split (CIFAR-10) or a fixed 30 digits
per class set aside before any training subset is drawn: it never shares an image with training.
"""
from __future__ import annotations

import functools
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..paths import project_root

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
DIGITS_HELDOUT_PER_CLASS = 30
DIGITS_DEFAULT_SIZE = 16


def data_dir() -> Path:
    """Where downloads and built files land: $SCOREAUG_DATA_DIR, else data/ in the project (a source checkout, so
    that notebooks in notebooks/ and commands run from the project share it), else ./data (git-ignored except its
    README)."""
    if os.environ.get("SCOREAUG_DATA_DIR"):
        return Path(os.environ["SCOREAUG_DATA_DIR"])
    project = project_root()
    return project / "data" if project is not None else Path("data")


def built_cifar_npz() -> Path:
    """The subset `scoreaug-lab data cifar10-subset` writes by default: <data_dir()>/cifar10_subset.npz."""
    return data_dir() / "cifar10_subset.npz"


SHARED_CIFAR_NPZ = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cifar10_subset.npz"


def local_cifar_npz() -> Path | None:
    """The local CIFAR-10 .npz: $SCOREAUG_CIFAR_NPZ, else the subset `scoreaug-lab data cifar10-subset` builds
    (`built_cifar_npz`), else the shared test subset next to the project (../shared/data/cifar10_subset.npz), the
    first that exists; None otherwise."""
    env = os.environ.get("SCOREAUG_CIFAR_NPZ")
    candidates = [Path(env).expanduser()] if env else []
    candidates += [built_cifar_npz(), SHARED_CIFAR_NPZ]
    return next((p for p in candidates if p.is_file()), None)


def uint8_to_unit(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, C) in 0..255 -> float32 (N, C, H, W) in [-1, 1]: x / 127.5 - 1."""
    x = torch.from_numpy(np.asarray(images).astype(np.float32))  # a fresh, writable copy
    return (x.permute(0, 3, 1, 2) / 127.5 - 1.0).contiguous()


def balanced_order(labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A permutation of range(N) whose every prefix is as class-balanced as the pool allows.

    Each image gets its rank within its class (in a random order), plus a random tie-break in [0, 1);
    sorting by that key interleaves the classes: first one image of every class, then a second, ...
    """
    n = labels.shape[0]
    perm = torch.randperm(n, generator=generator)
    lab = labels[perm]
    by_class = torch.argsort(lab, stable=True)                 # positions in perm, grouped by class
    sorted_lab = lab[by_class]
    counts = torch.bincount(sorted_lab)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(n) - starts[sorted_lab]                 # rank of each image within its class
    key = rank.double() + torch.rand(n, generator=generator, dtype=torch.float64)
    return perm[by_class][torch.argsort(key)]


def take_balanced(x: torch.Tensor, y: torch.Tensor, n: int, generator: torch.Generator, what: str):
    """The first n images of the balanced order of (x, y); a clear error when n exceeds the pool."""
    if n > x.shape[0]:
        raise ValueError(f"{what}: asked for {n} images but only {x.shape[0]} are available")
    order = balanced_order(y, generator)[:n]
    if isinstance(x, np.ndarray):  # raw uint8 images (CIFAR-10): select first, convert only the selection
        return x[order.numpy()], y[order].contiguous()
    return x[order].contiguous(), y[order].contiguous()


# ---------------------------------------------------------------------------------------------- CIFAR-10

def _check_array(path, name: str, array: np.ndarray, shape: tuple, dtype=np.uint8) -> None:
    """shape: expected shape with None for 'any length'."""
    ok = array.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, array.shape))
    if not ok or array.dtype != dtype:
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{path}: array {name!r} must be {np.dtype(dtype).name} of shape {want}, "
                         f"got {array.dtype.name} of shape {tuple(array.shape)}")


@functools.lru_cache(maxsize=2)
def _read_npz(path: str, mtime_ns: int, size: int) -> tuple:
    """Decoded arrays of a CIFAR-10 .npz (cached per file version); checked, read-only."""
    expected = f"expected a numpy .npz with keys {', '.join(NPZ_KEYS)} (uint8 x (N, 32, 32, 3), labels (N,))"
    try:
        z = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:  # ValueError: neither zip nor .npy
        reason = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
        raise ValueError(f"{path}: not a readable .npz file ({reason}); {expected}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: holds a single array, not an .npz archive; {expected}")
    with z:
        missing = [k for k in NPZ_KEYS if k not in z.files]
        if missing:
            raise ValueError(f"{path}: missing array(s) {', '.join(missing)}; {expected}")
        try:
            arrays = {k: z[k] for k in NPZ_KEYS}
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
            raise ValueError(f"{path}: an array could not be read ({err}); {expected}") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        _check_array(path, f"x_{split}", x, (None, 32, 32, 3))
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{path}: array 'y_{split}' must be integer labels of shape (N,), "
                             f"got {y.dtype.name} of shape {tuple(y.shape)}")
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"{path}: x_{split} holds {x.shape[0]} images but y_{split} {y.shape[0]} labels")
        if y.size and (y.min() < 0 or y.max() > 9):
            raise ValueError(f"{path}: labels in y_{split} must lie in 0..9, got {y.min()}..{y.max()}")
    for a in arrays.values():
        a.setflags(write=False)
    return tuple(arrays[k] for k in NPZ_KEYS)


def read_cifar10_npz(path) -> tuple:
    """(x_train, y_train, x_test, y_test) as numpy arrays from a local .npz; clear errors when it is
    missing or malformed (which key, which shape or dtype was expected)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 file {path} not found; expected a .npz with uint8 x_train "
                                "(N, 32, 32, 3), y_train (N,), x_test (M, 32, 32, 3), y_test (M,)")
    stat = path.stat()
    return _read_npz(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def read_cifar10_torchvision(root=None, download: bool = True) -> tuple:
    """(x_train, y_train, x_test, y_test) from torchvision's CIFAR-10 in `root` (downloaded when absent)."""
    from torchvision.datasets import CIFAR10
    root = Path(root) if root is not None else data_dir() / "cifar10"
    try:
        train = CIFAR10(str(root), train=True, download=download)
        test = CIFAR10(str(root), train=False, download=download)
    except (OSError, RuntimeError) as err:  # URLError is an OSError; a corrupt or absent copy a RuntimeError
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise FileNotFoundError(f"CIFAR-10 is not in {root} and could not be downloaded ({reason}); connect "
                                "to the internet once, or use --data cifar10:FILE.npz with a local copy") from None
    return (np.asarray(train.data, dtype=np.uint8), np.asarray(train.targets, dtype=np.int64),
            np.asarray(test.data, dtype=np.uint8), np.asarray(test.targets, dtype=np.int64))


def load_cifar10(source: str, n_train: int, n_heldout: int, seed: int = 0) -> dict:
    """source '' (torchvision) or a .npz path -> dict of DataSplit fields."""
    if source:
        if not source.endswith(".npz"):
            raise ValueError(f"data spec 'cifar10:{source}': expected cifar10 (torchvision download) or "
                             "cifar10:FILE.npz")
        x_tr, y_tr, x_te, y_te = read_cifar10_npz(source)
    else:
        x_tr, y_tr, x_te, y_te = read_cifar10_torchvision()
    # the uint8 arrays are split first and only the chosen images become floats (60,000 of them would be
    # 740 MB of float32 for a 500-image run)
    return _split(x_tr, torch.from_numpy(y_tr.astype(np.int64)), x_te, torch.from_numpy(y_te.astype(np.int64)),
                  n_train, n_heldout, seed, num_classes=10, class_names=CIFAR10_CLASSES, what="cifar10",
                  convert=uint8_to_unit)


# ---------------------------------------------------------------------------------------------- digits

def digits_size(option: str) -> int:
    """'' -> 16; '8' | '16' | '32' | ... -> that size (a power of two >= 8)."""
    if not option:
        return DIGITS_DEFAULT_SIZE
    try:
        size = int(option)
    except ValueError:
        size = 0
    if size < 8 or size & (size - 1):
        raise ValueError(f"data spec 'digits:{option}': the size must be a power of two >= 8 (8, 16, 32, ...)")
    return size


def digits_images(size: int = DIGITS_DEFAULT_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits as float32 (1797, 1, size, size) in [-1, 1] and labels (1797,).

    Grey levels 0..16 map to v / 8 - 1 (0, the background, to -1). The 8x8 digit sits in the centre;
    the border is background, added by padding, not resizing: pixels stay the original grey levels and
    translations and rotations keep the digit inside the frame.
    """
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = torch.from_numpy(digits.images).float()[:, None] / 8.0 - 1.0  # (1797, 1, 8, 8)
    pad = (size - 8) // 2
    x = torch.nn.functional.pad(x, (pad, pad, pad, pad), value=-1.0)
    return x.contiguous(), torch.from_numpy(digits.target).long()


def load_digits(option: str, n_train: int, n_heldout: int, seed: int = 0) -> dict:
    x, y = digits_images(digits_size(option))
    # A fixed split (independent of the seed): the first DIGITS_HELDOUT_PER_CLASS images of each class
    # in one balanced order are held out (exactly balanced: every class has >= 174), the rest is the pool.
    order = balanced_order(y, torch.Generator().manual_seed(20_250_808))
    n_hold = DIGITS_HELDOUT_PER_CLASS * 10
    hold, pool = order[:n_hold], order[n_hold:]
    return _split(x[pool], y[pool], x[hold], y[hold], n_train, n_heldout, seed, num_classes=10,
                  class_names=tuple(str(k) for k in range(10)), what="digits")


def _split(x_pool, y_pool, x_hold, y_hold, n_train, n_heldout, seed, *, num_classes, class_names, what,
           convert=None) -> dict:
    """Balanced, nested training subset (stream 0 of `seed`) and held-out subset (stream 1); `convert`
    turns the chosen images into float tensors (for pools kept as raw arrays)."""
    from . import seeded_generator  # the package's seed streams (no import cycle at call time)
    if x_hold.shape[0] == 0:
        raise ValueError(f"{what}: the held-out (test) split is empty; a held-out set is needed for every measure")
    train, train_y = take_balanced(x_pool, y_pool, n_train, seeded_generator(seed, 0), f"{what} --n-train")
    n_heldout = min(int(n_heldout), x_hold.shape[0])
    heldout, heldout_y = take_balanced(x_hold, y_hold, n_heldout, seeded_generator(seed, 1), f"{what} held-out")
    if convert is not None:
        train, heldout = convert(train), convert(heldout)
    return dict(train=train, heldout=heldout, train_labels=train_y, heldout_labels=heldout_y,
                num_classes=num_classes, class_names=class_names)


def load_image_data(family: str, option: str, n_train: int, n_heldout: int, seed: int = 0) -> dict:
    """DataSplit fields (train, heldout, labels, num_classes, class_names) for an image family."""
    if family == "cifar10":
        return load_cifar10(option, n_train, n_heldout, seed)
    if family == "digits":
        return load_digits(option, n_train, n_heldout, seed)
    raise ValueError(f"unknown image data family {family!r}; expected cifar10 or digits")
