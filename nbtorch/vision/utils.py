"""``make_grid`` and ``save_image``, as ``torchvision.utils``."""

from __future__ import annotations

import math
import os
import struct
import zlib

import numpy as np

from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..ops.shape import cat, stack

__all__ = ["make_grid", "save_image"]


def _normalized(tensor: Tensor, value_range, scale_each: bool) -> Tensor:
    """torchvision's normalize step: clamp to (low, high), then (x - low) / max(high - low, 1e-5),
    over the whole batch or image by image."""
    tensor = tensor.clone()  # the caller's tensor is not modified
    if value_range is not None and not isinstance(value_range, tuple):
        raise TypeError("value_range has to be a tuple (min, max) if specified. min and max are "
                        "numbers")

    def norm_ip(img, low, high):
        img.clamp_(min=low, max=high)
        img.sub_(low).div_(max(high - low, 1e-5))

    def norm_range(t):
        if value_range is not None:
            norm_ip(t, value_range[0], value_range[1])
        else:
            norm_ip(t, float(t.min()), float(t.max()))

    if scale_each is True:
        for t in tensor:  # each t is a view: the clone is normalized in place
            norm_range(t)
    else:
        norm_range(tensor)
    return tensor


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: tuple[float, float] | None = None, scale_each: bool = False,
              pad_value: float = 0.0) -> Tensor:
    """Tile a batch of images (B x C x H x W, or a list of C x H x W) into one C x H' x W' image:
    ``nrow`` images per row, ``padding`` pixels of ``pad_value`` around each; one-channel images
    become three-channel (grey).  ``normalize`` rescales to [0, 1] using ``value_range`` or the
    data's min and max (per image with ``scale_each``).  The same output as torchvision's.

    >>> import nbtorch as torch
    >>> make_grid(torch.ones(3, 1, 2, 2), nrow=2, padding=1).shape
    torch.Size([3, 7, 7])
    """
    if not isinstance(tensor, Tensor):
        if isinstance(tensor, list):
            for t in tensor:
                if not isinstance(t, Tensor):
                    raise TypeError("tensor or list of tensors expected, got a list containing "
                                    f"{type(t)}")
        else:
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    with no_grad():
        if isinstance(tensor, list):
            tensor = stack(tensor, dim=0)
        if tensor.dim() == 2:  # one H x W image
            tensor = tensor.unsqueeze(0)
        if tensor.dim() == 3:  # one C x H x W image
            if tensor.size(0) == 1:
                tensor = cat((tensor, tensor, tensor), 0)
            tensor = tensor.unsqueeze(0)
        if tensor.dim() == 4 and tensor.size(1) == 1:  # grey images shown as RGB
            tensor = cat((tensor, tensor, tensor), 1)
        if normalize is True:
            tensor = _normalized(tensor, value_range, scale_each)
        if tensor.size(0) == 1:
            return tensor.squeeze(0)

        nmaps = tensor.size(0)
        xmaps = min(nrow, nmaps)
        ymaps = int(math.ceil(float(nmaps) / xmaps))
        height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
        grid = tensor.new_full((tensor.size(1), height * ymaps + padding,
                                width * xmaps + padding), pad_value)
        # fill the raw arrays directly: one slice assignment per image, no graph to record
        out, images = grid._data, tensor._data
        for k in range(nmaps):
            y, x = divmod(k, xmaps)
            out[:, y * height + padding:(y + 1) * height,
                x * width + padding:(x + 1) * width] = images[k]
        return grid


def _write_png(path, pixels: np.ndarray) -> None:
    """A minimal PNG writer (8-bit grey, RGB or RGBA), for machines without Pillow."""
    h, w, c = pixels.shape
    color_type = {1: 0, 3: 2, 4: 6}[c]
    rows = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, w * c)], axis=1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n"
           + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))
    if hasattr(path, "write"):
        path.write(png)
    else:
        with open(path, "wb") as f:
            f.write(png)


def save_image(tensor, fp, format: str | None = None, **kwargs) -> None:
    """Save a tensor image (or a batch, through ``make_grid(**kwargs)``) as an image file:
    values in [0, 1] become 0..255.  Pillow writes any format it knows; without Pillow, PNG only.
    """
    grid = make_grid(tensor, **kwargs)
    # + 0.5 then truncation rounds to the nearest integer, as torchvision does
    with no_grad():
        ndarr = (grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu")
                 .numpy().astype(np.uint8))
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        Image.fromarray(ndarr).save(fp, format=format)
        return
    name = fp if isinstance(fp, (str, os.PathLike)) else ""
    if (format or os.path.splitext(os.fspath(name))[1][1:] or "png").lower() != "png":
        raise ImportError("saving formats other than PNG needs Pillow (pip install pillow)")
    _write_png(fp, ndarr)
