"""Image transforms, as ``torchvision.transforms``: ``ToTensor``, ``Normalize``, ``Compose``,
``Lambda``, and the two augmentations of the classic CIFAR recipe, ``RandomHorizontalFlip`` and
``RandomCrop``.

Images are numpy arrays (H x W or H x W x C, as nbtorch's datasets give them), PIL images when
Pillow is installed, or tensors (... x C x H x W) after ``ToTensor``.  The random transforms draw
from nbtorch's global stream with the same calls as torchvision (``torch.rand(1)``,
``torch.randint``), so a seeded pipeline makes torchvision's choices.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .. import _dtype, backend
from .._tensor import Tensor
from ..ops.creation import as_tensor, from_numpy
from ..ops.random import rand, randint

__all__ = ["Compose", "Lambda", "ToTensor", "Normalize", "RandomHorizontalFlip", "RandomCrop",
           "to_tensor", "normalize"]


_PIL_IMAGE = None  # PIL.Image once looked up, False without Pillow


def _is_pil_image(pic) -> bool:
    global _PIL_IMAGE
    if isinstance(pic, (np.ndarray, Tensor)):
        return False
    if _PIL_IMAGE is None:  # looked up once: a failing import costs a filesystem search
        try:
            from PIL import Image as _PIL_IMAGE
        except ImportError:
            _PIL_IMAGE = False
    return bool(_PIL_IMAGE) and isinstance(pic, _PIL_IMAGE.Image)


def _pil_to_numpy(pic) -> np.ndarray:
    """torchvision's PIL decoding: the pixel array with the mode's dtype, H x W x C."""
    dtypes = {"I": np.int32, "I;16": np.int16, "F": np.float32}
    if pic.mode == "1":
        img = 255 * np.array(pic, np.uint8)
    else:
        img = np.array(pic, dtypes.get(pic.mode, np.uint8))
    return img.reshape(pic.size[1], pic.size[0], len(pic.getbands()))


def to_tensor(pic) -> Tensor:
    """An image (numpy H x W [x C], or PIL) as a C x H x W tensor; uint8 pixels are scaled to
    float in [0, 1], other dtypes are kept as they are.

    >>> to_tensor(np.array([[0, 255]], dtype=np.uint8))
    tensor([[[0., 1.]]])
    """
    if not (_is_pil_image(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
    if isinstance(pic, np.ndarray):
        if pic.ndim not in {2, 3}:
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        img = pic[:, :, None] if pic.ndim == 2 else pic
    else:
        img = _pil_to_numpy(pic)
    chw = np.ascontiguousarray(img.transpose((2, 0, 1)))
    if chw.dtype == np.uint8:
        # float(x) / 255 in the default float dtype, as torch's .to(float).div(255)
        ft = np.dtype(_dtype.get_default_dtype().np).type
        return from_numpy(chw.astype(ft) / ft(255))
    return from_numpy(chw)


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float],
              inplace: bool = False) -> Tensor:
    """``(tensor - mean) / std`` per channel of a (..., C, H, W) float tensor.

    >>> import nbtorch as torch
    >>> normalize(torch.ones(2, 1, 1), [0.5, 0.0], [0.5, 2.0]).flatten()
    tensor([1.0000, 0.5000])
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"img should be Tensor Image. Got {type(tensor)}")
    if not tensor.is_floating_point():
        raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
    if tensor.ndim < 3:
        raise ValueError("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                         f"tensor.size() = {tensor.size()}")
    if not tensor.requires_grad:
        out = _normalize_data(tensor, mean, std, inplace)
        if out is not None:
            return out
    if not inplace:
        tensor = tensor.clone()
    dtype = tensor.dtype
    mean = as_tensor(mean, dtype=dtype, device=tensor.device)
    std = as_tensor(std, dtype=dtype, device=tensor.device)
    if (std == 0).any():
        raise ValueError(f"std evaluated to zero after conversion to {dtype}, leading to "
                         "division by zero.")
    if mean.ndim == 1:
        mean = mean.view(-1, 1, 1)
    if std.ndim == 1:
        std = std.view(-1, 1, 1)
    return tensor.sub_(mean).div_(std)


def _normalize_data(tensor: Tensor, mean, std, inplace: bool) -> Tensor | None:
    """normalize() on the raw array, for the usual case of an image that needs no gradient.

    NOTE: the same arithmetic as the tensor path (subtract, then divide, in the image's dtype),
    without recording ops: a Normalize runs once per sample, so its overhead is the loader's.
    None when the shapes do not fit: the tensor path then raises PyTorch's error.
    """
    arr = tensor._data
    xp = backend.xp_of(arr)
    mean = xp.asarray(mean, dtype=arr.dtype)
    std = xp.asarray(std, dtype=arr.dtype)
    if bool((std == 0).any()):
        raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading "
                         "to division by zero.")
    if mean.ndim == 1:
        mean = mean.reshape(-1, 1, 1)
    if std.ndim == 1:
        std = std.reshape(-1, 1, 1)
    try:
        if np.broadcast_shapes(arr.shape, mean.shape, std.shape) != arr.shape:
            return None  # (the result is written into the image's own shape, as sub_ does)
    except ValueError:
        return None
    if not inplace:
        return Tensor._wrap((arr - mean) / std)
    xp.subtract(arr, mean, out=arr)
    xp.divide(arr, std, out=arr)
    tensor._vbox[0] += 1  # in-place write: autograd's version check must see it
    return tensor


class Compose:
    """Apply transforms one after the other.

    >>> Compose([Lambda(lambda x: x + 1), Lambda(lambda x: x * 10)])(1)
    20
    """

    def __init__(self, transforms) -> None:
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        format_string = self.__class__.__name__ + "("
        for t in self.transforms:
            format_string += f"\n    {t}"
        return format_string + "\n)"


class Lambda:
    """A user function as a transform."""

    def __init__(self, lambd) -> None:
        if not callable(lambd):
            raise TypeError("Argument lambd should be callable, got "
                            f"{repr(type(lambd).__name__)}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class ToTensor:
    """numpy (H x W x C) or PIL image -> float tensor C x H x W in [0, 1] (uint8 input)."""

    def __call__(self, pic) -> Tensor:
        return to_tensor(pic)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


class Normalize:
    """Per-channel ``(x - mean) / std`` of a float tensor image.

    >>> Normalize((0.1307,), (0.3081,))
    Normalize(mean=(0.1307,), std=(0.3081,))
    """

    def __init__(self, mean, std, inplace: bool = False) -> None:
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        return normalize(tensor, self.mean, self.std, self.inplace)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(mean={self.mean}, std={self.std})"


def _hflip(img):
    if isinstance(img, Tensor):
        return img.flip(-1)
    if _is_pil_image(img):
        return img.transpose(_PIL_IMAGE.Transpose.FLIP_LEFT_RIGHT)
    return np.ascontiguousarray(img[:, ::-1])  # numpy H x W [x C]


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p`` (one ``rand(1)`` draw per call)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, img):
        if rand(1) < self.p:
            return _hflip(img)
        return img

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"


def _hw(img) -> tuple[int, int]:
    if isinstance(img, Tensor):
        return int(img.shape[-2]), int(img.shape[-1])
    if _is_pil_image(img):
        return img.size[1], img.size[0]
    return img.shape[0], img.shape[1]


def _pad(img, padding: tuple[int, int, int, int], fill):
    """Constant padding (left, top, right, bottom)."""
    left, top, right, bottom = padding
    if _is_pil_image(img):
        img = np.asarray(img)
    if isinstance(img, Tensor):
        arr = img.numpy()
        widths = [(0, 0)] * (arr.ndim - 2) + [(top, bottom), (left, right)]
        return from_numpy(np.pad(arr, widths, constant_values=fill))
    widths = [(top, bottom), (left, right)] + [(0, 0)] * (img.ndim - 2)
    return np.pad(img, widths, constant_values=fill)


def _crop(img, top: int, left: int, height: int, width: int):
    if isinstance(img, Tensor):
        return img[..., top:top + height, left:left + width]
    if _is_pil_image(img):
        return img.crop((left, top, left + width, top + height))
    return img[top:top + height, left:left + width]


def _pair(size) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if len(size) == 1:
        return int(size[0]), int(size[0])
    return int(size[0]), int(size[1])


class RandomCrop:
    """Crop a random ``size`` window, after optional constant ``padding`` (torchvision's
    ``RandomCrop(32, padding=4)``); the offsets are ``randint`` draws as in torchvision."""

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0,
                 padding_mode: str = "constant") -> None:
        if padding_mode != "constant":
            raise NotImplementedError("nbtorch's RandomCrop pads with a constant only")
        self.size = _pair(size)
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img, output_size) -> tuple[int, int, int, int]:
        h, w = _hw(img)
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size "
                             f"{(h, w)}")
        if w == tw and h == th:
            return 0, 0, h, w
        i = randint(0, h - th + 1, size=(1,)).item()
        j = randint(0, w - tw + 1, size=(1,)).item()
        return i, j, th, tw

    def __call__(self, img):
        if self.padding is not None:
            p = self.padding
            p = ((p,) * 4 if isinstance(p, int) else
                 (p[0], p[1], p[0], p[1]) if len(p) == 2 else tuple(p))
            img = _pad(img, p, self.fill)
        h, w = _hw(img)
        if self.pad_if_needed and w < self.size[1]:
            img = _pad(img, (self.size[1] - w, 0, self.size[1] - w, 0), self.fill)
        if self.pad_if_needed and h < self.size[0]:
            img = _pad(img, (0, self.size[0] - h, 0, self.size[0] - h), self.fill)
        i, j, h, w = self.get_params(img, self.size)
        return _crop(img, i, j, h, w)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(size={self.size}, padding={self.padding})"
