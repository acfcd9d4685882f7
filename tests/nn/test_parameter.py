"""nn.Parameter and nn.Buffer against PyTorch: memory sharing, leaf-ness, repr, copying, errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, both, needs_torch, real_torch, values_of


@both
def test_parameter_is_a_leaf_tensor_sharing_memory(m):
    t = m.ones(2)
    p = m.nn.Parameter(t)
    assert isinstance(p, m.Tensor) and isinstance(p, m.nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p.data_ptr() == t.data_ptr()
    with m.no_grad():
        t.add_(1)
    assert values_of(p).tolist() == [2.0, 2.0]
    assert p._version == t._version == 1  # one counter: the in-place add shows on both
    assert m.nn.Parameter(t, requires_grad=False).requires_grad is False
    assert tuple(m.nn.Parameter().shape) == (0,)


@both
def test_parameter_from_a_non_leaf_is_a_leaf(m):
    x = m.ones(2, requires_grad=True) * 2
    p = m.nn.Parameter(x)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


@both
def test_parameter_ops_give_plain_tensors(m):
    p = m.nn.Parameter(m.ones(2))
    for out in (p * 2, p.detach(), p.data, p[0], p.clone()):
        assert type(out) is m.Tensor
    assert (p * 2).grad_fn is not None


@both
def test_parameter_in_no_grad_still_requires_grad(m):
    with m.no_grad():
        p = m.nn.Parameter(m.ones(1))
    assert p.requires_grad


@needs_torch
@pytest.mark.parametrize("make", [
    lambda m: m.nn.Parameter(m.zeros(2)),
    lambda m: m.nn.Parameter(m.zeros(2, 3)),
    lambda m: m.nn.Parameter(m.tensor(3.0)),
    lambda m: m.nn.Parameter(m.ones(2, dtype=m.float64)),
    lambda m: m.nn.Parameter(m.ones(2), requires_grad=False),
    lambda m: m.nn.Parameter(m.tensor([1, 2]), requires_grad=False),
    lambda m: m.nn.Parameter(),
])
def test_repr_matches_torch(make):
    assert repr(make(nbtorch)) == repr(make(real_torch))
    assert str(make(nbtorch)) == str(make(real_torch))


def test_repr_example():
    assert repr(nbtorch.nn.Parameter(nbtorch.zeros(2))) == \
        "Parameter containing:\ntensor([0., 0.], requires_grad=True)"


def test_integer_parameter_error():
    assert_same_error(lambda m: m.nn.Parameter(m.tensor([1, 2])), RuntimeError,
                      "Only Tensors of floating point and complex dtype can require gradients")


@both
def test_deepcopy(m):
    p = m.nn.Parameter(m.ones(2))
    p.grad = m.ones(2)
    q = copy.deepcopy(p)
    assert type(q) is m.nn.Parameter and q.requires_grad
    assert q.data_ptr() != p.data_ptr()
    assert np.array_equal(values_of(q), values_of(p))
    assert q.grad is None  # PyTorch's Parameter.__deepcopy__ does not copy .grad
    frozen = copy.deepcopy(m.nn.Parameter(m.ones(1), requires_grad=False))
    assert not frozen.requires_grad
    pair = copy.deepcopy([p, p])
    assert pair[0] is pair[1]


@both
def test_parameter_trains(m):
    p = m.nn.Parameter(m.tensor([1.0, 2.0]))
    (p * p).sum().backward()
    assert values_of(p.grad).tolist() == [2.0, 4.0]


@both
def test_buffer(m):
    t = m.ones(2)
    b = m.nn.Buffer(t)
    assert isinstance(b, m.nn.Buffer) and isinstance(b, m.Tensor)
    assert not isinstance(t, m.nn.Buffer)
    assert b.persistent and b.data_ptr() == t.data_ptr()
    assert m.nn.Buffer(t, persistent=False).persistent is False
    assert not b.requires_grad
    grad_buffer = m.nn.Buffer(m.ones(1, requires_grad=True))
    assert grad_buffer.requires_grad and grad_buffer.is_leaf
    assert tuple(m.nn.Buffer().shape) == (0,)


@needs_torch
def test_buffer_repr_is_a_tensors():
    got = repr(nbtorch.nn.Buffer(nbtorch.ones(2)))
    assert got == repr(real_torch.nn.Buffer(real_torch.ones(2)))
