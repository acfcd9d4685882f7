"""Tests of nbtorch/ops/linalg.py: matmul in all its cases, mm/bmm/mv/dot, outer, addmm, einsum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nbtorch
from tests.helpers import check_op, nb_tensors, real_torch

RNG = np.random.default_rng(0)


def arr(*shape):
    return RNG.standard_normal(shape)


def _has(*methods):
    return all(hasattr(nbtorch.Tensor, m) for m in methods)


# --- matmul: every case of PyTorch's rules -------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)),  # dot
    ((2, 3), (3,)),  # mv
    ((3,), (3, 4)),  # row vector times matrix
    ((2, 3), (3, 4)),  # mm
    ((5, 2, 3), (3, 4)),  # batch times matrix (folded into one GEMM)
    ((5, 2, 3), (3,)),  # batch times vector
    ((5, 2, 3), (5, 3, 4)),  # bmm
    ((3,), (5, 3, 4)),  # vector times batch
    ((2, 3), (5, 3, 4)),  # matrix times batch: the gradient of the matrix sums over the batch
    ((2, 1, 2, 3), (5, 3, 4)),  # batch dims broadcast
    ((1, 2, 3), (4, 3, 2)),  # a batch of one broadcast to four
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=str)
def test_matmul(sa, sb, device):
    check_op(lambda m, a, b: m.matmul(a, b), np.matmul, [arr(*sa), arr(*sb)], device=device)


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES[:6], ids=str)
def test_matmul_operator(sa, sb, device):
    check_op(lambda m, a, b: a @ b, np.matmul, [arr(*sa), arr(*sb)], device=device)


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES, ids=str)
@pytest.mark.parametrize("side", ["a", "b"])
def test_matmul_gradient_of_one_side(sa, sb, side):
    # Only one operand requires grad: backward must not need what was not saved.
    a_np, b_np = arr(*sa), arr(*sb)
    a = nbtorch.tensor(a_np, requires_grad=side == "a")
    b = nbtorch.tensor(b_np, requires_grad=side == "b")
    y = a @ b
    g = RNG.standard_normal(tuple(y.shape))
    y.backward(nbtorch.tensor(g))
    a2 = a_np.reshape(1, -1) if a_np.ndim == 1 else a_np
    b2 = b_np.reshape(-1, 1) if b_np.ndim == 1 else b_np
    g2 = np.reshape(g, (1, 1)) if a_np.ndim == b_np.ndim == 1 else g
    if a_np.ndim == 1 and b_np.ndim > 1:
        g2 = np.expand_dims(g2, -2)
    if b_np.ndim == 1 and a_np.ndim > 1:
        g2 = np.expand_dims(g2, -1)
    if side == "a":
        expected = _sum_to(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a_np.shape)
        np.testing.assert_allclose(a.grad._data, expected, rtol=1e-10, atol=1e-12)
        assert b.grad is None
    else:
        expected = _sum_to(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b_np.shape)
        np.testing.assert_allclose(b.grad._data, expected, rtol=1e-10, atol=1e-12)
        assert a.grad is None


@pytest.mark.skipif(not _has("transpose"), reason="needs Tensor.transpose (ops/shape.py)")
def test_matmul_non_contiguous_batch(device):
    # A transposed batch cannot be folded into one matrix without a copy: the general path runs.
    check_op(lambda m, a, b: a.transpose(0, 1) @ b, lambda a, b: np.swapaxes(a, 0, 1) @ b,
             [arr(2, 5, 3), arr(3, 4)], device=device)


@pytest.mark.parametrize("fn,ref,shapes", [
    (lambda m, a, b: m.mm(a, b), np.matmul, [(2, 3), (3, 4)]),
    (lambda m, a, b: a.mm(b), np.matmul, [(2, 3), (3, 4)]),
    (lambda m, a, b: m.bmm(a, b), np.matmul, [(3, 2, 3), (3, 3, 4)]),
    (lambda m, a, b: m.mv(a, b), np.matmul, [(2, 3), (3,)]),
    (lambda m, a, b: m.dot(a, b), np.dot, [(4,), (4,)]),
    (lambda m, a, b: m.vdot(a, b), np.vdot, [(4,), (4,)]),
    (lambda m, a, b: m.outer(a, b), np.outer, [(3,), (4,)]),
    (lambda m, a, b: m.ger(a, b), np.outer, [(3,), (4,)]),
    (lambda m, a, b: m.inner(a, b), np.inner, [(2, 3), (4, 3)]),
    (lambda m, a, b: m.inner(a, b), np.inner, [(3,), (3,)]),
    (lambda m, a, b: m.tensordot(a, b, dims=2), lambda a, b: np.tensordot(a, b, 2),
     [(2, 3, 4), (3, 4, 2)]),
    (lambda m, a, b: m.tensordot(a, b, dims=([0], [1])),
     lambda a, b: np.tensordot(a, b, ([0], [1])), [(3, 2), (4, 3)]),
    (lambda m, c, a, b: m.addmm(c, a, b), lambda c, a, b: c + a @ b, [(2, 4), (2, 3), (3, 4)]),
    (lambda m, c, a, b: m.addmm(c, a, b, beta=0.5, alpha=2.0),
     lambda c, a, b: 0.5 * c + 2 * (a @ b), [(4,), (2, 3), (3, 4)]),
    (lambda m, c, a, b: m.addmm(c, a, b, beta=0),
     lambda c, a, b: a @ b, [(2, 4), (2, 3), (3, 4)]),
    (lambda m, c, a, b: m.baddbmm(c, a, b, alpha=0.5),
     lambda c, a, b: c + 0.5 * (a @ b), [(1, 4), (2, 2, 3), (2, 3, 4)]),
], ids=["mm", "mm_method", "bmm", "mv", "dot", "vdot", "outer", "ger", "inner", "inner_1d",
        "tensordot_int", "tensordot_lists", "addmm", "addmm_scaled", "addmm_beta0", "baddbmm"])
def test_products(fn, ref, shapes, device):
    check_op(fn, ref, [arr(*s) for s in shapes], device=device)


def test_grad_fn_names():
    def name(sa, sb):
        a, b = nbtorch.ones(*sa, requires_grad=True), nbtorch.ones(*sb)
        return (a @ b).grad_fn.name()

    assert name((3,), (3,)) == "DotBackward0"
    assert name((2, 3), (3,)) == "MvBackward0"
    assert name((2, 3), (3, 4)) == "MmBackward0"
    assert name((2, 2, 3), (2, 3, 4)) == "BmmBackward0"
    t = nbtorch.ones(2, 3, requires_grad=True)
    assert nbtorch.addmm(nbtorch.ones(3), nbtorch.ones(2, 2), t).grad_fn.name() == "AddmmBackward0"


def test_dtypes_are_kept():
    a = nbtorch.ones(4, 4, requires_grad=True)
    b = nbtorch.ones(4, 4, requires_grad=True)
    y = a @ b
    assert y._data.dtype == np.float32
    y.backward(nbtorch.ones(4, 4))
    assert a.grad._data.dtype == np.float32 and b.grad._data.dtype == np.float32
    assert (nbtorch.ones(2, 2, dtype=nbtorch.float64) @ nbtorch.ones(2, 2, dtype=nbtorch.float64)
            ).dtype == nbtorch.float64
    ints = nbtorch.tensor([[1, 2], [3, 4]])
    assert (ints @ ints).dtype == nbtorch.int64
    np.testing.assert_array_equal((ints @ ints)._data, [[7, 10], [15, 22]])
    small = nbtorch.tensor([1, 2], dtype=nbtorch.int32)
    assert nbtorch.dot(small, small).dtype == nbtorch.int32
    assert nbtorch.outer(nbtorch.tensor([1, 2]), nbtorch.ones(2)).dtype == nbtorch.float32


def test_empty_and_method_forms():
    assert nbtorch.mm(nbtorch.ones(0, 3), nbtorch.ones(3, 4)).shape == (0, 4)
    a = nbtorch.ones(2, 3)
    assert a.matmul(nbtorch.ones(3)).shape == (2,)
    assert a.mv(nbtorch.ones(3)).shape == (2,)
    assert nbtorch.ones(3).dot(nbtorch.ones(3)).item() == 3.0
    assert nbtorch.ones(3).outer(nbtorch.ones(2)).shape == (3, 2)
    assert nbtorch.ones(1, 2, 3).bmm(nbtorch.ones(1, 3, 1)).shape == (1, 2, 1)


def test_addmm_inplace():
    c = nbtorch.zeros(2, 2)
    out = c.addmm_(nbtorch.ones(2, 3), nbtorch.ones(3, 2), alpha=2)
    assert out is c
    np.testing.assert_array_equal(c._data, np.full((2, 2), 6.0))


def test_rmatmul_rejects_non_tensors():
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        [[1.0]] @ nbtorch.ones(1, 1)


# --- double backward -----------------------------------------------------------------------------


@pytest.mark.skipif(not _has("transpose", "reshape", "sum", "unsqueeze"),
                    reason="needs the shape and reduce ops (transpose, reshape, sum, unsqueeze)")
@pytest.mark.parametrize("sa,sb", [((3, 4), (4, 2)), ((2, 3, 4), (4, 2)), ((2, 3, 4), (2, 4, 5)),
                                   ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,))], ids=str)
def test_matmul_double_backward(sa, sb):
    a_np, b_np = arr(*sa), arr(*sb)

    def second_order(m, a, b):
        y = m.matmul(a, b)
        g_a, = m.autograd.grad((y * y).sum(), a, create_graph=True)
        (g_a * g_a).sum().backward()
        return g_a, a.grad, b.grad

    a, b = nb_tensors([a_np, b_np], dtype=np.float64)
    got = second_order(nbtorch, a, b)
    if real_torch is None:  # float64 finite differences of the first gradient instead
        eps, base = 1e-6, b_np.copy()
        for j in range(base.size):
            def f(bb):
                aa = nbtorch.tensor(a_np, requires_grad=True)
                y = nbtorch.matmul(aa, nbtorch.tensor(bb))
                (y * y).sum().backward()
                return float((aa.grad._data ** 2).sum())
            plus, minus = base.copy(), base.copy()
            plus.reshape(-1)[j] += eps
            minus.reshape(-1)[j] -= eps
            expected = (f(plus) - f(minus)) / (2 * eps)
            np.testing.assert_allclose(got[2]._data.reshape(-1)[j], expected, rtol=1e-5)
        return
    ta, tb = (real_torch.tensor(x, requires_grad=True) for x in (a_np, b_np))
    expected = second_order(real_torch, ta, tb)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.detach()._data, e.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(not _has("transpose", "reshape", "sum", "unsqueeze"),
                    reason="needs the shape and reduce ops")
def test_einsum_and_addmm_double_backward():
    a_np, b_np, c_np = arr(2, 3), arr(3, 4), arr(4)

    def second_order(m, a, b, c):
        y = m.einsum("ij,jk->ik", a, b) + m.addmm(c, a, b, alpha=0.5)
        g_a, g_b = m.autograd.grad((y * y).sum(), (a, b), create_graph=True)
        ((g_a * g_a).sum() + (g_b ** 3).sum()).backward()
        return a.grad, b.grad, c.grad

    got = second_order(nbtorch, *nb_tensors([a_np, b_np, c_np], dtype=np.float64))
    if real_torch is None:
        return
    expected = second_order(real_torch, *(real_torch.tensor(x, requires_grad=True)
                                          for x in (a_np, b_np, c_np)))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g._data, e.numpy(), rtol=1e-10, atol=1e-12)


# --- einsum --------------------------------------------------------------------------------------

EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("i,i->", [(4,), (4,)]),
    ("ij->ji", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]),
    ("...ij,jk", [(2, 1, 2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ij,ij->ij", [(2, 3), (1, 3)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("iij->j", [(2, 2, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("i j , j k -> i k", [(2, 3), (3, 2)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(equation, shapes, device):
    ref_eq = equation.replace(" ", "")
    # numpy's einsum broadcasts size-1 subscripts as PyTorch's does ('ij,ij' with a 1 x 3).
    check_op(lambda m, *xs: m.einsum(equation, *xs), lambda *xs: np.einsum(ref_eq, *xs),
             [arr(*s) for s in shapes], device=device)


def test_einsum_operand_forms():
    a, b = nbtorch.ones(2, 3), nbtorch.ones(3, 4)
    assert nbtorch.einsum("ij,jk->ik", [a, b]).shape == (2, 4)
    assert nbtorch.einsum(a, [0, 1], b, [1, 2], [0, 2]).shape == (2, 4)
    assert nbtorch.einsum(a, [0, 1], b, [1, 2]).shape == (2, 4)
    assert nbtorch.einsum("->", nbtorch.tensor(2.0)).item() == 2.0
    y = nbtorch.einsum("ij->ji", a)  # a new array, never a view of the input
    y.add_(1)
    assert float(a._data.sum()) == 6.0


# --- errors: PyTorch's wording -------------------------------------------------------------------

def _fill(m, *shape, dtype=None):
    return m.ones(*shape, dtype=getattr(m, dtype) if dtype else None)


ERRORS = [
    (lambda m: m.mm(_fill(m, 2, 3), _fill(m, 4, 5)),
     RuntimeError, "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    (lambda m: m.matmul(_fill(m, 2, 3), _fill(m, 4, 5)),
     RuntimeError, "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)"),
    (lambda m: m.matmul(_fill(m, 3), _fill(m, 4, 5)),
     RuntimeError, "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)"),
    (lambda m: m.matmul(_fill(m, 2, 3, 4), _fill(m, 5, 6)),
     RuntimeError, "mat1 and mat2 shapes cannot be multiplied (6x4 and 5x6)"),
    (lambda m: m.mv(_fill(m, 2, 3), _fill(m, 4)),
     RuntimeError, "size mismatch, got input (2), mat (2x3), vec (4)"),
    (lambda m: m.matmul(_fill(m, 2, 3, 4), _fill(m, 5)),
     RuntimeError, "size mismatch, got input (6), mat (6x4), vec (5)"),
    (lambda m: m.dot(_fill(m, 3), _fill(m, 4)), RuntimeError,
     "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of "
     "elements, but got 3 and 4 elements respectively"),
    (lambda m: m.matmul(_fill(m, 3), _fill(m, 4)), RuntimeError,
     "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of "
     "elements, but got 3 and 4 elements respectively"),
    (lambda m: m.bmm(_fill(m, 2, 3, 4), _fill(m, 2, 5, 6)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [2, 5]."),
    (lambda m: m.bmm(_fill(m, 2, 3, 4), _fill(m, 3, 4, 6)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [2, 4] but got: [3, 4]."),
    (lambda m: m.matmul(_fill(m, 4, 2, 3, 4), _fill(m, 2, 5, 6)), RuntimeError,
     "Expected size for first two dimensions of batch2 tensor to be: [8, 4] but got: [8, 5]."),
    (lambda m: m.matmul(_fill(m, 7, 2, 3, 4), _fill(m, 3, 5, 6)), RuntimeError,
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1"),
    (lambda m: m.matmul(_fill(m, 2, 3), _fill(m, 3, 4, dtype="float64")), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: float != double"),
    (lambda m: m.mm(_fill(m, 2, 2, dtype="int64"), _fill(m, 2, 2)), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: long int != float"),
    (lambda m: m.matmul(_fill(m, 2, 3), _fill(m, 3, dtype="float64")), RuntimeError,
     "addmv input tensors must have the same dtype, but got Double, Float, and Double"),
    (lambda m: m.dot(_fill(m, 3), _fill(m, 3, dtype="float64")), RuntimeError,
     "dot : expected both vectors to have same dtype, but found Float and Double"),
    (lambda m: m.matmul(_fill(m, 2, 2, 3), _fill(m, 2, 3, 4, dtype="float64")), RuntimeError,
     "expected scalar type Float but found Double"),
    (lambda m: m.matmul(m.tensor(1.0), _fill(m, 3)), RuntimeError,
     "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
    (lambda m: m.mm(_fill(m, 3), _fill(m, 3, 4)), RuntimeError, "self must be a matrix"),
    (lambda m: m.mm(_fill(m, 3, 3), _fill(m, 3)), RuntimeError, "mat2 must be a matrix"),
    (lambda m: m.bmm(_fill(m, 3, 4), _fill(m, 3, 4, 6)), RuntimeError,
     "batch1 must be a 3D tensor"),
    (lambda m: m.mv(_fill(m, 3, 3), _fill(m, 3, 1)), RuntimeError,
     "vector + matrix @ vector expected, got 1, 2, 2"),
    (lambda m: m.dot(_fill(m, 3, 1), _fill(m, 3)), RuntimeError,
     "1D tensors expected, but got 2D and 1D tensors"),
    (lambda m: m.outer(_fill(m, 3), _fill(m, 3, 1)), RuntimeError,
     "outer: Expected 1-D argument vec2, but got 2-D"),
    (lambda m: m.mm(_fill(m, 2, 2, dtype="bool"), _fill(m, 2, 2, dtype="bool")),
     NotImplementedError, "\"addmm_impl_cpu_\" not implemented for 'Bool'"),
    (lambda m: m.matmul(_fill(m, 2, 2), 3), TypeError,
     "matmul(): argument 'other' (position 2) must be Tensor, not int"),
    (lambda m: m.addmm(_fill(m, 3), _fill(m, 2, 3), _fill(m, 3, 5)), RuntimeError,
     "The expanded size of the tensor (5) must match the existing size (3) at non-singleton "
     "dimension 1.  Target sizes: [2, 5].  Tensor sizes: [3]"),
    (lambda m: m.addmm(_fill(m, 2, 5), _fill(m, 2, 3, dtype="float64"), _fill(m, 3, 5)),
     RuntimeError, "mat1 and mat2 must have the same dtype, but got Double and Float"),
    (lambda m: m.addmm(_fill(m, 5), _fill(m, 3), _fill(m, 3, 5)), RuntimeError,
     "mat1 must be a matrix, got 1-D tensor"),
    (lambda m: m.inner(_fill(m, 2, 3), _fill(m, 4, 2)), RuntimeError,
     "inner() the last dimension must match on both input tensors but got shapes [2, 3] and "
     "[4, 2]"),
    (lambda m: m.tensordot(_fill(m, 2, 3), _fill(m, 4, 4), dims=1), RuntimeError,
     "contracted dimensions need to match, but first has size 3 in dim -1 and second has size 4 "
     "in dim 0"),
    (lambda m: m.einsum("ij,jk->ik", _fill(m, 2, 3), _fill(m, 4, 5)), RuntimeError,
     "einsum(): subscript j has size 4 for operand 1 which does not broadcast with previously "
     "seen size 3"),
    (lambda m: m.einsum("ij,jk->ik", _fill(m, 2, 3)), RuntimeError,
     "einsum(): fewer operands were provided than specified in the equation"),
    (lambda m: m.einsum("ij->ik", _fill(m, 2, 3)), RuntimeError,
     "einsum(): output subscript k does not appear in the equation for any input operand"),
    (lambda m: m.einsum("ijk->ij", _fill(m, 2, 3)), RuntimeError,
     "einsum(): the number of subscripts in the equation (3) does not match the number of "
     "dimensions (2) for operand 0 and no ellipsis was given"),
    (lambda m: m.einsum("ii->i", _fill(m, 2, 3)), RuntimeError,
     "einsum(): subscript i is repeated for operand 0 but the sizes don't match, 3 != 2"),
    (lambda m: m.einsum("ij->jj", _fill(m, 2, 3)), RuntimeError,
     "einsum(): output subscript j appears more than once in the output"),
    (lambda m: m.einsum("i1", _fill(m, 2, 3)), RuntimeError,
     "einsum(): invalid subscript given at index 1 in the equation string, subscripts must be "
     "in [a-zA-Z]"),
    (lambda m: m.einsum("...ij", _fill(m, 3)), RuntimeError,
     "einsum(): the number of subscripts in the equation (2) is more than the number of "
     "dimensions (1) for operand 0"),
    (lambda m: m.einsum("ij,jk->ik", _fill(m, 2, 3), _fill(m, 3, 5, dtype="float64")),
     RuntimeError, "expected scalar type Float but found Double"),
]


# The messages are PyTorch 2.13's; older versions word a few of them differently.
TORCH_2_13 = real_torch is not None and tuple(
    int(part) for part in real_torch.__version__.split(".")[:2]) >= (2, 13)


@pytest.mark.parametrize("fn,kind,message", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors(fn, kind, message):
    with pytest.raises(kind) as info:
        fn(nbtorch)
    assert str(info.value) == message
    if TORCH_2_13:
        with pytest.raises(kind) as expected:
            fn(real_torch)
        assert str(expected.value) == message


# --- property: broadcast batch dimensions --------------------------------------------------------

batch = st.lists(st.integers(1, 3), min_size=0, max_size=2)


@settings(max_examples=25, deadline=None)
@given(batch, batch, st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.data())
def test_matmul_broadcast_property(ba, bb, n, k, m, data):
    # Make the batch shapes broadcastable: where they differ, one of them gets a 1.
    length = min(len(ba), len(bb))
    for i in range(1, length + 1):
        if ba[-i] != bb[-i] and data.draw(st.booleans()):
            ba[-i] = 1
        elif ba[-i] != bb[-i]:
            bb[-i] = 1
    a_np, b_np = arr(*ba, n, k), arr(*bb, k, m)
    a, b = nb_tensors([a_np, b_np], dtype=np.float64)
    y = a @ b
    np.testing.assert_allclose(y._data, a_np @ b_np, rtol=1e-12)
    g = RNG.standard_normal(y.shape)
    y.backward(nbtorch.tensor(g))
    ga = np.matmul(g, np.swapaxes(b_np, -1, -2))
    gb = np.matmul(np.swapaxes(a_np, -1, -2), g)
    np.testing.assert_allclose(a.grad._data, _sum_to(ga, a_np.shape), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad._data, _sum_to(gb, b_np.shape), rtol=1e-10, atol=1e-12)


def _sum_to(g, shape):
    g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    return g.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1), keepdims=True)
