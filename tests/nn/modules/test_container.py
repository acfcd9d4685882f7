"""Containers against PyTorch: Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict
(indexing, mutation, naming and renumbering, printed form, errors)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import nbtorch
from tests.helpers import MODULES, assert_same_error, both, needs_torch, real_torch, values_of


def lins(m, *sizes):
    return [m.nn.Linear(a, b) for a, b in sizes]


def names(mod):
    return [n for n, _ in mod.named_parameters()]


# --- Sequential ----------------------------------------------------------------------------------
@both
def test_sequential_runs_in_order_and_indexes(m):
    a, b, c = lins(m, (4, 3), (3, 2), (2, 1))
    seq = m.nn.Sequential(a, b, c)
    x = m.ones(5, 4)
    np.testing.assert_allclose(values_of(seq(x)), values_of(c(b(a(x)))), rtol=1e-6)
    assert len(seq) == 3
    assert seq[0] is a and seq[-1] is c and seq[-3] is a
    assert list(seq) == [a, b, c]
    sliced = seq[1:]
    assert type(sliced) is m.nn.Sequential
    assert list(sliced._modules) == ["1", "2"]  # slicing keeps the names, as PyTorch
    assert list(seq[::-1]) == [c, b, a]
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    with pytest.raises(IndexError, match="index -4 is out of range"):
        seq[-4]


@both
def test_sequential_from_ordered_dict(m):
    seq = m.nn.Sequential(OrderedDict([("inp", m.nn.Linear(2, 3)), ("out", m.nn.Linear(3, 1))]))
    assert names(seq) == ["inp.weight", "inp.bias", "out.weight", "out.bias"]
    assert seq.inp is seq[0]


@both
def test_sequential_mutation_renumbers(m):
    a, b, c, d = lins(m, (1, 1), (1, 1), (1, 1), (1, 1))
    seq = m.nn.Sequential(a, b)
    assert seq.append(c) is seq
    assert list(seq) == [a, b, c]
    seq.insert(1, d)
    assert list(seq) == [a, d, b, c] and list(seq._modules) == ["0", "1", "2", "3"]
    seq.insert(-1, a)
    assert list(seq) == [a, d, b, a, c]
    del seq[0]
    assert list(seq) == [d, b, a, c] and list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1:3]
    assert list(seq) == [d, c] and list(seq._modules) == ["0", "1"]
    assert seq.pop(0) is d and list(seq) == [c]
    seq[0] = b
    assert list(seq) == [b]
    seq.extend([c, d])
    assert list(seq) == [b, c, d]
    assert list(seq + m.nn.Sequential(a)) == [b, c, d, a]
    seq += m.nn.Sequential(a)
    assert list(seq) == [b, c, d, a]
    twice = m.nn.Sequential(a, b) * 2
    assert list(twice) == [a, b, a, b]
    with pytest.raises(IndexError, match="Index out of range: 9"):
        seq.insert(9, a)


@pytest.mark.parametrize("make, error, message", [
    (lambda m: m.nn.Sequential() + 3, ValueError,
     "add operator supports only objects of Sequential class, but <class 'int'> is given."),
    (lambda m: m.nn.Sequential(m.nn.Linear(1, 1)) * 0, ValueError, "Non-positive multiplication "
     "factor 0 for <class 'torch.nn.modules.container.Sequential'>"),
    (lambda m: m.nn.Sequential(3), TypeError, "int is not a Module subclass"),
    (lambda m: m.nn.ModuleList(3), TypeError,
     "ModuleList.extend should be called with an iterable, but got int"),
    (lambda m: m.nn.ModuleDict(3), TypeError,
     "ModuleDict.update should be called with an iterable of key/value pairs, but got int"),
    (lambda m: m.nn.ModuleDict([("a", m.nn.Linear(1, 1), 3)]), ValueError,
     "ModuleDict update sequence element #0 has length 3; 2 is required"),
    (lambda m: m.nn.ParameterList(m.ones(2)), TypeError,
     "ParameterList.extend should be called with an iterable, but got Tensor"),
    (lambda m: m.nn.ParameterList()(1), RuntimeError, "ParameterList should not be called."),
    (lambda m: m.nn.ParameterDict()(1), RuntimeError, "ParameterDict should not be called."),
    (lambda m: m.nn.ParameterDict()[1], TypeError,
     "Index given to ParameterDict cannot be used as a key as it is not a string (type is 'int'). "
     "Open an issue on github if you need non-string keys."),
    (lambda m: m.nn.ModuleList()[0], IndexError, "index 0 is out of range"),
])
def test_container_errors(make, error, message):
    if "container.Sequential" in message:
        # The class path differs by library name: compare nbtorch's own wording separately.
        with pytest.raises(error, match="Non-positive multiplication factor 0 for <class "):
            make(nbtorch)
        if real_torch is not None:
            with pytest.raises(error) as info:
                make(real_torch)
            assert str(info.value) == message
        return
    assert_same_error(make, error, message)


# --- ModuleList ----------------------------------------------------------------------------------
@both
def test_module_list(m):
    a, b, c = lins(m, (1, 2), (2, 3), (3, 4))
    ml = m.nn.ModuleList([a, b])
    assert len(ml) == 2 and ml[-1] is b
    ml.append(c)
    assert names(ml) == ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]
    ml.insert(0, c)
    assert list(ml) == [c, a, b, c]
    del ml[0]
    assert list(ml) == [a, b, c] and list(ml._modules) == ["0", "1", "2"]
    assert type(ml[1:]) is m.nn.ModuleList and list(ml[1:]) == [b, c]
    ml[0] = c
    assert ml[0] is c
    assert ml.pop(1) is b and list(ml) == [c, c]
    ml += [a]
    assert list(ml) == [c, c, a]
    assert list(ml + m.nn.ModuleList([b])) == [c, c, a, b]
    ml.extend(m.nn.ModuleList([b]))
    assert len(ml) == 4
    del ml[::2]
    assert list(ml) == [c, b]


# --- ModuleDict ----------------------------------------------------------------------------------
@both
def test_module_dict(m):
    a, b, c = lins(m, (1, 1), (1, 2), (2, 1))
    md = m.nn.ModuleDict({"b": b, "a": a})  # insertion order, not sorted
    assert list(md) == ["b", "a"] and list(md.keys()) == ["b", "a"]
    assert md["a"] is a and "a" in md and len(md) == 2
    md["c"] = c
    assert list(md.values()) == [b, a, c]
    assert [k for k, _ in md.items()] == ["b", "a", "c"]
    assert md.pop("b") is b and list(md) == ["a", "c"]
    del md["a"]
    assert list(md) == ["c"]
    md.update([("x", a), ("y", b)])
    assert list(md) == ["c", "x", "y"]
    md.update(m.nn.ModuleDict({"z": a}))
    assert names(md)[:2] == ["c.weight", "c.bias"]
    md.clear()
    assert len(md) == 0


# --- ParameterList / ParameterDict ---------------------------------------------------------------
@both
def test_parameter_list(m):
    p = m.nn.Parameter(m.ones(2))
    pl = m.nn.ParameterList([p, m.zeros(2, 3)])
    assert pl[0] is p
    assert isinstance(pl[1], m.nn.Parameter) and pl[1].requires_grad
    assert len(pl) == 2 and names(pl) == ["0", "1"]
    pl.append(m.ones(1))
    pl.extend([m.ones(3)])
    assert len(pl) == 4 and [tuple(q.shape) for q in pl] == [(2,), (2, 3), (1,), (3,)]
    pl[0] = m.zeros(2)
    assert isinstance(pl[0], m.nn.Parameter) and pl[0] is not p
    assert type(pl[1:3]) is m.nn.ParameterList and len(pl[1:3]) == 2
    assert pl[-1].shape == (3,)
    pl.append("not a tensor")
    assert pl[4] == "not a tensor" and len(list(pl.parameters())) == 4


@both
def test_parameter_dict(m):
    pd = m.nn.ParameterDict({"b": m.ones(2), "a": m.nn.Parameter(m.zeros(3))})
    assert list(pd) == ["a", "b"]  # a plain dict goes in sorted, as PyTorch
    assert isinstance(pd["b"], m.nn.Parameter)
    assert list(pd.state_dict()) == ["a", "b"]
    pd["c"] = m.ones(1)
    assert list(pd.keys()) == ["a", "b", "c"] and len(pd) == 3 and "c" in pd
    assert pd.get("zz") is None and pd.get("a") is pd["a"]
    assert pd.pop("a").shape == (3,) and list(pd) == ["b", "c"]
    assert pd.setdefault("d", m.ones(4)).shape == (4,)
    key, value = pd.popitem()
    assert key == "d"
    pd.update(OrderedDict([("z", m.ones(1)), ("y", m.ones(1))]))
    assert list(pd) == ["b", "c", "z", "y"]
    merged = pd | m.nn.ParameterDict({"w": m.ones(1)})
    assert list(merged) == ["b", "c", "z", "y", "w"]
    assert list(reversed(pd)) == ["y", "z", "c", "b"]
    assert [k for k, _ in pd.items()] == list(pd.keys())
    pd.clear()
    assert len(pd) == 0


# --- printing ------------------------------------------------------------------------------------
def _printed(m):
    class Odd(m.nn.Module):
        def extra_repr(self):
            return "alpha=1\nbeta=2"

    seq = m.nn.Sequential(m.nn.Linear(2, 2), m.nn.Sequential(m.nn.Linear(2, 3), Odd()),
                          m.nn.Flatten())
    named = m.nn.Sequential(OrderedDict(first=m.nn.Linear(1, 1), second=m.nn.Identity()))
    ml = m.nn.ModuleList([m.nn.Linear(2, 2), m.nn.Linear(2, 2), m.nn.Identity(),
                          m.nn.Linear(2, 2), m.nn.Linear(2, 2), m.nn.Linear(2, 2)])
    nested = m.nn.ModuleList([m.nn.Sequential(m.nn.Linear(1, 1)) for _ in range(2)])
    md = m.nn.ModuleDict({"b": m.nn.Identity(), "a": m.nn.Linear(1, 2)})
    pl = m.nn.ParameterList([m.nn.Parameter(m.ones(2)), m.zeros(2, 3), 3,
                             m.nn.Parameter(m.ones(1, dtype=m.float64), requires_grad=False)])
    pd = m.nn.ParameterDict({"b": m.ones(2), "a": m.nn.Parameter(m.zeros(3)), "c": "s",
                             "d": m.ones(2, dtype=m.float64)})
    one_pl = m.nn.ParameterList([m.ones(3)])
    one_pd = m.nn.ParameterDict({"scale": m.ones(3)})
    return [seq, named, ml, nested, md, pl, pd, one_pl, one_pd, m.nn.Sequential(),
            m.nn.ModuleList(), m.nn.ModuleDict(), m.nn.ParameterList(), m.nn.ParameterDict(),
            m.nn.Sequential(m.nn.ParameterList([m.ones(1)]))]


@needs_torch
@pytest.mark.parametrize("i", range(15))
def test_reprs_match_torch(i):
    assert repr(_printed(nbtorch)[i]) == repr(_printed(real_torch)[i])


def test_repr_examples():
    assert repr(_printed(nbtorch)[5]) == (
        "ParameterList(\n"
        "    (0): Parameter containing: [torch.float32 of size 2]\n"
        "    (1): Parameter containing: [torch.float32 of size 2x3]\n"
        "    (2): Object of type: int\n"
        "    (3): Parameter containing: [torch.float64 of size 1]\n"
        ")")
    assert repr(_printed(nbtorch)[2]) == (
        "ModuleList(\n"
        "  (0-1): 2 x Linear(in_features=2, out_features=2, bias=True)\n"
        "  (2): Identity()\n"
        "  (3-5): 3 x Linear(in_features=2, out_features=2, bias=True)\n"
        ")")


@pytest.mark.parametrize("m", MODULES, ids=lambda m: m.__name__)
def test_state_dict_keys_of_nested_containers(m):
    net = m.nn.Sequential(
        m.nn.ModuleList([m.nn.Linear(1, 1)]),
        m.nn.ModuleDict({"head": m.nn.Linear(1, 1)}),
        m.nn.ParameterList([m.ones(1)]),
        m.nn.ParameterDict({"p": m.ones(1)}),
    )
    assert list(net.state_dict()) == ["0.0.weight", "0.0.bias", "1.head.weight", "1.head.bias",
                                      "2.0", "3.p"]


@both
def test_dir_hides_numeric_names(m):
    seq = m.nn.Sequential(m.nn.Linear(1, 1))
    assert "0" not in dir(seq) and "append" in dir(seq)
    assert "0" not in dir(m.nn.ModuleList([m.nn.Linear(1, 1)]))
