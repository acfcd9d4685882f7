"""Tests of nbtorch/nn/functional/_attention.py: scaled_dot_product_attention against a numpy
reference and PyTorch (bool and float masks, causal, scale, grouped-query heads, rows that attend
nowhere), float64 finite differences, dropout, multi_head_attention_forward against PyTorch, and
PyTorch's errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import nbtorch
import nbtorch.nn.functional as F
from tests.helpers import assert_same_error, check_op, needs_torch, real_torch

RNG = np.random.default_rng(0)
Q = RNG.standard_normal((2, 3, 4, 5))
K = RNG.standard_normal((2, 3, 6, 5))
V = RNG.standard_normal((2, 3, 6, 7))
BOOL_MASK = RNG.random((4, 6)) > 0.4
FLOAT_MASK = RNG.standard_normal((2, 1, 4, 6))


def sdpa_reference(q, k, v, mask=None, causal=False, scale=None):
    """The definition, in numpy: softmax(q kᵀ scale + bias) v; rows masked everywhere give 0."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    allowed = np.ones(scores.shape[-2:], bool)
    if causal:
        allowed = np.tril(allowed)
    if mask is not None and mask.dtype == bool:
        allowed = allowed & mask
    elif mask is not None:
        scores = scores + mask
    scores = np.where(allowed, scores, -np.inf)
    top = scores.max(-1, keepdims=True)
    e = np.exp(scores - np.where(np.isfinite(top), top, 0))
    total = e.sum(-1, keepdims=True)
    return (np.where(total > 0, e / np.where(total > 0, total, 1), 0) @ v).astype(q.dtype)


CASES = {
    "plain": ({}, {}),
    "causal": ({"is_causal": True}, {"causal": True}),
    "scale": ({"scale": 0.3}, {"scale": 0.3}),
    "bool_mask": ({"attn_mask": "bool"}, {"mask": BOOL_MASK}),
    "float_mask": ({"attn_mask": "float"}, {"mask": FLOAT_MASK}),
}


@pytest.mark.parametrize("case", CASES)
def test_sdpa_against_reference_and_torch(case, device):
    kwargs, ref_kwargs = CASES[case]

    def fn(m, q, k, v, *mask):
        extra = dict(kwargs)
        if mask:
            extra["attn_mask"] = mask[0]
        return m.nn.functional.scaled_dot_product_attention(q, k, v, **extra)

    masks = []
    if kwargs.get("attn_mask") == "bool":
        masks = [BOOL_MASK]
    elif kwargs.get("attn_mask") == "float":
        masks = [FLOAT_MASK]

    def ref(q, k, v, *mask):
        return sdpa_reference(q, k, v, **ref_kwargs if not mask else
                              {**ref_kwargs, "mask": mask[0].astype(q.dtype)
                               if mask[0].dtype != bool else mask[0]})

    check_op(fn, ref, [Q[:1, :2], K[:1, :2], V[:1, :2]] + [
        m if m.dtype == bool else m[:1] for m in masks], device=device, rtol=1e-5, atol=1e-5)


def test_rows_that_attend_nowhere_give_zero_and_finite_gradients():
    mask = BOOL_MASK.copy()
    mask[2] = False
    float_mask = np.where(mask, 0.0, -np.inf).astype(np.float32)
    for m_arr in (mask, float_mask):
        q, k, v = (nbtorch.tensor(a.astype(np.float32), requires_grad=True) for a in (Q, K, V))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=nbtorch.tensor(m_arr))
        np.testing.assert_array_equal(out[:, :, 2].detach().numpy(), 0.0)
        np.testing.assert_allclose(out.detach().numpy(),
                                   sdpa_reference(Q, K, V, mask=mask), rtol=1e-5, atol=1e-5)
        (out * out).sum().backward()
        for t in (q, k, v):
            assert np.isfinite(t.grad.numpy()).all()
        np.testing.assert_array_equal(q.grad[:, :, 2].numpy(), 0.0)


@needs_torch
@pytest.mark.parametrize("mask", ["bool", "float", "none_causal"])
def test_sdpa_gradients_match_torch_with_dead_rows(mask):
    allowed = BOOL_MASK.copy()
    allowed[1] = False
    arrays = {"bool": allowed, "float": np.where(allowed, 0.0, -np.inf).astype(np.float32)}
    results = []
    for m in (nbtorch, real_torch):
        q, k, v = (m.tensor(a.astype(np.float32), requires_grad=True) for a in (Q, K, V))
        if mask == "none_causal":
            out = m.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            out = m.nn.functional.scaled_dot_product_attention(
                q, k, v, attn_mask=m.tensor(arrays[mask]))
        (out * out).sum().backward()
        results.append([t.detach().numpy() for t in (out, q.grad, k.grad, v.grad)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@needs_torch
def test_grouped_query_attention_and_unbatched_match_torch():
    q8 = RNG.standard_normal((2, 4, 3, 5)).astype(np.float32)
    k2 = RNG.standard_normal((2, 2, 6, 5)).astype(np.float32)
    v2 = RNG.standard_normal((2, 2, 6, 5)).astype(np.float32)
    ours = F.scaled_dot_product_attention(*map(nbtorch.tensor, (q8, k2, v2)), enable_gqa=True)
    theirs = real_torch.nn.functional.scaled_dot_product_attention(
        *map(real_torch.tensor, (q8, k2, v2)), enable_gqa=True)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
    ours = F.scaled_dot_product_attention(*(nbtorch.tensor(a[0, 0]) for a in (q8, k2, v2)))
    theirs = real_torch.nn.functional.scaled_dot_product_attention(
        *(real_torch.tensor(a[0, 0]) for a in (q8, k2, v2)))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def test_sdpa_gradcheck_float64():
    q, k, v = (nbtorch.tensor(a[:1, :1, :3], requires_grad=True) for a in (Q, K, V))
    mask = nbtorch.tensor(FLOAT_MASK[:1, :1, :3, :3])
    assert nbtorch.autograd.gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=mask), (q, k, v))
    assert nbtorch.autograd.gradcheck(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), (q, k, v))


def test_sdpa_dropout():
    q, k, v = (nbtorch.tensor(a.astype(np.float32)) for a in (Q, K, V))
    plain = F.scaled_dot_product_attention(q, k, v)
    nbtorch.manual_seed(0)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert not np.allclose(plain.numpy(), dropped.numpy())
    zeros = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0)
    np.testing.assert_array_equal(zeros.numpy(), 0.0)


SDPA_ERRORS = [
    (lambda m: m.nn.functional.scaled_dot_product_attention(
        m.ones(2, 3), m.ones(2, 3), m.ones(2, 3, dtype=m.float64)), RuntimeError,
     "Expected query, key, and value to have the same dtype, but got query.dtype: float "
     "key.dtype: float and value.dtype: double instead."),
    (lambda m: m.nn.functional.scaled_dot_product_attention(m.ones(3), m.ones(3), m.ones(3)),
     RuntimeError, "Expected query, key, and value to all be  at least 2 dimensional, but got "
     "query.dim: 1 key.dim: 1 and value.dim: 1 instead."),
    (lambda m: m.nn.functional.scaled_dot_product_attention(
        m.ones(2, 3), m.ones(2, 3), m.ones(2, 3), attn_mask=m.ones(2, 2, dtype=m.int64)),
     RuntimeError, "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
     "attn_mask.dtype: long int and  query.dtype: float instead."),
    (lambda m: m.nn.functional.scaled_dot_product_attention(
        m.ones(2, 3, requires_grad=True), m.ones(2, 3), m.ones(2, 3),
        attn_mask=m.ones(2, 2, dtype=m.bool), is_causal=True),
     RuntimeError, "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
     "is_causal=True"),
]


@pytest.mark.parametrize("make, error, message", SDPA_ERRORS, ids=[e[2][:30] for e in SDPA_ERRORS])
def test_sdpa_errors(make, error, message):
    assert_same_error(make, error, message)


# --- multi_head_attention_forward ----------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("options", [
    {}, {"need_weights": False}, {"average_attn_weights": False},
    {"key_padding_mask": True}, {"attn_mask": True, "need_weights": False},
    {"training": True, "dropout_p": 0.0}, {"bias_kv": True, "add_zero_attn": True},
], ids=str)
def test_multi_head_attention_forward_matches_torch(options):
    length, source, batch, embed, heads = 4, 5, 2, 6, 3
    rng = np.random.default_rng(3)
    arrays = {
        "query": rng.standard_normal((length, batch, embed)),
        "key": rng.standard_normal((source, batch, embed)),
        "value": rng.standard_normal((source, batch, embed)),
        "in_proj_weight": rng.standard_normal((3 * embed, embed)) * 0.3,
        "in_proj_bias": rng.standard_normal(3 * embed),
        "out_proj_weight": rng.standard_normal((embed, embed)) * 0.3,
        "out_proj_bias": rng.standard_normal(embed),
        "bias_k": rng.standard_normal((1, 1, embed)),
        "bias_v": rng.standard_normal((1, 1, embed)),
    }
    padding = np.zeros((batch, source), bool)
    padding[1, -2:] = True
    mask = rng.standard_normal((length, source))
    results = []
    for m in (nbtorch, real_torch):
        t = {k: m.tensor(v.astype(np.float32), requires_grad=True) for k, v in arrays.items()}
        with_kv = options.get("bias_kv", False)
        out, weights = m.nn.functional.multi_head_attention_forward(
            t["query"], t["key"], t["value"], embed, heads, t["in_proj_weight"],
            t["in_proj_bias"], t["bias_k"] if with_kv else None,
            t["bias_v"] if with_kv else None, options.get("add_zero_attn", False),
            options.get("dropout_p", 0.0), t["out_proj_weight"], t["out_proj_bias"],
            training=options.get("training", False),
            key_padding_mask=m.tensor(padding) if options.get("key_padding_mask") else None,
            need_weights=options.get("need_weights", True),
            attn_mask=m.tensor(mask.astype(np.float32)) if options.get("attn_mask") else None,
            average_attn_weights=options.get("average_attn_weights", True))
        loss = (out * out).sum() + ((weights ** 2).sum() if weights is not None else 0)
        loss.backward()
        results.append([out.detach().numpy()]
                       + ([weights.detach().numpy()] if weights is not None else [None])
                       + [t[k].grad.numpy() if t[k].grad is not None else None for k in arrays])
    for a, b in zip(*results):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


MHA_ERRORS = [
    (lambda m: m.nn.functional.multi_head_attention_forward(
        m.ones(3, 2, 4), m.ones(3, 4), m.ones(3, 2, 4), 4, 2, m.ones(12, 4), None, None, None,
        False, 0.0, m.ones(4, 4), None), AssertionError,
     "For batched (3-D) `query`, expected `key` and `value` to be 3-D but found 2-D and 3-D "
     "tensors respectively"),
    (lambda m: m.nn.functional.multi_head_attention_forward(
        m.ones(3, 2, 4), m.ones(3, 2, 4), m.ones(3, 2, 4), 4, 2, m.ones(12, 4), None, None, None,
        False, 0.0, m.ones(4, 4), None, attn_mask=m.ones(2, 2)), RuntimeError,
     "The shape of the 2D attn_mask is torch.Size([2, 2]), but should be (3, 3)."),
    (lambda m: m.nn.functional.multi_head_attention_forward(
        m.ones(3, 2, 4), m.ones(3, 2, 4), m.ones(3, 2, 4), 4, 2, m.ones(12, 4), None, None, None,
        False, 0.0, m.ones(4, 4), None, attn_mask=m.ones(3, 3, dtype=m.int64)), AssertionError,
     "only bool and floating types of attn_mask are supported"),
    (lambda m: m.nn.functional.multi_head_attention_forward(
        m.ones(3, 2, 4), m.ones(3, 2, 4), m.ones(3, 2, 4), 4, 2, m.ones(12, 4), None, None, None,
        False, 0.0, m.ones(4, 4), None, is_causal=True), RuntimeError,
     "Need attn_mask if specifying the is_causal hint. You may use the Transformer module method "
     "`generate_square_subsequent_mask` to create this mask."),
    (lambda m: m.nn.functional.multi_head_attention_forward(
        m.ones(3, 2, 4), m.ones(3, 2, 4), m.ones(3, 2, 4), 6, 2, m.ones(12, 4), None, None, None,
        False, 0.0, m.ones(4, 4), None), AssertionError,
     "was expecting embedding dimension of 6, but got 4"),
]


@pytest.mark.parametrize("make, error, message", MHA_ERRORS, ids=[e[2][:30] for e in MHA_ERRORS])
def test_multi_head_attention_forward_errors(make, error, message):
    assert_same_error(make, error, message)
