"""MNIST, FashionMNIST and CIFAR10, as ``torchvision.datasets``: the same constructor
``(root, train=True, transform=None, target_transform=None, download=False)``, the same folders
(``root/MNIST/raw/``, ``root/FashionMNIST/raw/``, ``root/cifar-10-batches-py/``, so a folder made
by torchvision is read as is), the same ``data``/``targets``/``classes`` attributes.

Differences, on purpose:

- A sample's image is a numpy ``uint8`` array (H x W for MNIST, H x W x 3 for CIFAR) instead of a
  PIL image, so nothing here needs Pillow; ``transforms.ToTensor()`` accepts both.
- CIFAR-10 is read from torchvision's python-pickle batches WITHOUT ``pickle.load`` (which would
  run any code a tampered file names): ``_safe_unpickle`` interprets only the opcodes those files
  use and rebuilds the numpy array itself.  We keep the pickle version rather than the binary
  one (cifar-10-binary.tar.gz) so that an existing torchvision download is reused.
- Downloads are atomic and checksummed (see ``_download``); MNIST also reads the ``.gz`` files
  directly when they are not unpacked.
"""

from __future__ import annotations

import gzip
import os
import urllib.error

import numpy as np

from ..ops.creation import from_numpy
from ..utils.data import Dataset
from ._download import check_integrity, download_and_extract_archive
from ._safe_unpickle import loads

__all__ = ["VisionDataset", "StandardTransform", "MNIST", "FashionMNIST", "CIFAR10"]


def _transformed(transform, target_transform, input, target):
    """``(transform(input), target_transform(target))``, each only where given."""
    if transform is not None:
        input = transform(input)
    if target_transform is not None:
        target = target_transform(target)
    return input, target


class StandardTransform:
    """``transform`` applied to the input and ``target_transform`` to the target."""

    def __init__(self, transform=None, target_transform=None) -> None:
        self.transform = transform
        self.target_transform = target_transform

    def __call__(self, input, target):
        return _transformed(self.transform, self.target_transform, input, target)

    def _format_transform_repr(self, transform, head: str) -> list[str]:
        lines = repr(transform).splitlines()
        return [f"{head}{lines[0]}"] + [" " * len(head) + line for line in lines[1:]]

    def __repr__(self) -> str:
        body = [self.__class__.__name__]
        if self.transform is not None:
            body += self._format_transform_repr(self.transform, "Transform: ")
        if self.target_transform is not None:
            body += self._format_transform_repr(self.target_transform, "Target transform: ")
        return "\n".join(body)


class VisionDataset(Dataset):
    """Base class with torchvision's ``root``/``transform``/``target_transform`` handling and
    its printed form."""

    _repr_indent = 4

    def __init__(self, root, transforms=None, transform=None, target_transform=None) -> None:
        if isinstance(root, str):
            root = os.path.expanduser(root)
        self.root = root
        has_separate_transform = transform is not None or target_transform is not None
        if transforms is not None and has_separate_transform:
            raise ValueError("Only transforms or transform/target_transform can be passed as "
                             "argument")
        self.transform = transform
        self.target_transform = target_transform
        if has_separate_transform:
            transforms = StandardTransform(transform, target_transform)
        self.transforms = transforms

    def __getitem__(self, index):
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        body = [f"Number of datapoints: {self.__len__()}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        if getattr(self, "transforms", None) is not None:
            body += [repr(self.transforms)]
        lines = [f"Dataset {self.__class__.__name__}"] + [" " * self._repr_indent + line
                                                         for line in body]
        return "\n".join(lines)


# idx type codes (the third byte of the magic number) -> big-endian numpy dtypes
_IDX_TYPES = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """An array from an idx file (MNIST's format: 0, 0, type, ndim, then ndim big-endian int32
    sizes, then the data), plain or gzipped."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise RuntimeError(f"{path} is not an idx file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(n) for n in np.frombuffer(raw, ">i4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    if len(raw) - header != int(np.prod(shape)) * dtype.itemsize:
        raise RuntimeError(f"{path} is truncated or corrupted: its header says {shape}")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(VisionDataset):
    """The MNIST digits: 60,000 training and 10,000 test images of 28 x 28 pixels.

    ``data`` is a uint8 tensor (N, 28, 28), ``targets`` an int64 tensor (N,); ``ds[i]`` is
    ``(image, label)`` with the image a numpy uint8 (28, 28) array passed through ``transform``.
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        self.data, self.targets = self._load_data()

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {_class: i for i, _class in enumerate(self.classes)}

    def _raw_file(self, gz_name: str) -> str | None:
        """The unpacked file if there, else the .gz, else None."""
        for path in (os.path.join(self.raw_folder, gz_name[:-3]),
                     os.path.join(self.raw_folder, gz_name)):
            if os.path.isfile(path):
                return path
        return None

    def _check_exists(self) -> bool:
        return all(self._raw_file(name) is not None for name, _ in self.resources)

    def _load_data(self):
        split = "train" if self.train else "t10k"
        images = read_idx(self._raw_file(f"{split}-images-idx3-ubyte.gz"))
        labels = read_idx(self._raw_file(f"{split}-labels-idx1-ubyte.gz"))
        if images.dtype != np.uint8 or images.ndim != 3:
            raise RuntimeError(f"expected uint8 images of 3 dimensions, got {images.dtype} "
                               f"{images.shape}")
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise RuntimeError(f"expected uint8 labels of 1 dimension, got {labels.dtype} "
                               f"{labels.shape}")
        return from_numpy(images), from_numpy(labels.astype(np.int64))

    def download(self) -> None:
        """Download the four idx files (trying each mirror in turn) unless already there."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            errors = []
            for mirror in self.mirrors:
                url = f"{mirror}{filename}"
                try:
                    download_and_extract_archive(url, download_root=self.raw_folder,
                                                 filename=filename, md5=md5)
                except (urllib.error.URLError, OSError, RuntimeError) as error:
                    print(f"Failed to download (trying next):\n{error}\n")
                    errors.append(error)
                    continue
                break
            else:
                raise RuntimeError(f"Error downloading {filename}") from errors[-1]

    def __getitem__(self, index: int):
        img = _numpy(self.data)[index]
        # self.transform, not the StandardTransform made at construction: as in torchvision,
        # assigning dataset.transform later takes effect
        return _transformed(self.transform, self.target_transform, img, int(self.targets[index]))

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's format and sizes, ten kinds of clothing."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


def _numpy(data):
    """Images as a numpy array whether ``data`` is a tensor (as loaded) or was replaced by one."""
    return data.numpy() if hasattr(data, "numpy") else np.asarray(data)


class CIFAR10(VisionDataset):
    """CIFAR-10: 50,000 training and 10,000 test colour images of 32 x 32 pixels, 10 classes.

    ``data`` is a numpy uint8 array (N, 32, 32, 3) and ``targets`` a list of ints, as in
    torchvision; ``ds[i]`` is ``(image, label)`` with the image an (32, 32, 3) uint8 array passed
    through ``transform``.
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names",
            "md5": "5ff9c542aee3614f3951f8cda6e48888"}

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to "
                               "download it")
        data, self.targets = [], []
        for file_name, _ in self.train_list if self.train else self.test_list:
            entry = self._read(file_name)
            data.append(np.asarray(entry["data"], dtype=np.uint8))
            labels = entry["labels"] if "labels" in entry else entry["fine_labels"]
            self.targets.extend(int(label) for label in labels)
        # each row is 1024 red, 1024 green, 1024 blue values: make it H x W x C
        self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))
        self._load_meta()

    def _read(self, file_name: str) -> dict:
        with open(os.path.join(self.root, self.base_folder, file_name), "rb") as f:
            entry = loads(f.read())
        if not isinstance(entry, dict):
            raise RuntimeError(f"{file_name} is not a CIFAR batch")
        return entry

    def _load_meta(self) -> None:
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        if not check_integrity(path, self.meta["md5"]):
            raise RuntimeError("Dataset metadata file not found or corrupted. You can use "
                               "download=True to download it")
        self.classes = list(self._read(self.meta["filename"])[self.meta["key"]])
        self.class_to_idx = {_class: i for i, _class in enumerate(self.classes)}

    def _check_integrity(self) -> bool:
        return all(check_integrity(os.path.join(self.root, self.base_folder, name), md5)
                   for name, md5 in self.train_list + self.test_list)

    def download(self) -> None:
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename,
                                     md5=self.tgz_md5)

    def __getitem__(self, index: int):
        return _transformed(self.transform, self.target_transform, self.data[index],
                            self.targets[index])

    def __len__(self) -> int:
        return len(self.data)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"
