"""Tests of nbtorch/cuda.py and nbtorch/accelerator.py: answers without a GPU match PyTorch's on a
CPU-only build; with a GPU, the basic queries work."""

from __future__ import annotations

import pytest

import nbtorch
from tests.helpers import real_torch

CUDA = nbtorch.cuda.is_available()
no_cuda = pytest.mark.skipif(CUDA, reason="this machine has CUDA")
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a GPU")
torch_cpu_only = real_torch is not None and not real_torch.cuda.is_available()


def test_queries_return_plain_python_values():
    assert isinstance(nbtorch.cuda.is_available(), bool)
    assert isinstance(nbtorch.cuda.device_count(), int)
    assert isinstance(nbtorch.accelerator.is_available(), bool)
    assert isinstance(nbtorch.accelerator.device_count(), int)
    assert nbtorch.accelerator.is_available() == nbtorch.cuda.is_available()


def test_the_usual_device_line_works():
    dev = nbtorch.device("cuda" if nbtorch.cuda.is_available() else "cpu")
    x = nbtorch.ones(2, device=dev)
    assert x.device.type == dev.type


@no_cuda
def test_without_cuda():
    assert nbtorch.cuda.is_available() is False
    assert nbtorch.cuda.device_count() == 0
    assert nbtorch.accelerator.is_available() is False
    assert nbtorch.accelerator.current_accelerator() is None
    assert nbtorch.accelerator.device_count() == 0
    if torch_cpu_only:
        assert real_torch.cuda.device_count() == 0
        assert real_torch.accelerator.current_accelerator() is None


@no_cuda
@pytest.mark.parametrize("call", [
    lambda m: m.cuda.current_device(),
    lambda m: m.cuda.get_device_name(),
    lambda m: m.cuda.synchronize(),
])
def test_cuda_calls_without_cuda_raise_torchs_assertion(call):
    with pytest.raises(AssertionError, match="^Torch not compiled with CUDA enabled$"):
        call(nbtorch)
    if torch_cpu_only:
        with pytest.raises(AssertionError, match="^Torch not compiled with CUDA enabled$"):
            call(real_torch)


@no_cuda
def test_set_device_without_cuda():
    with pytest.raises(AssertionError, match="Torch not compiled with CUDA enabled"):
        nbtorch.cuda.set_device(0)


@pytest.mark.skipif(not hasattr(nbtorch, "manual_seed"), reason="ops/random.py not written yet")
def test_manual_seed_is_silent_without_cuda():
    # PyTorch's cuda.manual_seed does nothing (lazily) when there is no GPU; so must nbtorch's.
    nbtorch.cuda.manual_seed(0)
    nbtorch.cuda.manual_seed_all(0)


@needs_cuda
def test_with_cuda():
    assert nbtorch.cuda.device_count() >= 1
    assert nbtorch.cuda.current_device() == 0
    assert isinstance(nbtorch.cuda.get_device_name(), str)
    assert isinstance(nbtorch.cuda.get_device_name(0), str)
    nbtorch.cuda.synchronize()
    nbtorch.cuda.set_device(0)
    assert nbtorch.accelerator.current_accelerator() == nbtorch.device("cuda")
