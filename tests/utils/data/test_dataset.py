"""Datasets and random_split, against PyTorch's behaviour (and PyTorch itself when installed)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

import nbtorch
from nbtorch.utils.data import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from tests.helpers import assert_same_error, both, needs_torch, real_torch


def data(m):
    return importlib.import_module(m.__name__ + ".utils.data")


class Count(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


def test_tensor_dataset_indexing():
    x = nbtorch.arange(12.0).reshape(4, 3)
    y = nbtorch.tensor([0, 1, 1, 0])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi.numpy(), [6.0, 7.0, 8.0])
    assert yi.item() == 1 and yi.dtype == nbtorch.int64
    xs, ys = ds[1:3]  # slices pass through to the tensors
    assert tuple(xs.shape) == (2, 3) and ys.tolist() == [1, 1]
    assert ds.tensors[0] is x


def test_tensor_dataset_size_mismatch():
    assert_same_error(lambda m: data(m).TensorDataset(m.zeros(3), m.zeros(4)),
                      AssertionError, "Size mismatch between tensors")


def test_subset_and_getitems():
    s = Subset(list("abcdef"), [5, 1, 3])
    assert len(s) == 3 and [s[i] for i in range(3)] == ["f", "b", "d"]
    assert s.__getitems__([2, 0]) == ["d", "f"]
    nested = Subset(s, [2, 1])
    assert nested.__getitems__([0, 1]) == ["d", "b"]  # through the inner Subset's __getitems__


def test_subset_subclass_must_override_getitems():
    class Bad(Subset):
        def __getitem__(self, idx):
            return 0

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Bad([1, 2], [0])


def test_concat_dataset():
    ds = ConcatDataset([[0, 1, 2], [3], [4, 5]])
    assert len(ds) == 6 and ds.cumulative_sizes == [3, 4, 6]
    assert [ds[i] for i in range(6)] == [0, 1, 2, 3, 4, 5]
    assert ds[-1] == 5 and ds[-6] == 0
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        ds[-7]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([Count(2)])


def test_dataset_add():
    class Two(Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return i

    both_ = Two() + Two()
    assert isinstance(both_, ConcatDataset) and len(both_) == 4
    chained = Count(2) + Count(3)
    assert isinstance(chained, ChainDataset) and list(chained) == [0, 1, 0, 1, 2]
    assert len(chained) == 5
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement"):
        Dataset()[0]


def test_chain_dataset_rejects_map_style():
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(ChainDataset([Count(1), [1, 2]]))


def test_stack_dataset():
    assert StackDataset([1, 2], "ab")[0] == (1, "a")
    assert StackDataset(x=[1, 2], y="ab")[1] == {"x": 2, "y": "b"}
    assert len(StackDataset([1, 2], "ab")) == 2
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset([1, 2], "abc")
    with pytest.raises(ValueError, match="At least one dataset should be passed"):
        StackDataset()


@both
def test_random_split_lengths(m):
    g = m.Generator().manual_seed(0)
    parts = data(m).random_split(range(10), [3, 7], generator=g)
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))


@both
def test_random_split_fractions_round_robin(m):
    # floor(0.3*11)=3, floor(0.3*11)=3, floor(0.4*11)=4; the remainder 1 goes to the first split
    parts = data(m).random_split(range(11), [0.3, 0.3, 0.4],
                                 generator=m.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [4, 3, 4]


@needs_torch
@pytest.mark.parametrize("lengths", [[3, 7], [0.7, 0.3], [0.25, 0.25, 0.5], [5, 0, 5]])
def test_random_split_equals_torch(lengths):
    n = 10
    got = random_split(range(n), lengths, generator=nbtorch.Generator().manual_seed(42))
    want = real_torch.utils.data.random_split(range(n), lengths,
                                              generator=real_torch.Generator().manual_seed(42))
    assert [list(p) for p in got] == [list(p) for p in want]
    assert [p.indices for p in got] == [p.indices for p in want]


@needs_torch
def test_random_split_global_seed_equals_torch():
    nbtorch.manual_seed(7)
    real_torch.manual_seed(7)
    got = random_split(list(range(20)), [0.5, 0.5])
    want = real_torch.utils.data.random_split(list(range(20)), [0.5, 0.5])
    assert [p.indices for p in got] == [p.indices for p in want]
    # the global streams advanced alike
    assert nbtorch.rand(3).tolist() == pytest.approx(real_torch.rand(3).tolist())


def test_random_split_errors():
    assert_same_error(lambda m: data(m).random_split(range(10), [3, 3]), ValueError,
                      "Sum of input lengths does not equal the length of the input dataset!")
    with pytest.raises(ValueError, match="Fraction at index 1 is not between 0 and 1"):
        random_split(range(10), [0.0, 1.5, -0.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [0.9, 0.1])
