"""validation: the checks where values enter; here the count bound (bytes), seed lists and plain values."""
import numpy as np
import pytest
import torch

from scoreaug_lab import validation as V


def test_count_is_bounded_by_bytes_at_the_limit_exactly():
    assert V.count("n", 2**20, 2**12, limit=2**32) == 2**20                  # 4 GiB: at the limit, kept
    with pytest.raises(ValueError, match=r"n = 1,048,577 would allocate 4.0 GiB, more than the limit of 4 GiB "
                                         r"\(1,048,576 items\)"):
        V.count("n", 2**20 + 1, 2**12, limit=2**32)
    assert V.count("k", 0, 8, low=0) == 0 and V.count("k", np.int64(3), 8) == 3
    for bad, match in ((0, "k must be >= 1"), (2.5, "k must be a whole number"), ("3", "k must be a whole number"),
                       (True, "k must be a whole number")):
        with pytest.raises(ValueError, match=match):
            V.count("k", bad, 8)


def test_an_endless_iterator_of_seeds_is_read_one_past_the_limit(monkeypatch):
    monkeypatch.setattr(V, "MAX_SEEDS", 10)
    with pytest.raises(ValueError, match="seeds holds 11 seeds, more than the limit of 10"):
        V.seeds("seeds", iter(lambda: 1, None))


def test_seed_lists():
    assert V.seeds("seeds", range(3, 6)) == [3, 4, 5]
    assert V.seeds("seeds", np.arange(3, 6)) == [3, 4, 5] == V.seeds("seeds", torch.arange(3, 6))
    assert V.seeds("seeds", iter([3, 4.0, 5])) == [3, 4, 5]
    assert all(type(s) is int for s in V.seeds("seeds", np.arange(3)))
    assert V.seeds("seeds", range(V.SEED_MAX - 1, V.SEED_MAX + 1)) == [V.SEED_MAX - 1, V.SEED_MAX]
    for bad, match in (("123", "seeds must be a list"), ([1.5], r"seeds\[0\] must be a whole number"),
                       (range(V.SEED_MAX, V.SEED_MAX + 2), r"seeds must be in \[0, 4294967295\], got 4294967296"),
                       ([], "at least one seed"), (range(V.MAX_SEEDS + 1), "more than the limit of 10,000,000")):
        with pytest.raises(ValueError, match=match):
            V.seeds("seeds", bad)
    with pytest.raises(ValueError, match="the number of seeds = 10 would allocate"):
        V.seeds("seeds", range(10), item_bytes=V.MAX_BYTES)


def test_plain_values_and_choices():
    value = {"a": np.int64(3), "b": (np.float64(0.5), [np.bool_(True), torch.tensor(2)]), "c": "x"}
    plain = V.plain(value)
    assert plain == {"a": 3, "b": (0.5, [True, 2]), "c": "x"}
    assert [type(v) for v in (plain["a"], plain["b"][0], plain["b"][1][0], plain["b"][1][1])] == [int, float, bool, int]
    assert isinstance(plain["b"], tuple) and V.plain(torch.ones(2)).shape == (2,)      # a tensor of values stays
    assert V.choice("family", "scale", ("scale", "rotate")) == "scale"
    with pytest.raises(ValueError, match="family must be one of scale, rotate, got 'bogus'"):
        V.choice("family", "bogus", ("scale", "rotate"))
    with pytest.raises(ValueError, match="family must be one of"):
        V.choice("family", ["scale"], ("scale", "rotate"))
