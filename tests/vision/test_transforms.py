"""Transforms against torchvision's formulas (computed with real torch when installed)."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from nbtorch.vision import transforms as T
from tests.helpers import needs_torch, real_torch

try:
    from PIL import Image
except ImportError:  # pragma: no cover - depends on the machine
    Image = None

needs_pil = pytest.mark.skipif(Image is None, reason="Pillow is not installed")


def torchvision_to_tensor(pic: np.ndarray):
    """torchvision's to_tensor for an ndarray, written with real torch."""
    if pic.ndim == 2:
        pic = pic[:, :, None]
    img = real_torch.from_numpy(pic.transpose((2, 0, 1))).contiguous()
    if img.dtype == real_torch.uint8:
        return img.to(dtype=real_torch.get_default_dtype()).div(255)
    return img


@pytest.mark.parametrize("shape", [(5, 4, 3), (6, 7), (2, 3, 1)])
def test_to_tensor_uint8(shape):
    pic = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    got = T.ToTensor()(pic)
    chw = pic.reshape(shape[0], shape[1], -1).transpose(2, 0, 1)
    assert tuple(got.shape) == chw.shape and got.dtype == nbtorch.float32
    assert got.numpy().min() >= 0 and got.numpy().max() <= 1
    if real_torch is not None:
        np.testing.assert_array_equal(got.numpy(), torchvision_to_tensor(pic).numpy())


def test_to_tensor_keeps_other_dtypes():
    pic = np.arange(12, dtype=np.float64).reshape(2, 2, 3)
    got = T.to_tensor(pic)
    assert got.dtype == nbtorch.float64
    np.testing.assert_array_equal(got.numpy(), pic.transpose(2, 0, 1))


def test_to_tensor_errors():
    with pytest.raises(TypeError, match=r"pic should be PIL Image or ndarray. Got <class 'list'>"):
        T.ToTensor()([[1]])
    with pytest.raises(ValueError, match="pic should be 2/3 dimensional. Got 4 dimensions."):
        T.ToTensor()(np.zeros((1, 1, 1, 1), np.uint8))


@needs_pil
@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "1", "F", "I"])
def test_to_tensor_pil(mode):
    rng = np.random.default_rng(1)
    base = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    img = Image.fromarray(base, "RGB").convert(mode)
    got = T.ToTensor()(img)
    channels = len(img.getbands())
    assert tuple(got.shape) == (channels, 4, 5)
    if mode == "1":
        expected = 255 * np.array(img, np.uint8)
        np.testing.assert_allclose(got.numpy()[0], expected / np.float32(255))
    elif mode in ("F", "I"):
        np.testing.assert_array_equal(got.numpy()[0], np.array(img))
    else:
        expected = np.array(img).reshape(4, 5, channels).transpose(2, 0, 1)
        np.testing.assert_array_equal(got.numpy(), expected.astype(np.float32) / np.float32(255))


def test_normalize_values():
    x = nbtorch.tensor(np.random.default_rng(2).random((2, 3, 4, 4), dtype=np.float32))
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    got = T.Normalize(mean, std)(x)
    assert got is not x
    m = np.array(mean, np.float32)[:, None, None]
    s = np.array(std, np.float32)[:, None, None]
    np.testing.assert_allclose(got.numpy(), (x.numpy() - m) / s, rtol=1e-6)
    if real_torch is not None:  # torchvision: tensor.sub_(mean).div_(std)
        t = real_torch.tensor(x.numpy())
        want = t.clone().sub_(real_torch.as_tensor(mean).view(-1, 1, 1)).div_(
            real_torch.as_tensor(std).view(-1, 1, 1))
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_normalize_inplace():
    x = nbtorch.ones(1, 2, 2)
    out = T.Normalize([0.5], [0.25], inplace=True)(x)
    assert out is x and x.numpy().tolist() == [[[2.0, 2.0], [2.0, 2.0]]]


def test_normalize_errors():
    with pytest.raises(TypeError, match="Input tensor should be a float tensor. Got torch.int64."):
        T.normalize(nbtorch.zeros(1, 2, 2, dtype=nbtorch.int64), [0.0], [1.0])
    with pytest.raises(ValueError) as e:
        T.normalize(nbtorch.zeros(2, 2), [0.0], [1.0])
    assert str(e.value) == ("Expected tensor to be a tensor image of size (..., C, H, W). Got "
                            "tensor.size() = torch.Size([2, 2])")
    with pytest.raises(ValueError, match="std evaluated to zero after conversion to "
                                         "torch.float32, leading to division by zero."):
        T.normalize(nbtorch.zeros(1, 2, 2), [0.0], [0.0])
    with pytest.raises(TypeError, match="img should be Tensor Image"):
        T.normalize(np.zeros((1, 2, 2)), [0.0], [1.0])


def test_reprs_are_torchvisions():
    c = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,)), T.Lambda(lambda x: x)])
    assert repr(c) == ("Compose(\n    ToTensor()\n    Normalize(mean=(0.5,), std=(0.5,))\n"
                       "    Lambda()\n)")
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"
    assert repr(T.RandomCrop(32, padding=4)) == "RandomCrop(size=(32, 32), padding=4)"


def test_lambda_needs_a_callable():
    with pytest.raises(TypeError, match="Argument lambd should be callable, got 'int'"):
        T.Lambda(3)


@needs_torch
def test_random_horizontal_flip_draws_like_torchvision():
    img = nbtorch.arange(6.0).reshape(1, 2, 3)
    flip = T.RandomHorizontalFlip(p=0.5)
    nbtorch.manual_seed(0)
    got = [bool((flip(img) != img).any()) for _ in range(12)]
    real_torch.manual_seed(0)
    want = [bool(real_torch.rand(1) < 0.5) for _ in range(12)]
    assert got == want and any(got) and not all(got)
    np.testing.assert_array_equal(T._hflip(img).numpy(), img.numpy()[..., ::-1])
    arr = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(T._hflip(arr), arr[:, ::-1])


@needs_torch
def test_random_crop_draws_like_torchvision():
    img = nbtorch.arange(3 * 8 * 8, dtype=nbtorch.float32).reshape(3, 8, 8)
    crop = T.RandomCrop(8, padding=2)
    nbtorch.manual_seed(3)
    got = [crop(img) for _ in range(5)]
    real_torch.manual_seed(3)
    padded = np.pad(img.numpy(), [(0, 0), (2, 2), (2, 2)])
    for out in got:
        i = real_torch.randint(0, 12 - 8 + 1, size=(1,)).item()
        j = real_torch.randint(0, 12 - 8 + 1, size=(1,)).item()
        np.testing.assert_array_equal(out.numpy(), padded[:, i:i + 8, j:j + 8])


def test_random_crop_numpy_and_errors():
    arr = np.arange(25, dtype=np.uint8).reshape(5, 5)
    out = T.RandomCrop(3)(arr)
    assert out.shape == (3, 3)
    assert T.RandomCrop((5, 5))(arr) is not None
    padded = T.RandomCrop(7, pad_if_needed=True)(arr)
    assert padded.shape == (7, 7)
    with pytest.raises(ValueError, match=r"Required crop size \(6, 6\) is larger than input "
                                         r"image size \(5, 5\)"):
        T.RandomCrop(6)(arr)


def test_cifar_style_pipeline():
    pipeline = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                          T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    out = pipeline(img)
    assert tuple(out.shape) == (3, 32, 32) and out.dtype == nbtorch.float32
    assert -1.0 <= float(out.min()) and float(out.max()) <= 1.0



def test_normalize_shape_mismatch_is_pytorchs_error():
    with pytest.raises(RuntimeError) as e:
        T.normalize(nbtorch.zeros(1, 2, 2), [0.5, 0.5, 0.5], [1.0, 1.0, 1.0])
    if real_torch is not None:  # torchvision: tensor.clone().sub_(mean.view(-1, 1, 1))
        with pytest.raises(RuntimeError) as want:
            real_torch.zeros(1, 2, 2).sub_(real_torch.tensor([0.5, 0.5, 0.5]).view(-1, 1, 1))
        assert str(e.value) == str(want.value)


def test_normalize_keeps_gradients():
    x = nbtorch.ones(2, 1, 1, requires_grad=True)
    out = T.normalize(x, [0.5, 0.0], [0.5, 2.0])
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy().ravel(), [2.0, 0.5])
