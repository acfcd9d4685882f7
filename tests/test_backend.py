"""Tests of nbtorch/backend.py: devices (parsing, printing, equality), array modules, transfers, and
PyTorch's errors when CUDA is absent."""

from __future__ import annotations

import numpy as np
import pytest

import nbtorch
from nbtorch import backend
from tests.helpers import assert_same_error, real_torch

CUDA = nbtorch.cuda.is_available()
no_cuda = pytest.mark.skipif(CUDA, reason="this machine has CUDA")
needs_cuda = pytest.mark.skipif(not CUDA, reason="needs a GPU")


@pytest.mark.parametrize("make, text", [
    (lambda m: m.device("cpu"), "device(type='cpu')"),
    (lambda m: m.device("cuda"), "device(type='cuda')"),
    (lambda m: m.device("cuda:1"), "device(type='cuda', index=1)"),
    (lambda m: m.device("cuda", 2), "device(type='cuda', index=2)"),
    (lambda m: m.device("cuda", index=2), "device(type='cuda', index=2)"),
    (lambda m: m.device(type="cuda", index=0), "device(type='cuda', index=0)"),
    (lambda m: m.device("cpu:0"), "device(type='cpu', index=0)"),
    (lambda m: m.device(m.device("cuda:3")), "device(type='cuda', index=3)"),
])
def test_device_repr(make, text):
    assert repr(make(nbtorch)) == text
    if real_torch is not None:
        assert repr(make(real_torch)) == text


@pytest.mark.parametrize("spec, text", [("cpu", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda:1"),
                                        ("cpu:0", "cpu:0")])
def test_device_str_type_index(spec, text):
    d = nbtorch.device(spec)
    assert str(d) == f"{d}" == text
    assert d.type == spec.split(":")[0]
    assert d.index == (int(spec.split(":")[1]) if ":" in spec else None)


def test_device_equality_and_hash():
    d = nbtorch.device
    assert d("cuda:0") == d("cuda", 0) and hash(d("cuda:0")) == hash(d("cuda", 0))
    assert d("cuda") != d("cuda:0")  # as in PyTorch: an index is not implied
    assert d("cpu") != d("cpu:0")
    assert d("cuda:2") != d("cuda:3") and d("cpu") != d("cuda")
    assert {d("cpu"): 1}[d("cpu")] == 1
    assert nbtorch.zeros(1).device == d("cpu")


@pytest.mark.parametrize("make, error, message", [
    (lambda m: m.device("gpu"), RuntimeError, "Expected one of cpu, cuda"),
    (lambda m: m.device("CPU"), RuntimeError, "Expected one of cpu, cuda"),
    (lambda m: m.device("cuda:x"), RuntimeError, "Invalid device string: 'cuda:x'"),
    (lambda m: m.device("cuda:-1"), RuntimeError, "Invalid device string: 'cuda:-1'"),
    (lambda m: m.device("cuda:"), RuntimeError, "Invalid device string: 'cuda:'"),
    (lambda m: m.device("cuda", -1), RuntimeError, "Device index must not be negative"),
    (lambda m: m.device("cuda:1", 1), RuntimeError,
     "type (string) must not include an index because index was passed explicitly: cuda:1"),
    (lambda m: m.device(3.5), TypeError,
     "device() received an invalid combination of arguments - got (float)"),
])
def test_device_errors(make, error, message):
    assert_same_error(make, error, message, compare="prefix")


def test_unknown_device_type_message_ends_like_torch():
    with pytest.raises(RuntimeError, match="device type at start of device string: gpu$"):
        nbtorch.device("gpu")


def test_canonical_device_and_array_modules():
    assert backend.canonical_device(None) == nbtorch.device("cpu")
    assert backend.canonical_device("cpu") is backend.CPU
    a = np.zeros(2)
    assert backend.device_of(a) == nbtorch.device("cpu")
    assert backend.device_of(np.float32(1)) == nbtorch.device("cpu")
    assert backend.xp_of(a) is np and backend.xp_of(np.float64(1)) is np
    assert backend.xp_for(backend.CPU) is np
    assert backend.to_device(a, backend.CPU) is a
    with backend.on_device(backend.CPU):
        pass


def test_scatter_add_sums_repeated_indices():
    target = np.zeros(3)
    backend.scatter_add(np, target, np.array([0, 2, 0]), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(target, [4.0, 0.0, 2.0])


@no_cuda
@pytest.mark.parametrize("make", [
    lambda m: m.zeros(2, device="cuda"),
    lambda m: m.ones(2, device="cuda:0"),
    lambda m: m.tensor([1.0], device="cuda"),
    lambda m: m.arange(3, device=m.device("cuda")),
    lambda m: m.full((2,), 1.0, device="cuda"),
    lambda m: m.eye(2, device="cuda"),
])
def test_cuda_device_without_cuda(make):
    message = "Torch not compiled with CUDA enabled"
    with pytest.raises(AssertionError) as got:
        make(nbtorch)
    assert str(got.value) == message
    if real_torch is not None and not real_torch.cuda.is_available():
        with pytest.raises(AssertionError) as want:
            make(real_torch)
        assert str(want.value) == message


@no_cuda
def test_cpu_only_machine_reports_no_gpu():
    assert backend.cupy_module() is None
    assert backend.cuda_device_count() == 0


@needs_cuda
def test_cuda_devices():
    g = nbtorch.zeros(2, device="cuda")
    assert g.device == nbtorch.device("cuda:0") and backend.device_of(g._data).index == 0
    assert backend.canonical_device("cuda") == nbtorch.device("cuda:0")
    assert backend.xp_of(g._data) is backend.cupy_module()
    count = backend.cuda_device_count()
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        backend.canonical_device(f"cuda:{count}")


@needs_cuda
def test_mixing_devices_names_both():
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device, but "
                                           "found at least two devices, (cuda:0 and cpu|cpu and "
                                           "cuda:0)!"):
        nbtorch.ones(2, device="cuda") + nbtorch.ones(2)


@needs_cuda
def test_zero_dim_cpu_tensor_mixes_with_cuda():
    out = nbtorch.ones(2, device="cuda") * nbtorch.tensor(3.0)
    assert out.is_cuda and out.cpu().tolist() == [3.0, 3.0]
