"""Samplers: index order, lengths, argument checks, and PyTorch's order for the same seed."""

from __future__ import annotations

import importlib

import pytest

import nbtorch
from nbtorch.utils.data import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from tests.helpers import assert_same_error, needs_torch, real_torch


def data(m):
    return importlib.import_module(m.__name__ + ".utils.data")


def test_sequential():
    s = SequentialSampler(range(5))
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5


def test_base_sampler_iter_is_abstract():
    with pytest.raises(NotImplementedError):
        iter(Sampler())


def test_random_sampler_is_a_permutation_each_epoch():
    s = RandomSampler(range(50))
    first, second = list(s), list(s)
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert first != second
    assert len(s) == 50


def test_random_sampler_num_samples_and_replacement():
    g = nbtorch.Generator().manual_seed(3)
    s = RandomSampler(range(4), num_samples=10, generator=g)
    got = list(s)
    assert len(got) == 10 == len(s)
    assert sorted(got[:4]) == [0, 1, 2, 3] and sorted(got[4:8]) == [0, 1, 2, 3]
    r = list(RandomSampler(range(3), replacement=True, num_samples=70, generator=g))
    assert len(r) == 70 and set(r) <= {0, 1, 2}


def test_random_sampler_argument_checks():
    assert_same_error(lambda m: data(m).RandomSampler(range(3), replacement=1), TypeError,
                      "replacement should be a boolean value, but got replacement=1")
    assert_same_error(lambda m: data(m).RandomSampler(range(3), num_samples=0), ValueError,
                      "num_samples should be a positive integer value, but got num_samples=0")
    assert_same_error(lambda m: data(m).RandomSampler([]), ValueError,
                      "num_samples should be a positive integer value, but got num_samples=0")


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"num_samples": 23}, {"replacement": True},
                                    {"replacement": True, "num_samples": 70}])
def test_random_sampler_equals_torch_with_generator(kwargs):
    got = list(RandomSampler(range(10), generator=nbtorch.Generator().manual_seed(5), **kwargs))
    want = list(real_torch.utils.data.RandomSampler(
        range(10), generator=real_torch.Generator().manual_seed(5), **kwargs))
    assert got == want


@needs_torch
def test_random_sampler_equals_torch_with_global_seed():
    # no generator: PyTorch seeds a fresh generator from one int64 of the global stream
    nbtorch.manual_seed(123)
    real_torch.manual_seed(123)
    s, t = RandomSampler(range(17)), real_torch.utils.data.RandomSampler(range(17))
    for _ in range(3):
        assert list(s) == list(t)
    assert nbtorch.rand(2).tolist() == pytest.approx(real_torch.rand(2).tolist())


@needs_torch
def test_subset_random_sampler_equals_torch():
    idx = [10, 11, 12, 13, 14, 15]
    got = SubsetRandomSampler(idx, generator=nbtorch.Generator().manual_seed(9))
    want = real_torch.utils.data.SubsetRandomSampler(
        idx, generator=real_torch.Generator().manual_seed(9))
    assert list(got) == list(want) and list(got) == list(want)  # two epochs
    assert len(got) == 6


def test_weighted_random_sampler():
    g = nbtorch.Generator().manual_seed(0)
    s = WeightedRandomSampler([0.0, 0.0, 1.0, 3.0], 400, generator=g)
    got = list(s)
    assert len(got) == 400 == len(s) and set(got) <= {2, 3}
    assert 250 < got.count(3) < 350
    no_repl = list(WeightedRandomSampler([1.0, 1.0, 1.0], 3, replacement=False))
    assert sorted(no_repl) == [0, 1, 2]


def test_weighted_random_sampler_checks():
    assert_same_error(lambda m: data(m).WeightedRandomSampler([1.0], 0), ValueError,
                      "num_samples should be a positive integer value, but got num_samples=0")
    assert_same_error(lambda m: data(m).WeightedRandomSampler([1.0], 1, replacement=0),
                      ValueError, "replacement should be a boolean value, but got replacement=0")
    assert_same_error(lambda m: data(m).WeightedRandomSampler([[1.0]], 1), ValueError,
                      "weights should be a 1d sequence but given weights have shape (1, 1)")


@pytest.mark.parametrize("n,bs,drop_last,expected", [
    (7, 3, False, [[0, 1, 2], [3, 4, 5], [6]]),
    (7, 3, True, [[0, 1, 2], [3, 4, 5]]),
    (6, 3, True, [[0, 1, 2], [3, 4, 5]]),
    (2, 5, True, []),
])
def test_batch_sampler(n, bs, drop_last, expected):
    s = BatchSampler(SequentialSampler(range(n)), bs, drop_last)
    assert list(s) == expected and len(s) == len(expected)


def test_batch_sampler_checks():
    assert_same_error(lambda m: data(m).BatchSampler(range(3), 0, False), ValueError,
                      "batch_size should be a positive integer value, but got batch_size=0")
    assert_same_error(lambda m: data(m).BatchSampler(range(3), True, False), ValueError,
                      "batch_size should be a positive integer value, but got batch_size=True")
    assert_same_error(lambda m: data(m).BatchSampler(range(3), 2, 1), ValueError,
                      "drop_last should be a boolean value, but got drop_last=1")
