"""nbtorch.save / nbtorch.load: round trips, safetensors interop, atomic writes, hostile files, and
checkpoints written by real PyTorch."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

import nbtorch
from nbtorch import serialization
from tests.helpers import needs_torch, real_torch

try:
    import safetensors.numpy as safetensors_numpy
except ImportError:  # pragma: no cover - depends on the machine
    safetensors_numpy = None

needs_safetensors = pytest.mark.skipif(safetensors_numpy is None,
                                       reason="safetensors is not installed")

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64",
          "complex64", "complex128"]
SHAPES = [(), (0,), (3,), (2, 3), (2, 0, 3)]


def sample(shape, dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=shape) * 50
    if dtype == "bool":
        return values > 0
    if dtype.startswith("complex"):
        return (values + 1j * rng.normal(size=shape)).astype(dtype)
    return values.astype(dtype) if dtype.startswith("float") else values.round().astype(
        dtype if dtype != "uint8" else "int64").astype(dtype)


def roundtrip(obj, **load_kwargs):
    buffer = io.BytesIO()
    nbtorch.save(obj, buffer)
    buffer.seek(0)
    return nbtorch.load(buffer, **load_kwargs)


def plain(obj):
    """A structure with tensors replaced by (dtype name, numpy values), for == comparisons."""
    if isinstance(obj, nbtorch.Tensor):
        return ("tensor", obj.dtype.name, obj.device.type, obj.detach().cpu().numpy().tolist())
    if real_torch is not None and isinstance(obj, real_torch.Tensor):
        return ("tensor", str(obj.dtype).removeprefix("torch."), obj.device.type,
                obj.detach().cpu().numpy().tolist())
    if isinstance(obj, dict):
        return (type(obj).__name__, [(k, plain(v)) for k, v in obj.items()])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [plain(v) for v in obj])
    return obj


# --- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_roundtrip_every_dtype_and_shape(dtype, shape):
    array = sample(shape, dtype)
    back = roundtrip(nbtorch.tensor(array))
    assert back.dtype.name == dtype and tuple(back.shape) == shape
    np.testing.assert_array_equal(back.numpy(), array)


def test_roundtrip_on_device(device):
    t = nbtorch.arange(6, dtype=nbtorch.float32, device=device).reshape(2, 3)
    back = roundtrip({"t": t})["t"]
    assert back.device == t.device  # restored where it was saved
    np.testing.assert_array_equal(back.cpu().numpy(), t.cpu().numpy())
    on_cpu = roundtrip({"t": t}, map_location="cpu")["t"]
    assert on_cpu.device.type == "cpu"
    np.testing.assert_array_equal(on_cpu.numpy(), t.cpu().numpy())


@pytest.mark.parametrize("view", [
    lambda x: x.t(), lambda x: x[:, ::2], lambda x: x[1:], lambda x: x.expand(3, 4, 5)[1],
    lambda x: x[2, 1], lambda x: x.t()[1:3],
], ids=["transpose", "step", "offset", "expand", "scalar", "transpose-slice"])
def test_non_contiguous_views_roundtrip(view):
    x = nbtorch.arange(20, dtype=nbtorch.float64).reshape(4, 5)
    v = view(x)
    back = roundtrip(v)
    assert back.shape == v.shape and back.is_contiguous()
    np.testing.assert_array_equal(back.numpy(), v.numpy())


def test_optimizer_like_state_dict_roundtrip():
    state = {
        "state": {
            0: {"step": nbtorch.tensor(3.0), "exp_avg": nbtorch.randn(2, 3),
                "exp_avg_sq": nbtorch.rand(2, 3)},
            1: {"step": nbtorch.tensor(3.0), "momentum_buffer": None},
        },
        "param_groups": [{
            "lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0, "amsgrad": False,
            "maximize": False, "foreach": None, "capturable": False, "params": [0, 1],
            "name": "encodér ✓",
        }],
    }
    back = roundtrip(state)
    assert plain(back) == plain(state)
    assert list(back["state"]) == [0, 1] and type(back["param_groups"][0]["betas"]) is tuple


def test_ordered_dict_order_and_types_are_kept():
    od = OrderedDict((k, nbtorch.tensor([float(i)])) for i, k in enumerate("zyxabc"))
    od._metadata = OrderedDict([("", {"version": 1})])  # as PyTorch's state_dict carries
    back = roundtrip(od)
    assert type(back) is OrderedDict and list(back) == list("zyxabc")
    assert back._metadata == od._metadata
    nested = {"b": OrderedDict(q=1, p=2), "a": {"y": [], "x": ()}}
    back = roundtrip(nested)
    assert type(back) is dict and type(back["b"]) is OrderedDict and list(back) == ["b", "a"]
    assert plain(back) == plain(nested)


def test_plain_python_values_roundtrip():
    values = [None, True, False, 0, -7, 2**80, -(2**70), 1.5, -0.0, 1e-300, float("inf"),
              float("-inf"), "", "naïve", 1 + 2j, (), [], {}, (1, (2, [3])),
              {(1, "a"): "tuple key", 2.5: "float key", None: "none key", True: "bool key"},
              nbtorch.Size([2, 3]), nbtorch.float16, nbtorch.device("cpu")]
    back = roundtrip(values)
    assert back == values
    assert [type(v) for v in back] == [type(v) for v in values]
    assert math.copysign(1, back[8]) == -1
    assert math.isnan(roundtrip(float("nan")))
    assert roundtrip(np.float32(2.5)) == 2.5 and roundtrip(np.int64(3)) == 3


def test_requires_grad_and_parameters_are_kept():
    p = nbtorch.nn.Parameter(nbtorch.randn(3))
    g = nbtorch.randn(2, requires_grad=True)
    back = roundtrip({"p": p, "g": g, "d": g.detach()})
    assert isinstance(back["p"], nbtorch.nn.Parameter) and back["p"].requires_grad
    assert back["g"].requires_grad and back["g"].is_leaf
    assert not back["d"].requires_grad and not isinstance(back["d"], nbtorch.nn.Parameter)


def test_shared_tensors():
    w = nbtorch.randn(3, 3)
    base = nbtorch.arange(6.0)
    sd = OrderedDict([("enc.weight", w), ("dec.weight", w),  # tied: the same tensor
                      ("enc.alias", w.detach()),  # same memory, another object
                      ("base", base), ("tail", base[2:])])  # overlapping views
    back = roundtrip(sd)
    assert back["dec.weight"] is back["enc.weight"]
    assert back["enc.alias"] is not back["enc.weight"]
    assert back["enc.alias"].data_ptr() == back["enc.weight"].data_ptr()
    back["enc.weight"].add_(1)
    np.testing.assert_array_equal(back["enc.alias"].numpy(), w.numpy() + 1)
    # Overlapping but different views are independent copies.
    back["base"].zero_()
    np.testing.assert_array_equal(back["tail"].numpy(), [2, 3, 4, 5])


def test_tensor_keys_follow_the_structure():
    buffer = io.BytesIO()
    nbtorch.save({"state": {0: {"exp_avg": nbtorch.zeros(1)}}, "x": [nbtorch.ones(1)]}, buffer)
    header = _header_of(buffer.getvalue())
    assert set(header) == {"__metadata__", "state.0.exp_avg", "x.0"}
    buffer = io.BytesIO()
    nbtorch.save({"__metadata__": nbtorch.zeros(1)}, buffer)  # safetensors' reserved name
    buffer.seek(0)
    assert list(nbtorch.load(buffer)) == ["__metadata__"]


def test_file_layout_is_aligned_safetensors():
    buffer = io.BytesIO()
    nbtorch.save(OrderedDict(a=nbtorch.ones(3, dtype=nbtorch.uint8),
                             b=nbtorch.ones(3, dtype=nbtorch.float64),
                             c=nbtorch.ones(1, dtype=nbtorch.float16)), buffer)
    raw = buffer.getvalue()
    n = int.from_bytes(raw[:8], "little")
    assert n % 8 == 0 and raw[8:9] == b"{"
    header = _header_of(raw)
    for key, info in header.items():
        if key != "__metadata__":
            size = {"U8": 1, "F64": 8, "F16": 2}[info["dtype"]]
            assert info["data_offsets"][0] % size == 0
    assert header["__metadata__"]["format"] == "pt"
    assert json.loads(header["__metadata__"]["nbtorch"])["version"] == 1


def test_mmap_load(tmp_path):
    path = tmp_path / "w.safetensors"
    x = nbtorch.randn(4, 4)
    nbtorch.save({"x": x}, path)
    before = path.read_bytes()
    back = nbtorch.load(path, mmap=True)
    np.testing.assert_array_equal(back["x"].numpy(), x.numpy())
    back["x"].mul_(2)  # copy-on-write: the file never changes
    assert path.read_bytes() == before
    with pytest.raises(ValueError, match="f must be a file path in order to use the mmap"):
        nbtorch.load(io.BytesIO(before), mmap=True)


def test_paths_file_objects_and_streams(tmp_path):
    x = nbtorch.arange(5)
    nbtorch.save(x, str(tmp_path / "a"))  # str path
    nbtorch.save(x, tmp_path / "b")  # PathLike
    with open(tmp_path / "c", "wb") as fh:
        nbtorch.save(x, fh)
    for name in "abc":
        np.testing.assert_array_equal(nbtorch.load(tmp_path / name).numpy(), x.numpy())
        with open(tmp_path / name, "rb") as fh:
            np.testing.assert_array_equal(nbtorch.load(fh, weights_only=False).numpy(),
                                          x.numpy())
        stream = _Stream((tmp_path / name).read_bytes())  # not seekable
        np.testing.assert_array_equal(nbtorch.load(stream).numpy(), x.numpy())
    with open(tmp_path / "a", encoding="latin-1") as text, pytest.raises(TypeError, match="rb"):
        nbtorch.load(text)


def test_save_through_a_symlink_keeps_the_link(tmp_path):
    if not hasattr(os, "symlink"):
        pytest.skip("no symlinks")
    target = tmp_path / "real.pt"
    nbtorch.save(nbtorch.zeros(1), target)
    link = tmp_path / "link.pt"
    link.symlink_to(target)
    nbtorch.save(nbtorch.ones(1), link)
    assert link.is_symlink()
    assert nbtorch.load(target).item() == 1.0


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_save_keeps_the_permissions_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "w.pt"
    nbtorch.save(nbtorch.zeros(1), path)
    os.chmod(path, 0o600)
    nbtorch.save(nbtorch.ones(1), path)
    assert (os.stat(path).st_mode & 0o777) == 0o600


# --- what cannot be saved ----------------------------------------------------------------------
def test_saving_a_module_says_to_save_its_state_dict():
    class Net(nbtorch.nn.Module):
        pass

    with pytest.raises(TypeError, match=r"Net.*state_dict\(\)"):
        nbtorch.save(Net(), io.BytesIO())
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        nbtorch.save({"model": Net()}, io.BytesIO())


@pytest.mark.parametrize("obj, error", [
    (object(), TypeError), ({1, 2}, TypeError), (np.zeros(2), TypeError),
    ({frozenset(): 1}, TypeError), ({"f": print}, TypeError),
])
def test_unsupported_objects_raise(obj, error):
    with pytest.raises(error, match="nbtorch.save"):
        nbtorch.save(obj, io.BytesIO())


def test_cycles_and_deep_nesting_raise():
    cyclic: list = []
    cyclic.append(cyclic)
    with pytest.raises(ValueError, match="cycle"):
        nbtorch.save(cyclic, io.BytesIO())
    deep: list = []
    for _ in range(serialization.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(ValueError, match="nested"):
        nbtorch.save(deep, io.BytesIO())


# --- safetensors interop -------------------------------------------------------------------------
@needs_safetensors
def test_state_dict_opens_with_safetensors(tmp_path):
    sd = OrderedDict([("fc.weight", nbtorch.randn(3, 2)), ("fc.bias", nbtorch.zeros(3)),
                      ("bn.num_batches_tracked", nbtorch.tensor(7)),
                      ("mask", nbtorch.tensor([True, False])),
                      ("half", nbtorch.ones(2, dtype=nbtorch.float16))])
    sd["tied.weight"] = sd["fc.weight"]
    path = tmp_path / "model.safetensors"
    nbtorch.save(sd, path)
    loaded = safetensors_numpy.load_file(str(path))
    assert set(loaded) == set(sd)
    for key, t in sd.items():
        assert loaded[key].dtype == t.numpy().dtype and loaded[key].shape == tuple(t.shape)
        np.testing.assert_array_equal(loaded[key], t.numpy())


@needs_safetensors
@pytest.mark.parametrize("mmap", [False, True])
def test_safetensors_file_loads_as_dict_of_tensors(tmp_path, mmap):
    arrays = {"b": np.arange(6, dtype=np.int32).reshape(2, 3), "a": np.float32(1.5) * np.ones(4),
              "empty": np.zeros((0, 2), np.float64), "scalar": np.array(2.5, np.float16),
              "flag": np.array([True, False])}
    path = tmp_path / "foreign.safetensors"
    safetensors_numpy.save_file(arrays, str(path), metadata={"format": "np"})
    loaded = nbtorch.load(path, mmap=mmap)
    assert type(loaded) is dict and list(loaded) == sorted(arrays)
    for key, array in arrays.items():
        assert isinstance(loaded[key], nbtorch.Tensor)
        assert loaded[key].numpy().dtype == array.dtype
        np.testing.assert_array_equal(loaded[key].numpy(), array)


# --- atomic writes -------------------------------------------------------------------------------
def test_failing_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    nbtorch.save({"w": nbtorch.zeros(1000)}, path)
    good = path.read_bytes()
    real_write = serialization._write_payload

    def failing(fh, header, arrays):
        fh.write(b"x" * 100)  # part of a file, then a failure (disk full, interrupt)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(serialization, "_write_payload", failing)
    with pytest.raises(OSError, match="No space"):
        nbtorch.save({"w": nbtorch.ones(1000)}, path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["ckpt.pt"]  # the temporary file was removed
    monkeypatch.setattr(serialization, "_write_payload", real_write)
    nbtorch.save({"w": nbtorch.ones(1000)}, path)
    assert nbtorch.load(path)["w"].sum().item() == 1000
    assert os.listdir(tmp_path) == ["ckpt.pt"]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_writer_killed_mid_save_leaves_the_previous_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    ready = tmp_path / "ready"
    nbtorch.save({"w": nbtorch.zeros(10_000)}, path)
    good = path.read_bytes()
    child = textwrap.dedent(f"""
        import time, nbtorch
        from nbtorch import serialization

        def slow(fh, header, arrays):
            fh.write(len(header).to_bytes(8, "little"))
            fh.write(header[: len(header) // 2])  # half a header
            fh.flush()
            open({str(ready)!r}, "w").close()
            time.sleep(60)

        serialization._write_payload = slow
        nbtorch.save({{"w": nbtorch.ones(10_000)}}, {str(path)!r})
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen([sys.executable, "-c", child], cwd=root,
                            env={**os.environ, "PYTHONPATH": root})
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert proc.poll() is None, "the writer exited early"
            assert time.monotonic() < deadline, "the writer never started writing"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert path.read_bytes() == good
    assert nbtorch.load(path)["w"].sum().item() == 0
    leftovers = sorted(set(os.listdir(tmp_path)) - {"ckpt.pt", "ready"})
    # The half-written temporary is a hidden file beside the target, never the target itself.
    assert len(leftovers) == 1 and leftovers[0].startswith(".ckpt.pt.")
    assert leftovers[0].endswith(".tmp")
    # A later save succeeds beside the garbage and replaces the file.
    nbtorch.save({"w": nbtorch.ones(3)}, path)
    assert nbtorch.load(path)["w"].sum().item() == 3


# --- hostile and damaged files ------------------------------------------------------------------
def _header_of(raw: bytes) -> dict:
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8:8 + n])


def _file(header, data: bytes = b"") -> io.BytesIO:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return io.BytesIO(len(text).to_bytes(8, "little") + text + data)


def _nbtorch_file(tree, tensors: dict, data: bytes) -> io.BytesIO:
    header = dict(tensors)
    header["__metadata__"] = {"nbtorch": json.dumps({"version": 1, "root": tree})}
    return _file(header, data)


def _load_error(fh, match=None) -> str:
    with pytest.raises(RuntimeError, match=match) as info:
        nbtorch.load(fh)
    return str(info.value)


def test_truncated_files_at_every_offset_raise_clearly():
    buffer = io.BytesIO()
    nbtorch.save(OrderedDict(a=nbtorch.randn(3), b=nbtorch.arange(4), c=nbtorch.zeros(0)), buffer)
    raw = buffer.getvalue()
    for cut in range(len(raw)):
        message = _load_error(io.BytesIO(raw[:cut]))
        assert "nbtorch.load" in message and ("truncated" in message or "beyond" in message)


def test_header_length_problems():
    assert "beyond" in _load_error(io.BytesIO((2**63).to_bytes(8, "little") + b"{}"))
    assert "beyond the end of the file" in _load_error(
        io.BytesIO((1000).to_bytes(8, "little") + b"{}"))
    _load_error(io.BytesIO(b"\x01\x02"), "truncated or empty")
    _load_error(io.BytesIO(b""), "truncated or empty")


@pytest.mark.parametrize("header, match", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[1, 2]", "not a JSON object"),
    ({"__metadata__": {"k": 1}}, "strings to strings"),
    ({"t": {"dtype": "F32", "shape": [2]}}, "needs dtype, shape and data_offsets"),
    ({"t": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}, "unknown dtype"),
    ({"t": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, "does not have"),
    ({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, "invalid shape"),
    ({"t": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, "invalid shape"),
    ({"t": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 4]}}, "too large"),
    ({"t": {"dtype": "F32", "shape": [2**31, 2**31], "data_offsets": [0, 4]}}, "needs"),
    ({"t": {"dtype": "F32", "shape": [0, 2**62, 2**62], "data_offsets": [0, 0]}}, "too large"),
    ({"t": {"dtype": "F32", "shape": [1] * 65, "data_offsets": [0, 4]}}, "invalid shape"),
    ({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, "needs 8 bytes"),
    ({"t": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, "invalid data_offsets"),
    ({"t": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}, "invalid data_offsets"),
    ({"t": {"dtype": "F32", "shape": [1], "data_offsets": [0.0, 4.0]}}, "invalid data_offsets"),
    ({"t": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}}, "beyond the data"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, "overlap"),
])
def test_bad_headers_raise(header, match):
    _load_error(_file(header, bytes(8)), match)


def test_bad_structures_raise():
    one = {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    data = bytes(4)
    cases = [
        ({"tensor": "missing"}, "not in the file"),
        ({"tensor": "t", "alias": "u"}, "alias"),
        ({"tensor": "t", "requires_grad": "yes"}, "requires_grad"),
        ({"tensor": "t", "device": "tpu:0"}, "unknown device location"),
        ({"tensor": "t", "dtype": "complex128"}, "complex128"),
        ({"tensor": "t", "evil": 1}, "malformed tensor node"),
        ({"pickle": "os.system"}, "malformed structure node"),
        ({"dict": [[["unhashable"], 1]]}, "unhashable"),
        ({"dict": [[{"tensor": "t"}, 1]]}, "tensor"),
        ({"dict": [1, 2]}, "malformed dict"),
        ({"float": "1e999"}, "malformed"),
        ({"size": [-1]}, "malformed"),
        ({"dtype": "object"}, "malformed"),
        ({"tuple": [], "extra": 1}, "malformed"),
    ]
    for tree, match in cases:
        _load_error(_nbtorch_file(tree, one, data), match)
    # requires_grad on an integer tensor
    ints = {"t": {"dtype": "I32", "shape": [1], "data_offsets": [0, 4]}}
    _load_error(_nbtorch_file({"tensor": "t", "requires_grad": True}, ints, data), "requires_grad")
    # an unknown format version, and metadata that is not JSON
    header = dict(one, __metadata__={"nbtorch": json.dumps({"version": 99, "root": None})})
    _load_error(_file(header, data), "version 99")
    _load_error(_file(dict(one, __metadata__={"nbtorch": "{oops"}), data), "not valid JSON")


def test_deeply_nested_structures_are_refused():
    deep = "[" * 100_000 + "]" * 100_000  # deeper than json's recursion limit
    _load_error(_file({"__metadata__": {"nbtorch": deep}}), "nested too deeply|not valid JSON")
    tree = None
    for _ in range(serialization.MAX_DEPTH + 5):
        tree = [tree]
    _load_error(_nbtorch_file(tree, {}, b""), "nested more than")


def test_shared_subtrees_do_not_expand():
    # A small file cannot describe a huge structure: shared references in a JSON tree are
    # always spelled out, so the tree's size is the file's size.
    tree = [[1, 2]] * 1000
    assert nbtorch.load(_nbtorch_file(tree, {}, b"")) == [[1, 2]] * 1000


# --- hostile PyTorch-style checkpoints (written by hand: no torch needed) --------------------
def _torch_zip(pkl: bytes, files: dict | None = None, byteorder: bytes = b"little") -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", byteorder)
        for name, data in (files or {}).items():
            z.writestr(f"archive/data/{name}", data)
    buffer.seek(0)
    return buffer


class _System:
    """Pickles as ``os.system(command)``, as a malicious checkpoint does."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Eval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('true')",))


def test_malicious_checkpoint_never_runs_code(tmp_path):
    sentinel = tmp_path / "pwned"
    payload = {"weight": _System(f"touch {sentinel}")}
    for protocol in (2, 4):
        pkl = pickle.dumps(payload, protocol=protocol)
        message = _load_error(_torch_zip(pkl), "refusing to load the global")
        assert "system" in message  # names the forbidden global (posix.system / nt.system)
        # the same pickle given directly, as PyTorch's legacy format would be
        _load_error(io.BytesIO(pkl), "pickle")
    assert not sentinel.exists()
    _load_error(_torch_zip(pickle.dumps(_Eval(), protocol=2)), "builtins.eval")
    _load_error(_torch_zip(pickle.dumps(print, protocol=2)), "builtins.print")


@pytest.mark.parametrize("pkl, match", [
    # LONG_BINPUT to a huge memo index: a memory bomb for the C unpickler, a no-op here.
    (b"\x80\x02N" + b"r" + (2**31).to_bytes(4, "little") + b".", None),
    # bytearray(10**12): ten bytes that would allocate a terabyte
    (b"\x80\x02c__builtin__\nbytearray\n\x8a\x05\x00\x10\xa5\xd4\xe8\x85R.", "bytearray"),
    (b"\x80\x02cbuiltins\nbytearray\nJ\x00\x00\x00\x40\x85R.", "bytearray"),
    # INST / OBJ / EXT opcodes are never needed by checkpoints
    (b"(ios\nsystem\nS'true'\no.", "unsupported pickle opcode"),
    (b"\x80\x02\x82\x01.", "unsupported pickle opcode"),
    # allowed globals used the wrong way
    (b"\x80\x02ccollections\nOrderedDict\n)R}X\x08\x00\x00\x00__dict__Nsb.", "refusing to set"),
    (b"\x80\x02]q\x00(K\x01K\x02u.", "not a dict"),
    (b"\x80\x02}(K\x01e.", "not a list"),
    (b"\x80\x02ccollections\nOrderedDict\nK\x01\x85R.", "malformed data.pkl"),
    (b"\x80\x02X\x00\x00\x00\x10abc", "truncated"),
    (b"\x80\x02N", "STOP"),
    (b"\x80\x02h\x07.", "unknown memo"),
    (b"\x80\x02NN.", "malformed data.pkl at STOP"),
    (b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R.", "encode"),
    (b"\x80\x02(X\x07\x00\x00\x00storageK\x00X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQ.",
     "malformed storage record"),
    (b"\x80\x02X\x03\x00\x00\x00abcQ.", "persistent id"),
    (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n(X\x01\x00\x00\x00aK\x00K\x01\x85K\x01\x85"
     b"\x89NtR.", "storage is a str"),
    (b"\x80\x02ctorch._utils\n_rebuild_parameter\n(K\x01\x88NtR.", "malformed Parameter"),
])
def test_hostile_pickles_are_refused(pkl, match):
    if match is None:
        assert nbtorch.load(_torch_zip(pkl)) is None
    else:
        _load_error(_torch_zip(pkl), match)


def _tensor_pickle(storage="FloatStorage", key="0", location="cpu", numel=4, offset=0,
                   size=(2, 2), stride=(2, 1)) -> bytes:
    """The data.pkl torch.save writes for ``OrderedDict(w=tensor)``, opcode by opcode."""

    def text(value: str) -> bytes:
        return b"X" + len(value.encode()).to_bytes(4, "little") + value.encode()

    def integer(value: int) -> bytes:
        return b"J" + value.to_bytes(4, "little", signed=True)

    def ints(values) -> bytes:
        return b"(" + b"".join(map(integer, values)) + b"t"

    def global_(module: str, name: str) -> bytes:
        return b"c" + module.encode() + b"\n" + name.encode() + b"\n"

    ordered_dict = global_("collections", "OrderedDict") + b")R"
    storage_id = (b"(" + text("storage") + global_("torch", storage) + text(key)
                  + text(location) + integer(numel) + b"tQ")
    tensor = (global_("torch._utils", "_rebuild_tensor_v2") + b"(" + storage_id
              + integer(offset) + ints(size) + ints(stride) + b"\x89" + ordered_dict + b"tR")
    return b"\x80\x02" + ordered_dict + text("w") + tensor + b"s."


def test_hand_written_torch_checkpoint_loads():
    values = np.arange(4, dtype=np.float32)
    back = nbtorch.load(_torch_zip(_tensor_pickle(), {"0": values.tobytes()}))
    assert type(back) is OrderedDict
    np.testing.assert_array_equal(back["w"].numpy(), values.reshape(2, 2))
    # big-endian checkpoints are byte-swapped
    back = nbtorch.load(_torch_zip(_tensor_pickle(), {"0": values.astype(">f4").tobytes()},
                                   byteorder=b"big"))
    np.testing.assert_array_equal(back["w"].numpy(), values.reshape(2, 2))


@pytest.mark.parametrize("kwargs, files, match", [
    ({}, {}, "no entry 'archive/data/0'"),
    ({}, {"0": bytes(12)}, "holds 12 bytes"),
    ({"size": (3, 2)}, {"0": bytes(16)}, "reaches past its storage"),
    ({"offset": 4, "size": (1,), "stride": (1,)}, {"0": bytes(16)}, "reaches past"),
    ({"size": (2, 2), "stride": (2,)}, {"0": bytes(16)}, "malformed tensor record"),
    ({"size": (-2, 2)}, {"0": bytes(16)}, "malformed tensor size"),
    ({"storage": "BFloat16Storage"}, {"0": bytes(8)}, "bfloat16"),
    ({"storage": "NoSuchStorage"}, {"0": bytes(8)}, "torch.NoSuchStorage"),
    ({"location": "tpu:0"}, {"0": bytes(16)}, "unknown device location"),
])
def test_damaged_torch_checkpoints(kwargs, files, match):
    _load_error(_torch_zip(_tensor_pickle(**kwargs), files), match)


def test_cuda_checkpoint_without_a_gpu_and_map_location():
    values = np.arange(4, dtype=np.float32)
    raw = _torch_zip(_tensor_pickle(location="cuda:0"), {"0": values.tobytes()}).getvalue()
    if not nbtorch.cuda.is_available():
        _load_error(io.BytesIO(raw), "torch.cuda.is_available\\(\\) is False")
    seen = []
    for where in ["cpu", nbtorch.device("cpu"), {"cuda:0": "cpu"},
                  lambda storage, location: seen.append(location) or storage]:
        back = nbtorch.load(io.BytesIO(raw), map_location=where)
        assert back["w"].device.type == "cpu"
        np.testing.assert_array_equal(back["w"].numpy(), values.reshape(2, 2))
    assert seen == ["cuda:0"]


def test_truncated_torch_zip_at_many_offsets():
    raw = _torch_zip(_tensor_pickle(), {"0": bytes(16)}).getvalue()
    for cut in range(0, len(raw), 7):
        with pytest.raises(RuntimeError, match="nbtorch.load"):
            nbtorch.load(io.BytesIO(raw[:cut]))


def test_legacy_and_foreign_formats_are_refused():
    legacy = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + b"rest of a legacy file"
    _load_error(io.BytesIO(legacy), "legacy")
    torchscript = io.BytesIO()
    with zipfile.ZipFile(torchscript, "w") as z:
        z.writestr("model/constants.pkl", b"")
        z.writestr("model/code/x.py", b"")
    torchscript.seek(0)
    _load_error(torchscript, "TorchScript")
    empty_zip = io.BytesIO()
    zipfile.ZipFile(empty_zip, "w").close()
    empty_zip.seek(0)
    _load_error(empty_zip, "not a PyTorch checkpoint")


# --- map_location ---------------------------------------------------------------------------
def test_map_location_forms():
    raw = io.BytesIO()
    nbtorch.save({"a": nbtorch.ones(2), "b": [nbtorch.zeros(1)]}, raw)

    def load(**kwargs):
        return nbtorch.load(io.BytesIO(raw.getvalue()), **kwargs)

    for where in [None, "cpu", nbtorch.device("cpu"), {"cpu": "cpu"}, {"cuda:0": "cpu"},
                  lambda t, location: None, lambda t, location: t]:
        back = load(map_location=where)
        assert back["a"].device.type == "cpu" and back["a"].sum().item() == 2
    seen = []
    load(map_location=lambda t, location: seen.append((tuple(t.shape), location)))
    assert seen == [((2,), "cpu"), ((1,), "cpu")]
    back = load(map_location=lambda t, location: t * 3)
    assert back["a"].sum().item() == 6
    with pytest.raises(TypeError, match="map_location must return a tensor"):
        load(map_location=lambda t, location: 1)
    with pytest.raises(ValueError, match="map_location should be"):
        load(map_location=5)
    if not nbtorch.cuda.is_available():  # PyTorch's error and wording
        with pytest.raises(RuntimeError, match=r"torch.cuda.is_available\(\) is False"):
            load(map_location="cuda")


def test_saved_cuda_tensor_needs_a_gpu_or_map_location():
    one = {"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}
    raw = _nbtorch_file({"tensor": "t", "device": "cuda:0"}, one, bytes(4)).getvalue()
    for where in ["cpu", {"cuda:0": "cpu"}]:
        assert nbtorch.load(io.BytesIO(raw), map_location=where)._data.tolist() == [0.0]
    locations = []
    nbtorch.load(io.BytesIO(raw), map_location=lambda t, loc: locations.append(loc) or t)
    assert locations == ["cuda:0"]
    if not nbtorch.cuda.is_available():
        _load_error(io.BytesIO(raw), "torch.cuda.is_available\\(\\) is False")


# --- real PyTorch checkpoints ----------------------------------------------------------------
class _Stream:
    """A read-only, non-seekable binary stream."""

    def __init__(self, data: bytes):
        self._buffer = io.BytesIO(data)

    def read(self, n=-1):
        return self._buffer.read(n)

    def seekable(self):
        return False


def _torch_model():
    torch = real_torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(8, 8, bias=False), torch.nn.Linear(8, 8))
    model[5].weight = model[4].weight  # tied weights
    model(torch.randn(3, 1, 4, 4))  # train mode: running stats and num_batches_tracked move
    return model


@needs_torch
def test_pytorch_state_dict_loads(tmp_path):
    torch = real_torch
    model = _torch_model()
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)
    back = nbtorch.load(path)
    expected = model.state_dict()
    assert type(back) is OrderedDict and list(back) == list(expected)
    assert plain(back) == plain(expected)
    assert back["1.num_batches_tracked"].dtype == nbtorch.int64
    assert back["1.num_batches_tracked"].item() == 1 and back["1.num_batches_tracked"].ndim == 0
    assert back._metadata == expected._metadata
    # tied weights share memory again
    assert back["4.weight"].data_ptr() == back["5.weight"].data_ptr()
    # file objects, non-seekable streams and map_location forms read the same
    raw = path.read_bytes()
    for source in (io.BytesIO(raw), _Stream(raw)):
        assert plain(nbtorch.load(source, map_location="cpu")) == plain(expected)
    storages = []
    nbtorch.load(path, map_location=lambda s, loc: storages.append((s.ndim, loc)) or s)
    assert storages and all(s == (1, "cpu") for s in storages)
    # and save again with nbtorch: the same values, readable by nbtorch
    resaved = tmp_path / "model.safetensors"
    nbtorch.save(back, resaved)
    again = nbtorch.load(resaved)
    assert plain(again) == plain(expected) and again._metadata == expected._metadata


@needs_torch
def test_pytorch_optimizer_state_dict_loads(tmp_path):
    torch = real_torch
    model = _torch_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.8, 0.9))
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(3, 1, 4, 4)).square().mean().backward()
        opt.step()
    path = tmp_path / "opt.pt"
    torch.save(opt.state_dict(), path)
    back = nbtorch.load(path)
    assert plain(back) == plain(opt.state_dict())
    assert back["param_groups"][0]["betas"] == (0.8, 0.9)
    assert isinstance(back["state"][0]["exp_avg"], nbtorch.Tensor)
    # a combined training checkpoint
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}, path)
    back = nbtorch.load(path)
    assert back["epoch"] == 3 and plain(back["model"]) == plain(model.state_dict())


@needs_torch
def test_pytorch_views_dtypes_and_parameters(tmp_path):
    torch = real_torch
    x = torch.arange(20.0).reshape(4, 5)
    obj = {
        "x": x, "t": x.t(), "tail": x[1:, ::2], "row": x[2], "expanded": x[0].expand(3, 5),
        "param": torch.nn.Parameter(torch.ones(2)), "grad": torch.ones(2, requires_grad=True),
        "empty": torch.zeros(0, 3), "scalar": torch.tensor(7, dtype=torch.int8),
        **{str(d): torch.arange(4).to(d) for d in (
            torch.bool, torch.uint8, torch.int16, torch.int32, torch.int64, torch.float16,
            torch.float64, torch.complex64, torch.complex128)},
        "extras": (torch.Size([2, 3]), torch.device("cpu"), torch.float16, {1, 2}, b"xy", 1j),
    }
    path = tmp_path / "views.pt"
    torch.save(obj, path)
    back = nbtorch.load(path)
    for key, value in obj.items():
        if isinstance(value, torch.Tensor):
            assert plain(back[key]) == plain(value), key
            if value.numel():  # (numpy gives empty arrays zero strides)
                assert back[key].stride() == value.stride(), key
    # views of one storage share memory, as in PyTorch
    back["x"][2, 0] = -1.0
    assert back["t"][0, 2].item() == -1.0 and back["row"][0].item() == -1.0
    assert isinstance(back["param"], nbtorch.nn.Parameter) and back["param"].requires_grad
    assert back["grad"].requires_grad and not back["t"].requires_grad
    size, device, dtype, small_set, data, imag = back["extras"]
    assert size == nbtorch.Size([2, 3]) and isinstance(size, nbtorch.Size)
    assert device == nbtorch.device("cpu") and dtype is nbtorch.float16
    assert (small_set, data, imag) == ({1, 2}, b"xy", 1j)


@needs_torch
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pytorch_pickle_protocols(tmp_path, protocol):
    torch = real_torch
    sd = _torch_model().state_dict()
    torch.save(sd, tmp_path / "p.pt", pickle_protocol=protocol)
    assert plain(nbtorch.load(tmp_path / "p.pt")) == plain(sd)


@needs_torch
def test_pytorch_unsupported_checkpoints(tmp_path):
    torch = real_torch
    torch.save(torch.ones(2), tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    _load_error(str(tmp_path / "legacy.pt"), "legacy")
    torch.save(torch.ones(2, dtype=torch.bfloat16), tmp_path / "bf16.pt")
    _load_error(str(tmp_path / "bf16.pt"), "bfloat16")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")  # a pickled Module
    _load_error(str(tmp_path / "module.pt"), "torch.nn.modules.linear.Linear")


@needs_torch
@needs_safetensors
def test_nbtorch_state_dict_opens_in_pytorch_via_safetensors(tmp_path):
    import safetensors.torch

    sd = OrderedDict(w=nbtorch.randn(3, 2), n=nbtorch.tensor(4))
    nbtorch.save(sd, tmp_path / "m.safetensors")
    loaded = safetensors.torch.load_file(str(tmp_path / "m.safetensors"))
    assert plain(OrderedDict((k, loaded[k]) for k in sd)) == plain(sd)


# --- with nbtorch's own modules --------------------------------------------------------------
def _nb_model():
    nn = nbtorch.nn
    needed = ("Sequential", "Conv2d", "BatchNorm2d", "ReLU", "Flatten", "Linear")
    if not all(hasattr(nn, name) for name in needed):
        pytest.skip("nbtorch.nn layers are not all written yet")
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8, 8, bias=False), nn.Linear(8, 8))
    model[5].weight = model[4].weight
    return model


def test_nbtorch_model_checkpoint_roundtrip(tmp_path):
    model = _nb_model()
    model(nbtorch.randn(3, 1, 4, 4))  # move the running statistics
    nbtorch.save(model.state_dict(), tmp_path / "m.pt")
    fresh = _nb_model()
    fresh.load_state_dict(nbtorch.load(tmp_path / "m.pt"))
    assert plain(fresh.state_dict()) == plain(model.state_dict())


@needs_torch
def test_pytorch_checkpoint_into_nbtorch_model(tmp_path):
    torch_model = _torch_model()
    real_torch.save(torch_model.state_dict(), tmp_path / "m.pt")
    model = _nb_model()
    model.load_state_dict(nbtorch.load(tmp_path / "m.pt"))
    assert plain(model.state_dict()) == plain(torch_model.state_dict())
