"""Tests of nbtorch/nn/modules/transformer.py: MultiheadAttention, the transformer encoder and
decoder layers and stacks against PyTorch with the same weights (outputs, attention weights and
every gradient), PyTorch's initial weights from the same seed, reprs, masks, float64 finite
differences and PyTorch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, needs_torch, real_torch

L, S, N, E, HEADS = 4, 6, 3, 8, 2


def _to_nbtorch(state: dict, device="cpu") -> dict:
    return {k: nbtorch.tensor(v.detach().numpy(), device=device) for k, v in state.items()}


def _pair(name, *args, device="cpu", **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TransformerEncoder's nested-tensor notice
        theirs = getattr(real_torch.nn, name)(*args, **kwargs)
        ours = getattr(nbtorch.nn, name)(*args, **kwargs).to(device)
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in theirs.named_parameters()]
    ours.load_state_dict(_to_nbtorch(theirs.state_dict(), device))
    return theirs, ours


def _compare(theirs, ours, arrays, call, device="cpu", self_attention=False, atol=2e-5):
    """``call(m, layer, *tensors)`` on both; compare outputs and all gradients."""
    results = []
    for m, layer in ((real_torch, theirs), (nbtorch, ours)):
        kw = {"device": device} if m is nbtorch else {}
        tensors = [m.tensor(a, requires_grad=True, **kw) for a in arrays]
        if self_attention:
            tensors = tensors[:1] * len(arrays)
        out = call(m, layer, *tensors)
        outs = [o for o in (out if isinstance(out, tuple) else (out,))]
        rng = np.random.default_rng(3)
        loss = 0
        for o in outs:
            if o is not None:
                w = rng.standard_normal(tuple(o.shape)).astype(np.float32)
                loss = loss + (o * m.tensor(w, **kw)).sum()
        loss.backward()
        unique = tensors[:1] if self_attention else tensors
        results.append(([None if o is None else o.detach().cpu().numpy() for o in outs],
                        [t.grad.cpu().numpy() for t in unique]
                        + [p.grad.cpu().numpy() for p in layer.parameters()]))
    (outs_t, grads_t), (outs_n, grads_n) = results
    for a, b in zip(outs_n, outs_t):
        if b is None:
            assert a is None
            continue
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=atol)
    assert len(grads_n) == len(grads_t)
    for i, (a, b) in enumerate(zip(grads_n, grads_t)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=atol * 5, err_msg=f"gradient {i}")


RNG = np.random.default_rng(0)
PADDING = np.zeros((N, S), bool)
PADDING[0, -2:] = True
BOOL_ATTN = RNG.random((L, S)) > 0.7
FLOAT_ATTN = RNG.standard_normal((L, S)).astype(np.float32)
CAUSAL = np.triu(np.full((L, L), -np.inf, np.float32), 1)

MHA_CASES = {
    "plain": ({}, {}, {}),
    "batch_first": ({"batch_first": True}, {}, {}),
    "no_weights": ({}, {"need_weights": False}, {}),
    "per_head_weights": ({}, {"average_attn_weights": False}, {}),
    "key_padding": ({}, {"key_padding_mask": PADDING}, {}),
    "bool_attn_mask": ({}, {"attn_mask": BOOL_ATTN}, {}),
    "float_attn_mask": ({}, {"attn_mask": FLOAT_ATTN}, {}),
    "masks_fused_path": ({}, {"attn_mask": BOOL_ATTN, "key_padding_mask": PADDING,
                              "need_weights": False}, {}),
    "mask_3d": ({}, {"attn_mask": RNG.standard_normal((N * HEADS, L, S)).astype(np.float32)}, {}),
    "self_causal": ({"batch_first": True}, {"attn_mask": CAUSAL, "is_causal": True,
                                            "need_weights": False}, {"self": True}),
    "self_causal_weights": ({}, {"attn_mask": CAUSAL, "is_causal": True}, {"self": True}),
    "kdim_vdim": ({"kdim": 5, "vdim": 7}, {}, {}),
    "no_bias": ({"bias": False}, {}, {}),
    "bias_kv_zero_attn": ({"add_bias_kv": True, "add_zero_attn": True},
                          {"key_padding_mask": PADDING}, {}),
    "unbatched": ({}, {}, {"unbatched": True}),
}


@needs_torch
@pytest.mark.parametrize("case", MHA_CASES)
def test_multihead_attention_matches_torch(case, device):
    kwargs, forward, extra = MHA_CASES[case]
    theirs, ours = _pair("MultiheadAttention", E, HEADS, device=device, **kwargs)
    batch_first = kwargs.get("batch_first", False)
    rng = np.random.default_rng(1)

    def shape(length, dim):
        if extra.get("unbatched"):
            return (length, dim)
        return (N, length, dim) if batch_first else (length, N, dim)

    source = L if extra.get("self") else S
    arrays = [rng.standard_normal(shape(L, E)),
              rng.standard_normal(shape(source, kwargs.get("kdim", E))),
              rng.standard_normal(shape(source, kwargs.get("vdim", E)))]
    arrays = [a.astype(np.float32) for a in arrays]

    def call(m, layer, q, k, v):
        kw = {"device": device} if m is nbtorch else {}
        options = {key: m.tensor(value, **kw) if isinstance(value, np.ndarray) else value
                   for key, value in forward.items()}
        return layer(q, k, v, **options)

    _compare(theirs, ours, arrays, call, device, self_attention=extra.get("self", False))


@needs_torch
def test_multihead_attention_same_seed_same_weights_as_torch():
    for kwargs in ({}, {"kdim": 5, "vdim": 3, "add_bias_kv": True}):
        real_torch.manual_seed(4)
        theirs = real_torch.nn.MultiheadAttention(E, HEADS, **kwargs)
        nbtorch.manual_seed(4)
        ours = nbtorch.nn.MultiheadAttention(E, HEADS, **kwargs)
        state = theirs.state_dict()
        assert list(ours.state_dict()) == list(state)
        for key, value in ours.state_dict().items():
            np.testing.assert_allclose(value.numpy(), state[key].numpy(), rtol=1e-6,
                                       atol=1e-7, err_msg=key)


def test_multihead_attention_parameters_and_repr():
    mha = nbtorch.nn.MultiheadAttention(E, HEADS)
    assert [k for k, _ in mha.named_parameters()] == [
        "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert tuple(mha.in_proj_weight.shape) == (3 * E, E)
    np.testing.assert_array_equal(mha.in_proj_bias.detach().numpy(), 0.0)
    np.testing.assert_array_equal(mha.out_proj.bias.detach().numpy(), 0.0)
    assert mha.head_dim == E // HEADS and mha.q_proj_weight is None
    assert type(mha.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    assert isinstance(mha.out_proj, nbtorch.nn.Linear)
    text = ("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear("
            "in_features=8, out_features=8, bias=True)\n)")
    assert repr(mha) == text
    if real_torch is not None:
        assert repr(real_torch.nn.MultiheadAttention(E, HEADS)) == text
    separate = nbtorch.nn.MultiheadAttention(E, HEADS, kdim=5, vdim=3)
    assert [k for k, _ in separate.named_parameters()][:3] == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight"]


def test_multihead_attention_weights_are_a_distribution():
    mha = nbtorch.nn.MultiheadAttention(E, HEADS, batch_first=True)
    x = nbtorch.randn(N, L, E)
    out, weights = mha(x, x, x)
    assert tuple(out.shape) == (N, L, E) and tuple(weights.shape) == (N, L, L)
    np.testing.assert_allclose(weights.sum(-1).detach().numpy(), 1.0, rtol=1e-5)
    _, per_head = mha(x, x, x, average_attn_weights=False)
    assert tuple(per_head.shape) == (N, HEADS, L, L)
    np.testing.assert_allclose(per_head.mean(1).detach().numpy(), weights.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    masked = nbtorch.tensor(np.triu(np.ones((L, L), bool), 1))
    _, causal = mha(x, x, x, attn_mask=masked)
    np.testing.assert_array_equal(causal.detach().numpy()[:, np.triu(np.ones((L, L)), 1) > 0],
                                  0.0)
    assert mha(x, x, x, need_weights=False)[1] is None


def test_multihead_attention_dropout_only_in_training():
    nbtorch.manual_seed(0)
    mha = nbtorch.nn.MultiheadAttention(E, HEADS, dropout=0.5)
    x = nbtorch.randn(L, N, E)
    a, b = mha(x, x, x)[0], mha(x, x, x)[0]
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    mha.eval()
    np.testing.assert_array_equal(mha(x, x, x)[0].detach().numpy(),
                                  mha(x, x, x)[0].detach().numpy())


def test_multihead_attention_gradcheck_float64():
    mha = nbtorch.nn.MultiheadAttention(4, 2).double()
    q = nbtorch.randn(3, 1, 4, dtype=nbtorch.float64, requires_grad=True)
    kv = nbtorch.randn(2, 1, 4, dtype=nbtorch.float64, requires_grad=True)
    mask = nbtorch.tensor([[False, True], [False, False], [True, False]])
    assert nbtorch.autograd.gradcheck(
        lambda q, kv: mha(q, kv, kv, attn_mask=mask), (q, kv))
    assert nbtorch.autograd.gradcheck(
        lambda q, kv: mha(q, kv, kv, attn_mask=mask, need_weights=False)[0], (q, kv))


# --- encoder, decoder, transformer ---------------------------------------------------------------

LAYER_CASES = {
    "post_norm": {},
    "pre_norm": {"norm_first": True},
    "gelu_batch_first": {"activation": "gelu", "batch_first": True},
    "pre_norm_gelu": {"norm_first": True, "activation": "gelu", "layer_norm_eps": 1e-3},
    "no_bias": {"bias": False},
}


@needs_torch
@pytest.mark.parametrize("masks", ["none", "causal", "padding"])
@pytest.mark.parametrize("case", LAYER_CASES)
def test_encoder_layer_matches_torch(case, masks, device):
    kwargs = LAYER_CASES[case]
    theirs, ours = _pair("TransformerEncoderLayer", E, HEADS, 16, **kwargs, device=device)
    theirs.eval()
    ours.eval()
    batch_first = kwargs.get("batch_first", False)
    x = np.random.default_rng(2).standard_normal(
        (N, L, E) if batch_first else (L, N, E)).astype(np.float32)
    padding = np.zeros((N, L), bool)
    padding[1, -1] = True

    def call(m, layer, src):
        kw = {"device": device} if m is nbtorch else {}
        if masks == "causal":
            return layer(src, src_mask=m.tensor(CAUSAL, **kw), is_causal=True)
        if masks == "padding":
            return layer(src, src_key_padding_mask=m.tensor(padding, **kw))
        return layer(src)

    _compare(theirs, ours, [x], call, device)


@needs_torch
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_stack_matches_torch(norm_first):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer_t = real_torch.nn.TransformerEncoderLayer(E, HEADS, 16, norm_first=norm_first)
        theirs = real_torch.nn.TransformerEncoder(layer_t, 2, norm=real_torch.nn.LayerNorm(E))
        layer_n = nbtorch.nn.TransformerEncoderLayer(E, HEADS, 16, norm_first=norm_first)
        ours = nbtorch.nn.TransformerEncoder(layer_n, 2, norm=nbtorch.nn.LayerNorm(E))
    ours.load_state_dict(_to_nbtorch(theirs.state_dict()))
    theirs.eval()
    ours.eval()
    x = np.random.default_rng(4).standard_normal((L, N, E)).astype(np.float32)
    _compare(theirs, ours, [x], lambda m, enc, src: enc(src, mask=m.tensor(CAUSAL)))
    _compare(theirs, ours, [x], lambda m, enc, src: enc(src))


def test_encoder_deep_copies_its_layer():
    layer = nbtorch.nn.TransformerEncoderLayer(E, HEADS, 16, batch_first=True)
    encoder = nbtorch.nn.TransformerEncoder(layer, 3, enable_nested_tensor=False)
    assert len(encoder.layers) == 3
    weights = [lay.linear1.weight for lay in encoder.layers]
    assert all(w is not layer.linear1.weight for w in weights)
    assert len({id(w) for w in weights}) == 3
    np.testing.assert_array_equal(weights[0].detach().numpy(), weights[2].detach().numpy())
    assert len(list(encoder.parameters())) == 3 * len(list(layer.parameters()))
    with pytest.warns(UserWarning, match="self.use_nested_tensor is False because "
                                         "encoder_layer.norm_first was True"):
        nbtorch.nn.TransformerEncoder(
            nbtorch.nn.TransformerEncoderLayer(E, HEADS, 16, norm_first=True), 1)


@needs_torch
def test_encoder_layer_same_seed_same_weights_and_repr_as_torch():
    real_torch.manual_seed(9)
    theirs = real_torch.nn.TransformerEncoderLayer(E, HEADS, 16)
    nbtorch.manual_seed(9)
    ours = nbtorch.nn.TransformerEncoderLayer(E, HEADS, 16)
    assert repr(ours) == repr(theirs)
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value.numpy(), state[key].numpy(), rtol=1e-6, atol=1e-7,
                                   err_msg=key)


def test_encoder_layer_train_and_eval():
    layer = nbtorch.nn.TransformerEncoderLayer(E, HEADS, 16, dropout=0.5)
    x = nbtorch.randn(L, N, E)
    assert not np.allclose(layer(x).detach().numpy(), layer(x).detach().numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())
    assert layer.activation_relu_or_gelu == 1
    assert nbtorch.nn.TransformerEncoderLayer(E, HEADS, activation="gelu") \
        .activation_relu_or_gelu == 2


@needs_torch
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_and_transformer_match_torch(norm_first):
    theirs, ours = _pair("Transformer", E, HEADS, 1, 2, 16, norm_first=norm_first)
    theirs.eval()
    ours.eval()
    rng = np.random.default_rng(5)
    src = rng.standard_normal((S, N, E)).astype(np.float32)
    tgt = rng.standard_normal((L, N, E)).astype(np.float32)

    def call(m, model, src, tgt):
        mask = m.nn.Transformer.generate_square_subsequent_mask(L)
        return model(src, tgt, tgt_mask=mask, tgt_is_causal=True)

    _compare(theirs, ours, [src, tgt], call)


def test_generate_square_subsequent_mask():
    mask = nbtorch.nn.Transformer.generate_square_subsequent_mask(3)
    expected = np.array([[0, -np.inf, -np.inf], [0, 0, -np.inf], [0, 0, 0]], np.float32)
    np.testing.assert_array_equal(mask.numpy(), expected)
    assert mask.dtype == nbtorch.float32


ERRORS = [
    (lambda m: m.nn.MultiheadAttention(6, 4), AssertionError,
     "embed_dim must be divisible by num_heads"),
    (lambda m: m.nn.MultiheadAttention(0, 2), ValueError,
     "embed_dim and num_heads must be greater than 0, got embed_dim=0 and num_heads=2 instead"),
    (lambda m: m.nn.TransformerEncoderLayer(8, 2, activation="tanh"), RuntimeError,
     "activation should be relu/gelu, not tanh"),
    (lambda m: m.nn.MultiheadAttention(8, 2)(m.ones(3, 2, 8), m.ones(3, 8), m.ones(3, 2, 8)),
     AssertionError, "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found "
     "2-D and 3-D tensors respectively"),
    (lambda m: m.nn.MultiheadAttention(8, 2)(m.ones(3, 2, 8), m.ones(3, 2, 8), m.ones(3, 2, 8),
                                             key_padding_mask=m.ones(2, 3, dtype=m.int64)),
     AssertionError, "only bool and floating types of key_padding_mask are supported"),
]


@pytest.mark.parametrize("make, error, message", ERRORS, ids=[e[2][:30] for e in ERRORS])
def test_errors_in_pytorch_words(make, error, message):
    assert_same_error(make, error, message)


@needs_torch
@pytest.mark.parametrize("padding_rows", ["left_aligned", "not_left_aligned"])
def test_encoder_inference_with_padding_like_torch(padding_rows):
    """In inference with a left-aligned padding mask PyTorch's encoder runs on nested tensors,
    and the padded positions come out as zeros (then through the final norm)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer_t = real_torch.nn.TransformerEncoderLayer(E, HEADS, 16, batch_first=True)
        theirs = real_torch.nn.TransformerEncoder(layer_t, 2, norm=real_torch.nn.LayerNorm(E))
        ours = nbtorch.nn.TransformerEncoder(
            nbtorch.nn.TransformerEncoderLayer(E, HEADS, 16, batch_first=True), 2,
            norm=nbtorch.nn.LayerNorm(E))
    ours.load_state_dict(_to_nbtorch(theirs.state_dict()))
    theirs.eval()
    ours.eval()
    x = np.random.default_rng(6).standard_normal((N, L, E)).astype(np.float32)
    padding = np.zeros((N, L), bool)
    padding[0, -2:] = True
    if padding_rows == "not_left_aligned":
        padding[1, 0] = True
    with real_torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's notice that nested tensors are a prototype
        expected = theirs(real_torch.tensor(x), src_key_padding_mask=real_torch.tensor(padding))
    with nbtorch.no_grad():
        got = ours(nbtorch.tensor(x), src_key_padding_mask=nbtorch.tensor(padding))
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=2e-5)
    # with gradients wanted, PyTorch takes the ordinary path: padded positions are computed
    expected = theirs(real_torch.tensor(x), src_key_padding_mask=real_torch.tensor(padding))
    got = ours(nbtorch.tensor(x), src_key_padding_mask=nbtorch.tensor(padding))
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-4,
                               atol=2e-5)
