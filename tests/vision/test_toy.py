"""Toy datasets: shapes, dtypes, labels, reproducibility, geometry; load_digits' reader."""

from __future__ import annotations

import gzip
import importlib.util

import numpy as np
import pytest

import nbtorch
from nbtorch.vision import toy
from nbtorch.vision.toy import load_digits, make_blobs, make_circles, make_moons, make_spirals

MAKERS = [make_moons, make_circles, make_spirals, make_blobs]


@pytest.mark.parametrize("make", MAKERS)
def test_shapes_dtypes_and_seed(make):
    X, y = make(101, random_state=0)
    assert tuple(X.shape) == (101, 2) and X.dtype == nbtorch.float32
    assert tuple(y.shape) == (101,) and y.dtype == nbtorch.int64
    X2, y2 = make(101, random_state=0)
    np.testing.assert_array_equal(X.numpy(), X2.numpy())
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    X3, _ = make(101, random_state=1)
    assert not np.array_equal(X.numpy(), X3.numpy())
    X4, _ = make(101, random_state=np.random.default_rng(0))
    np.testing.assert_array_equal(X.numpy(), X4.numpy())


def test_moons_geometry_is_scikit_learns():
    X, y = make_moons(10, shuffle=False)
    t = np.linspace(0, np.pi, 5)
    np.testing.assert_allclose(X.numpy()[:5], np.stack([np.cos(t), np.sin(t)], 1), atol=1e-7)
    np.testing.assert_allclose(X.numpy()[5:], np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1),
                               atol=1e-7)
    assert y.tolist() == [0] * 5 + [1] * 5
    noisy, _ = make_moons(10, shuffle=False, noise=0.1, random_state=0)
    assert 0 < np.abs(noisy.numpy() - X.numpy()).max() < 1


def test_circles_radii():
    X, y = make_circles(200, factor=0.5, random_state=0)
    r = np.sqrt((X.numpy() ** 2).sum(1))
    np.testing.assert_allclose(r[y.numpy() == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(r[y.numpy() == 1], 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="'factor' has to be between 0 and 1."):
        make_circles(factor=1.0)


def test_spirals():
    X, y = make_spirals(300, n_classes=3, random_state=0)
    assert np.bincount(y.numpy()).tolist() == [100, 100, 100]
    r = np.sqrt((X.numpy() ** 2).sum(1))
    assert r.max() <= 1.0 + 1e-6
    _, y = make_spirals(7, n_classes=2, random_state=0)
    assert np.bincount(y.numpy()).tolist() == [4, 3]


def test_blobs():
    X, y = make_blobs(300, centers=[[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], cluster_std=0.5,
                      random_state=0)
    for k, c in enumerate([[0, 0], [10, 0], [0, 10]]):
        np.testing.assert_allclose(X.numpy()[y.numpy() == k].mean(0), c, atol=0.2)
    X, y = make_blobs(50, n_features=5, centers=4, random_state=2)
    assert tuple(X.shape) == (50, 5) and set(y.tolist()) == {0, 1, 2, 3}
    assert np.bincount(y.numpy()).tolist() == [13, 13, 12, 12]


def test_toy_data_trains_with_a_loader():
    X, y = make_moons(64, noise=0.1, random_state=0)
    loader = nbtorch.utils.data.DataLoader(nbtorch.utils.data.TensorDataset(X, y), batch_size=16,
                                           shuffle=True)
    xb, yb = next(iter(loader))
    assert tuple(xb.shape) == (16, 2) and yb.dtype == nbtorch.int64


def write_digits_csv(path, n=12):
    rng = np.random.default_rng(0)
    rows = np.concatenate([rng.integers(0, 17, (n, 64)), (np.arange(n) % 10)[:, None]], axis=1)
    with gzip.open(path, "wt") as f:
        for row in rows:
            f.write(",".join(str(v) for v in row) + "\n")
    return rows


def test_digits_reader_on_a_file_in_scikit_learns_format(tmp_path, monkeypatch):
    fake = tmp_path / "sklearn"
    (fake / "datasets" / "data").mkdir(parents=True)
    rows = write_digits_csv(fake / "datasets" / "data" / "digits.csv.gz")

    class Spec:
        submodule_search_locations = [str(fake)]

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: Spec() if name == "sklearn" else real_find_spec(name, *a))
    digits = load_digits()
    assert tuple(digits.data.shape) == (12, 64) and digits.data.dtype == nbtorch.float32
    assert tuple(digits.images.shape) == (12, 8, 8)
    np.testing.assert_array_equal(digits.data.numpy(), rows[:, :64])
    assert digits.target.tolist() == (np.arange(12) % 10).tolist()
    X, y = load_digits(n_class=3, return_X_y=True)
    assert set(y.tolist()) == {0, 1, 2} and len(X) == len(y) == 5


def test_digits_without_scikit_learn(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "sklearn" else real_find_spec(name, *a))
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        load_digits()


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                    reason="scikit-learn is not installed")
def test_real_digits():
    digits = load_digits()
    assert tuple(digits.data.shape) == (1797, 64) and digits.data.numpy().max() == 16
    assert sorted(set(digits.target.tolist())) == list(range(10))


def test_module_exports():
    assert set(toy.__all__) == {"make_moons", "make_circles", "make_spirals", "make_blobs",
                                "make_shapes", "SHAPES", "load_digits"}


# --- make_shapes: small images for a first CNN ----------------------------------------------------
def test_shapes_images_dtypes_balance_and_seed():
    X, y = toy.make_shapes(53, size=16, random_state=0)
    assert tuple(X.shape) == (53, 1, 16, 16) and X.dtype == nbtorch.float32
    assert tuple(y.shape) == (53,) and y.dtype == nbtorch.int64
    assert np.bincount(y.numpy()).tolist() == [11, 11, 11, 10, 10]
    X2, y2 = toy.make_shapes(53, size=16, random_state=0)
    np.testing.assert_array_equal(X.numpy(), X2.numpy())
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    X3, _ = toy.make_shapes(53, size=16, random_state=1)
    assert not np.array_equal(X.numpy(), X3.numpy())
    noisy = X.numpy()
    assert 0.05 < noisy.std() and noisy.min() < 0 < noisy.max()  # ink plus Gaussian noise
    X4, y4 = toy.make_shapes(7, size=20, shapes=("cross", "square"), noise=0.0, random_state=0)
    assert tuple(X4.shape) == (7, 1, 20, 20) and set(y4.tolist()) == {0, 1}


def _ink(kind, n=40, size=16):
    X, _ = toy.make_shapes(n, size=size, shapes=(kind,), noise=0.0, random_state=0)
    return X.numpy()[:, 0]


def test_shapes_geometry():
    """Each class is what its name says: lines where they should be, the inside left empty."""
    for img in _ink("horizontal bar"):  # ink in exactly two adjacent rows
        rows = np.flatnonzero(img.any(1))
        assert len(rows) == 2 and rows[1] == rows[0] + 1 and img.sum() >= 2 * 6
    for img in _ink("vertical bar"):
        cols = np.flatnonzero(img.any(0))
        assert len(cols) == 2 and cols[1] == cols[0] + 1
    for img in _ink("square"):  # a hollow box: full border, empty inside
        r, c = np.flatnonzero(img.any(1)), np.flatnonzero(img.any(0))
        box = img[r[0]:r[-1] + 1, c[0]:c[-1] + 1]
        assert box.shape[0] == box.shape[1] >= 5
        assert box[0].all() and box[-1].all() and box[:, 0].all() and box[:, -1].all()
        assert not box[1:-1, 1:-1].any()
    for img in _ink("cross"):  # one full row and one full column of the box, nothing else
        r, c = np.flatnonzero(img.any(1)), np.flatnonzero(img.any(0))
        box = img[r[0]:r[-1] + 1, c[0]:c[-1] + 1]
        assert box.all(1).sum() == 1 and box.all(0).sum() == 1
        assert box.sum() == box.shape[0] + box.shape[1] - 1
    for img in _ink("circle"):  # a ring: the center is empty, the corners of its box too
        r, c = np.flatnonzero(img.any(1)), np.flatnonzero(img.any(0))
        box = img[r[0]:r[-1] + 1, c[0]:c[-1] + 1]
        n = box.shape[0]
        assert box.shape[0] == box.shape[1] and box[n // 2, n // 2] == 0
        assert box[0, 0] == box[0, -1] == box[-1, 0] == box[-1, -1] == 0


def test_shapes_all_fit_in_the_image():
    X, _ = toy.make_shapes(200, size=16, noise=0.0, random_state=2)
    assert X.numpy().sum(axis=(1, 2, 3)).min() >= 6  # nothing drawn off the edge and lost


def test_shapes_bad_arguments():
    with pytest.raises(ValueError, match="unknown shape 'star'"):
        toy.make_shapes(4, shapes=("square", "star"))
    with pytest.raises(ValueError, match="size must be at least 8"):
        toy.make_shapes(4, size=5)


def test_shapes_train_with_a_loader():
    X, y = toy.make_shapes(32, random_state=0)
    loader = nbtorch.utils.data.DataLoader(nbtorch.utils.data.TensorDataset(X, y), batch_size=8)
    xb, yb = next(iter(loader))
    assert tuple(xb.shape) == (8, 1, 16, 16) and yb.dtype == nbtorch.int64
