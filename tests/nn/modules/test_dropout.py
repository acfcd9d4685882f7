"""Tests of nbtorch/nn/modules/dropout.py: reprs, train/eval behaviour, seeding (PyTorch's exact
masks for the same seed), errors."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import assert_same_error, needs_torch, real_torch

LAYERS = [
    (lambda m: m.nn.Dropout(), "Dropout(p=0.5, inplace=False)", (6, 5)),
    (lambda m: m.nn.Dropout(0.2, inplace=True), "Dropout(p=0.2, inplace=True)", (6, 5)),
    (lambda m: m.nn.Dropout1d(0.3), "Dropout1d(p=0.3, inplace=False)", (4, 6, 5)),
    (lambda m: m.nn.Dropout2d(0.3), "Dropout2d(p=0.3, inplace=False)", (2, 6, 3, 3)),
    (lambda m: m.nn.Dropout3d(0.3), "Dropout3d(p=0.3, inplace=False)", (2, 3, 2, 2, 2)),
    (lambda m: m.nn.AlphaDropout(0.1), "AlphaDropout(p=0.1, inplace=False)", (6, 5)),
    (lambda m: m.nn.FeatureAlphaDropout(0.1), "FeatureAlphaDropout(p=0.1, inplace=False)",
     (2, 6, 3)),
]
IDS = [text.split("(")[0] + ("-inplace" if "True" in text else "") for _, text, _ in LAYERS]


@pytest.mark.parametrize("make, text, shape", LAYERS, ids=IDS)
def test_repr_matches_torch(make, text, shape):
    assert repr(make(nbtorch)) == text
    if real_torch is not None:
        assert repr(make(real_torch)) == text


@pytest.mark.parametrize("make, text, shape", LAYERS, ids=IDS)
def test_eval_mode_is_identity(make, text, shape):
    layer = make(nbtorch).eval()
    x = nbtorch.randn(*shape)
    assert layer(x) is x


@needs_torch
@pytest.mark.parametrize("make, text, shape", LAYERS, ids=IDS)
def test_training_masks_equal_torch(make, text, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    nbtorch.manual_seed(7)
    real_torch.manual_seed(7)
    ours, theirs = make(nbtorch), make(real_torch)
    for _ in range(2):  # successive calls keep drawing from the same stream as PyTorch
        np.testing.assert_array_equal(ours(nbtorch.tensor(x)).numpy(),
                                      theirs(real_torch.tensor(x)).numpy())


def test_training_statistics_and_gradient():
    layer = nbtorch.nn.Dropout(0.25)
    nbtorch.manual_seed(0)
    x = nbtorch.ones(4000, requires_grad=True)
    y = layer(x)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.03
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.75, rtol=1e-6)


def test_seeded_runs_repeat():
    layer = nbtorch.nn.Dropout2d(0.5)
    x = nbtorch.ones(3, 8, 2, 2)
    nbtorch.manual_seed(11)
    first = layer(x).numpy()
    nbtorch.manual_seed(11)
    np.testing.assert_array_equal(layer(x).numpy(), first)


def test_train_and_eval_switch():
    model = nbtorch.nn.Dropout(0.5)
    x = nbtorch.ones(100)
    assert not np.array_equal(model(x).numpy(), x.numpy())
    model.eval()
    assert model(x) is x
    model.train()
    assert model.training and not np.array_equal(model(x).numpy(), x.numpy())


@pytest.mark.parametrize("cls", ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
                                 "AlphaDropout", "FeatureAlphaDropout"])
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_bad_probability(cls, p):
    assert_same_error(lambda m: getattr(m.nn, cls)(p), ValueError,
                      f"dropout probability has to be between 0 and 1, but got {p}")
