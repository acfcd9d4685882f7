"""default_collate and default_convert: every kind of sample, compared with PyTorch's output."""

from __future__ import annotations

import collections
import importlib

import numpy as np
import pytest

import nbtorch
from nbtorch.utils.data import default_collate, default_convert
from tests.helpers import assert_same_error, real_torch

Point = collections.namedtuple("Point", ["x", "y"])


def data(m):
    return importlib.import_module(m.__name__ + ".utils.data")


def same_structure(got, want):
    """``got`` (nbtorch) has ``want``'s (PyTorch's, or plain Python's) types, dtypes and values."""
    if isinstance(want, (nbtorch.Tensor,)) or type(want).__name__ == "Tensor":
        assert isinstance(got, nbtorch.Tensor), type(got)
        assert str(got.dtype) == str(want.dtype), (got.dtype, want.dtype)
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    elif isinstance(want, dict):
        assert type(got) is type(want) and list(got) == list(want)
        for k in want:
            same_structure(got[k], want[k])
    elif isinstance(want, (list, tuple)):
        assert type(got).__name__ == type(want).__name__, (type(got), type(want))
        assert len(got) == len(want)
        for a, b in zip(got, want):
            same_structure(a, b)
    elif isinstance(want, np.ndarray):
        np.testing.assert_array_equal(got, want)
    else:
        assert got == want and type(got) is type(want)


def samples(m):
    """Batches of each kind of sample, built with module m (nbtorch or torch)."""
    return {
        "tensors": [m.tensor([1.0, 2.0]), m.tensor([3.0, 4.0]), m.tensor([5.0, 6.0])],
        "int tensors": [m.tensor(1), m.tensor(2)],
        "floats": [0.5, 1.5, 2.0],
        "ints": [1, 2, 3],
        "bools": [True, False],
        "strings": ["a", "bc"],
        "bytes": [b"a", b"b"],
        "numpy arrays": [np.array([1, 2], dtype=np.int32), np.array([3, 4], dtype=np.int32)],
        "numpy float arrays": [np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)],
        "numpy scalars": [np.float32(1.5), np.float32(2.5)],
        "numpy int scalars": [np.int64(4), np.int64(5)],
        "tuples": [(m.tensor([1.0]), 0), (m.tensor([2.0]), 1)],
        "lists": [[1, 2.5], [3, 4.5]],
        "dicts": [{"x": m.tensor([1, 2]), "y": "a"}, {"x": m.tensor([3, 4]), "y": "b"}],
        "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
        "nested": [{"a": (1, [0.5, "s"])}, {"a": (2, [1.5, "t"])}],
        "image batch": [(np.full((3, 2, 2), i, np.uint8), i) for i in range(3)],
    }


EXPECTED_PLAIN = {  # when torch is absent, the parts of the expectations that need no torch
    "strings": ["a", "bc"],
    "bytes": [b"a", b"b"],
}


@pytest.mark.parametrize("kind", list(samples(nbtorch)))
def test_default_collate_equals_torch(kind):
    got = default_collate(samples(nbtorch)[kind])
    if real_torch is None:
        if kind in EXPECTED_PLAIN:
            assert got == EXPECTED_PLAIN[kind]
        return
    want = real_torch.utils.data.default_collate(samples(real_torch)[kind])
    same_structure(got, want)


def test_default_collate_dtypes_without_torch():
    assert default_collate([0.5, 1.0]).dtype == nbtorch.float64
    assert default_collate([1, 2]).dtype == nbtorch.int64
    assert default_collate([True, False]).dtype == nbtorch.bool
    assert default_collate([np.float32(1), np.float32(2)]).dtype == nbtorch.float32
    batch = default_collate([(nbtorch.zeros(2, 3), 1)] * 4)
    assert isinstance(batch, list) and tuple(batch[0].shape) == (4, 2, 3)
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(p, Point) and p.x.tolist() == [1, 3]


def test_default_collate_keeps_sequence_and_mapping_types():
    class MyList(list):
        pass

    got = default_collate([MyList([1, 2]), MyList([3, 4])])
    assert type(got) is MyList and [t.tolist() for t in got] == [[1, 3], [2, 4]]
    od = default_collate([collections.OrderedDict(a=1), collections.OrderedDict(a=2)])
    assert type(od) is collections.OrderedDict and od["a"].tolist() == [1, 2]


def test_default_collate_errors():
    assert_same_error(lambda m: data(m).default_collate([m.zeros(3), m.zeros(4)]), RuntimeError,
                      "stack expects each tensor to be equal size, but got [3] at entry 0 and "
                      "[4] at entry 1")
    assert_same_error(lambda m: data(m).default_collate([[1, 2], [3]]), RuntimeError,
                      "each element in list of batch should be of equal size")
    assert_same_error(lambda m: data(m).default_collate([object(), object()]), TypeError,
                      "default_collate: batch must contain tensors, numpy arrays, numbers, dicts "
                      "or lists; found <class 'object'>")
    assert_same_error(lambda m: data(m).default_collate([np.array(["a"]), np.array(["b"])]),
                      TypeError, "default_collate: batch must contain tensors, numpy arrays, "
                      "numbers, dicts or lists; found <U1")


@pytest.mark.parametrize("sample", [
    np.array([0, 1]), np.float64(2.5), 3, "text", (np.array([1.0]), 2),
    [np.array([1]), np.array([2])], {"a": np.zeros(2, np.float32), "b": 1},
    Point(np.array(0), np.array(1)), np.array(["s"]),
])
def test_default_convert_equals_torch(sample):
    got = default_convert(sample)
    if real_torch is None:
        return
    want = real_torch.utils.data.default_convert(sample)
    same_structure(got, want)


def test_default_convert_leaves_tensors_alone():
    t = nbtorch.ones(2)
    assert default_convert(t) is t
    assert default_convert(range(3)) == [0, 1, 2]  # range cannot be rebuilt from a list
