"""MNIST, FashionMNIST and CIFAR10 read from small files in the real formats (gzipped idx; Python-2
cPickle batches), and downloaded from a local HTTP server with checksums."""

from __future__ import annotations

import os

import numpy as np
import pytest

import nbtorch
import nbtorch.vision as torchvision
from nbtorch.utils.data import DataLoader
from nbtorch.vision.datasets import CIFAR10, MNIST, FashionMNIST, read_idx
from tests.vision._formats import (
    CIFAR_CLASSES,
    cifar_batches,
    http_server,
    idx_bytes,
    md5_of,
    mnist_arrays,
    tar_gz_of,
    write_cifar,
    write_mnist,
)


@pytest.fixture
def mnist_root(tmp_path):
    arrays = mnist_arrays()
    write_mnist(tmp_path / "MNIST" / "raw", arrays)
    return tmp_path, arrays


def test_package_layout_is_torchvisions():
    assert torchvision.datasets.MNIST is MNIST
    assert callable(torchvision.transforms.ToTensor) and callable(torchvision.utils.make_grid)


def test_mnist_from_gz_idx_files(mnist_root):
    root, arrays = mnist_root
    ds = MNIST(str(root), train=True)
    assert len(ds) == 5
    assert isinstance(ds.data, nbtorch.Tensor) and ds.data.dtype == nbtorch.uint8
    assert tuple(ds.data.shape) == (5, 28, 28)
    assert ds.targets.dtype == nbtorch.int64
    np.testing.assert_array_equal(ds.data.numpy(), arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(ds.targets.numpy(), arrays["train-labels-idx1-ubyte"])
    img, target = ds[2]
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (28, 28)
    np.testing.assert_array_equal(img, arrays["train-images-idx3-ubyte"][2])
    assert type(target) is int and target == arrays["train-labels-idx1-ubyte"][2]
    test = MNIST(root, train=False)
    assert len(test) == 3 and test.train is False
    assert ds.classes[3] == "3 - three" and ds.class_to_idx["9 - nine"] == 9


def test_mnist_from_unpacked_files(tmp_path):
    arrays = mnist_arrays(seed=1)
    write_mnist(tmp_path / "MNIST" / "raw", arrays, gz=False)
    ds = MNIST(tmp_path)
    np.testing.assert_array_equal(ds.data.numpy(), arrays["train-images-idx3-ubyte"])


def test_mnist_transforms_and_loader(mnist_root):
    root, arrays = mnist_root
    T = torchvision.transforms
    ds = MNIST(root, transform=T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]),
               target_transform=lambda y: y + 100)
    x, y = ds[0]
    assert tuple(x.shape) == (1, 28, 28) and x.dtype == nbtorch.float32
    expected = (arrays["train-images-idx3-ubyte"][0] / np.float32(255) - np.float32(0.1307))
    np.testing.assert_allclose(x.numpy()[0], expected / np.float32(0.3081), rtol=1e-6,
                               atol=1e-6)
    assert y == arrays["train-labels-idx1-ubyte"][0] + 100
    xb, yb = next(iter(DataLoader(ds, batch_size=4, shuffle=True)))
    assert tuple(xb.shape) == (4, 1, 28, 28) and yb.dtype == nbtorch.int64


def test_mnist_repr_is_torchvisions(mnist_root):
    root, _ = mnist_root
    T = torchvision.transforms
    ds = MNIST(str(root), train=False, transform=T.Compose([T.ToTensor()]))
    assert repr(ds) == (
        "Dataset MNIST\n"
        "    Number of datapoints: 3\n"
        f"    Root location: {root}\n"
        "    Split: Test\n"
        "    StandardTransform\n"
        "Transform: Compose(\n"
        "               ToTensor()\n"
        "           )")


def test_fashion_mnist_folder(tmp_path):
    write_mnist(tmp_path / "FashionMNIST" / "raw", mnist_arrays())
    ds = FashionMNIST(tmp_path)
    assert len(ds) == 5 and ds.classes[-1] == "Ankle boot"
    assert ds.raw_folder == os.path.join(str(tmp_path), "FashionMNIST", "raw")
    with pytest.raises(RuntimeError, match="Dataset not found"):
        MNIST(tmp_path)  # MNIST's own folder is not there


def test_missing_dataset_error(tmp_path):
    with pytest.raises(RuntimeError) as e:
        MNIST(tmp_path)
    assert str(e.value) == "Dataset not found. You can use download=True to download it"
    with pytest.raises(RuntimeError) as e:
        CIFAR10(tmp_path)
    assert str(e.value) == ("Dataset not found or corrupted. You can use download=True to "
                            "download it")


def test_read_idx_checks(tmp_path):
    good = idx_bytes(np.arange(12, dtype=np.int32).reshape(3, 4))
    (tmp_path / "ok").write_bytes(good)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "ok")),
                                  np.arange(12).reshape(3, 4))
    (tmp_path / "short").write_bytes(good[:-3])
    with pytest.raises(RuntimeError, match="truncated or corrupted"):
        read_idx(str(tmp_path / "short"))
    (tmp_path / "junk").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(RuntimeError, match="is not an idx file"):
        read_idx(str(tmp_path / "junk"))


@pytest.fixture
def cifar_root(tmp_path, monkeypatch):
    batches = cifar_batches()
    md5s = write_cifar(tmp_path / "cifar-10-batches-py", batches)
    patch_cifar_md5s(monkeypatch, md5s)
    return tmp_path, batches


def patch_cifar_md5s(monkeypatch, md5s):
    """Point CIFAR10's checksums at the test's files (the real ones are for the real data)."""
    monkeypatch.setattr(CIFAR10, "train_list",
                        [[f"data_batch_{i}", md5s[f"data_batch_{i}"]] for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5s["test_batch"]]])
    monkeypatch.setattr(CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                          "md5": md5s["batches.meta"]})


def test_cifar10_from_python2_pickles(cifar_root):
    root, batches = cifar_root
    ds = CIFAR10(str(root))
    assert len(ds) == 20 and ds.data.shape == (20, 32, 32, 3) and ds.data.dtype == np.uint8
    expected_labels = sum((batches[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    assert ds.targets == expected_labels and all(type(t) is int for t in ds.targets)
    # a row is 1024 red, 1024 green, 1024 blue values, row-major: image 5 is batch 2's row 1
    row = batches["data_batch_2"][0][1]
    np.testing.assert_array_equal(ds.data[5][:, :, 0], row[:1024].reshape(32, 32))
    np.testing.assert_array_equal(ds.data[5][:, :, 2], row[2048:].reshape(32, 32))
    assert ds.classes == [c.decode() for c in CIFAR_CLASSES]
    assert ds.class_to_idx["truck"] == 9
    img, target = ds[5]
    assert img.shape == (32, 32, 3) and target == expected_labels[5]
    test = CIFAR10(root, train=False, transform=torchvision.transforms.ToTensor())
    x, _ = test[0]
    assert tuple(x.shape) == (3, 32, 32)
    np.testing.assert_allclose(x.numpy()[1].ravel() * 255,
                               batches["test_batch"][0][0][1024:2048], rtol=1e-6)
    assert "Split: Test" in repr(test)


def test_cifar10_corrupted_file(cifar_root):
    root, _ = cifar_root
    path = root / "cifar-10-batches-py" / "data_batch_3"
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted"):
        CIFAR10(root)


def test_cifar10_refuses_a_hostile_pickle(cifar_root, monkeypatch, tmp_path):
    root, _ = cifar_root
    marker = tmp_path / "pwned"
    evil = f"cos\nsystem\n(S'touch {marker}'\ntR.".encode()
    path = root / "cifar-10-batches-py" / "data_batch_1"
    path.write_bytes(evil)
    monkeypatch.setattr(CIFAR10, "train_list",
                        [["data_batch_1", md5_of(path)]] + CIFAR10.train_list[1:])
    from nbtorch.vision._safe_unpickle import UnsafePickleError

    with pytest.raises(UnsafePickleError, match="refusing global os.system"):
        CIFAR10(root)
    assert not marker.exists()


def no_proxy(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")


def test_mnist_download_from_mirrors(tmp_path, monkeypatch, capsys):
    no_proxy(monkeypatch)
    served = tmp_path / "server"
    arrays = mnist_arrays(seed=3)
    md5s = write_mnist(served, arrays)
    monkeypatch.setattr(MNIST, "resources", [(name, md5s[name]) for name in md5s])
    root = tmp_path / "data"
    with http_server(served) as (url, asked):
        # the first mirror answers 404 for everything: each file comes from the second
        monkeypatch.setattr(MNIST, "mirrors", [url + "missing/", url])
        ds = MNIST(root, download=True)
        assert len(asked) == 8
        MNIST(root, download=True)  # already there: nothing is fetched again
        assert len(asked) == 8
    np.testing.assert_array_equal(ds.data.numpy(), arrays["train-images-idx3-ubyte"])
    raw = sorted(os.listdir(root / "MNIST" / "raw"))
    assert raw == sorted(list(md5s) + [n[:-3] for n in md5s])  # .gz and unpacked, as torchvision
    assert "Failed to download (trying next)" in capsys.readouterr().out


def test_mnist_download_checksum_failure_leaves_nothing(tmp_path, monkeypatch):
    no_proxy(monkeypatch)
    served = tmp_path / "server"
    md5s = write_mnist(served, mnist_arrays())
    wrong = [(name, "0" * 32) for name in md5s]
    monkeypatch.setattr(MNIST, "resources", wrong)
    root = tmp_path / "data"
    with http_server(served) as (url, asked):
        monkeypatch.setattr(MNIST, "mirrors", [url])
        with pytest.raises(RuntimeError, match="Error downloading train-images-idx3-ubyte.gz"
                           ) as e:
            MNIST(root, download=True)
        assert "corrupted" in str(e.value.__cause__)
        assert len(asked) == 1
    assert os.listdir(root / "MNIST" / "raw") == []  # no partial or temporary file left


def test_cifar10_download_and_extract(tmp_path, monkeypatch):
    no_proxy(monkeypatch)
    staging = tmp_path / "staging"
    batches = cifar_batches(n_per_batch=2, seed=5)
    md5s = write_cifar(staging / "cifar-10-batches-py", batches)
    served = tmp_path / "server"
    served.mkdir()
    tar_gz_of(staging / "cifar-10-batches-py", served / "cifar-10-python.tar.gz",
              "cifar-10-batches-py")
    patch_cifar_md5s(monkeypatch, md5s)
    monkeypatch.setattr(CIFAR10, "tgz_md5", md5_of(served / "cifar-10-python.tar.gz"))
    root = tmp_path / "data"
    with http_server(served) as (url, asked):
        monkeypatch.setattr(CIFAR10, "url", url + "cifar-10-python.tar.gz")
        ds = CIFAR10(root, train=False, download=True)
        CIFAR10(root, download=True)
        assert len(asked) == 1
    assert len(ds) == 2 and ds.targets == batches["test_batch"][1]
    assert sorted(os.listdir(root)) == ["cifar-10-batches-py", "cifar-10-python.tar.gz"]
