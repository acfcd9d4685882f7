"""Tests of nbtorch/nn/modules/loss.py: each loss layer prints as PyTorch's, keeps its options as
PyTorch's attributes, registers class weights as buffers, and computes what PyTorch computes."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import both, needs_torch, real_torch, values_of

RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((4, 3)).astype(np.float32)
CLASSES = np.array([0, 2, 1, 2])
PROBS = RNG.uniform(0.05, 0.95, (4, 3)).astype(np.float32)
TARGET = RNG.uniform(0, 1, (4, 3)).astype(np.float32)
WEIGHT = np.array([0.5, 1.0, 2.0], dtype=np.float32)

# (name, constructor given the library, inputs given the library)
LOSSES = [
    ("MSELoss", lambda m: m.nn.MSELoss(), lambda m: (m.tensor(LOGITS), m.tensor(TARGET))),
    ("MSELoss_sum", lambda m: m.nn.MSELoss(reduction="sum"),
     lambda m: (m.tensor(LOGITS), m.tensor(TARGET))),
    ("L1Loss", lambda m: m.nn.L1Loss(), lambda m: (m.tensor(LOGITS), m.tensor(TARGET))),
    ("SmoothL1Loss", lambda m: m.nn.SmoothL1Loss(beta=0.5),
     lambda m: (m.tensor(LOGITS), m.tensor(TARGET))),
    ("HuberLoss", lambda m: m.nn.HuberLoss(delta=0.7, reduction="none"),
     lambda m: (m.tensor(LOGITS), m.tensor(TARGET))),
    ("CrossEntropyLoss", lambda m: m.nn.CrossEntropyLoss(),
     lambda m: (m.tensor(LOGITS), m.tensor(CLASSES))),
    ("CrossEntropyLoss_options",
     lambda m: m.nn.CrossEntropyLoss(weight=m.tensor(WEIGHT), ignore_index=1,
                                     label_smoothing=0.1),
     lambda m: (m.tensor(LOGITS), m.tensor(CLASSES))),
    ("CrossEntropyLoss_probabilities", lambda m: m.nn.CrossEntropyLoss(reduction="sum"),
     lambda m: (m.tensor(LOGITS), m.tensor(PROBS))),
    ("NLLLoss", lambda m: m.nn.NLLLoss(weight=m.tensor(WEIGHT)),
     lambda m: (m.tensor(LOGITS).log_softmax(1), m.tensor(CLASSES))),
    ("BCELoss", lambda m: m.nn.BCELoss(weight=m.tensor(WEIGHT)),
     lambda m: (m.tensor(PROBS), m.tensor(TARGET))),
    ("BCEWithLogitsLoss", lambda m: m.nn.BCEWithLogitsLoss(pos_weight=m.tensor(WEIGHT)),
     lambda m: (m.tensor(LOGITS), m.tensor(TARGET))),
    ("KLDivLoss", lambda m: m.nn.KLDivLoss(reduction="batchmean", log_target=True),
     lambda m: (m.tensor(LOGITS).log_softmax(1), m.tensor(PROBS).log())),
    ("SoftMarginLoss", lambda m: m.nn.SoftMarginLoss(),
     lambda m: (m.tensor(LOGITS), m.tensor(np.sign(TARGET - 0.5)))),
    ("MarginRankingLoss", lambda m: m.nn.MarginRankingLoss(0.2),
     lambda m: (m.tensor(LOGITS[0]), m.tensor(LOGITS[1]), m.tensor([1.0, -1.0, 1.0]))),
    ("HingeEmbeddingLoss", lambda m: m.nn.HingeEmbeddingLoss(),
     lambda m: (m.tensor(LOGITS), m.tensor(np.sign(TARGET - 0.5)))),
    ("CosineEmbeddingLoss", lambda m: m.nn.CosineEmbeddingLoss(),
     lambda m: (m.tensor(LOGITS), m.tensor(TARGET), m.tensor([1.0, -1.0, 1.0, -1.0]))),
    ("GaussianNLLLoss", lambda m: m.nn.GaussianNLLLoss(),
     lambda m: (m.tensor(LOGITS), m.tensor(TARGET), m.tensor(PROBS))),
    ("PoissonNLLLoss", lambda m: m.nn.PoissonNLLLoss(),
     lambda m: (m.tensor(LOGITS), m.tensor(TARGET))),
]


@pytest.mark.parametrize("make", [c[1] for c in LOSSES], ids=[c[0] for c in LOSSES])
def test_repr(make):
    text = repr(make(real_torch)) if real_torch is not None else None
    ours = repr(make(nbtorch))
    assert ours == text if text is not None else ours.endswith("Loss()")


@needs_torch
@pytest.mark.parametrize("make, inputs", [c[1:] for c in LOSSES], ids=[c[0] for c in LOSSES])
def test_matches_torch(make, inputs):
    results = []
    for m in (nbtorch, real_torch):
        args = inputs(m)
        first = args[0].detach().requires_grad_()
        loss = make(m)(first, *args[1:])
        loss.sum().backward()
        results.append((values_of(loss), values_of(first.grad)))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-5, atol=1e-6)


@both
def test_printed_loss(m):
    x = m.tensor([[0.0, 0.0]], requires_grad=True)
    loss = m.nn.CrossEntropyLoss()(x, m.tensor([1]))
    assert repr(loss) == "tensor(0.6931, grad_fn=<NllLossBackward0>)"
    loss = m.nn.MSELoss()(x, m.ones(1, 2))
    assert repr(loss) == "tensor(1., grad_fn=<MseLossBackward0>)"


@both
def test_options_are_attributes(m):
    nn = m.nn
    ce = nn.CrossEntropyLoss(ignore_index=3, reduction="sum", label_smoothing=0.2)
    assert (ce.ignore_index, ce.reduction, ce.label_smoothing, ce.weight) == (3, "sum", 0.2, None)
    assert nn.SmoothL1Loss(beta=0.3).beta == 0.3 and nn.HuberLoss(delta=2.0).delta == 2.0
    assert nn.KLDivLoss(log_target=True).log_target
    assert nn.NLLLoss().ignore_index == -100


@both
def test_weights_are_buffers(m):
    nn = m.nn
    ce = nn.CrossEntropyLoss(weight=m.tensor(WEIGHT))
    assert list(dict(ce.named_buffers())) == ["weight"]
    assert list(ce.state_dict()) == ["weight"] and not list(ce.parameters())
    assert ce.double().weight.dtype == m.float64
    bce = nn.BCEWithLogitsLoss(pos_weight=m.tensor(WEIGHT))
    assert list(dict(bce.named_buffers())) == ["pos_weight"]
    assert bce.weight is None
    assert list(dict(nn.CrossEntropyLoss().named_buffers())) == []


@both
def test_legacy_arguments(m):
    with pytest.warns(UserWarning, match="please use reduction='sum' instead"):
        assert m.nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning, match="please use reduction='none' instead"):
        assert m.nn.CrossEntropyLoss(reduce=False).reduction == "none"


def test_training_loop_reduces_the_loss():
    nbtorch.manual_seed(0)
    model = nbtorch.nn.Sequential(nbtorch.nn.Linear(4, 8), nbtorch.nn.Tanh(),
                                  nbtorch.nn.Linear(8, 3))
    criterion = nbtorch.nn.CrossEntropyLoss()
    x = nbtorch.tensor(RNG.standard_normal((32, 4)).astype(np.float32))
    y = nbtorch.tensor((RNG.standard_normal(32) > 0).astype(np.int64) + (x._data[:, 0] > 1))
    losses = []
    for _ in range(60):
        model.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        with nbtorch.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]
