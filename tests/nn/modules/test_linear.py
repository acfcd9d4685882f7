"""Linear, Bilinear, Identity and F.linear / F.bilinear: PyTorch's initial weights from the same
seed, values and gradients (float64 finite differences, double backward, torch), errors, reprs."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
import nbtorch.nn.functional as F
from tests.helpers import assert_same_error, both, check_op, needs_torch, real_torch, values_of

RNG = np.random.default_rng(0)


def arr(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# --- initialization ------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("make", [
    lambda m: m.nn.Linear(3, 4),
    lambda m: m.nn.Linear(784, 256),
    lambda m: m.nn.Linear(5, 1, bias=False),
    lambda m: m.nn.Sequential(m.nn.Linear(784, 256), m.nn.Linear(256, 128), m.nn.Linear(128, 10)),
    lambda m: m.nn.Bilinear(2, 3, 4),
], ids=["3x4", "784x256", "no-bias", "mlp", "bilinear"])
def test_initial_weights_are_pytorchs_exactly(make):
    nbtorch.manual_seed(0)
    real_torch.manual_seed(0)
    got, want = make(nbtorch).state_dict(), make(real_torch).state_dict()
    assert list(got) == list(want)
    for key in got:
        assert np.array_equal(values_of(got[key]), values_of(want[key])), key


@needs_torch
def test_float64_linear_initial_weights():
    nbtorch.manual_seed(1)
    real_torch.manual_seed(1)
    got = nbtorch.nn.Linear(6, 5, dtype=nbtorch.float64).weight
    want = real_torch.nn.Linear(6, 5, dtype=real_torch.float64).weight
    assert got.dtype == nbtorch.float64
    assert np.array_equal(values_of(got), values_of(want))


@both
def test_linear_parameters(m):
    layer = m.nn.Linear(3, 4)
    assert tuple(layer.weight.shape) == (4, 3) and tuple(layer.bias.shape) == (4,)
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.in_features == 3 and layer.out_features == 4
    bound = 1 / np.sqrt(3)
    assert (np.abs(values_of(layer.weight)) <= bound).all()
    assert (np.abs(values_of(layer.bias)) <= bound).all()
    no_bias = m.nn.Linear(3, 4, bias=False)
    assert no_bias.bias is None and list(no_bias.state_dict()) == ["weight"]
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        empty = m.nn.Linear(0, 2)  # fan_in 0: bias bound 0
    assert not values_of(empty.bias).any()
    assert m.nn.Linear(2, 2, dtype=m.float64).weight.dtype == m.float64


# --- forward and backward ------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape", [(5, 3), (2, 4, 3), (3,), (2, 1, 2, 3), (0, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_values_and_gradients(x_shape, bias, device):
    x, w, b = arr(*x_shape), arr(4, 3), arr(4)

    def ref(x, w, b=None):
        return x @ w.T + (b if b is not None else 0)

    if bias:
        check_op(lambda m, x, w, b: m.nn.functional.linear(x, w, b), ref, [x, w, b],
                 device=device)
    else:
        check_op(lambda m, x, w: m.nn.functional.linear(x, w), ref, [x, w], device=device)


@pytest.mark.parametrize("bias_shape", [(4,), (1,), (5, 4), ()])
def test_linear_broadcast_bias(bias_shape, device):
    check_op(lambda m, x, w, b: m.nn.functional.linear(x, w, b), lambda x, w, b: x @ w.T + b,
             [arr(5, 3), arr(4, 3), arr(*bias_shape)], device=device)


def test_linear_one_dimensional_weight():
    check_op(lambda m, x, w: m.nn.functional.linear(x, w), lambda x, w: x @ w,
             [arr(5, 3), arr(3)])


def test_linear_double_backward():
    x = nbtorch.tensor(arr(3, 2).astype(np.float64), requires_grad=True)
    w = nbtorch.tensor(arr(4, 2).astype(np.float64), requires_grad=True)
    b = nbtorch.tensor(arr(4).astype(np.float64), requires_grad=True)
    assert nbtorch.autograd.gradcheck(F.linear, (x, w, b))
    assert nbtorch.autograd.gradgradcheck(lambda x, w, b: F.linear(x, w, b) ** 2, (x, w, b))
    x3 = nbtorch.tensor(arr(2, 3, 2).astype(np.float64), requires_grad=True)
    assert nbtorch.autograd.gradgradcheck(lambda x, w: F.linear(x, w) ** 2, (x3, w))


@both
def test_linear_grad_fn_names(m):
    w, b = m.ones(2, 3, requires_grad=True), m.ones(2, requires_grad=True)
    assert F_of(m).linear(m.ones(4, 3), w, b).grad_fn.name() == "AddmmBackward0"
    assert F_of(m).linear(m.ones(4, 3), w).grad_fn.name() == "MmBackward0"


def F_of(m):
    return m.nn.functional


@both
def test_integer_linear(m):
    x = m.tensor([[1, 2]])
    w = m.tensor([[1, 1], [2, 0]])
    assert values_of(F_of(m).linear(x, w, m.tensor([1, 1]))).tolist() == [[4, 3]]


@needs_torch
def test_linear_module_matches_torch_forward_and_backward():
    real_torch.manual_seed(3)
    th = real_torch.nn.Linear(6, 5)
    nb = nbtorch.nn.Linear(6, 5)
    nb.load_state_dict({k: nbtorch.tensor(v.detach().numpy()) for k, v in th.state_dict().items()})
    x = arr(7, 6)
    out_nb, out_th = nb(nbtorch.tensor(x)), th(real_torch.tensor(x))
    np.testing.assert_allclose(values_of(out_nb), values_of(out_th), rtol=1e-5, atol=1e-6)
    (out_nb ** 2).sum().backward()
    (out_th ** 2).sum().backward()
    for name in ("weight", "bias"):
        np.testing.assert_allclose(values_of(getattr(nb, name).grad),
                                   values_of(getattr(th, name).grad), rtol=1e-5, atol=1e-5)


def test_linear_saved_input_modified_in_place_is_caught():
    x = nbtorch.ones(2, 3, requires_grad=True)
    h = x * 1
    out = nbtorch.nn.Linear(3, 2)(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


# --- errors --------------------------------------------------------------------------------------
W = np.ones((5, 2), dtype=np.float32)


@pytest.mark.parametrize("make, error, message", [
    (lambda m: F_of(m).linear(m.ones(4, 3), m.tensor(W), m.ones(5)), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (4x3 and 2x5)"),
    (lambda m: F_of(m).linear(m.ones(4, 3), m.tensor(W)), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (4x3 and 2x5)"),
    (lambda m: F_of(m).linear(m.ones(2, 4, 3), m.tensor(W)), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (8x3 and 2x5)"),
    (lambda m: F_of(m).linear(m.ones(3), m.tensor(W), m.ones(5)), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (1x3 and 2x5)"),
    (lambda m: m.nn.Linear(2, 5)(m.ones(4, 3)), RuntimeError,
     "mat1 and mat2 shapes cannot be multiplied (4x3 and 2x5)"),
    (lambda m: F_of(m).linear(m.ones(4, 2, dtype=m.float64), m.tensor(W), m.ones(5)),
     RuntimeError, "mat1 and mat2 must have the same dtype, but got Double and Float"),
    (lambda m: F_of(m).linear(m.ones(4, 2, dtype=m.float64), m.tensor(W)), RuntimeError,
     "expected m1 and m2 to have the same dtype, but got: double != float"),
    (lambda m: F_of(m).linear(m.ones(4, 2), m.tensor(W), m.ones(5, dtype=m.float64)),
     RuntimeError, "self and mat2 must have the same dtype, but got Double and Float"),
    (lambda m: F_of(m).linear(m.ones(4, 2), m.tensor(W), m.ones(3)), RuntimeError,
     "The expanded size of the tensor (5) must match the existing size (3) at non-singleton "
     "dimension 1.  Target sizes: [4, 5].  Tensor sizes: [3]"),
    (lambda m: F_of(m).linear(m.tensor(1.0), m.tensor(W)), RuntimeError,
     "both arguments to linear need to be at least 1D, but they are 0D and 2D"),
    (lambda m: F_of(m).linear(m.ones(4, 2), m.ones(3, 5, 2)), RuntimeError,
     "t() expects a tensor with <= 2 dimensions, but self is 3D"),
    (lambda m: F_of(m).linear([1.0, 2.0], m.tensor(W)), TypeError,
     "linear(): argument 'input' (position 1) must be Tensor, not list"),
    (lambda m: F_of(m).linear(m.ones(4, 2), m.tensor(W), 3.0), TypeError,
     "linear(): argument 'bias' (position 3) must be Tensor, not float"),
])
def test_linear_errors(make, error, message):
    assert_same_error(make, error, message)


# --- Identity and Bilinear -----------------------------------------------------------------------
@both
def test_identity(m):
    x = m.ones(2, 3)
    assert m.nn.Identity(4, any="thing")(x) is x
    assert list(m.nn.Identity().parameters()) == []


def test_bilinear_values_and_gradients():
    def ref(x1, x2, w, b):
        return np.einsum("ni,kij,nj->nk", x1, w, x2) + b

    check_op(lambda m, x1, x2, w, b: m.nn.functional.bilinear(x1, x2, w, b), ref,
             [arr(4, 2), arr(4, 3), arr(5, 2, 3), arr(5)], rtol=1e-4, atol=1e-5)


@both
def test_bilinear_module(m):
    layer = m.nn.Bilinear(2, 3, 4, bias=False)
    assert layer.bias is None and tuple(layer.weight.shape) == (4, 2, 3)
    assert tuple(layer(m.ones(6, 5, 2), m.ones(6, 5, 3)).shape) == (6, 5, 4)
    with pytest.raises(ValueError, match="in1_features must be > 0, but got \\(in1_features=0\\)"):
        m.nn.Bilinear(0, 3, 4)


@pytest.mark.parametrize("make, message", [
    (lambda m: F_of(m).bilinear(m.ones(4, 2), m.ones(3, 3), m.ones(5, 2, 3)),
     "bilinear(): input batch dimensions do not match at dim 0: got 4 and 3"),
    (lambda m: F_of(m).bilinear(m.ones(4, 2), m.ones(4, 3), m.ones(5, 3, 3)),
     "bilinear(): input1 size does not match weight size: got 2 but expected 3"),
    (lambda m: F_of(m).bilinear(m.ones(4, 2), m.ones(4, 3), m.ones(5, 2, 2)),
     "bilinear(): input2 size does not match weight size: got 3 but expected 2"),
])
def test_bilinear_errors(make, message):
    assert_same_error(make, RuntimeError, message)


# --- printing ------------------------------------------------------------------------------------
@needs_torch
def test_reprs_match_torch():
    for make in (lambda m: m.nn.Linear(2, 1), lambda m: m.nn.Linear(3, 4, bias=False),
                 lambda m: m.nn.Identity(), lambda m: m.nn.Bilinear(2, 3, 4),
                 lambda m: m.nn.Bilinear(2, 3, 4, bias=False)):
        assert repr(make(nbtorch)) == repr(make(real_torch))
    assert repr(nbtorch.nn.Linear(2, 1)) == "Linear(in_features=2, out_features=1, bias=True)"
