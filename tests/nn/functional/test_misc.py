"""Tests of nbtorch/nn/functional/_misc.py: dropout (statistics, seeding, PyTorch's exact masks),
embedding, one_hot, pad and interpolate across modes against PyTorch, normalize,
cosine_similarity, pairwise_distance, and PyTorch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nbtorch
from nbtorch.autograd import gradcheck, gradgradcheck
from tests.helpers import assert_same_error, check_op, check_torch, needs_torch, real_torch

RNG = np.random.default_rng(0)
X3 = RNG.standard_normal((2, 3, 7))
X4 = RNG.standard_normal((2, 3, 5, 6))
X5 = RNG.standard_normal((1, 2, 3, 4, 5))


def F(m):
    return m.nn.functional


# --- dropout -------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_statistics(p, device):
    nbtorch.manual_seed(0)
    y = F(nbtorch).dropout(nbtorch.ones(20000, device=device), p).cpu().numpy()
    kept = y != 0
    assert abs(1 - kept.mean() - p) < 0.02  # the fraction dropped is about p
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)  # survivors are scaled
    assert abs(y.mean() - 1) < 0.05  # so the expectation is unchanged


def test_dropout_is_seeded_by_manual_seed():
    x = nbtorch.ones(100)
    nbtorch.manual_seed(3)
    a = F(nbtorch).dropout(x, 0.5)
    b = F(nbtorch).dropout(x, 0.5)
    nbtorch.manual_seed(3)
    c = F(nbtorch).dropout(x, 0.5)
    assert np.array_equal(a.numpy(), c.numpy()) and not np.array_equal(a.numpy(), b.numpy())


DROPOUTS = [
    ("dropout", lambda m, x: F(m).dropout(x, 0.3)),
    ("dropout-inplace", lambda m, x: F(m).dropout(x, 0.3, inplace=True)),
    ("dropout1d", lambda m, x: F(m).dropout1d(x[0], 0.4)),
    ("dropout1d-batched", lambda m, x: F(m).dropout1d(x[:, :, 0], 0.4)),
    ("dropout2d", lambda m, x: F(m).dropout2d(x, 0.4)),
    ("dropout2d-inplace", lambda m, x: F(m).dropout2d(x, 0.4, inplace=True)),
    ("dropout3d", lambda m, x: F(m).dropout3d(x, 0.4)),
    ("alpha_dropout", lambda m, x: F(m).alpha_dropout(x, 0.2, training=True)),
    ("feature_alpha_dropout", lambda m, x: F(m).feature_alpha_dropout(x, 0.2, training=True)),
    ("p=1", lambda m, x: F(m).dropout(x, 1.0)),
]


@needs_torch
@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("fn", [d[1] for d in DROPOUTS], ids=[d[0] for d in DROPOUTS])
def test_dropout_masks_equal_torch(fn, seed):
    """The same seed gives PyTorch's CPU mask: the draws are PyTorch's, in PyTorch's order."""
    x = RNG.standard_normal((4, 3, 5, 6)).astype(np.float32)
    real_torch.manual_seed(seed)
    nbtorch.manual_seed(seed)
    xt, xn = real_torch.tensor(x), nbtorch.tensor(x)
    np.testing.assert_array_equal(fn(nbtorch, xn).numpy(), fn(real_torch, xt).numpy())
    np.testing.assert_array_equal(xn.numpy(), xt.numpy())  # in-place variants alike
    assert float(nbtorch.rand(())) == float(real_torch.rand(()))  # the stream moved alike


def test_dropout_channels_are_dropped_whole():
    nbtorch.manual_seed(1)
    y = F(nbtorch).dropout2d(nbtorch.ones(8, 16, 3, 3), 0.5).numpy()
    per_channel = y.reshape(8, 16, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    assert 0 < (per_channel == 0).all(-1).mean() < 1


@pytest.mark.parametrize("fn", [F(nbtorch).dropout, F(nbtorch).dropout2d,
                                F(nbtorch).alpha_dropout, F(nbtorch).feature_alpha_dropout])
def test_not_training_is_identity(fn):
    x = nbtorch.randn(2, 3, 4, 4)
    assert fn(x, 0.5, training=False) is x
    assert F(nbtorch).dropout(x, 0.0) is x


def test_dropout_gradient_is_the_scaled_mask():
    x = nbtorch.randn(50, requires_grad=True)
    nbtorch.manual_seed(0)
    y = F(nbtorch).dropout(x, 0.25)
    y.sum().backward()
    mask = (y.detach().numpy() != 0) / 0.75
    np.testing.assert_allclose(x.grad.numpy(), mask, rtol=1e-6)
    assert y.grad_fn.name() == "MulBackward0"


def test_dropout_inplace_modifies_input():
    x = nbtorch.ones(10)
    version = x._version
    nbtorch.manual_seed(0)
    y = F(nbtorch).dropout(x, 0.5, inplace=True)
    assert y is x and x._version > version and (x.numpy() != 1).all()


def test_dropout2d_warns_on_3d_input():
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d"):
        F(nbtorch).dropout2d(nbtorch.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        F(nbtorch).dropout2d(nbtorch.ones(2, 3))


# --- embedding and one_hot -----------------------------------------------------------------------

W = RNG.standard_normal((10, 4))
IDX = np.array([[1, 2, 2, 9], [0, 2, 5, 1]])


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2}, {"padding_idx": -1},
                                    {"scale_grad_by_freq": True},
                                    {"padding_idx": 1, "scale_grad_by_freq": True}])
def test_embedding_values_and_gradients(kwargs, device):
    check_op(lambda m, w, i: F(m).embedding(i, w, **kwargs), lambda w, i: w[i], [W, IDX],
             device=device, grad=not kwargs)
    check_torch(lambda m, w, i: F(m).embedding(i, w, **kwargs), [W.astype(np.float32), IDX],
                device=device)


def test_embedding_padding_row_gets_no_gradient():
    w = nbtorch.tensor(W, requires_grad=True)
    y = F(nbtorch).embedding(nbtorch.tensor(IDX), w, padding_idx=2)
    np.testing.assert_array_equal(y.detach().numpy()[0, 1], W[2])  # forward still reads the row
    y.sum().backward()
    assert (w.grad.numpy()[2] == 0).all()
    np.testing.assert_array_equal(w.grad.numpy()[1], [2.0] * 4)  # repeated indices add up
    assert y.grad_fn.name() == "EmbeddingBackward0"


def test_embedding_double_backward():
    w = nbtorch.tensor(W, requires_grad=True)
    i = nbtorch.tensor(IDX)
    assert gradcheck(lambda w: F(nbtorch).embedding(i, w), (w,))
    assert gradgradcheck(lambda w: F(nbtorch).embedding(i, w) ** 2, (w,))


@needs_torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_renormalizes_like_torch(norm_type):
    w_nb = nbtorch.tensor(W.astype(np.float32))
    w_th = real_torch.tensor(W.astype(np.float32))
    version = w_nb._version
    y_nb = F(nbtorch).embedding(nbtorch.tensor(IDX), w_nb, max_norm=1.5, norm_type=norm_type)
    y_th = F(real_torch).embedding(real_torch.tensor(IDX), w_th, max_norm=1.5,
                                   norm_type=norm_type)
    np.testing.assert_allclose(y_nb.numpy(), y_th.numpy(), rtol=1e-6)
    np.testing.assert_allclose(w_nb.numpy(), w_th.numpy(), rtol=1e-6)  # renormed in place
    assert w_nb._version == version + 1


def test_one_hot():
    got = F(nbtorch).one_hot(nbtorch.tensor([[0, 2], [1, 0]]))
    assert got.dtype == nbtorch.int64 and got.shape == (2, 2, 3)
    np.testing.assert_array_equal(got.numpy(), np.eye(3, dtype=np.int64)[[[0, 2], [1, 0]]])
    assert F(nbtorch).one_hot(nbtorch.tensor([1]), 5).tolist() == [[0, 1, 0, 0, 0]]
    assert F(nbtorch).one_hot(nbtorch.tensor([], dtype=nbtorch.int64), 4).shape == (0, 4)
    assert F(nbtorch).one_hot(nbtorch.tensor(2), 3).tolist() == [0, 0, 1]


# --- pad -----------------------------------------------------------------------------------------

PADS = [
    (X3, (2, 1)), (X3, (-1, 2)), (X3, (3, -2)), (X4, (1, 2, 2, 1)), (X4, (-1, 2, 0, -2)),
    (X5, (1, 1, 2, 0, 1, 2)), (X3[0], (2, 3)), (X4[0], (1, 2, 3, 1)), (X5[0], (1, 0, 0, 1, 2, 1)),
]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("x, pads", PADS, ids=[f"{x.ndim}d-{p}" for x, p in PADS])
def test_pad_matches_torch(mode, x, pads, device):
    check_torch(lambda m, a: F(m).pad(a, pads, mode=mode), [x.astype(np.float32)], device=device)
    xt = nbtorch.tensor(x[..., :4], requires_grad=True)  # small: gradcheck is O(numel^2)
    assert gradcheck(lambda a: F(nbtorch).pad(a, pads, mode=mode), (xt,))


def test_pad_constant_reference():
    def ref(a):
        return np.pad(a, ((0, 0), (1, 1), (2, 0), (1, 2)), constant_values=2.5)
    check_op(lambda m, a: F(m).pad(a, (1, 2, 2, 0, 1, 1), value=2.5), ref, [X4])
    check_op(lambda m, a: F(m).pad(a, (1, 2)), lambda a: np.pad(a, ((0, 0), (1, 2))), [X3[0]])


def test_pad_modes_reference():
    a = np.arange(5.0)[None]
    for mode, numpy_mode in (("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")):
        check_op(lambda m, x, mode=mode: F(m).pad(x, (3, 2), mode=mode),
                 lambda x, mode=numpy_mode: np.pad(x, ((0, 0), (3, 2)), mode=mode), [a])


def test_pad_integers_and_bools():
    assert F(nbtorch).pad(nbtorch.tensor([1, 2]), (1, 1), value=1.5).tolist() == [1, 1, 2, 1]
    assert F(nbtorch).pad(nbtorch.tensor([True]), (1, 0)).tolist() == [False, True]


@pytest.mark.parametrize("mode", ["constant", "reflect", "circular"])
def test_pad_double_backward(mode):
    x = nbtorch.tensor(RNG.standard_normal((1, 2, 3, 3)), requires_grad=True)
    assert gradgradcheck(lambda a: F(nbtorch).pad(a, (2, -1, 1, 2), mode=mode) ** 2, (x,))


def test_pad_grad_fn_names():
    x = nbtorch.randn(1, 2, 3, requires_grad=True)
    assert F(nbtorch).pad(x, (1, 1)).grad_fn.name() == "ConstantPadNdBackward0"
    assert F(nbtorch).pad(x, (1, 1), mode="reflect").grad_fn.name() == "ReflectionPad1DBackward0"
    assert F(nbtorch).pad(x, (1, 1, 1, 1), mode="replicate").grad_fn.name() == \
        "ReplicationPad2DBackward0"


# --- interpolate ---------------------------------------------------------------------------------

SIZES = [
    {"scale_factor": 2}, {"scale_factor": 0.5}, {"scale_factor": 1.7},
    {"scale_factor": 2.3, "recompute_scale_factor": True}, {"size": "up"}, {"size": "down"},
    {"size": "one"}, {"size": "same"},
]
MODES = [("nearest", X3, None), ("nearest", X4, None), ("nearest", X5, None),
         ("nearest-exact", X4, None), ("linear", X3, False), ("linear", X3, True),
         ("bilinear", X4, False), ("bilinear", X4, True), ("trilinear", X5, False),
         ("bicubic", X4, False), ("bicubic", X4, True)]


def _size_kwargs(kwargs, spatial):
    kind = kwargs.get("size")
    if kind is None:
        return kwargs
    sizes = {"up": [s * 3 + 1 for s in spatial], "down": [max(1, s - 2) for s in spatial],
             "one": [1] * len(spatial), "same": list(spatial)}[kind]
    return {"size": tuple(sizes)}


@needs_torch
@pytest.mark.parametrize("kwargs", SIZES, ids=lambda k: "-".join(f"{a}={b}" for a, b in k.items()))
@pytest.mark.parametrize("mode, x, align", MODES, ids=[f"{m}-{x.ndim}d-{a}" for m, x, a in MODES])
def test_interpolate_matches_torch(mode, x, align, kwargs, device):
    kw = _size_kwargs(kwargs, x.shape[2:])

    def fn(m, a):
        return F(m).interpolate(a, mode=mode, align_corners=align, **kw)
    check_torch(fn, [x.astype(np.float32)], device=device, atol=2e-6)
    # float64: PyTorch's index and weight formulas to the last bit
    got = fn(nbtorch, nbtorch.tensor(x, device=device)).cpu().numpy()
    np.testing.assert_allclose(got, fn(real_torch, real_torch.tensor(x)).numpy(), rtol=1e-12,
                               atol=1e-12)


def test_interpolate_reference_values():
    x = np.array([[[0.0, 1.0, 4.0]]])
    check_op(lambda m, a: F(m).interpolate(a, scale_factor=2), lambda a: a.repeat(2, -1), [x])
    check_op(lambda m, a: F(m).interpolate(a, size=5, mode="linear", align_corners=True),
             lambda a: np.interp(np.linspace(0, 2, 5), [0, 1, 2], a[0, 0])[None, None], [x])
    check_op(lambda m, a: F(m).interpolate(a, size=(2, 2), mode="bilinear", align_corners=True),
             lambda a: a[:, :, ::2, ::2], [RNG.standard_normal((1, 1, 3, 3))])


@pytest.mark.parametrize("mode, align", [("nearest", None), ("bilinear", False),
                                         ("bilinear", True), ("bicubic", False)])
def test_interpolate_gradients(mode, align):
    x = nbtorch.tensor(RNG.standard_normal((1, 2, 3, 3)), requires_grad=True)

    def fn(a):
        return F(nbtorch).interpolate(a, size=(5, 4), mode=mode, align_corners=align)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@pytest.mark.parametrize("x, kwargs", [(X3, {"size": 3}), (X4, {"size": (3, 2)}),
                                       (X4, {"scale_factor": 0.5})])
def test_interpolate_area(x, kwargs):
    if not hasattr(F(nbtorch), f"adaptive_avg_pool{x.ndim - 2}d"):
        pytest.skip("mode='area' needs nn.functional's adaptive_avg_pool (not written yet)")
    check_torch(lambda m, a: F(m).interpolate(a, mode="area", **kwargs), [x.astype(np.float32)])


def test_interpolate_same_size_is_a_copy():
    x = nbtorch.randn(1, 1, 3)
    y = F(nbtorch).interpolate(x, size=3)
    assert y is not x and np.array_equal(y.numpy(), x.numpy())


# --- distances -----------------------------------------------------------------------------------

A = RNG.standard_normal((4, 5))
B = RNG.standard_normal((4, 5))


def _norm(a, p, axis, keepdims=False):
    return (np.abs(a) ** p).sum(axis, keepdims=keepdims) ** (1 / p)


def test_normalize(device):
    check_op(lambda m, a: F(m).normalize(a), lambda a: a / _norm(a, 2, 1, True), [A],
             device=device)
    check_op(lambda m, a: F(m).normalize(a, p=1, dim=0), lambda a: a / _norm(a, 1, 0, True), [A],
             device=device)
    assert (F(nbtorch).normalize(nbtorch.zeros(2, 3)).numpy() == 0).all()


def test_cosine_similarity(device):
    def ref(a, b):
        return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    check_op(lambda m, a, b: F(m).cosine_similarity(a, b), ref, [A, B], device=device)
    check_torch(lambda m, a, b: F(m).cosine_similarity(a, b, dim=-1),
                [X4.astype(np.float32), RNG.standard_normal((5, 6)).astype(np.float32)])


@needs_torch
def test_cosine_similarity_clamps_each_norm_like_torch():
    """PyTorch divides each input by max(‖x‖, eps) before the dot product."""
    tiny = np.array([[1e-10, 0.0], [1e-5, 0.0]], dtype=np.float32)
    one = np.array([[1.0, 0.0], [1e-5, 0.0]], dtype=np.float32)
    got = F(nbtorch).cosine_similarity(nbtorch.tensor(tiny), nbtorch.tensor(one)).numpy()
    want = F(real_torch).cosine_similarity(real_torch.tensor(tiny), real_torch.tensor(one))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5)
    np.testing.assert_allclose(got, [0.01, 1.0], rtol=1e-5)


def test_pairwise_distance(device):
    check_op(lambda m, a, b: F(m).pairwise_distance(a, b), lambda a, b: _norm(a - b + 1e-6, 2, -1),
             [A, B], device=device)
    check_op(lambda m, a, b: F(m).pairwise_distance(a, b, p=1, keepdim=True),
             lambda a, b: _norm(a - b + 1e-6, 1, -1, True), [A, B[0]], device=device)
    assert F(nbtorch).pairwise_distance(nbtorch.ones(3), nbtorch.zeros(3)).shape == ()


# --- errors --------------------------------------------------------------------------------------

PAD_HELP = ("\nSupported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")

ERRORS = [
    (lambda m: F(m).dropout(m.ones(3), 1.5), ValueError,
     "dropout probability has to be between 0 and 1, but got 1.5"),
    (lambda m: F(m).dropout1d(m.ones(3), 0.5), RuntimeError,
     "dropout1d: Expected 2D or 3D input, but received a 1D input. Note that dropout1d exists to "
     "provide channel-wise dropout on inputs with 1 spatial dimension, a channel dimension, and "
     "an optional batch dimension (i.e. 2D or 3D inputs)."),
    (lambda m: F(m).embedding(m.tensor([1.0]), m.randn(3, 2)), RuntimeError,
     "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, "
     "Int; but got torch.FloatTensor instead (while checking arguments for embedding)"),
    (lambda m: F(m).embedding(m.tensor([3]), m.randn(3, 2)), IndexError,
     "index out of range in self"),
    (lambda m: F(m).embedding(m.tensor([-1]), m.randn(3, 2)), IndexError,
     "index out of range in self"),
    (lambda m: F(m).embedding(m.tensor([1]), m.randn(3)), RuntimeError, "'weight' must be 2-D"),
    (lambda m: F(m).embedding(m.tensor([1]), m.randn(3, 2), padding_idx=3), AssertionError,
     "Padding_idx must be within num_embeddings"),
    (lambda m: F(m).one_hot(m.tensor([1.0])), RuntimeError,
     "one_hot is only applicable to index tensor of type LongTensor."),
    (lambda m: F(m).one_hot(m.tensor([-1])), RuntimeError, "Class values must be non-negative."),
    (lambda m: F(m).one_hot(m.tensor([3]), 3), RuntimeError,
     "Class values must be smaller than num_classes."),
    (lambda m: F(m).one_hot(m.tensor([], dtype=m.int64)), RuntimeError,
     "Can not infer total number of classes from empty tensor."),
    (lambda m: F(m).pad(m.ones(2, 3), (1,)), RuntimeError,
     "Padding length must be divisible by 2"),
    (lambda m: F(m).pad(m.ones(2, 3), (1, 1) * 3), RuntimeError,
     "Padding length should be less than or equal to two times the input dimension but got "
     "padding length 6 and input of dimension 2"),
    (lambda m: F(m).pad(m.ones(2, 3), (1, 1), mode="foo"), NotImplementedError,
     "Unrecognised padding mode foo"),
    (lambda m: F(m).pad(m.ones(3), (1, 1), mode="reflect"), NotImplementedError,
     "Padding size 2 is not supported for 1D input tensor." + PAD_HELP),
    (lambda m: F(m).pad(m.ones(2, 3), (3, 3), mode="reflect"), RuntimeError,
     "Argument #4: Padding size should be less than the corresponding input dimension, but got: "
     "padding (3, 3) at dimension 1 of input [2, 3]"),
    (lambda m: F(m).pad(m.ones(1, 3, 3), (1, 1, 3, 3), mode="reflect"), RuntimeError,
     "Argument #6: Padding size should be less than the corresponding input dimension, but got: "
     "padding (3, 3) at dimension 1 of input [1, 3, 3]"),
    (lambda m: F(m).pad(m.ones(2, 3), (4, 1), mode="circular"), RuntimeError,
     "Padding value causes wrapping around more than once."),
    (lambda m: F(m).pad(m.ones(1, 3, 3), (-4, 1), mode="replicate"), RuntimeError,
     "input (W: 3) is too small. Calculated output W: 0"),
    (lambda m: F(m).pad(m.ones(3, 4), (1, 1), mode="reflect", value=2), RuntimeError,
     'Padding mode "reflect" doesn\'t take in value argument'),
    (lambda m: F(m).pad(m.ones(3, 4), (-5, 1)), RuntimeError,
     "narrow(): length must be non-negative."),
    (lambda m: F(m).pad(m.ones(3, 4), (1.0, 1)), TypeError,
     "pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type float "
     "at pos 0"),
    (lambda m: F(m).interpolate(m.ones(1, 1, 4), scale_factor=2, mode="bilinear"),
     NotImplementedError, "Got 3D input, but bilinear mode needs 4D input"),
    (lambda m: F(m).interpolate(m.ones(1, 4), scale_factor=2), NotImplementedError,
     "Input Error: Only 3D, 4D and 5D input Tensors supported (got 2D) for the modes: nearest | "
     "linear | bilinear | bicubic | trilinear | lanczos | area | nearest-exact (got nearest)"),
    (lambda m: F(m).interpolate(m.ones(1, 1, 4, 4), scale_factor=2, align_corners=True),
     ValueError, "align_corners option can only be set with the interpolating modes: linear | "
                 "bilinear | bicubic | trilinear"),
    (lambda m: F(m).interpolate(m.ones(1, 1, 4, 4), size=2, scale_factor=2), ValueError,
     "only one of size or scale_factor should be defined"),
    (lambda m: F(m).interpolate(m.ones(1, 1, 4, 4)), ValueError,
     "either size or scale_factor should be defined"),
    (lambda m: F(m).interpolate(m.ones(1, 1, 4, 4), size=(0, 3)), RuntimeError,
     "Input and output sizes should be greater than 0, but got input (H: 4, W: 4) output (H: 0, "
     "W: 3)"),
    (lambda m: F(m).interpolate(m.ones(1, 1, 4, 4), size=(2, 2), recompute_scale_factor=True),
     ValueError, "recompute_scale_factor is not meaningful with an explicit size."),
    (lambda m: F(m).cosine_similarity(m.ones(3, 4), m.ones(3, 5)), RuntimeError,
     "The size of tensor a (4) must match the size of tensor b (5) at non-singleton dimension 1"),
    (lambda m: F(m).cosine_similarity(m.tensor([1, 2]), m.tensor([1, 2]), dim=0), RuntimeError,
     "expected common dtype to be floating point, yet common dtype is Long"),
]


@pytest.mark.parametrize("make, error, message", ERRORS)
def test_errors_match_torch(make, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_same_error(make, error, message)

