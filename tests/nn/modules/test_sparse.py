"""Tests of nbtorch/nn/modules/sparse.py: Embedding's initialization (PyTorch's draws from the
same seed, padding row zeroed), lookups and gradients against PyTorch, from_pretrained, reprs,
state_dict and errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, needs_torch, real_torch

nn = nbtorch.nn


REPRS = [
    (lambda m: m.nn.Embedding(10, 3), "Embedding(10, 3)"),
    (lambda m: m.nn.Embedding(10, 3, padding_idx=0), "Embedding(10, 3, padding_idx=0)"),
    (lambda m: m.nn.Embedding(10, 3, padding_idx=-1), "Embedding(10, 3, padding_idx=9)"),
    (lambda m: m.nn.Embedding(10, 3, max_norm=1, norm_type=1, scale_grad_by_freq=True,
                              sparse=True),
     "Embedding(10, 3, max_norm=1, norm_type=1, scale_grad_by_freq=True, sparse=True)"),
]


@pytest.mark.parametrize("make, text", REPRS)
def test_repr_matches_torch(make, text):
    assert repr(make(nbtorch)) == text
    if real_torch is not None:
        assert repr(make(real_torch)) == text


@needs_torch
@pytest.mark.parametrize("shape", [(5, 3), (50, 8)])
def test_initial_weights_match_torch_from_the_same_seed(shape):
    nbtorch.manual_seed(0)
    real_torch.manual_seed(0)
    ours, theirs = nn.Embedding(*shape, padding_idx=1), real_torch.nn.Embedding(*shape,
                                                                               padding_idx=1)
    # N(0, 1) draws: PyTorch's stream; its vectorized Box-Muller rounds float32 slightly apart
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               atol=2e-6, rtol=0)
    assert (ours.weight.detach().numpy()[1] == 0).all()


def test_initialization_statistics():
    w = nn.Embedding(2000, 10).weight.detach().numpy()
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1) < 0.05
    assert nn.Embedding(4, 2).weight.requires_grad


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 2}, {"scale_grad_by_freq": True},
                                    {"max_norm": 1.0}])
def test_lookup_and_gradient_match_torch(kwargs, device):
    real_torch.manual_seed(0)
    theirs = real_torch.nn.Embedding(6, 4, **kwargs)
    ours = nn.Embedding(6, 4, **kwargs)
    ours.load_state_dict({"weight": nbtorch.tensor(theirs.weight.detach().numpy())})
    ours.to(device)
    idx = np.array([[1, 2, 2, 5], [0, 2, 3, 1]])
    g = np.random.default_rng(1).standard_normal((2, 4, 4)).astype(np.float32)
    yn, yt = ours(nbtorch.tensor(idx, device=device)), theirs(real_torch.tensor(idx))
    np.testing.assert_allclose(yn.detach().cpu().numpy(), yt.detach().numpy(), rtol=1e-6)
    yn.backward(nbtorch.tensor(g, device=device))
    yt.backward(real_torch.tensor(g))
    np.testing.assert_allclose(ours.weight.grad.cpu().numpy(), theirs.weight.grad.numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.weight.detach().cpu().numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-6)  # max_norm renormalizes in place, alike


def test_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(5, 3, padding_idx=4)
    assert (emb.weight.detach().numpy()[4] == 0).all()
    emb(nbtorch.tensor([4, 4, 0])).sum().backward()
    assert (emb.weight.grad.numpy()[4] == 0).all() and (emb.weight.grad.numpy()[0] == 1).all()


def test_from_pretrained_shares_and_freezes():
    table = nbtorch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and emb.num_embeddings == 3 and emb.embedding_dim == 2
    np.testing.assert_array_equal(emb(nbtorch.tensor([2, 0])).numpy(), [[5, 6], [1, 2]])
    table[0, 0] = 9.0  # the weight shares memory with the tensor it came from, as in PyTorch
    assert emb.weight[0, 0].item() == 9.0
    trainable = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1
    assert trainable.weight[1].tolist() == [3.0, 4.0]  # the pretrained padding row is kept


def test_state_dict_and_training_step():
    emb = nn.Embedding(4, 2)
    assert list(emb.state_dict()) == ["weight"]
    before = emb.weight.detach().numpy().copy()
    emb(nbtorch.tensor([1])).sum().backward()
    with nbtorch.no_grad():
        emb.weight -= 0.5 * emb.weight.grad
    after = emb.weight.detach().numpy()
    np.testing.assert_allclose(after[1], before[1] - 0.5)
    np.testing.assert_array_equal(after[[0, 2, 3]], before[[0, 2, 3]])


ERRORS = [
    (lambda m: m.nn.Embedding(3, 2, padding_idx=3), AssertionError,
     "Padding_idx must be within num_embeddings"),
    (lambda m: m.nn.Embedding(3, 2, padding_idx=-4), AssertionError,
     "Padding_idx must be within num_embeddings"),
    (lambda m: m.nn.Embedding(3, 2, _weight=m.ones(2, 2)), AssertionError,
     "Shape of weight does not match num_embeddings and embedding_dim"),
    (lambda m: m.nn.Embedding.from_pretrained(m.ones(3)), AssertionError,
     "Embeddings parameter is expected to be 2-dimensional"),
    (lambda m: m.nn.Embedding(3, 2)(m.tensor([3])), IndexError, "index out of range in self"),
    (lambda m: m.nn.Embedding(3, 2)(m.tensor([0.0])), RuntimeError,
     "Expected tensor for argument #1 'indices' to have one of the following scalar types: Long, "
     "Int; but got torch.FloatTensor instead (while checking arguments for embedding)"),
]


@pytest.mark.parametrize("make, error, message", ERRORS)
def test_errors_match_torch(make, error, message):
    assert_same_error(make, error, message)
