"""Whole training steps (forward, backward, optimizer update), nbtorch against PyTorch CPU.

The three models of the training issue, with the same code for both libraries (``m`` is the module
under test, ``nbtorch`` or ``torch``):

- MLP 784-256-128-10, ReLU, cross entropy, SGD with momentum, batch 128
- LeNet-5 style CNN on 1x28x28, batch 64, Adam
- one-layer LSTM 32->128, sequence 35, batch 32, then Linear(128, 10) on the last step, Adam

Run: python bench/bench_training.py [mlp|cnn|lstm ...]
"""

from __future__ import annotations

import sys

import numpy as np

import nbtorch
from _common import interleaved_medians, report, try_import_torch


def mlp(m):
    model = m.nn.Sequential(m.nn.Linear(784, 256), m.nn.ReLU(), m.nn.Linear(256, 128),
                            m.nn.ReLU(), m.nn.Linear(128, 10))
    optimizer = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return model, optimizer, (128, 784)


def cnn(m):
    nn = m.nn
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )
    optimizer = m.optim.Adam(model.parameters(), lr=1e-3)
    return model, optimizer, (64, 1, 28, 28)


def lstm(m):
    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = m.nn.LSTM(32, 128, batch_first=True)
            self.head = m.nn.Linear(128, 10)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    model = Net()
    optimizer = m.optim.Adam(model.parameters(), lr=1e-3)
    return model, optimizer, (32, 35, 32)


MODELS = {"mlp": mlp, "cnn": cnn, "lstm": lstm}


def make_step(m, build, seed=0):
    """A closure running one training step of ``build``'s model in library ``m``."""
    m.manual_seed(seed)
    model, optimizer, shape = build(m)
    rng = np.random.default_rng(seed)
    x = m.tensor(rng.standard_normal(shape).astype(np.float32))
    y = m.tensor(rng.integers(0, 10, shape[0]))
    loss_fn = m.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def main(names) -> None:
    torch = try_import_torch()
    if torch is not None:
        torch.manual_seed(0)
    for name in names:
        candidates = {"nbtorch": make_step(nbtorch, MODELS[name])}
        if torch is not None:
            candidates["torch"] = make_step(torch, MODELS[name])
        medians = interleaved_medians(candidates, repeats=20 if name != "mlp" else 40)
        report(f"{name}: one training step (forward + backward + update)", medians,
               baseline="torch" if torch else None)


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
