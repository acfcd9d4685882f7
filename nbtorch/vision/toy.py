"""Small 2-D datasets for first experiments, generated offline with numpy: ``make_moons``,
``make_circles``, ``make_spirals``, ``make_blobs``; ``make_shapes``, small noisy images of
simple shapes for first convolutional networks; and ``load_digits``, the 8 x 8 digits that
scikit-learn ships (read from scikit-learn's own copy when it is installed; nbtorch does not
redistribute the data).

Each returns ``(X, y)``: ``X`` a float32 tensor (n_samples, n_features), or (n_samples, 1, size,
size) images for ``make_shapes``, ``y`` an int64 tensor of class labels.  ``random_state`` (an
int, a ``numpy.random.Generator`` or None for fresh randomness) makes a dataset reproducible.
The deterministic parts follow scikit-learn's definitions (the same moons, circles and blob
layout), the random draws are numpy's ``default_rng``, not scikit-learn's legacy ``RandomState``.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from types import SimpleNamespace

import numpy as np

from .._tensor import Tensor
from ..ops.creation import from_numpy

__all__ = ["make_moons", "make_circles", "make_spirals", "make_blobs", "make_shapes", "SHAPES",
           "load_digits"]


def _split(n_samples: int, n_parts: int) -> list[int]:
    """n_samples shared between parts, the remainder going to the first ones."""
    return [n_samples // n_parts + (1 if i < n_samples % n_parts else 0) for i in range(n_parts)]


def _finish(X: np.ndarray, y: np.ndarray, shuffle: bool, noise, rng) -> tuple[Tensor, Tensor]:
    if shuffle:
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
    if noise:
        X = X + rng.normal(scale=noise, size=X.shape)
    return from_numpy(X.astype(np.float32)), from_numpy(y.astype(np.int64))


def make_moons(n_samples: int = 100, *, shuffle: bool = True, noise: float | None = None,
               random_state=None) -> tuple[Tensor, Tensor]:
    """Two interleaving half circles (class 0 on top, class 1 below), plus Gaussian ``noise``.

    >>> X, y = make_moons(6, shuffle=False)
    >>> X.shape, y.tolist()
    (torch.Size([6, 2]), [0, 0, 0, 1, 1, 1])
    """
    n_out, n_in = n_samples // 2, n_samples - n_samples // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], 1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _finish(X, y, shuffle, noise, np.random.default_rng(random_state))


def make_circles(n_samples: int = 100, *, shuffle: bool = True, noise: float | None = None,
                 random_state=None, factor: float = 0.8) -> tuple[Tensor, Tensor]:
    """A large circle (class 0) around a smaller one (class 1, radius ``factor``).

    >>> X, y = make_circles(8, shuffle=False)
    >>> float((X[y == 1] ** 2).sum(1).sqrt().max())  # doctest: +ELLIPSIS
    0.8...
    """
    if not 0 <= factor < 1:
        raise ValueError("'factor' has to be between 0 and 1.")
    n_out, n_in = n_samples // 2, n_samples - n_samples // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)])
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _finish(X, y, shuffle, noise, np.random.default_rng(random_state))


def make_spirals(n_samples: int = 100, *, n_classes: int = 2, noise: float = 0.2,
                 shuffle: bool = True, random_state=None) -> tuple[Tensor, Tensor]:
    """``n_classes`` interleaved spiral arms (the CS231n spiral): class k's points have radius
    r in [0, 1] and angle 4k + 4r plus Gaussian noise of ``noise`` radians on the angle.

    >>> X, y = make_spirals(9, n_classes=3, random_state=0)
    >>> X.shape, sorted(y.tolist())
    (torch.Size([9, 2]), [0, 0, 0, 1, 1, 1, 2, 2, 2])
    """
    rng = np.random.default_rng(random_state)
    Xs, ys = [], []
    for k, n in enumerate(_split(n_samples, n_classes)):
        r = np.linspace(0.0, 1.0, n)
        t = np.linspace(4.0 * k, 4.0 * (k + 1), n) + rng.normal(scale=noise, size=n)
        Xs.append(np.stack([r * np.sin(t), r * np.cos(t)], 1))
        ys.append(np.full(n, k))
    return _finish(np.concatenate(Xs), np.concatenate(ys), shuffle, None, rng)


def make_blobs(n_samples: int = 100, n_features: int = 2, *, centers=None,
               cluster_std: float = 1.0, center_box: tuple[float, float] = (-10.0, 10.0),
               shuffle: bool = True, random_state=None) -> tuple[Tensor, Tensor]:
    """Gaussian blobs: ``centers`` (a count, default 3, drawn uniformly in ``center_box``, or an
    array of coordinates), each with standard deviation ``cluster_std``.

    >>> X, y = make_blobs(10, centers=[[0.0, 0.0], [5.0, 5.0]], cluster_std=0.1,
    ...                   shuffle=False, random_state=0)
    >>> X[y == 1].mean(0).round()
    tensor([5., 5.])
    """
    rng = np.random.default_rng(random_state)
    if centers is None:
        centers = 3
    if isinstance(centers, int):
        centers = rng.uniform(center_box[0], center_box[1], size=(centers, n_features))
    else:
        centers = np.asarray(centers, dtype=np.float64)
        n_features = centers.shape[1]
    stds = np.broadcast_to(np.asarray(cluster_std, dtype=np.float64), (len(centers),))
    Xs, ys = [], []
    for k, n in enumerate(_split(n_samples, len(centers))):
        Xs.append(centers[k] + rng.normal(scale=stds[k], size=(n, n_features)))
        ys.append(np.full(n, k))
    return _finish(np.concatenate(Xs), np.concatenate(ys), shuffle, None, rng)


SHAPES = ("square", "circle", "cross", "horizontal bar", "vertical bar")


def _draw_shape(kind: str, size: int, rng) -> np.ndarray:
    """One ``size`` x ``size`` image (0 background, 1 ink) of ``kind``, of random extent and
    position: outlines (square, circle) and strokes (cross, bars) one or two pixels thick."""
    img = np.zeros((size, size))
    rows, cols = np.mgrid[0:size, 0:size]
    side = int(rng.integers(max(5, size * 3 // 8), max(6, size * 3 // 4) + 1))  # extent
    thick = max(1, size // 16)
    r0, c0 = (int(v) for v in rng.integers(0, size - side + 1, size=2))
    inside = (rows >= r0) & (rows < r0 + side) & (cols >= c0) & (cols < c0 + side)
    if kind == "square":
        edge = ((rows < r0 + thick) | (rows >= r0 + side - thick)
                | (cols < c0 + thick) | (cols >= c0 + side - thick))
        img[inside & edge] = 1.0
    elif kind == "circle":
        radius = (side - 1) / 2
        dist = np.hypot(rows - (r0 + radius), cols - (c0 + radius))
        img[np.abs(dist - radius + (thick - 1) / 2) < thick / 2 + 0.1] = 1.0
    elif kind == "cross":
        mid = side // 2
        img[inside & (np.abs(rows - r0 - mid) < thick)] = 1.0
        img[inside & (np.abs(cols - c0 - mid) < thick)] = 1.0
    elif kind in ("horizontal bar", "vertical bar"):
        along, across = (cols, rows) if kind == "horizontal bar" else (rows, cols)
        start = c0 if kind == "horizontal bar" else r0
        offset = int(rng.integers(0, size - 2 * thick + 1))  # anywhere across the image
        img[(along >= start) & (along < start + side)
            & (across >= offset) & (across < offset + 2 * thick)] = 1.0
    else:
        raise ValueError(f"unknown shape {kind!r}; choose from {SHAPES}")
    return img


def make_shapes(n_samples: int = 100, *, size: int = 16, shapes=SHAPES, noise: float = 0.1,
                shuffle: bool = True, random_state=None) -> tuple[Tensor, Tensor]:
    """Grayscale images (n_samples, 1, size, size) of simple shapes at random places and sizes,
    plus Gaussian pixel ``noise``; label k is the shape ``shapes[k]`` (default ``SHAPES``:
    square and circle outlines, a plus-shaped cross, horizontal and vertical bars).  Classes
    are balanced.  A stand-in for MNIST that needs no download.

    >>> X, y = make_shapes(10, size=12, noise=0.0, shuffle=False, random_state=0)
    >>> X.shape, X.dtype, y.tolist()
    (torch.Size([10, 1, 12, 12]), torch.float32, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    >>> sorted(set(X.flatten().tolist()))
    [0.0, 1.0]
    """
    if size < 8:
        raise ValueError(f"make_shapes: size must be at least 8, got {size}")
    shapes = tuple(shapes)
    for kind in shapes:
        if kind not in SHAPES:
            raise ValueError(f"unknown shape {kind!r}; choose from {SHAPES}")
    rng = np.random.default_rng(random_state)
    counts = _split(n_samples, len(shapes))
    X = np.stack([_draw_shape(kind, size, rng) for kind, n in zip(shapes, counts)
                  for _ in range(n)]) if n_samples else np.zeros((0, size, size))
    y = np.concatenate([np.full(n, k) for k, n in enumerate(counts)])
    return _finish(X[:, None], y, shuffle, noise, rng)


def _read_digits_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits.csv.gz: one digit per line, 64 pixels (0..16) then the label."""
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float64, ndmin=2)
    if table.shape[1] != 65:
        raise RuntimeError(f"{path}: expected 65 columns, found {table.shape[1]}")
    return table[:, :-1], table[:, -1].astype(np.int64)


def _sklearn_digits_path() -> str:
    spec = importlib.util.find_spec("sklearn")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("load_digits reads the 8x8 digits that scikit-learn ships, and "
                          "scikit-learn is not installed: pip install scikit-learn")
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "data",
                        "digits.csv.gz")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"scikit-learn is installed but {path} is missing")
    return path


def load_digits(*, n_class: int = 10, return_X_y: bool = False):
    """The 1,797 8 x 8 handwritten digits (UCI, pixels 0..16) as ``data`` (float32, N x 64),
    ``images`` (N x 8 x 8), ``target`` (int64) and ``target_names``; with ``return_X_y`` just
    ``(data, target)``.  ``n_class`` keeps the digits 0 .. n_class-1.  Needs scikit-learn,
    whose copy of the data is read (scikit-learn itself is not imported)."""
    pixels, target = _read_digits_csv(_sklearn_digits_path())
    keep = target < n_class
    pixels, target = pixels[keep].astype(np.float32), target[keep]
    data, labels = from_numpy(pixels), from_numpy(target)
    if return_X_y:
        return data, labels
    return SimpleNamespace(data=data, target=labels, images=from_numpy(pixels.reshape(-1, 8, 8)),
                           target_names=np.arange(10)[:n_class])
