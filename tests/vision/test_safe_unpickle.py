"""The restricted CIFAR pickle reader: reads what CIFAR's files (and Python 3's pickle of the same
structures) contain, refuses everything else, and never runs code."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from nbtorch.vision._safe_unpickle import UnsafePickleError, loads
from tests.vision._formats import CIFAR_CLASSES, Py2Pickler, py0_meta


def test_python2_cifar_batch():
    data = np.arange(2 * 3072, dtype=np.uint64).astype(np.uint8).reshape(2, 3072)
    blob = Py2Pickler().dumps({b"batch_label": b"testing batch 1 of 1", b"labels": [3, 300],
                               b"data": data, b"filenames": [b"a.png", b"b.png"]})
    got = loads(blob)
    assert got["labels"] == [3, 300] and got["filenames"] == ["a.png", "b.png"]
    assert got["batch_label"] == "testing batch 1 of 1"
    assert got["data"].dtype == np.uint8 and got["data"].shape == (2, 3072)
    np.testing.assert_array_equal(got["data"], data)


def test_protocol0_meta():
    got = loads(py0_meta(CIFAR_CLASSES))
    assert got == {"num_cases_per_batch": 10000, "num_vis": 3072,
                   "label_names": [c.decode() for c in CIFAR_CLASSES]}


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_python3_pickles_of_the_same_structure(protocol):
    obj = {"labels": [0, 255, 256, 70000, -1, 2**40], "name": "batch é", "blob": b"\x00\xff",
           "data": np.arange(24, dtype=np.float32).reshape(2, 3, 4),
           "big": np.arange(6, dtype=">i4"), "fortran": np.asfortranarray(np.eye(3)),
           "misc": (None, True, False, 1.5), "nested": {"l": [[1], [2, 3]]}}
    got = loads(pickle.dumps(obj, protocol=protocol))
    for key in ("labels", "name", "blob", "misc", "nested"):
        assert got[key] == obj[key]
    for key in ("data", "big", "fortran"):
        np.testing.assert_array_equal(got[key], obj[key])
        assert got[key].dtype == obj[key].dtype


def test_shared_and_cyclic_references():
    shared = [1, 2]
    got = loads(pickle.dumps({"a": shared, "b": shared}, protocol=2))
    assert got["a"] is got["b"]
    cyc = []
    cyc.append(cyc)
    got = loads(pickle.dumps(cyc, protocol=2))
    assert got[0] is got


class Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("payload", [
    pickle.dumps(Evil(), protocol=0),
    pickle.dumps(Evil(), protocol=2),
    pickle.dumps(Evil(), protocol=5),
    pickle.dumps({"data": Evil()}, protocol=2),
    b"cbuiltins\neval\n(S'1+1'\ntR.",
])
def test_refuses_globals(payload):
    with pytest.raises(UnsafePickleError, match="refusing global"):
        loads(payload)


@pytest.mark.parametrize("payload,message", [
    (pickle.dumps(np.array([object()], dtype=object), protocol=2), "refusing numpy dtype"),
    (pickle.dumps(np.zeros(2, dtype=[("a", "i4")]), protocol=2), "refusing numpy dtype"),
    (b"\x80\x02K\x01", "truncated"),
    (b"\x80\x02", "truncated"),
    (b"\x80\x02e.", "MARK not found"),
    (b"\x80\x02h\x05.", "memo key not found"),
    (b"\x80\x02.", "stack underflow"),
    (b"\x80\x02K\x01K\x02s.", "SETITEM on something that is not a dict"),
    (b"\x80\x02\x8f.", "refusing pickle opcode"),
    (b"\x80\x02cnumpy\nndarray\nq\x00.", "incomplete object"),
    (b"\x80\x02(I1\nI2\nl}(h\x00K\x01u.", "memo key not found"),
    (b"\x80\x02cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R.", None),
])
def test_refuses_malformed(payload, message):
    if message is None:  # a bare dtype is fine: it is data, not code
        assert loads(payload) == np.dtype("u1")
        return
    with pytest.raises(UnsafePickleError, match=message):
        loads(payload)


def test_not_a_pickle():
    with pytest.raises(UnsafePickleError):
        loads(b"PK\x03\x04 zip file")
