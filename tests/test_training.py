"""End to end: an MLP, a LeNet-style CNN and an LSTM train under nbtorch exactly as under PyTorch.

Each model is built by the same code for both libraries (``m`` is nbtorch or torch). From identical
weights, the losses of several optimizer steps must be PyTorch's; from the same seed, the initial
weights themselves must be PyTorch's; and on small learnable data sets the losses must fall.
"""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from tests.helpers import needs_torch, real_torch


def mlp(m):
    model = m.nn.Sequential(m.nn.Linear(20, 32), m.nn.ReLU(), m.nn.Linear(32, 16), m.nn.Tanh(),
                            m.nn.Linear(16, 3))
    return model, m.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), (16, 20)


def cnn(m):
    nn = m.nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(16 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 3),
    )
    return model, m.optim.Adam(model.parameters(), lr=1e-3), (8, 1, 24, 24)


def lstm(m):
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = m.nn.LSTM(4, 12, batch_first=True)
            self.head = m.nn.Linear(12, 3)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    model = Net()
    return model, m.optim.Adam(model.parameters(), lr=1e-2), (6, 7, 4)


BUILDERS = {"mlp": mlp, "cnn": cnn, "lstm": lstm}


def _train(m, model, optimizer, batches):
    loss_fn = m.nn.CrossEntropyLoss()
    losses = []
    for x, y in batches:
        optimizer.zero_grad()
        loss = loss_fn(model(m.tensor(x)), m.tensor(y))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _batches(shape, steps, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape).astype(np.float32), rng.integers(0, 3, shape[0]))
            for _ in range(steps)]


@needs_torch
@pytest.mark.parametrize("name", list(BUILDERS))
def test_losses_match_pytorch_step_by_step(name):
    t_model, t_opt, shape = BUILDERS[name](real_torch)
    n_model, n_opt, _ = BUILDERS[name](nbtorch)
    state = {k: nbtorch.tensor(v.detach().numpy()) for k, v in t_model.state_dict().items()}
    n_model.load_state_dict(state)
    batches = _batches(shape, steps=6)
    ours = _train(nbtorch, n_model, n_opt, batches)
    theirs = _train(real_torch, t_model, t_opt, batches)
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6)
    for (key, got), (_, want) in zip(n_model.state_dict().items(), t_model.state_dict().items()):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5, err_msg=key)


@needs_torch
@pytest.mark.parametrize("name", list(BUILDERS))
def test_same_seed_gives_pytorchs_initial_weights(name):
    real_torch.manual_seed(7)
    t_model = BUILDERS[name](real_torch)[0]
    nbtorch.manual_seed(7)
    n_model = BUILDERS[name](nbtorch)[0]
    theirs = t_model.state_dict()
    assert list(n_model.state_dict()) == list(theirs)
    for key, got in n_model.state_dict().items():
        np.testing.assert_array_equal(got.numpy(), theirs[key].numpy(), err_msg=key)


def _moons(n, rng):
    """Two interleaved half circles with noise, and a third blob: a 3-class problem in 20-D."""
    labels = rng.integers(0, 3, n)
    angle = rng.uniform(0, np.pi, n)
    x = np.stack([np.cos(angle) + (labels == 1) * 1.0, np.sin(angle) * (1 - 2 * (labels == 1))],
                 1)
    x[labels == 2] = rng.normal([0.5, -1.5], 0.2, (int((labels == 2).sum()), 2))
    x = x + rng.normal(0, 0.1, x.shape)
    features = np.concatenate([x, rng.normal(0, 0.1, (n, 18))], 1)
    return features.astype(np.float32), labels


def _bars(n, rng):
    """24x24 images holding a horizontal bar, a vertical bar or a cross (plus noise)."""
    labels = rng.integers(0, 3, n)
    images = rng.normal(0, 0.3, (n, 1, 24, 24)).astype(np.float32)
    for i, label in enumerate(labels):
        row, col = rng.integers(4, 20, 2)
        if label in (0, 2):
            images[i, 0, row - 1:row + 2, 2:22] += 2
        if label in (1, 2):
            images[i, 0, 2:22, col - 1:col + 2] += 2
    return images, labels


def _sequences(n, rng):
    """Which of three channels has the largest sum over the sequence."""
    x = rng.normal(0, 1, (n, 7, 4)).astype(np.float32)
    return x, x[:, :, :3].sum(1).argmax(1)


DATA = {"mlp": _moons, "cnn": _bars, "lstm": _sequences}


@pytest.mark.parametrize("name,steps", [("mlp", 60), ("cnn", 40), ("lstm", 80)])
def test_loss_falls_on_learnable_data(name, steps):
    nbtorch.manual_seed(0)
    rng = np.random.default_rng(1)
    model, optimizer, shape = BUILDERS[name](nbtorch)
    batches = [DATA[name](32, rng) for _ in range(steps)]
    losses = _train(nbtorch, model, optimizer, batches)
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last < 0.6 * first, (first, last)
    x, y = DATA[name](256, rng)
    with nbtorch.no_grad():
        accuracy = (model(nbtorch.tensor(x)).argmax(1).numpy() == y).mean()
    assert accuracy > 0.8, accuracy


@needs_torch
def test_readme_training_example_prints_what_pytorch_prints():
    """The README's ten-line example, run with ``import torch`` instead, gives the same output."""
    import doctest
    import pathlib

    readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
    section = readme.split("## Training, in ten lines", 1)[1].split("```pycon", 1)[1]
    section = section.split("```", 1)[0]
    test = doctest.DocTestParser().get_doctest(
        section.replace("import nbtorch as torch", "import torch").replace(
            "from nbtorch import nn", "from torch import nn"), {}, "readme", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries > 5
