"""data.subset: `scoreaug-lab data cifar10-subset` from a torchvision-layout copy of the shared test subset."""
import pickle

import numpy as np
import pytest

from scoreaug_lab.cli import main
from scoreaug_lab.data import load_data
from scoreaug_lab.data.images import read_cifar10_npz


def _write_torchvision_layout(npz, root):
    """CIFAR-10's python batches (data (N, 3072) uint8 CHW rows, labels) from an .npz, as torchvision reads them."""
    x_tr, y_tr, x_te, y_te = read_cifar10_npz(npz)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    parts = np.array_split(np.arange(x_tr.shape[0]), 5)
    batches = [(f"data_batch_{i + 1}", x_tr[p], y_tr[p]) for i, p in enumerate(parts)] + [("test_batch", x_te, y_te)]
    for name, x, y in batches:
        rows = x.transpose(0, 3, 1, 2).reshape(x.shape[0], -1)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": rows, "labels": [int(v) for v in y]}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": [str(k) for k in range(10)]}, f)
    return x_tr, y_tr, x_te, y_te


@pytest.fixture
def torchvision_copy(cifar_npz, tmp_path, monkeypatch):
    import torchvision.datasets.cifar as tv_cifar
    monkeypatch.setattr(tv_cifar.CIFAR10, "_check_integrity", lambda self: True)   # our copy has other MD5 sums
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *args, **kwargs: True)
    return tmp_path / "cifar10", _write_torchvision_layout(cifar_npz, tmp_path / "cifar10")


def test_subset_is_balanced_nested_and_readable(torchvision_copy, tmp_path, capsys):
    root, (x_tr, y_tr, x_te, y_te) = torchvision_copy
    out = tmp_path / "sub.npz"
    assert main(["data", "cifar10-subset", "--n-train", "500", "--n-test", "100", "--seed", "3", "--root", str(root),
                 "--no-download", "--out", str(out)]) == 0
    a_tr, b_tr, a_te, b_te = read_cifar10_npz(out)
    assert a_tr.shape == (500, 32, 32, 3) and a_te.shape == (100, 32, 32, 3)
    assert np.bincount(b_tr, minlength=10).tolist() == [50] * 10 and np.bincount(b_te, minlength=10).tolist() == [10] * 10
    # every image is an image of its split with its own label (found by exact match)
    index = {x.tobytes(): int(y) for x, y in zip(x_tr, y_tr)}
    assert all(index[x.tobytes()] == int(y) for x, y in zip(a_tr, b_tr))
    test_index = {x.tobytes() for x in x_te}
    assert all(x.tobytes() in test_index for x in a_te)
    # nested: a smaller subset with the same seed is a prefix of the larger one
    small = tmp_path / "small.npz"
    main(["data", "cifar10-subset", "--n-train", "200", "--n-test", "50", "--seed", "3", "--root", str(root),
          "--no-download", "--out", str(small)])
    assert np.array_equal(read_cifar10_npz(small)[0], a_tr[:200])
    # and the toolkit trains from it
    assert load_data(f"cifar10:{out}", 64, 32).train.shape == (64, 3, 32, 32)


def test_subset_refuses_what_it_cannot_build(torchvision_copy, tmp_path, capsys):
    root, _ = torchvision_copy
    common = ["data", "cifar10-subset", "--root", str(root), "--no-download"]
    assert main([*common, "--n-train", "99999", "--out", str(tmp_path / "a.npz")]) == 2
    assert "n_train must be in" in capsys.readouterr().err
    assert main([*common, "--out", str(tmp_path)]) == 2            # a directory
    assert main([*common, "--out", str(tmp_path / "a.txt")]) == 2  # not .npz
    assert main(["data", "cifar10-subset", "--root", str(tmp_path / "empty"), "--no-download",
                 "--out", str(tmp_path / "b.npz")]) == 2
    assert "could not be downloaded" in capsys.readouterr().err
