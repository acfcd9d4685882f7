"""04 · Convolutional networks: what it shows, and its two exercise checkers on right and wrong
answers (with nbtorch, and with PyTorch when it is installed)."""

from __future__ import annotations

import math
import re

import pytest

from tests.notebooks import _checkers
from tests.notebooks._nb import cell_tagged, mime_types, text_of

CNN = "04_convolutional_networks.ipynb"


def test_convolution_by_hand(executed):
    nb = executed(CNN)
    by_hand = text_of(cell_tagged(nb, "by-hand"))
    assert "[ 3.,  3.,  0.,  0., -3., -3.]" in by_hand  # the square's left and right edges
    same = text_of(cell_tagged(nb, "conv2d-same"))
    assert "F.conv2d output shape: (1, 1, 6, 6)" in same and "same as by hand: True" in same
    assert "image/png" in mime_types(cell_tagged(nb, "edges-plot"))


def test_output_sizes_follow_the_formula(executed):
    rows = text_of(cell_tagged(executed(CNN), "output-sizes")).splitlines()[1:]
    assert len(rows) == 7
    for row in rows:
        k, p, s, out = (int(v) for v in re.findall(r"\d+", row))
        assert out == (16 + 2 * p - k) // s + 1, row


def test_channels_pooling_and_parameter_counts(executed):
    nb = executed(CNN)
    channels = text_of(cell_tagged(nb, "channels"))
    assert "weight: (4, 3, 3, 3)   bias: (4,)" in channels
    assert "output channel 2 by hand matches: True" in channels
    pooling = text_of(cell_tagged(nb, "pooling"))
    assert "[[[[3., 5.]," in pooling and "[2., 4.]]]]" in pooling
    assert "parameters of nn.MaxPool2d: 0" in pooling
    counts = text_of(cell_tagged(nb, "param-counts"))
    assert "80 parameters" in counts and "526,336 parameters" in counts
    assert "ratio: 6,579" in counts


def test_the_cnn_trains(executed):
    nb = executed(CNN)
    assert "image/png" in mime_types(cell_tagged(nb, "data"))
    model = text_of(cell_tagged(nb, "model"))
    assert "parameters: 2533" in model
    assert "MaxPool2d -> (2, 16, 4, 4)" in model and "Linear -> (2, 5)" in model
    graph = cell_tagged(nb, "graph")
    assert "image/svg+xml" in mime_types(graph)
    svg = next(o.data["image/svg+xml"] for o in graph.outputs
               if "image/svg+xml" in o.get("data", {}))
    assert svg.count("Convolution") >= 2 and "0.weight" in svg
    train = cell_tagged(nb, "train")
    assert "image/svg+xml" in mime_types(train)
    # the saved picture is the final one (refreshed by monitor.finish())
    assert "TrainingMonitor: train_loss, test_acc; step 227" in text_of(train)
    epochs = re.findall(r"test accuracy (\d\.\d+)", text_of(train))
    assert len(epochs) == 6 and float(epochs[-1]) > float(epochs[0])
    final = text_of(cell_tagged(nb, "final-accuracy"))
    accuracy = float(re.search(r"test accuracy: (\d\.\d+) on 300 images", final).group(1))
    assert accuracy >= 0.93  # 0.990 when written; chance is 0.2
    per_class = re.findall(r"^\s+[a-z ]+: (\d\.\d+)$", final, re.M)
    assert len(per_class) == 5 and min(float(a) for a in per_class) >= 0.8


def test_inside_the_network(executed):
    nb = executed(CNN)
    assert "image/png" in mime_types(cell_tagged(nb, "filters"))
    assert "image/png" in mime_types(cell_tagged(nb, "feature-maps"))
    shown = cell_tagged(nb, "show-weight")
    assert "image/svg+xml" in mime_types(shown)
    assert "conv 1 weight: tensor 8x1x3x3" in text_of(shown)


# --- the exercises' checkers, run in-process on right and wrong answers --------------------------
def _checker(module, exercise: str, name: str):
    """The checker ``name`` of ``exercise-<exercise>``, loaded with ``torch = module``."""
    return _checkers.load(CNN, (f"exercise-{exercise}", f"checker-{exercise}"), module)[name]


SIZES = [
    # learner's formula, is it right, what the checker must say
    pytest.param(lambda n, k, p, s: (n + 2 * p - k) // s + 1, True, "Correct", id="right"),
    pytest.param(lambda n, k, p, s: math.floor((n + 2 * p - k) / s) + 1, True, "Correct",
                 id="right-floor"),
    pytest.param(lambda n, k, p, s: (n - k) // s + 1, False, "You ignore the padding",
                 id="no-padding"),
    pytest.param(lambda n, k, p, s: (n + p - k) // s + 1, False, "n + 2 * padding",
                 id="padding-once"),
    pytest.param(lambda n, k, p, s: (n + 2 * p - k) // s, False, "count the kernel's first",
                 id="no-plus-one"),
    pytest.param(lambda n, k, p, s: (n + 2 * p - k + 1) // s, False, "after the division",
                 id="plus-one-inside"),
    pytest.param(lambda n, k, p, s: n + 2 * p - k + 1, False, "You ignore the stride",
                 id="no-stride"),
    pytest.param(lambda n, k, p, s: math.ceil((n + 2 * p - k) / s) + 1, False, "You round up",
                 id="ceil"),
    pytest.param(lambda n, k, p, s: (n + 2 * p - k) / s + 1, False, "returns the float",
                 id="true-division"),
    pytest.param(lambda n, k, p, s: n, False, "Not yet: for n=", id="other"),
    pytest.param(lambda n, k, p, s: [n], False, "should return an int, not list", id="list"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), SIZES)
def test_output_size_checker(library, answer, right, message):
    check = _checker(_checkers.library(library), "output-size", "check_output_size")
    _checkers.expect(check, answer, right, message)


def _loops(t, F, image, kernel, padding, flip=False, transpose=False, short=0):
    """The loop answer, and its typical mistakes."""
    image = F.pad(image, (padding, padding, padding, padding))
    if flip:
        kernel = kernel.flip(0, 1)
    if transpose:
        kernel = kernel.T
    kh, kw = kernel.shape
    rows, cols = image.shape[0] - kh + 1 - short, image.shape[1] - kw + 1 - short
    out = t.zeros(rows, cols, dtype=image.dtype)
    for i in range(rows):
        for j in range(cols):
            out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum()
    return out


def _unfold(t, F, image, kernel, padding):
    kh, kw = kernel.shape
    rows = image.shape[0] + 2 * padding - kh + 1
    cols = image.shape[1] + 2 * padding - kw + 1
    patches = F.unfold(image[None, None], (kh, kw), padding=padding)
    return (kernel.reshape(1, -1) @ patches[0]).reshape(rows, cols)


CONVS = [
    pytest.param(lambda t, F, x, k, p: _loops(t, F, x, k, p), True, "Correct", id="right"),
    pytest.param(lambda t, F, x, k, p: _unfold(t, F, x, k, p), True, "Correct", id="unfold"),
    pytest.param(lambda t, F, x, k, p: _loops(t, F, x.float(), k.float(), p), True, "Correct",
                 id="right-float32"),
    pytest.param(lambda t, F, x, k, p: _loops(t, F, x, k, p, flip=True), False,
                 "true convolution", id="flipped"),
    pytest.param(lambda t, F, x, k, p: _loops(t, F, x, k, p, transpose=True), False,
                 "kernel transposed", id="transposed"),
    pytest.param(lambda t, F, x, k, p: _loops(t, F, x, k, 0), False, "padding is ignored",
                 id="no-padding"),
    pytest.param(lambda t, F, x, k, p: _loops(t, F, x, k, p, short=1), False, "Off by one",
                 id="off-by-one"),
    pytest.param(lambda t, F, x, k, p: _loops(t, F, x, k, p).T, False, "Height and width swapped",
                 id="swapped"),
    pytest.param(lambda t, F, x, k, p: _loops(t, F, x, k, p) + 1, False,
                 "Not yet: with image 6x7", id="other"),
    pytest.param(lambda t, F, x, k, p: F.conv2d(x[None, None], k[None, None], padding=p), False,
                 "Return a 2-D tensor", id="4d"),
    pytest.param(lambda t, F, x, k, p: _loops(t, F, x, k, p).tolist(), False,
                 "not list", id="list"),
    pytest.param(lambda t, F, x, k, p: _loops(t, F, x, k, p)[:2, :2], False, "Wrong shape",
                 id="shape"),
]


@pytest.mark.parametrize("library", ["nbtorch", "torch"])
@pytest.mark.parametrize(("answer", "right", "message"), CONVS)
def test_conv2d_checker(library, answer, right, message):
    torch = _checkers.library(library)
    check = _checker(torch, "conv2d", "check_conv2d")
    _checkers.expect(check, lambda x, k, p=0: answer(torch, torch.nn.functional, x, k, p), right,
                     message)
