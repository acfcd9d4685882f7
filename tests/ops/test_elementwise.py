"""Tests of nbtorch/ops/elementwise.py.

Every op runs through ``check_op`` (forward against numpy, backward against float64 central
differences, both against PyTorch when it is installed).  Input domains keep the finite
differences honest: logs and roots see positive values, floor/round/clamp/abs/maximum inputs stay
away from their kinks and ties (ties get a dedicated test against PyTorch).  Then integer
inputs, integer division rounding, PyTorch's errors, in-place methods and operators, double
backward, and hypothesis properties of broadcasting.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nbtorch
from tests.helpers import assert_same_error, check_op, check_torch, real_torch

needs_torch = pytest.mark.skipif(real_torch is None, reason="PyTorch is not installed")

# Away from 0, from integers and from halves (abs, relu, sign, floor, round, frac are smooth there).
A = np.array([[-1.7, -0.6, 0.3, 1.2], [2.35, -2.2, 0.8, -0.35], [1.65, -1.15, 0.45, 2.7]])
# Differs from A everywhere by more than 0.4: no ties for maximum/minimum, no zeros for division.
B = np.array([[0.4, -1.1, 1.9, -0.2], [-0.45, 1.3, -1.6, 0.9], [2.1, 0.15, -0.7, -1.35]])
POS = np.array([[0.6, 1.3, 2.2, 0.9], [1.7, 0.75, 1.1, 2.9], [0.55, 1.45, 0.8, 2.05]])
SMALL = np.array([[-1.2, -0.5, 0.3, 1.1], [0.7, -0.9, 0.05, -0.25]])  # |x| < pi/2 for tan
ROW = np.array([0.7, -1.3, 0.45, 1.8])  # broadcasts against (3, 4)
COL = np.array([[0.6], [-1.4], [1.1]])
SCALAR = np.array(1.3)  # a 0-d tensor
DIVISOR = np.array([0.7, 0.9, 1.1, -0.8])  # A / DIVISOR stays 0.27 away from integers
DECIMALS = np.array([[1.234, -2.468, 0.111], [3.339, -0.021, 5.672]])  # far from x.x5
INT_A = np.array([[7, -7, 3, 0], [-4, 9, -1, 5]], dtype=np.int64)
INT_POS = np.array([[7, 1, 3, 2], [4, 9, 6, 5]], dtype=np.int64)
INT_B = np.array([[2, 3, -2, 4], [-3, 2, 5, -4]], dtype=np.int64)  # no zeros
COND = A > 0

erf_ref = np.vectorize(math.erf)


def sigmoid_ref(x):
    return 1 / (1 + np.exp(-x))


# (id, fn(m, *tensors), numpy reference, arrays, check_op options)
UNARY = [
    ("exp", lambda m, x: m.exp(x), np.exp, [A]),
    ("exp2", lambda m, x: m.exp2(x), np.exp2, [A]),
    ("expm1", lambda m, x: m.expm1(x), np.expm1, [A]),
    ("log", lambda m, x: m.log(x), np.log, [POS]),
    ("log2", lambda m, x: m.log2(x), np.log2, [POS]),
    ("log10", lambda m, x: m.log10(x), np.log10, [POS]),
    ("log1p", lambda m, x: m.log1p(x), np.log1p, [POS]),
    ("sqrt", lambda m, x: m.sqrt(x), np.sqrt, [POS]),
    ("rsqrt", lambda m, x: m.rsqrt(x), lambda x: 1 / np.sqrt(x), [POS]),
    ("reciprocal", lambda m, x: m.reciprocal(x), lambda x: 1 / x, [A]),
    ("square", lambda m, x: m.square(x), np.square, [A]),
    ("abs", lambda m, x: m.abs(x), np.abs, [A]),
    ("absolute", lambda m, x: m.absolute(x), np.abs, [A]),
    ("neg", lambda m, x: m.neg(x), np.negative, [A]),
    ("negative", lambda m, x: m.negative(x), np.negative, [A]),
    ("sin", lambda m, x: m.sin(x), np.sin, [A]),
    ("cos", lambda m, x: m.cos(x), np.cos, [A]),
    ("tan", lambda m, x: m.tan(x), np.tan, [SMALL]),
    ("atan", lambda m, x: m.atan(x), np.arctan, [A]),
    ("arctan", lambda m, x: m.arctan(x), np.arctan, [A]),
    ("tanh", lambda m, x: m.tanh(x), np.tanh, [A]),
    ("sigmoid", lambda m, x: m.sigmoid(x), sigmoid_ref, [A]),
    ("erf", lambda m, x: m.erf(x), erf_ref, [A]),
    ("relu", lambda m, x: m.relu(x), lambda x: np.maximum(x, 0), [A]),
    ("sign", lambda m, x: m.sign(x), np.sign, [A]),
    ("floor", lambda m, x: m.floor(x), np.floor, [A]),
    ("ceil", lambda m, x: m.ceil(x), np.ceil, [A]),
    ("trunc", lambda m, x: m.trunc(x), np.trunc, [A]),
    ("fix", lambda m, x: m.fix(x), np.trunc, [A]),
    ("frac", lambda m, x: m.frac(x), lambda x: x - np.trunc(x), [A]),
    ("round", lambda m, x: m.round(x), np.round, [A]),
    ("round_decimals", lambda m, x: m.round(x, decimals=1), lambda x: np.round(x, 1), [DECIMALS]),
    ("clamp", lambda m, x: m.clamp(x, -1, 1), lambda x: np.clip(x, -1, 1), [A]),
    ("clamp_float_bounds", lambda m, x: m.clamp(x, min=-0.5, max=1.5),
     lambda x: np.clip(x, -0.5, 1.5), [A]),
    ("clamp_min_only", lambda m, x: m.clamp(x, min=0.5), lambda x: np.maximum(x, 0.5), [A]),
    ("clamp_max_only", lambda m, x: m.clamp(x, max=0.5), lambda x: np.minimum(x, 0.5), [A]),
    ("clip", lambda m, x: m.clip(x, -1, 1), lambda x: np.clip(x, -1, 1), [A]),
    ("clamp_min", lambda m, x: m.clamp_min(x, 0.5), lambda x: np.maximum(x, 0.5), [A]),
    ("clamp_max", lambda m, x: m.clamp_max(x, 0.5), lambda x: np.minimum(x, 0.5), [A]),
    ("nan_to_num", lambda m, x: m.nan_to_num(x), lambda x: x, [A]),
    ("float_power", lambda m, x: m.float_power(x, 2), lambda x: x.astype(np.float64) ** 2, [A]),
    ("pow_int_exponent", lambda m, x: m.pow(x, 3), lambda x: x ** 3, [A]),
    ("pow_float_exponent", lambda m, x: m.pow(x, 1.5), lambda x: x ** 1.5, [POS]),
    ("pow_negative_exponent", lambda m, x: x ** -2, lambda x: x ** -2.0, [A]),
    ("pow_zero_exponent", lambda m, x: x ** 0, lambda x: x ** 0, [A]),
    ("rpow", lambda m, x: 2.0 ** x, lambda x: 2.0 ** x, [A]),
    ("rpow_int", lambda m, x: 3 ** x, lambda x: 3.0 ** x, [A]),
    ("operator_neg", lambda m, x: -x, np.negative, [A]),
    ("operator_abs", lambda m, x: abs(x), np.abs, [A]),
    ("scalar_add", lambda m, x: x + 2.5, lambda x: x + 2.5, [A]),
    ("scalar_radd", lambda m, x: 2 + x, lambda x: 2 + x, [A]),
    ("scalar_sub", lambda m, x: x - 2, lambda x: x - 2, [A]),
    ("scalar_rsub", lambda m, x: 2 - x, lambda x: 2 - x, [A]),
    ("scalar_mul", lambda m, x: x * 3, lambda x: x * 3, [A]),
    ("scalar_rmul", lambda m, x: 0.5 * x, lambda x: 0.5 * x, [A]),
    ("scalar_div", lambda m, x: x / 4, lambda x: x / 4, [A]),
    ("scalar_rdiv", lambda m, x: 2 / x, lambda x: 2 / x, [A]),
    ("rsub", lambda m, x: m.rsub(x, 5.0), lambda x: 5.0 - x, [A]),
    ("rsub_alpha", lambda m, x: m.rsub(x, 5.0, alpha=2), lambda x: 5.0 - 2 * x, [A]),
]

BINARY = [
    ("add", lambda m, x, y: m.add(x, y), np.add, [A, B]),
    ("add_alpha", lambda m, x, y: m.add(x, y, alpha=2.5), lambda x, y: x + 2.5 * y, [A, B]),
    ("sub", lambda m, x, y: m.sub(x, y), np.subtract, [A, B]),
    ("sub_alpha", lambda m, x, y: m.sub(x, y, alpha=3), lambda x, y: x - 3 * y, [A, B]),
    ("subtract", lambda m, x, y: m.subtract(x, y), np.subtract, [A, B]),
    ("rsub_tensor", lambda m, x, y: m.rsub(x, y, alpha=2), lambda x, y: y - 2 * x, [A, B]),
    ("mul", lambda m, x, y: m.mul(x, y), np.multiply, [A, B]),
    ("multiply", lambda m, x, y: m.multiply(x, y), np.multiply, [A, B]),
    ("div", lambda m, x, y: m.div(x, y), np.divide, [A, B]),
    ("divide", lambda m, x, y: m.divide(x, y), np.divide, [A, B]),
    ("true_divide", lambda m, x, y: m.true_divide(x, y), np.divide, [A, B]),
    ("div_floor", lambda m, x, y: m.div(x, y, rounding_mode="floor"),
     lambda x, y: np.floor(x / y), [A, DIVISOR]),
    ("div_trunc", lambda m, x, y: m.div(x, y, rounding_mode="trunc"),
     lambda x, y: np.trunc(x / y), [A, DIVISOR]),
    ("pow", lambda m, x, y: m.pow(x, y), np.power, [POS, A]),
    ("remainder", lambda m, x, y: m.remainder(x, y), np.remainder, [A, DIVISOR]),
    ("fmod", lambda m, x, y: m.fmod(x, y), np.fmod, [A, DIVISOR]),
    ("maximum", lambda m, x, y: m.maximum(x, y), np.maximum, [A, B]),
    ("minimum", lambda m, x, y: m.minimum(x, y), np.minimum, [A, B]),
    ("fmax", lambda m, x, y: m.fmax(x, y), np.fmax, [A, B]),
    ("fmin", lambda m, x, y: m.fmin(x, y), np.fmin, [A, B]),
    ("clamp_tensor_min", lambda m, x, y: m.clamp(x, min=y), np.maximum, [A, B]),
    ("clamp_tensor_max", lambda m, x, y: m.clamp(x, max=y), np.minimum, [A, B]),
    ("lerp_scalar_weight", lambda m, x, y: m.lerp(x, y, 0.3), lambda x, y: x + 0.3 * (y - x),
     [A, B]),
    ("where", lambda m, c, x, y: m.where(c, x, y), np.where, [COND, A, B]),
    ("where_scalar_other", lambda m, c, x: m.where(c, x, 0.5), lambda c, x: np.where(c, x, 0.5),
     [COND, A]),
    ("where_scalar_input", lambda m, c, x: m.where(c, -1.0, x), lambda c, x: np.where(c, -1.0, x),
     [COND, A]),
    ("where_method", lambda m, c, x, y: x.where(c, y), np.where, [COND, A, B]),
    ("operator_add", lambda m, x, y: x + y, np.add, [A, B]),
    ("operator_sub", lambda m, x, y: x - y, np.subtract, [A, B]),
    ("operator_mul", lambda m, x, y: x * y, np.multiply, [A, B]),
    ("operator_div", lambda m, x, y: x / y, np.divide, [A, B]),
    ("operator_pow", lambda m, x, y: x ** y, np.power, [POS, A]),
    ("operator_mod", lambda m, x, y: x % y, np.remainder, [A, DIVISOR]),
    ("same_tensor_twice", lambda m, x: x * x + x, lambda x: x * x + x, [A]),
]

BROADCAST = [
    ("add_row", lambda m, x, y: x + y, np.add, [A, ROW]),
    ("add_col", lambda m, x, y: x + y, np.add, [A, COL]),
    ("add_0d", lambda m, x, y: x + y, np.add, [A, SCALAR]),
    ("add_outer", lambda m, x, y: x + y, np.add, [COL, ROW]),
    ("sub_row_first", lambda m, x, y: x - y, np.subtract, [ROW, A]),
    ("mul_col", lambda m, x, y: x * y, np.multiply, [COL, A]),
    ("div_row", lambda m, x, y: x / y, np.divide, [A, ROW]),
    ("div_0d_first", lambda m, x, y: x / y, np.divide, [SCALAR, A]),
    ("pow_row_exponent", lambda m, x, y: x ** y, np.power, [POS, ROW]),
    ("maximum_col", lambda m, x, y: m.maximum(x, y), np.maximum, [A, COL]),
    ("minimum_outer", lambda m, x, y: m.minimum(x, y), np.minimum, [COL, ROW]),
    ("where_row_cond", lambda m, c, x, y: m.where(c, x, y), np.where, [ROW > 0, A, COL]),
    ("lerp_tensor_weight", lambda m, x, y, w: m.lerp(x, y, w), lambda x, y, w: x + w * (y - x),
     [A, B, ROW]),
    ("remainder_0d", lambda m, x, y: m.remainder(x, y), np.remainder, [A, np.array(0.95)]),
    ("addcmul", lambda m, x, y, z: m.addcmul(x, y, z, value=0.5),
     lambda x, y, z: x + 0.5 * y * z, [A, B, ROW]),
    ("addcmul_method", lambda m, x, y, z: x.addcmul(y, z), lambda x, y, z: x + y * z, [COL, A, B]),
    ("addcdiv", lambda m, x, y, z: m.addcdiv(x, y, z, value=-2),
     lambda x, y, z: x - 2 * y / z, [A, B, POS]),
    ("addcdiv_method", lambda m, x, y, z: x.addcdiv(y, z), lambda x, y, z: x + y / z,
     [ROW, A, POS]),
]


def _rows(table):
    return [pytest.param(fn, ref, arrays, id=name) for name, fn, ref, arrays in table]


@pytest.mark.parametrize("fn, ref, arrays", _rows(UNARY + BINARY + BROADCAST))
def test_op(fn, ref, arrays, device):
    check_op(fn, ref, arrays, device=device)


@pytest.mark.parametrize("fn", [
    pytest.param(lambda m, x, y: m.floor_divide(x, y), id="floor_divide"),
    pytest.param(lambda m, x, y: x // y, id="operator"),
    pytest.param(lambda m, x, y: x.floor_divide(y), id="method"),
])
def test_floor_divide(fn, device):
    # PyTorch has no derivative for floor_divide: compare the values, and nbtorch's zero gradient.
    check_op(lambda m, x, y: fn(m, x.detach(), y.detach()), lambda x, y: np.floor(x / y),
             [A, DIVISOR], device=device, grad=False)
    x = nbtorch.tensor(A, requires_grad=True, device=device)
    fn(nbtorch, x, nbtorch.tensor(DIVISOR, device=device)).backward(nbtorch.ones_like(x))
    np.testing.assert_array_equal(x.grad.cpu()._data, np.zeros_like(A))


def test_table_covers_every_public_math_function():
    from nbtorch.ops import elementwise

    in_table = set()
    for name, *_ in UNARY + BINARY + BROADCAST:
        in_table.add(name if name in elementwise.METHODS else name.split("_")[0])
    in_table.add("floor_divide")  # test_floor_divide
    differentiable = {
        "add", "sub", "subtract", "rsub", "mul", "multiply", "div", "divide", "true_divide",
        "floor_divide", "neg", "negative", "pow", "float_power", "remainder", "fmod", "exp", "exp2",
        "log", "log2", "log10", "log1p", "expm1", "sqrt", "rsqrt", "reciprocal", "square", "abs",
        "absolute", "sin", "cos", "tan", "atan", "arctan", "tanh", "sigmoid", "relu", "erf",
        "sign", "floor", "ceil", "round", "trunc", "fix", "frac", "clamp", "clip", "clamp_min",
        "clamp_max", "maximum", "minimum", "fmax", "fmin", "lerp", "nan_to_num", "where",
        "addcmul", "addcdiv",
    }
    missing = {n for n in differentiable if n not in in_table}
    assert not missing


# --- non-differentiable results: comparisons, logic, predicates ----------------------------------

COMPARISONS = [
    ("eq", lambda m, x, y: m.eq(x, y), np.equal),
    ("ne", lambda m, x, y: m.ne(x, y), np.not_equal),
    ("lt", lambda m, x, y: m.lt(x, y), np.less),
    ("le", lambda m, x, y: m.le(x, y), np.less_equal),
    ("gt", lambda m, x, y: m.gt(x, y), np.greater),
    ("ge", lambda m, x, y: m.ge(x, y), np.greater_equal),
    ("greater", lambda m, x, y: m.greater(x, y), np.greater),
    ("less_equal", lambda m, x, y: m.less_equal(x, y), np.less_equal),
    ("not_equal", lambda m, x, y: m.not_equal(x, y), np.not_equal),
    ("op_eq", lambda m, x, y: x == y, np.equal),
    ("op_ne", lambda m, x, y: x != y, np.not_equal),
    ("op_lt", lambda m, x, y: x < y, np.less),
    ("op_le", lambda m, x, y: x <= y, np.less_equal),
    ("op_gt", lambda m, x, y: x > y, np.greater),
    ("op_ge", lambda m, x, y: x >= y, np.greater_equal),
    ("logical_and", lambda m, x, y: m.logical_and(x, y), np.logical_and),
    ("logical_or", lambda m, x, y: m.logical_or(x, y), np.logical_or),
    ("logical_xor", lambda m, x, y: m.logical_xor(x, y), np.logical_xor),
]
TIED = np.array([[0.4, -0.6, 1.9, 1.2], [2.35, 1.3, 0.0, 0.9], [2.1, 0.0, 0.45, -1.35]])


@pytest.mark.parametrize("fn, ref", [pytest.param(f, r, id=n) for n, f, r in COMPARISONS])
@pytest.mark.parametrize("arrays", [[A, TIED], [A, ROW], [INT_A, INT_B], [A, SCALAR]],
                         ids=["float", "broadcast", "int", "zero_dim"])
def test_comparison(fn, ref, arrays, device):
    check_op(fn, ref, arrays, device=device, grad=False)


@pytest.mark.parametrize("fn, ref", [pytest.param(f, r, id=n) for n, f, r in COMPARISONS])
def test_comparison_result_is_bool_without_grad(fn, ref):
    x = nbtorch.tensor(A, requires_grad=True)
    out = fn(nbtorch, x, nbtorch.tensor(TIED))
    assert out.dtype is nbtorch.bool
    assert not out.requires_grad and out.grad_fn is None
    np.testing.assert_array_equal(out._data, ref(A, TIED))


@pytest.mark.parametrize("scalar", [0.4, 1, True])
def test_comparison_with_python_scalars_both_sides(scalar):
    x = nbtorch.tensor(A)
    np.testing.assert_array_equal((x > scalar)._data, A > scalar)
    np.testing.assert_array_equal((scalar > x)._data, scalar > A)
    np.testing.assert_array_equal((scalar == x)._data, scalar == A)


OPERATORS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
             "/": lambda a, b: a / b, "r+": lambda a, b: b + a, "r*": lambda a, b: b * a}


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("other", [0.7, -0.0, 0.0, 3, -0, 2**40, "same", "row", "int64"])
def test_operators_take_the_shortcut_with_the_general_meaning(op, dtype, other):
    """Operators on float tensors with numbers or same-dtype tensors skip promotion (a shortcut
    in _tensor_methods): the values, dtype, sign of zero and graph are those of the general
    functions and of PyTorch."""
    x = nbtorch.tensor(A, dtype=getattr(nbtorch, dtype), requires_grad=True)
    operands = {"same": lambda m, t: m.tensor(B, dtype=t.dtype), "row": lambda m, t: m.tensor(ROW),
                "int64": lambda m, t: m.tensor(INT_A[0])}
    make = operands.get(other) if isinstance(other, str) else None
    y = make(nbtorch, x) if make else other
    out = OPERATORS[op](x, y)
    general = {"+": nbtorch.add, "-": nbtorch.sub, "*": nbtorch.mul, "/": nbtorch.div}[op[-1]]
    # x.__radd__(number) is add(x, number), as in PyTorch; y + x for a tensor y is add(y, x)
    expected = general(y, x) if op.startswith("r") and make else general(x, y)
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out._data, expected._data)
    np.testing.assert_array_equal(np.signbit(out._data), np.signbit(expected._data))
    assert out.grad_fn.name() == expected.grad_fn.name()
    if real_torch is not None:
        tx = real_torch.tensor(A, dtype=getattr(real_torch, dtype), requires_grad=True)
        want = OPERATORS[op](tx, make(real_torch, tx) if make else other)
        assert str(out.dtype) == str(want.dtype)
        np.testing.assert_array_equal(np.signbit(out._data), np.signbit(want.detach().numpy()))
        assert out.grad_fn.name() == want.grad_fn.name()


def test_equality_with_non_numbers_is_python_equality():
    x = nbtorch.tensor([1, 2])
    assert (x == None) is False  # noqa: E711 - the operator itself is under test
    assert (x != "a") is True
    assert (x == [1, 2]) is False
    if real_torch is not None:
        t = real_torch.tensor([1, 2])
        assert (t == None) is False and (t != "a") is True  # noqa: E711


LOGIC = [
    ("logical_not", lambda m, x: m.logical_not(x), np.logical_not, [A]),
    ("logical_not_int", lambda m, x: m.logical_not(x), np.logical_not, [INT_A]),
    ("bitwise_not_int", lambda m, x: m.bitwise_not(x), np.invert, [INT_A]),
    ("bitwise_not_bool", lambda m, x: m.bitwise_not(x), np.invert, [COND]),
    ("invert_bool", lambda m, x: ~x, np.invert, [COND]),
    ("invert_int", lambda m, x: ~x, np.invert, [INT_A]),
    ("bitwise_and", lambda m, x, y: m.bitwise_and(x, y), np.bitwise_and, [INT_A, INT_B]),
    ("bitwise_or", lambda m, x, y: m.bitwise_or(x, y), np.bitwise_or, [INT_A, INT_B]),
    ("bitwise_xor", lambda m, x, y: m.bitwise_xor(x, y), np.bitwise_xor, [INT_A, INT_B]),
    ("and_bool", lambda m, x, y: x & y, np.logical_and, [COND, ROW > 0]),
    ("or_bool", lambda m, x, y: x | y, np.logical_or, [COND, ROW > 0]),
    ("xor_bool", lambda m, x, y: x ^ y, np.logical_xor, [COND, ROW > 0]),
    ("rand_scalar", lambda m, x: True & x, lambda x: np.logical_and(True, x), [COND]),
    ("xor_int_scalar", lambda m, x: x ^ 5, lambda x: x ^ 5, [INT_A]),
]
SPECIAL = np.array([1.0, -0.0, np.nan, np.inf, -np.inf, -2.5])
PREDICATES = ["isnan", "isinf", "isfinite", "isposinf", "isneginf", "signbit"]


@pytest.mark.parametrize("fn, ref, arrays", _rows(LOGIC))
def test_logic(fn, ref, arrays, device):
    check_op(fn, ref, arrays, device=device, grad=False)


@pytest.mark.parametrize("name", PREDICATES)
def test_predicates(name, device):
    check_op(lambda m, x: getattr(m, name)(x), getattr(np, name), [SPECIAL], device=device,
             grad=False)


@needs_torch
def test_nan_to_num_matches_torch():
    for kwargs in ({}, {"nan": 1.0}, {"nan": 0.5, "posinf": 9.0, "neginf": -9.0}):
        got = nbtorch.nan_to_num(nbtorch.tensor(SPECIAL, dtype=nbtorch.float32), **kwargs)
        want = real_torch.nan_to_num(real_torch.tensor(SPECIAL, dtype=real_torch.float32),
                                     **kwargs)
        np.testing.assert_array_equal(got._data, want.numpy())


def test_nan_to_num_gradient_passes_where_finite():
    x = nbtorch.tensor(SPECIAL, requires_grad=True)
    nbtorch.nan_to_num(x).backward(nbtorch.ones(6, dtype=nbtorch.float64))
    np.testing.assert_array_equal(x.grad._data, [1, 1, 0, 0, 0, 1])


def test_fmax_fmin_ignore_nan_unlike_maximum():
    a = nbtorch.tensor([np.nan, 1.0, 2.0])
    b = nbtorch.tensor([0.5, np.nan, 3.0])
    np.testing.assert_array_equal(nbtorch.fmax(a, b)._data, [0.5, 1.0, 3.0])
    np.testing.assert_array_equal(nbtorch.fmin(a, b)._data, [0.5, 1.0, 2.0])
    assert np.isnan(nbtorch.maximum(a, b)._data[:2]).all()
    assert np.isnan(nbtorch.minimum(a, b)._data[:2]).all()


@needs_torch
def test_fmax_gradient_with_nan_and_ties_matches_torch():
    a_vals, b_vals = [np.nan, 1.0, 2.0, 4.0], [0.5, np.nan, 3.0, 4.0]
    for name in ("fmax", "fmin"):
        grads = []
        for m in (nbtorch, real_torch):
            a = m.tensor(a_vals, requires_grad=True)
            b = m.tensor(b_vals, requires_grad=True)
            getattr(m, name)(a, b).backward(m.ones(4))
            grads.append((a.grad.detach().numpy().copy(), b.grad.detach().numpy().copy()))
        np.testing.assert_array_equal(grads[0][0], grads[1][0], err_msg=name)
        np.testing.assert_array_equal(grads[0][1], grads[1][1], err_msg=name)


def test_equal_allclose_isclose(device):
    x = nbtorch.tensor([1.0, 2.0], device=device)
    assert nbtorch.equal(x, nbtorch.tensor([1.0, 2.0], device=device)) is True
    assert nbtorch.equal(x, nbtorch.tensor([1.0, 2.5], device=device)) is False
    assert nbtorch.equal(x, nbtorch.tensor([1.0, 2.0, 3.0], device=device)) is False
    assert nbtorch.allclose(x, x + 1e-9) is True
    assert nbtorch.allclose(x, x + 1e-3) is False
    assert x.allclose(x + 1e-3, atol=1e-2) is True
    close = nbtorch.isclose(x, nbtorch.tensor([1.0, 2.1], device=device))
    assert close.dtype is nbtorch.bool
    np.testing.assert_array_equal(close.cpu()._data, [True, False])
    nan = nbtorch.tensor([np.nan], device=device)
    assert not nbtorch.allclose(nan, nan)
    assert nbtorch.allclose(nan, nan, equal_nan=True)


# --- ties ----------------------------------------------------------------------------------------

TIES_A = np.array([1.0, 2.0, 3.0, -1.0, 0.5])
TIES_B = np.array([1.0, 5.0, 3.0, -2.0, 0.5])


@pytest.mark.parametrize("fn, x_grad", [
    # maximum/minimum split a tie's gradient in half; clamp gives all of it to the input.
    pytest.param(lambda m, x, y: m.maximum(x, y), [0.5, 0, 0.5, 1, 0.5], id="maximum"),
    pytest.param(lambda m, x, y: m.minimum(x, y), [0.5, 1, 0.5, 0, 0.5], id="minimum"),
    pytest.param(lambda m, x, y: m.clamp(x, min=y), [1, 0, 1, 1, 1], id="clamp_tensor_min"),
    pytest.param(lambda m, x, y: m.clamp(x, max=y), [1, 1, 1, 0, 1], id="clamp_tensor_max"),
])
def test_ties_split_the_gradient_like_torch(fn, x_grad):
    x = nbtorch.tensor(TIES_A, requires_grad=True)
    y = nbtorch.tensor(TIES_B, requires_grad=True)
    fn(nbtorch, x, y).backward(nbtorch.ones(5, dtype=nbtorch.float64))
    np.testing.assert_array_equal(x.grad._data, x_grad)
    np.testing.assert_array_equal(x.grad._data + y.grad._data, np.ones(5))
    check_torch(fn, [TIES_A, TIES_B])


@pytest.mark.parametrize("lo, hi", [(-1.0, 1.0), (1.0, None), (None, -1.0)])
def test_clamp_at_the_bound_passes_the_gradient_like_torch(lo, hi):
    values = np.array([-1.0, 1.0, 0.0, 2.0, -3.0])
    check_torch(lambda m, x: m.clamp(x, lo, hi), [values])


def test_relu_and_abs_at_zero_match_torch():
    values = np.array([0.0, -1.0, 2.0])
    check_torch(lambda m, x: m.relu(x), [values])
    check_torch(lambda m, x: m.abs(x), [values])


def test_clamp_with_min_above_max_gives_max():
    x = nbtorch.tensor([1.0, 5.0])
    np.testing.assert_array_equal(nbtorch.clamp(x, 3, 2)._data, [2.0, 2.0])


# --- integer and bool inputs ---------------------------------------------------------------------

FLOAT_OPS_ON_INTS = [
    ("exp", lambda m, x: m.exp(x), np.exp),
    ("log", lambda m, x: m.log(x), np.log),
    ("sqrt", lambda m, x: m.sqrt(x), np.sqrt),
    ("rsqrt", lambda m, x: m.rsqrt(x), lambda x: 1 / np.sqrt(x)),
    ("sin", lambda m, x: m.sin(x), np.sin),
    ("tanh", lambda m, x: m.tanh(x), np.tanh),
    ("sigmoid", lambda m, x: m.sigmoid(x), sigmoid_ref),
    ("reciprocal", lambda m, x: m.reciprocal(x), lambda x: 1 / x),
    ("div", lambda m, x: m.div(x, 2), lambda x: x / 2),
    ("truediv_tensors", lambda m, x: x / x, lambda x: x / x),
    ("rdiv", lambda m, x: 1 / x, lambda x: 1 / x),
    ("mul_float", lambda m, x: x * 0.5, lambda x: x * 0.5),
    ("add_float", lambda m, x: x + 0.5, lambda x: x + 0.5),
    ("pow_float", lambda m, x: x ** 0.5, np.sqrt),
    ("clamp_float_bound", lambda m, x: m.clamp(x, max=2.5), lambda x: np.minimum(x, 2.5)),
    ("exp2", lambda m, x: m.exp2(x), np.exp2),
    ("erf", lambda m, x: m.erf(x), erf_ref),
]
INT_PRESERVING = [
    ("abs", lambda m, x: m.abs(x), np.abs),
    ("neg", lambda m, x: -x, np.negative),
    ("sign", lambda m, x: m.sign(x), np.sign),
    ("floor", lambda m, x: m.floor(x), lambda x: x),
    ("ceil", lambda m, x: m.ceil(x), lambda x: x),
    ("round", lambda m, x: m.round(x), lambda x: x),
    ("trunc", lambda m, x: m.trunc(x), lambda x: x),
    ("relu", lambda m, x: m.relu(x), lambda x: np.maximum(x, 0)),
    ("square", lambda m, x: m.square(x), np.square),
    ("clamp_int_bounds", lambda m, x: m.clamp(x, -2, 3), lambda x: np.clip(x, -2, 3)),
    ("pow_int", lambda m, x: x ** 2, lambda x: x ** 2),
    ("rpow_int", lambda m, x: 2 ** m.abs(x), lambda x: 2 ** np.abs(x)),
    ("add_int", lambda m, x: x + 3, lambda x: x + 3),
    ("mul_int", lambda m, x: 3 * x, lambda x: 3 * x),
    ("maximum", lambda m, x: m.maximum(x, m.zeros_like(x)), lambda x: np.maximum(x, 0)),
    ("where", lambda m, x: m.where(x > 0, x, 0), lambda x: np.where(x > 0, x, 0)),
    ("add_alpha", lambda m, x: m.add(x, x, alpha=2), lambda x: 3 * x),
]


@pytest.mark.parametrize("fn, ref", [pytest.param(f, r, id=n) for n, f, r in FLOAT_OPS_ON_INTS])
def test_float_ops_turn_ints_into_float32(fn, ref, device):
    out = fn(nbtorch, nbtorch.tensor(INT_POS, device=device))
    assert out.dtype is nbtorch.float32
    check_op(fn, ref, [INT_POS], device=device, grad=False, rtol=1e-6)


@pytest.mark.parametrize("fn, ref", [pytest.param(f, r, id=n) for n, f, r in INT_PRESERVING])
def test_int_ops_stay_int64(fn, ref, device):
    out = fn(nbtorch, nbtorch.tensor(INT_A, device=device))
    assert out.dtype is nbtorch.int64
    np.testing.assert_array_equal(out.cpu()._data, ref(INT_A))
    check_torch(fn, [INT_A], device)


def test_float_op_on_bool_gives_float32():
    x = nbtorch.tensor([True, False])
    assert nbtorch.exp(x).dtype is nbtorch.float32
    assert (x * 1.5).dtype is nbtorch.float32
    assert (x + x).dtype is nbtorch.bool


# --- integer division ----------------------------------------------------------------------------

INT_DIV = [
    ("div_floor", lambda m, x, y: m.div(x, y, rounding_mode="floor"), np.floor_divide),
    ("div_trunc", lambda m, x, y: m.div(x, y, rounding_mode="trunc"),
     lambda x, y: np.trunc(x / y).astype(np.result_type(x, y))),
    ("floordiv_op", lambda m, x, y: x // y, np.floor_divide),
    ("floor_divide", lambda m, x, y: m.floor_divide(x, y), np.floor_divide),
    ("remainder", lambda m, x, y: m.remainder(x, y), np.remainder),
    ("mod_op", lambda m, x, y: x % y, np.remainder),
    ("fmod", lambda m, x, y: m.fmod(x, y), np.fmod),
    ("true_div", lambda m, x, y: x / y, lambda x, y: (x / y).astype(np.float32)),
]


@pytest.mark.parametrize("fn, ref", [pytest.param(f, r, id=n) for n, f, r in INT_DIV])
@pytest.mark.parametrize("form", ["tensor", "scalar", "rscalar", "int32"])
def test_integer_division_rounding_matches_torch(fn, ref, form, device):
    a, b = INT_A, INT_B
    if form == "tensor":
        operands = [a, b]
        call = fn
    elif form == "scalar":
        operands = [a]
        b = np.int64(-3)

        def call(m, x):
            return fn(m, x, -3)
    elif form == "rscalar":
        if "fmod" in str(ref):
            pytest.skip("PyTorch's fmod takes no number as its first argument")
        operands = [b]
        a = np.int64(7)

        def call(m, y):
            return fn(m, 7, y)
    else:
        operands = [a.astype(np.int32), b.astype(np.int32)]
        call = fn
        a, b = operands
    got = call(nbtorch, *[nbtorch.tensor(o, device=device) for o in operands])
    want = ref(a, b)
    np.testing.assert_allclose(got.cpu()._data, want, rtol=1e-6)
    check_torch(call, operands, device)  # dtypes too


@pytest.mark.parametrize("fn", [
    lambda m: m.tensor([1, 2]) // 0,
    lambda m: m.tensor([1, 2]) % 0,
    lambda m: m.div(m.tensor([1, 2]), 0, rounding_mode="trunc"),
    lambda m: m.tensor([1, 2]) // m.tensor([1, 0]),
    lambda m: m.fmod(m.tensor([1, 2]), m.tensor([0, 1])),
])
def test_integer_division_by_zero_raises(fn):
    with pytest.raises(RuntimeError, match="^ZeroDivisionError$"):
        fn(nbtorch)
    if real_torch is not None:
        with pytest.raises(RuntimeError, match="^ZeroDivisionError$"):
            fn(real_torch)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's divide-by-zero warning
def test_float_division_by_zero_gives_inf_and_nan():
    out = nbtorch.tensor([1.0, -1.0, 0.0]) / 0
    np.testing.assert_array_equal(out._data, [np.inf, -np.inf, np.nan])
    out = nbtorch.tensor([1, 0]) / nbtorch.tensor([0, 0])
    assert out.dtype is nbtorch.float32
    assert out._data[0] == np.inf and np.isnan(out._data[1])


def test_bad_rounding_mode():
    with pytest.raises(RuntimeError, match="div expected rounding_mode to be one of None, 'trunc', "
                                           "or 'floor' but found 'round'"):
        nbtorch.div(nbtorch.tensor([1.0]), 2, rounding_mode="round")


@pytest.mark.parametrize("dtype, value, expected", [
    ("uint8", 100, [44]), ("int8", 300, [-112]), ("uint8", -2, [254]),
])
def test_integer_arithmetic_wraps_like_torch(dtype, value, expected):
    x = nbtorch.tensor([200 if dtype == "uint8" and value > 0 else 100 if dtype == "int8" else 0],
                       dtype=getattr(nbtorch, dtype))
    out = x + value
    assert out.dtype is getattr(nbtorch, dtype)
    np.testing.assert_array_equal(out._data, expected)
    if real_torch is not None:
        t = real_torch.tensor(x._data.tolist(), dtype=getattr(real_torch, dtype)) + value
        assert t.tolist() == expected


# --- PyTorch's errors ----------------------------------------------------------------------------

BOOL_SUB_TWO = ("Subtraction, the `-` operator, with two bool tensors is not supported. Use the "
                "`^` or `logical_xor()` operator instead.")
BOOL_SUB_ONE = ("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


@pytest.mark.parametrize("fn, message", [
    (lambda m: m.tensor([True]) - m.tensor([False]), BOOL_SUB_TWO),
    (lambda m: m.tensor([True]) - True, BOOL_SUB_TWO),
    (lambda m: m.sub(m.tensor([True]), m.tensor([True])), BOOL_SUB_TWO),
    (lambda m: m.tensor([True]) - 1, BOOL_SUB_ONE),
    (lambda m: 1 - m.tensor([True]), BOOL_SUB_ONE),
    (lambda m: m.tensor([1.5]) - m.tensor([True]), BOOL_SUB_ONE),
    (lambda m: m.tensor([1]) - True, BOOL_SUB_ONE),
    (lambda m: m.rsub(m.tensor([True]), 1), BOOL_SUB_ONE),
    (lambda m: -m.tensor([True]),
     "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a "
     "mask, use the `~` or `logical_not()` operator instead."),
    (lambda m: m.tensor([2, 3]) ** -1, "Integers to negative integer powers are not allowed."),
    (lambda m: m.pow(m.tensor([2, 3]), -2), "Integers to negative integer powers are not allowed."),
    (lambda m: m.tensor([1, 2]).pow(-1), "Integers to negative integer powers are not allowed."),
    (lambda m: m.tensor([1.0, 2.0]) + m.tensor([1.0, 2.0, 3.0]),
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0"),
    (lambda m: m.ones(2, 3) * m.ones(4, 1, 2),
     "The size of tensor a (3) must match the size of tensor b (2) at non-singleton dimension 2"),
    (lambda m: m.clamp(m.ones(2)), "torch.clamp: At least one of 'min' or 'max' must not be None"),
    (lambda m: m.add(m.tensor([1, 2]), 5, alpha=2.5),
     "For integral input tensors, argument alpha must not be a floating point number."),
    (lambda m: m.sub(m.tensor([1, 2]), 1, alpha=0.5),
     "For integral input tensors, argument alpha must not be a floating point number."),
    (lambda m: m.where(m.tensor([1, 0]), m.tensor([1.0, 2.0]), 0.0),
     "where expected condition to be a boolean tensor, but got a tensor with dtype Long"),
    (lambda m: m.bitwise_and(m.tensor([1.5]), 1),
     "\"bitwise_and_cpu\" not implemented for 'Float'"),
    (lambda m: m.bitwise_not(m.tensor([1.5])), "\"bitwise_not_cpu\" not implemented for 'Float'"),
])
def test_error_messages_match_torch(fn, message):
    assert_same_error(fn, RuntimeError, message)


def test_invert_float_is_a_type_error():
    message = "~ (operator.invert) is only implemented on integer and Boolean-type tensors"
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ~nbtorch.tensor([1.5])
    if real_torch is not None:
        with pytest.raises(TypeError, match=r"\(operator.invert\) is only implemented"):
            ~real_torch.tensor([1.5])


@pytest.mark.parametrize("other", [None, "a", [1, 2], (1, 2)])
def test_arithmetic_with_non_numbers_is_a_type_error(other):
    with pytest.raises(TypeError):
        nbtorch.tensor([1.0]) + other
    with pytest.raises(TypeError):
        nbtorch.tensor([1.0]) * other


# --- in-place methods and operators --------------------------------------------------------------


INPLACE = [
    ("add_", lambda x, m: x.add_(m.tensor(ROW, dtype=m.float32))),
    ("add_alpha", lambda x, m: x.add_(m.tensor(ROW, dtype=m.float32), alpha=2)),
    ("add_scalar", lambda x, m: x.add_(1.5)),
    ("sub_", lambda x, m: x.sub_(0.25)),
    ("subtract_", lambda x, m: x.subtract_(m.tensor(COL, dtype=m.float32))),
    ("mul_", lambda x, m: x.mul_(m.tensor(B, dtype=m.float32))),
    ("multiply_", lambda x, m: x.multiply_(3)),
    ("div_", lambda x, m: x.div_(m.tensor(ROW, dtype=m.float32))),
    ("div_floor", lambda x, m: x.div_(0.7, rounding_mode="floor")),
    ("divide_", lambda x, m: x.divide_(4)),
    ("true_divide_", lambda x, m: x.true_divide_(4)),
    ("floor_divide_", lambda x, m: x.floor_divide_(0.7)),
    ("neg_", lambda x, m: x.neg_()),
    ("pow_", lambda x, m: x.pow_(2)),
    ("remainder_", lambda x, m: x.remainder_(0.7)),
    ("fmod_", lambda x, m: x.fmod_(0.7)),
    ("exp_", lambda x, m: x.exp_()),
    ("abs_", lambda x, m: x.abs_()),
    ("sin_", lambda x, m: x.sin_()),
    ("cos_", lambda x, m: x.cos_()),
    ("tanh_", lambda x, m: x.tanh_()),
    ("sigmoid_", lambda x, m: x.sigmoid_()),
    ("relu_", lambda x, m: x.relu_()),
    ("sign_", lambda x, m: x.sign_()),
    ("floor_", lambda x, m: x.floor_()),
    ("ceil_", lambda x, m: x.ceil_()),
    ("round_", lambda x, m: x.round_()),
    ("trunc_", lambda x, m: x.trunc_()),
    ("clamp_", lambda x, m: x.clamp_(-1, 1)),
    ("clamp_min_kw", lambda x, m: x.clamp_(min=0.5)),
    ("clamp_min_", lambda x, m: x.clamp_min_(0.5)),
    ("clamp_max_", lambda x, m: x.clamp_max_(0.5)),
    ("lerp_", lambda x, m: x.lerp_(m.tensor(B, dtype=m.float32), 0.25)),
    ("addcmul_", lambda x, m: x.addcmul_(m.tensor(B, dtype=m.float32),
                                         m.tensor(ROW, dtype=m.float32), value=0.1)),
    ("addcdiv_", lambda x, m: x.addcdiv_(m.tensor(B, dtype=m.float32),
                                         m.tensor(POS, dtype=m.float32), value=-0.5)),
    ("square_", lambda x, m: x.square_()),
    ("erf_", lambda x, m: x.erf_()),
    ("reciprocal_", lambda x, m: x.reciprocal_()),
    ("logical_not_", lambda x, m: x.logical_not_()),
    ("nan_to_num_", lambda x, m: x.nan_to_num_()),
    ("zero_", lambda x, m: x.zero_()),
    ("fill_", lambda x, m: x.fill_(2.5)),
    ("fill_0d_tensor", lambda x, m: x.fill_(m.tensor(-1.5))),
    ("copy_", lambda x, m: x.copy_(m.tensor(B, dtype=m.float32))),
    ("copy_broadcast", lambda x, m: x.copy_(m.tensor(ROW, dtype=m.float64))),
    ("iadd", lambda x, m: x.__iadd__(m.tensor(ROW, dtype=m.float32))),
    ("isub", lambda x, m: x.__isub__(2)),
    ("imul", lambda x, m: x.__imul__(m.tensor(COL, dtype=m.float32))),
    ("itruediv", lambda x, m: x.__itruediv__(2)),
    ("ipow", lambda x, m: x.__ipow__(2)),
    ("imod", lambda x, m: x.__imod__(0.7)),
    ("ifloordiv", lambda x, m: x.__ifloordiv__(0.7)),
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in INPLACE])
def test_inplace_method_writes_in_place_and_bumps_the_version(fn, device):
    x = nbtorch.tensor(A, dtype=nbtorch.float32, device=device)
    alias = x.detach()  # shares memory and the version counter
    before = x._version
    out = fn(x, nbtorch) if device == "cpu" else fn(x, _OnDevice(device))
    assert out is x
    assert x._version > before and alias._version == x._version
    np.testing.assert_array_equal(alias.cpu()._data, x.cpu()._data)
    assert x.dtype is nbtorch.float32 and x.shape == A.shape
    if real_torch is not None:
        t = real_torch.tensor(A, dtype=real_torch.float32)
        fn(t, real_torch)
        np.testing.assert_allclose(x.cpu()._data, t.numpy(), rtol=1e-6, atol=1e-6)


class _OnDevice:
    """nbtorch, with ``tensor`` creating on a given device (for the in-place table on CUDA)."""

    def __init__(self, device):
        self.device = device

    def __getattr__(self, name):
        return getattr(nbtorch, name)

    def tensor(self, *args, **kwargs):
        return nbtorch.tensor(*args, device=self.device, **kwargs)


def test_augmented_assignment_keeps_identity():
    x = nbtorch.tensor([1.0, 2.0])
    keep = x
    x += 1
    x *= 2
    x -= 1
    x /= 2
    x **= 2
    assert x is keep
    np.testing.assert_allclose(x._data, [2.25, 6.25])
    assert x._version == 5


def test_integer_augmented_assignment():
    x = nbtorch.tensor([7, -7])
    x *= 2
    x -= 1
    x //= 3
    x %= 4
    assert x.dtype is nbtorch.int64
    expected = np.remainder(np.floor_divide(np.array([7, -7]) * 2 - 1, 3), 4)
    np.testing.assert_array_equal(x._data, expected)
    b = nbtorch.tensor([True, False])
    b &= nbtorch.tensor([True, True])
    b |= nbtorch.tensor([False, True])
    b ^= nbtorch.tensor([True, False])
    np.testing.assert_array_equal(b._data, [False, True])


LEAF = "a leaf Variable that requires grad is being used in an in-place operation."


@pytest.mark.parametrize("fn", [
    pytest.param(lambda x: x.add_(1), id="add_"),
    pytest.param(lambda x: x.mul_(2), id="mul_"),
    pytest.param(lambda x: x.clamp_(0, 1), id="clamp_"),
    pytest.param(lambda x: x.exp_(), id="exp_"),
    pytest.param(lambda x: x.__isub__(1), id="isub"),
    pytest.param(lambda x: x.__iadd__(x), id="iadd_self"),
    pytest.param(lambda x: x.zero_(), id="zero_"),
    pytest.param(lambda x: x.fill_(1.0), id="fill_"),
    pytest.param(lambda x: x.copy_(x.detach() * 2), id="copy_"),
])
def test_inplace_on_leaf_requiring_grad_raises(fn):
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as got:
        fn(x)
    assert str(got.value) == LEAF
    np.testing.assert_array_equal(x._data, [1.0, 2.0])  # nothing was written
    if real_torch is not None:
        t = real_torch.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError) as want:
            fn(t)
        assert str(want.value) == LEAF


def test_inplace_on_leaf_is_allowed_under_no_grad():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    with nbtorch.no_grad():
        x -= 0.5
        x.mul_(2)
        x.zero_()
        x.add_(3)
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    np.testing.assert_array_equal(x._data, [3.0, 3.0])


@pytest.mark.parametrize("fn, message", [
    (lambda m: m.tensor([1, 2]).add_(1.5),
     "result type Float can't be cast to the desired output type Long"),
    (lambda m: m.tensor([1, 2]).div_(2),
     "result type Float can't be cast to the desired output type Long"),
    (lambda m: m.tensor([1, 2]).mul_(m.tensor([0.5, 1.0])),
     "result type Float can't be cast to the desired output type Long"),
    (lambda m: m.tensor([1, 2]).exp_(),
     "result type Float can't be cast to the desired output type Long"),
    (lambda m: m.tensor([1, 2], dtype=m.int32).__itruediv__(2),
     "result type Float can't be cast to the desired output type Int"),
    (lambda m: m.tensor([True, False]).add_(1),
     "result type Long can't be cast to the desired output type Bool"),
    (lambda m: m.tensor([1.0, 2.0]).add_(m.tensor([1j, 1j])),
     "result type ComplexFloat can't be cast to the desired output type Float"),
    (lambda m: m.zeros(2).add_(m.zeros(2, 2)),
     "output with shape [2] doesn't match the broadcast shape [2, 2]"),
    (lambda m: m.zeros(2).copy_(m.zeros(2, 2)),
     "output with shape [2] doesn't match the broadcast shape [2, 2]"),
    (lambda m: m.zeros(2, 2).copy_(m.zeros(3)),
     "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 1"),
    (lambda m: m.zeros(2).fill_(m.tensor([1.0, 2.0])),
     "fill_ only supports 0-dimension value tensor but got tensor with 1 dimensions."),
])
def test_inplace_errors_match_torch(fn, message):
    with pytest.raises(RuntimeError) as got:
        fn(nbtorch)
    assert str(got.value) == message
    if real_torch is not None:
        with pytest.raises(RuntimeError) as want:
            fn(real_torch)
        assert str(want.value) == message


def test_inplace_keeps_dtype_where_the_cast_is_allowed():
    x = nbtorch.tensor([1.0, 2.0], dtype=nbtorch.float32)
    x.add_(nbtorch.tensor([1.0, 1.0], dtype=nbtorch.float64))
    assert x.dtype is nbtorch.float32
    i = nbtorch.tensor([1, 2], dtype=nbtorch.int32)
    i.add_(nbtorch.tensor([1, 1], dtype=nbtorch.int64))
    assert i.dtype is nbtorch.int32
    f = nbtorch.tensor([1.0, 0.0])
    f.logical_not_()
    np.testing.assert_array_equal(f._data, [0.0, 1.0])


def test_copy_casts_any_dtype_like_torch():
    x = nbtorch.tensor([1, 2])
    x.copy_(nbtorch.tensor([1.7, -2.7]))
    np.testing.assert_array_equal(x._data, [1, -2])
    b = nbtorch.tensor([True, True])
    b.copy_(nbtorch.tensor([0.0, 2.0]))
    np.testing.assert_array_equal(b._data, [False, True])


def test_inplace_records_history_on_non_leaf():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    y.mul_(3)
    assert not y.is_leaf and y.grad_fn.name() == "MulBackward0"
    y.backward(nbtorch.ones(2))
    np.testing.assert_array_equal(x.grad._data, [6.0, 6.0])
    np.testing.assert_array_equal(y.detach()._data, [9.0, 15.0])


def test_inplace_into_untracked_tensor_from_tracked_one():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = nbtorch.zeros(2)
    y.add_(x * x)
    assert y.requires_grad and not y.is_leaf
    y.backward(nbtorch.ones(2))
    np.testing.assert_array_equal(x.grad._data, [2.0, 4.0])


@pytest.mark.parametrize("fn, expected", [
    (lambda y: y.zero_(), [0.0, 0.0]),
    (lambda y: y.fill_(3.0), [0.0, 0.0]),
    (lambda y: y.clamp_(min=1.5), [0.0, 1.0]),
    (lambda y: y.copy_(y.detach() * 5), [0.0, 0.0]),
])
def test_inplace_gradient_through_overwritten_values(fn, expected):
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    fn(y)
    y.backward(nbtorch.ones(2))
    np.testing.assert_array_equal(x.grad._data, expected)


def test_overwriting_inf_values_gives_no_nan():
    x = nbtorch.tensor([np.inf, 1.0], requires_grad=True)
    for fill in (lambda y: y.fill_(3.0), lambda y: y.zero_(),
                 lambda y: y.copy_(nbtorch.tensor([2.0, 2.0]))):
        y = x * 1
        fill(y)
        assert np.isfinite(y._data).all()
        y.backward(nbtorch.ones(2))
        np.testing.assert_array_equal(x.grad._data, [0.0, 0.0])
        x.grad = None


def test_copy_into_a_tensor_carries_the_gradient():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = nbtorch.zeros(2, dtype=nbtorch.float64)
    y.copy_(x * 2)
    assert y.dtype is nbtorch.float64
    y.backward(nbtorch.ones(2, dtype=nbtorch.float64))
    np.testing.assert_array_equal(x.grad._data, [2.0, 2.0])
    assert x.grad.dtype is nbtorch.float32


def test_modifying_a_saved_output_is_detected():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.sigmoid()
    y.mul_(2)
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation "
                                           "has been modified by an inplace operation"):
        y.backward(nbtorch.ones(2))


def test_modifying_a_saved_input_through_detach_is_detected():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp() * x
    x.detach().mul_(2)
    with pytest.raises(RuntimeError, match=r"is at version 1; expected version 0 instead"):
        y.backward(nbtorch.ones(2))


def test_modifying_through_data_is_not_detected_as_in_torch():
    x = nbtorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    x.data.mul_(2)
    y.backward(nbtorch.ones(2))
    np.testing.assert_allclose(x.grad._data, np.exp([1.0, 2.0]), rtol=1e-6)


# --- double backward -----------------------------------------------------------------------------

X2 = np.array([0.5, 1.2, 2.0])
Y2 = np.array([1.5, -0.7, 2.5])
SECOND_ORDER = [
    ("tanh", lambda m, x, y: m.tanh(x) * y),
    ("sigmoid", lambda m, x, y: m.sigmoid(x) * y),
    ("exp", lambda m, x, y: m.exp(x) * y),
    ("log", lambda m, x, y: m.log(x) * y),
    ("pow", lambda m, x, y: m.pow(x, y)),
    ("pow_scalar", lambda m, x, y: x ** 3 + y),
    ("rpow", lambda m, x, y: 2.0 ** x * y),
    ("div", lambda m, x, y: x / y),
    ("mul", lambda m, x, y: x * y * x),
    ("sqrt", lambda m, x, y: m.sqrt(x) * y),
    ("sin", lambda m, x, y: m.sin(x) * m.cos(y)),
]


def _first_grads(m, fn, xv, yv, create_graph):
    x = m.tensor(xv, requires_grad=True)
    y = m.tensor(yv, requires_grad=True)
    out = fn(m, x, y)
    gx, gy = m.autograd.grad(out, (x, y), m.ones_like(out), create_graph=create_graph)
    return x, y, gx, gy


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in SECOND_ORDER])
def test_double_backward(fn):
    weights = np.array([1.0, 2.0, 3.0])
    x, y, gx, gy = _first_grads(nbtorch, fn, X2, Y2, create_graph=True)
    assert gx.requires_grad
    ggx, ggy = nbtorch.autograd.grad(gx * nbtorch.tensor(weights), (x, y), nbtorch.ones(3),
                                     allow_unused=True)
    # Against central differences of the first derivative (no torch needed).
    eps = 1e-6
    numeric = []
    for which in (0, 1):
        cols = np.zeros(3)
        for j in range(3):
            vals = []
            for d in (eps, -eps):
                xv, yv = X2.copy(), Y2.copy()
                (xv if which == 0 else yv)[j] += d
                g = _first_grads(nbtorch, fn, xv, yv, create_graph=False)[2]
                vals.append(float((g._data * weights).sum()))
            cols[j] = (vals[0] - vals[1]) / (2 * eps)
        numeric.append(cols)
    got_x = ggx._data if ggx is not None else np.zeros(3)
    got_y = ggy._data if ggy is not None else np.zeros(3)
    np.testing.assert_allclose(got_x, numeric[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_y, numeric[1], rtol=1e-5, atol=1e-6)
    if real_torch is not None:
        tx, ty, tgx, _ = _first_grads(real_torch, fn, X2, Y2, create_graph=True)
        tggx, tggy = real_torch.autograd.grad(tgx * real_torch.tensor(weights), (tx, ty),
                                              real_torch.ones(3), allow_unused=True)
        np.testing.assert_allclose(gx._data, tgx.detach().numpy(), rtol=1e-6)
        for got, want in ((ggx, tggx), (ggy, tggy)):
            got = got._data if got is not None else np.zeros(3)
            want = want.numpy() if want is not None else np.zeros(3)
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


# --- hypothesis: broadcasting --------------------------------------------------------------------

BROADCASTING_OPS = {
    "add": (lambda m, a, b: m.add(a, b), np.add),
    "mul": (lambda m, a, b: a * b, np.multiply),
    "maximum": (lambda m, a, b: m.maximum(a, b), np.maximum),
    "where": (lambda m, a, b: m.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b)),
}


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(sorted(BROADCASTING_OPS)),
       shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       seed=st.integers(0, 2**16))
def test_broadcasting_property(name, shapes, seed):
    fn, ref = BROADCASTING_OPS[name]
    rng = np.random.default_rng(seed)
    # Distinct values (no ties for maximum), a fixed gap between a and b.
    a_val = rng.permutation(np.arange(1, 1 + int(np.prod(shapes.input_shapes[0])))).reshape(
        shapes.input_shapes[0]) * 0.5 - 3.25
    b_val = rng.permutation(np.arange(1, 1 + int(np.prod(shapes.input_shapes[1])))).reshape(
        shapes.input_shapes[1]) * 0.5 - 3.0
    a = nbtorch.tensor(a_val, requires_grad=True)
    b = nbtorch.tensor(b_val, requires_grad=True)
    out = fn(nbtorch, a, b)
    assert tuple(out.shape) == shapes.result_shape
    np.testing.assert_allclose(out._data, ref(a_val, b_val))
    upstream = rng.standard_normal(shapes.result_shape)
    out.backward(nbtorch.tensor(upstream))
    assert tuple(a.grad.shape) == tuple(a.shape)
    assert tuple(b.grad.shape) == tuple(b.shape)
    # The total gradient is conserved by the reduction over broadcast dimensions.
    total = a.grad._data.sum() + b.grad._data.sum()
    if name == "add":
        np.testing.assert_allclose(total, 2 * upstream.sum())
    if real_torch is not None:
        ta = real_torch.tensor(a_val, requires_grad=True)
        tb = real_torch.tensor(b_val, requires_grad=True)
        fn(real_torch, ta, tb).backward(real_torch.tensor(upstream))
        np.testing.assert_allclose(a.grad._data, ta.grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(b.grad._data, tb.grad.numpy(), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=2, max_side=4),
       lead=st.integers(0, 2))
def test_broadcast_error_names_the_mismatched_dimension(shape, lead):
    bad = (1,) * lead + shape[:-1] + (shape[-1] + 1,)
    dim = max(len(shape), len(bad)) - 1
    message = (f"The size of tensor a ({shape[-1]}) must match the size of tensor b "
               f"({bad[-1]}) at non-singleton dimension {dim}")
    with pytest.raises(RuntimeError) as got:
        nbtorch.zeros(shape) + nbtorch.zeros(bad)
    assert str(got.value) == message
    if real_torch is not None:
        with pytest.raises(RuntimeError) as want:
            real_torch.zeros(shape) + real_torch.zeros(bad)
        assert str(want.value) == message
