"""make_grid against torchvision's formula (run with real torch), and save_image."""

from __future__ import annotations

import math
import struct
import sys
import zlib

import numpy as np
import pytest

import nbtorch
from nbtorch.vision.utils import make_grid, save_image
from tests.helpers import real_torch


def torchvision_make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None,
                          scale_each=False, pad_value=0.0):
    """torchvision.utils.make_grid, step by step, with real torch."""
    torch = real_torch
    if isinstance(tensor, list):
        tensor = torch.stack(tensor, dim=0)
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = torch.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = torch.cat((tensor, tensor, tensor), 1)
    if normalize is True:
        tensor = tensor.clone()

        def norm_ip(img, low, high):
            img.clamp_(min=low, max=high)
            img.sub_(low).div_(max(high - low, 1e-5))

        def norm_range(t, value_range):
            if value_range is not None:
                norm_ip(t, value_range[0], value_range[1])
            else:
                norm_ip(t, float(t.min()), float(t.max()))

        if scale_each is True:
            for t in tensor:
                norm_range(t, value_range)
        else:
            norm_range(tensor, value_range)
    if tensor.size(0) == 1:
        return tensor.squeeze(0)
    nmaps = tensor.size(0)
    xmaps = min(nrow, nmaps)
    ymaps = int(math.ceil(float(nmaps) / xmaps))
    height, width = int(tensor.size(2) + padding), int(tensor.size(3) + padding)
    num_channels = tensor.size(1)
    grid = tensor.new_full((num_channels, height * ymaps + padding, width * xmaps + padding),
                           pad_value)
    k = 0
    for y in range(ymaps):
        for x in range(xmaps):
            if k >= nmaps:
                break
            grid.narrow(1, y * height + padding, height - padding).narrow(
                2, x * width + padding, width - padding).copy_(tensor[k])
            k = k + 1
    return grid


CASES = [
    ((5, 3, 4, 6), {}),
    ((5, 3, 4, 6), {"nrow": 2, "padding": 1}),
    ((7, 1, 3, 3), {"nrow": 3, "padding": 0, "pad_value": 0.5}),
    ((4, 3, 5, 5), {"normalize": True}),
    ((4, 3, 5, 5), {"normalize": True, "scale_each": True}),
    ((4, 3, 5, 5), {"normalize": True, "value_range": (-1.0, 1.0)}),
    ((4, 3, 5, 5), {"normalize": True, "value_range": (-0.5, 0.5), "scale_each": True}),
    ((1, 3, 4, 4), {}),
    ((1, 4, 4), {}),
    ((3, 4, 4), {"normalize": True}),
    ((4, 4), {"padding": 3}),
    ((2, 2, 3, 3), {"nrow": 1}),
]


@pytest.mark.parametrize("shape,kwargs", CASES)
def test_make_grid_equals_torchvision(shape, kwargs):
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    got = make_grid(nbtorch.tensor(x), **kwargs)
    assert got.dtype == nbtorch.float32
    if real_torch is None:
        return
    want = torchvision_make_grid(real_torch.tensor(x), **kwargs)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


def test_make_grid_layout_by_hand():
    images = nbtorch.stack([nbtorch.full((1, 2, 2), float(i + 1)) for i in range(3)])
    grid = make_grid(images, nrow=2, padding=1, pad_value=-1)
    assert tuple(grid.shape) == (3, 7, 7)  # 2 rows of (2 + 1) + 1, 2 columns of (2 + 1) + 1
    g = grid.numpy()[0]
    assert g[1, 1] == 1 and g[1, 4] == 2 and g[4, 1] == 3
    assert g[0].tolist() == [-1] * 7 and g[4, 4] == -1  # padding, and the unused last cell


def test_make_grid_list_input_and_input_untouched():
    imgs = [nbtorch.randn(3, 4, 4) for _ in range(3)]
    before = imgs[0].numpy().copy()
    grid = make_grid(imgs, normalize=True)
    np.testing.assert_array_equal(imgs[0].numpy(), before)
    assert tuple(grid.shape) == (3, 8, 20)
    assert 0.0 <= float(grid.min()) and float(grid.max()) <= 1.0


def test_make_grid_uint8_images():
    imgs = nbtorch.tensor(np.full((2, 3, 2, 2), 200, np.uint8))
    grid = make_grid(imgs, padding=1, pad_value=7)
    assert grid.dtype == nbtorch.uint8 and grid.numpy()[0, 0, 0] == 7
    assert grid.numpy()[0, 1, 1] == 200


def test_make_grid_errors():
    with pytest.raises(TypeError, match="tensor or list of tensors expected, got <class 'str'>"):
        make_grid("img")
    with pytest.raises(TypeError, match="got a list containing <class 'int'>"):
        make_grid([nbtorch.zeros(3, 2, 2), 1])
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        make_grid(nbtorch.zeros(2, 3, 2, 2), normalize=True, value_range=[0, 1])


def read_png(data: bytes) -> np.ndarray:
    """Decode the 8-bit, filter-0 PNGs that _write_png makes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, _, color, *_ = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = {0: 1, 2: 3, 6: 4}[color]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * channels)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, channels)


def expected_pixels(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)


def test_save_image_without_pillow(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # `from PIL import Image` now fails
    x = np.random.default_rng(0).random((3, 5, 4)).astype(np.float32)
    save_image(nbtorch.tensor(x), tmp_path / "img.png")
    np.testing.assert_array_equal(read_png((tmp_path / "img.png").read_bytes()),
                                  expected_pixels(x))
    with pytest.raises(ImportError, match="needs Pillow"):
        save_image(nbtorch.tensor(x), tmp_path / "img.jpg")


def test_save_image_batch_with_pillow(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    x = np.random.default_rng(1).random((4, 3, 6, 6)).astype(np.float32)
    save_image(nbtorch.tensor(x), tmp_path / "grid.png", nrow=2)
    grid = make_grid(nbtorch.tensor(x), nrow=2).numpy()
    np.testing.assert_array_equal(np.array(Image.open(tmp_path / "grid.png")),
                                  expected_pixels(grid))
