"""data.images: the CIFAR-10 npz and digits against their source files, balanced subsets, clear errors."""
import numpy as np
import pytest
import torch

from scoreaug_lab.data import data_kind, load_data
from scoreaug_lab.data import images as image_data
from scoreaug_lab.data.images import balanced_order, read_cifar10_npz


def _rows(x: torch.Tensor) -> set:
    """Each image's bytes, for set comparisons."""
    return {x[i].numpy().tobytes() for i in range(x.shape[0])}


def _to_uint8_hwc(x: torch.Tensor) -> np.ndarray:
    """Inverse of the loader's x / 127.5 - 1 (exact for 8-bit pixels)."""
    return ((x + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def test_cifar_npz_shapes_range_and_pixels(cifar_npz):
    data = load_data(f"cifar10:{cifar_npz}", n_train=200, n_heldout=100, seed=0)
    assert data.kind == "images" and data.num_classes == 10 and data.class_names[0] == "airplane"
    assert data.train.shape == (200, 3, 32, 32) and data.heldout.shape == (100, 3, 32, 32)
    assert data.train.dtype == torch.float32 and data.train.is_contiguous()
    assert data.train.min() >= -1 and data.train.max() <= 1
    # Oracle: every loaded image is an image of the file (uint8 / 127.5 - 1, HWC -> CHW) with its label.
    x_train, y_train, x_test, y_test = read_cifar10_npz(cifar_npz)
    source = {x_train[i].tobytes(): int(y_train[i]) for i in range(x_train.shape[0])}
    back = _to_uint8_hwc(data.train)
    assert np.abs(back.astype(np.float32) / 127.5 - 1 - data.train.permute(0, 2, 3, 1).numpy()).max() < 1e-6
    assert all(source.get(back[i].tobytes()) == int(data.train_labels[i]) for i in range(back.shape[0]))
    held = {x_test[i].tobytes(): int(y_test[i]) for i in range(x_test.shape[0])}
    back = _to_uint8_hwc(data.heldout)
    assert all(held.get(back[i].tobytes()) == int(data.heldout_labels[i]) for i in range(back.shape[0]))


def test_cifar_npz_balanced_nested_and_disjoint(cifar_npz):
    small = load_data(f"cifar10:{cifar_npz}", n_train=50, n_heldout=500, seed=3)
    large = load_data(f"cifar10:{cifar_npz}", n_train=130, n_heldout=500, seed=3)
    assert torch.bincount(small.train_labels, minlength=10).tolist() == [5] * 10
    counts = torch.bincount(large.train_labels, minlength=10)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 130
    assert torch.bincount(large.heldout_labels, minlength=10).tolist() == [50] * 10
    assert torch.equal(large.train[:50], small.train) and torch.equal(large.train_labels[:50], small.train_labels)
    assert not _rows(large.train) & _rows(large.heldout)
    other = load_data(f"cifar10:{cifar_npz}", n_train=50, n_heldout=10, seed=4)
    assert not torch.equal(other.train, small.train)  # the seed picks the subset


def test_cifar_npz_too_many_images(cifar_npz):
    with pytest.raises(ValueError, match="only 10000 are available"):
        load_data(f"cifar10:{cifar_npz}", n_train=10_001)


def test_balanced_order_prefixes_are_balanced():
    labels = torch.tensor([0] * 7 + [1] * 3 + [2] * 5)
    order = balanced_order(labels, torch.Generator().manual_seed(0))
    assert sorted(order.tolist()) == list(range(15))
    for n in range(1, 10):  # while every class still has images left
        counts = torch.bincount(labels[order[:n]], minlength=3)
        assert counts.max() - counts.min() <= 1


def _write_npz(path, **overrides):
    arrays = dict(x_train=np.zeros((4, 32, 32, 3), np.uint8), y_train=np.arange(4),
                  x_test=np.zeros((2, 32, 32, 3), np.uint8), y_test=np.arange(2))
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


@pytest.mark.parametrize("overrides,needle", [
    (dict(y_test=None), "missing array(s) y_test"),
    (dict(x_train=np.zeros((4, 32, 32), np.uint8)), "'x_train' must be uint8 of shape (N, 32, 32, 3)"),
    (dict(x_train=np.zeros((4, 32, 32, 3), np.float32)), "got float32"),
    (dict(x_test=np.zeros((2, 3, 32, 32), np.uint8)), "got uint8 of shape (2, 3, 32, 32)"),
    (dict(y_train=np.arange(3)), "4 images but y_train 3 labels"),
    (dict(y_train=np.array([0, 1, 2, 10])), "must lie in 0..9"),
    (dict(y_train=np.zeros(4, np.float32)), "integer labels"),
])
def test_malformed_npz_names_file_and_expectation(tmp_path, overrides, needle):
    path = _write_npz(tmp_path / "bad.npz", **overrides)
    with pytest.raises(ValueError) as err:
        load_data(f"cifar10:{path}", n_train=2)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_missing_or_unreadable_npz(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz not found; expected a .npz with uint8 x_train"):
        load_data(f"cifar10:{tmp_path / 'nowhere.npz'}", n_train=2)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="junk.npz: not a readable .npz"):
        load_data(f"cifar10:{junk}", n_train=2)
    with pytest.raises(ValueError, match="expected cifar10 .* or cifar10:FILE.npz"):
        load_data("cifar10:some/folder", n_train=2)


def test_digits_offline_padded_exactly():
    from sklearn.datasets import load_digits
    data = load_data("digits", n_train=300, n_heldout=1000, seed=0)
    assert data_kind("digits:32") == "images"
    assert data.train.shape == (300, 1, 16, 16) and data.heldout.shape == (300, 1, 16, 16)  # 30 per class held out
    assert data.train.min() == -1 and data.train.max() == 1
    # the 4-pixel border is background (-1); the centre is sklearn's 8x8 image mapped by v / 8 - 1
    border = torch.ones(16, 16, dtype=torch.bool)
    border[4:12, 4:12] = False
    assert (data.train[:, 0][:, border] == -1).all()
    source = load_digits()
    lookup = {(source.images[i] / 8.0 - 1.0).astype(np.float32).tobytes(): int(source.target[i])
              for i in range(source.images.shape[0])}
    centre = data.train[:, 0, 4:12, 4:12].numpy()
    assert all(lookup.get(centre[i].tobytes()) == int(data.train_labels[i]) for i in range(300))
    assert torch.bincount(data.train_labels).tolist() == [30] * 10
    assert torch.bincount(data.heldout_labels).tolist() == [30] * 10
    assert not _rows(data.train) & _rows(data.heldout)
    # nested, and the held-out split does not move with n_train
    more = load_data("digits", n_train=900, n_heldout=1000, seed=0)
    assert torch.equal(more.train[:300], data.train) and torch.equal(more.heldout, data.heldout)
    assert load_data("digits:8", n_train=10).train.shape == (10, 1, 8, 8)
    assert load_data("digits:32", n_train=10).train.shape == (10, 1, 32, 32)


@pytest.mark.parametrize("spec", ["digits:12", "digits:4", "digits:big"])
def test_digits_size_must_be_power_of_two(spec):
    with pytest.raises(ValueError, match="power of two >= 8"):
        load_data(spec, n_train=10)


def test_digits_pool_limit():
    with pytest.raises(ValueError, match="digits --n-train: asked for 1500 images but only 1497"):
        load_data("digits", n_train=1500)


class _FakeCIFAR10:
    """torchvision.datasets.CIFAR10's interface (uint8 NHWC .data, list .targets), without a download."""

    def __init__(self, root, train=True, download=False):
        n = 30 if train else 20
        rng = np.random.default_rng(0 if train else 1)
        self.data = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
        self.targets = [i % 10 for i in range(n)]


def test_torchvision_cifar_path(monkeypatch, tmp_path):
    import torchvision.datasets
    monkeypatch.setenv("SCOREAUG_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", _FakeCIFAR10)
    data = load_data("cifar10", n_train=20, n_heldout=10)
    fake = _FakeCIFAR10(None, train=True)
    assert data.train.shape == (20, 3, 32, 32) and torch.bincount(data.train_labels).tolist() == [2] * 10
    by_bytes = {fake.data[i].tobytes(): fake.targets[i] for i in range(30)}
    back = _to_uint8_hwc(data.train)
    assert all(by_bytes.get(back[i].tobytes()) == int(data.train_labels[i]) for i in range(20))


def test_torchvision_cifar_download_failure_is_clear(monkeypatch, tmp_path):
    import urllib.error

    import torchvision.datasets

    class Offline:
        def __init__(self, root, train=True, download=False):
            raise urllib.error.URLError("Name or service not known")

    monkeypatch.setenv("SCOREAUG_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", Offline)
    with pytest.raises(FileNotFoundError, match="could not be downloaded .* cifar10:FILE.npz"):
        load_data("cifar10", n_train=10)
    assert image_data.data_dir() == tmp_path


def test_the_subset_the_command_builds_is_found_before_the_shared_one(tmp_path, monkeypatch):
    """local_cifar_npz: $SCOREAUG_CIFAR_NPZ, then <data dir>/cifar10_subset.npz (the command's default output,
    images.built_cifar_npz), then the shared test subset; None when none exists."""
    from scoreaug_lab.data import images
    built, shared, chosen = tmp_path / "data" / "cifar10_subset.npz", tmp_path / "shared.npz", tmp_path / "chosen.npz"
    built.parent.mkdir()
    monkeypatch.setenv("SCOREAUG_DATA_DIR", str(built.parent))     # where the command writes by default
    monkeypatch.setattr(images, "SHARED_CIFAR_NPZ", shared)
    monkeypatch.delenv("SCOREAUG_CIFAR_NPZ", raising=False)
    assert images.local_cifar_npz() is None
    shared.write_bytes(b"x")
    assert images.local_cifar_npz() == shared
    built.write_bytes(b"x")
    assert images.local_cifar_npz() == built
    chosen.write_bytes(b"x")
    monkeypatch.setenv("SCOREAUG_CIFAR_NPZ", str(chosen))
    assert images.local_cifar_npz() == chosen
