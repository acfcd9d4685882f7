"""``nbtorch.save`` and ``nbtorch.load``: tensors and state_dicts on disk, without pickle.

``save`` writes a safetensors file::

    8 bytes   N, the header's length (little-endian unsigned 64-bit)
    N bytes   a JSON header, padded with spaces to a multiple of 8:
              {"__metadata__": {"format": "pt", "nbtorch": "<the structure, as JSON>"},
               "<key>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
    the data  every tensor's raw little-endian bytes, back to back, largest element size first
              (so each tensor is aligned to its element size, as safetensors requires)

The structure is a JSON tree in the ``nbtorch`` metadata entry, ``{"version": 1, "root": node}``.
A node is JSON's null, true/false, a number, a string, a list (a Python list), or an object with
one tag: ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``, ``{"odict": [[key, value], ...],
"_metadata": node}`` (an OrderedDict; PyTorch's state_dicts carry ``_metadata``), ``{"float":
"nan"}`` (and "inf", "-inf"), ``{"complex": [re, im]}``, ``{"size": [...]}``, ``{"dtype":
"float32"}``, ``{"device": "cuda:0"}``, or a tensor ``{"tensor": key}`` with optional "device",
"requires_grad", "parameter", "dtype": "complex128", and "alias"/"same" (below).  Dict keys are
nodes too, so int keys (an optimizer's state) stay ints.  A flat dict of tensors (a state_dict)
uses its own keys as the tensor keys, so any safetensors reader sees the same names; other tensors
are keyed by their path (``state.0.exp_avg``).  nbtorch.load also reads safetensors files written
by other tools (as a dict of tensors).

Shared tensors: every reference is written in full under its own key (so a plain safetensors
reader sees every key of a state_dict, tied weights included), and references to the same memory
(the same tensor, or views with equal data pointer, shape, strides and dtype, as tied weights are)
are recorded as such: ``load`` gives them one shared array again (the very same object where it
was the same object).  Views that only overlap are saved as independent copies.  Non-contiguous
tensors are saved as contiguous copies (same values, fresh strides).

``load`` also reads checkpoints written by PyTorch's ``torch.save`` (see ``_torch_zip``); it never
unpickles anything.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import stat
import sys
import zipfile
from collections import OrderedDict

import numpy as np

from . import _dtype, backend
from ._tensor import Size, Tensor

__all__ = ["save", "load"]

FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit
MAX_DEPTH = 100  # nesting of the saved structure; far beyond any state_dict's (about 4)
MAX_NDIM = 64

# nbtorch dtype name -> safetensors dtype code.  complex128 has no code: it is stored as F64 with a
# trailing dimension of 2 (real, imaginary), and the structure records the dtype.
_CODES = {"bool": "BOOL", "uint8": "U8", "int8": "I8", "int16": "I16", "int32": "I32",
          "int64": "I64", "float16": "F16", "float32": "F32", "float64": "F64",
          "complex64": "C64"}
_FROM_CODE = {code: _dtype._by_name(name) for name, code in _CODES.items()}
_FOREIGN_CODES = {"BF16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",
                  "F6_E2M3", "F6_E3M2", "C128"}
_DTYPES_BY_NAME = {d.name: d for d in _dtype.ALL}
_PICKLE_HEADS = tuple(bytes([0x80, proto]) for proto in range(2, 6))


# --- save ------------------------------------------------------------------------------------
def save(obj, f, pickle_module=None, pickle_protocol=None, _use_new_zipfile_serialization=True,
         _disable_byteorder_record=False) -> None:
    """Save ``obj`` (a tensor, a state_dict, an optimizer's state_dict, or any nesting of dicts,
    OrderedDicts, lists and tuples of tensors, numbers, strings, bools and None) to ``f``.

    ``f`` is a path (written atomically: a temporary file in the same directory, fsync, then
    ``os.replace``, so a crash never leaves a half-written file where a good one was) or a
    binary file object.  Tensors on a GPU are copied to host memory; their device is recorded.
    Modules, optimizers and other objects are refused with a ``TypeError``: save their
    ``state_dict()``.  PyTorch's pickle arguments are accepted and ignored (nothing is pickled).

    >>> import io, nbtorch as torch
    >>> buffer = io.BytesIO()
    >>> torch.save({"w": torch.tensor([1.0, 2.0]), "step": 3}, buffer)
    >>> _ = buffer.seek(0)
    >>> torch.load(buffer)
    {'w': tensor([1., 2.]), 'step': 3}
    """
    encoder = _Encoder()
    tree = encoder.encode_root(obj)
    header, arrays = encoder.header(tree)
    if isinstance(f, (str, os.PathLike)):
        _atomic_write(f, header, arrays)
    elif hasattr(f, "write"):
        _write_payload(f, header, arrays)
    else:
        raise AttributeError(f"'{type(f).__name__}' object has no attribute 'write'")


class _Encoder:
    """Turns a structure into the JSON tree and the list of tensors to write."""

    def __init__(self):
        self.entries: list[tuple[str, str, list, np.ndarray]] = []  # key, code, shape, bytes
        self.keys: set[str] = set()
        self.by_object: dict[int, str] = {}  # id(tensor) -> its first key
        self.by_memory: dict[tuple, str] = {}  # (pointer, shape, strides, dtype, device) -> key
        self.keep: list = []  # the tensors seen, so that ids stay unique while saving
        self.active: set[int] = set()  # containers on the current path (cycle check)

    def encode_root(self, obj):
        flat = isinstance(obj, dict) and all(
            type(k) is str and isinstance(v, Tensor) for k, v in obj.items())
        return {"version": FORMAT_VERSION, "root": self.encode(obj, (), 0, flat)}

    def encode(self, obj, path: tuple, depth: int, flat: bool = False):
        if obj is None or type(obj) is bool:
            return obj
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, Tensor):
            return self.tensor(obj, path, flat)
        if isinstance(obj, (bool, int, float, complex, np.generic)):
            return _number(obj)
        if isinstance(obj, _dtype.dtype):
            return {"dtype": obj.name}
        if isinstance(obj, backend.device):
            return {"device": str(obj)}
        if not isinstance(obj, (dict, list, tuple)):
            raise TypeError(_unsupported(obj))
        if depth >= MAX_DEPTH:
            raise ValueError(f"nbtorch.save: the structure is nested more than {MAX_DEPTH} deep")
        if id(obj) in self.active:
            raise ValueError("nbtorch.save: the structure contains itself (a reference cycle)")
        self.active.add(id(obj))
        try:
            if isinstance(obj, Size):
                return {"size": [int(n) for n in obj]}
            if isinstance(obj, dict):
                items = [[self.key(k, depth), self.encode(v, path + (k,), depth + 1, flat)]
                         for k, v in obj.items()]
                if not isinstance(obj, OrderedDict):
                    return {"dict": items}
                node = {"odict": items}
                metadata = getattr(obj, "_metadata", None)  # PyTorch's state_dict versions
                if metadata is not None:
                    node["_metadata"] = self.encode(metadata, path + ("_metadata",), depth + 1)
                return node
            items = [self.encode(v, path + (i,), depth + 1) for i, v in enumerate(obj)]
            return items if isinstance(obj, list) else {"tuple": items}
        finally:
            self.active.discard(id(obj))

    def key(self, k, depth: int):
        """A dict key: str, int, float, bool, None, or a tuple of these."""
        if k is None or type(k) in (bool, str):
            return k
        if isinstance(k, (int, float, np.integer, np.floating)):
            return _number(k)
        if type(k) is tuple and depth < MAX_DEPTH:
            return {"tuple": [self.key(v, depth + 1) for v in k]}
        raise TypeError(f"nbtorch.save: dict keys must be str, int, float, bool, None or tuples "
                        f"of these, not {type(k).__name__}")

    def tensor(self, t: Tensor, path: tuple, flat: bool) -> dict:
        from .nn.parameter import Parameter

        name = str(path[0]) if flat else (".".join(map(str, path)) or "tensor")
        key, n = name, 1
        while key in self.keys or key == "__metadata__":
            n += 1
            key = f"{name}#{n}"
        self.keys.add(key)
        data = t._data
        device = str(backend.device_of(data))
        host = backend.to_device(data, backend.CPU)
        if not host.flags.c_contiguous:
            host = host.copy(order="C")  # (np.ascontiguousarray would make 0-d arrays 1-d)
        if host.dtype.byteorder == ">" or (host.dtype.byteorder == "=" and sys.byteorder == "big"):
            host = host.astype(host.dtype.newbyteorder("<"))
        node: dict = {"tensor": key}
        dtype_name = _dtype.FROM_NUMPY[data.dtype].name
        if dtype_name == "complex128":
            node["dtype"] = "complex128"
            code, shape = "F64", list(host.shape) + [2]
        else:
            code, shape = _CODES[dtype_name], list(host.shape)
        self.entries.append((key, code, shape, host.reshape(-1).view(np.uint8)))
        if device != "cpu":
            node["device"] = device
        if t.requires_grad:
            node["requires_grad"] = True
        if isinstance(t, Parameter):
            node["parameter"] = True
        memory = (t.data_ptr(), data.shape, data.strides, data.dtype.str, device)
        if id(t) in self.by_object:
            node["alias"], node["same"] = self.by_object[id(t)], True
        elif data.size and memory in self.by_memory:
            node["alias"] = self.by_memory[memory]
        else:
            self.by_object[id(t)] = key
            if data.size:
                self.by_memory[memory] = key
        self.keep.append(t)
        return node

    def header(self, tree) -> tuple[bytes, list[np.ndarray]]:
        # Largest element first: every tensor then starts at a multiple of its element size.
        order = sorted(self.entries, key=lambda e: -_FROM_CODE[e[1]].itemsize)
        header: dict = {"__metadata__": {
            "format": "pt", "nbtorch": json.dumps(tree, separators=(",", ":"), allow_nan=False)}}
        offset = 0
        for key, code, shape, raw in order:
            header[key] = {"dtype": code, "shape": shape,
                           "data_offsets": [offset, offset + raw.size]}
            offset += raw.size
        text = json.dumps(header, separators=(",", ":")).encode("ascii")
        text += b" " * (-len(text) % 8)
        return text, [raw for *_, raw in order]


def _number(x):
    if isinstance(x, np.generic):
        x = x.item()
        if isinstance(x, str):
            return x
    if type(x) is bool or isinstance(x, int):
        return x if type(x) in (bool, int) else int(x)
    if isinstance(x, float):
        x = float(x)
        return x if math.isfinite(x) else {"float": repr(x)}  # 'nan', 'inf', '-inf'
    if isinstance(x, complex):
        return {"complex": [_number(x.real), _number(x.imag)]}
    raise TypeError(_unsupported(x))


def _unsupported(obj) -> str:
    kind = type(obj).__name__
    if callable(getattr(obj, "state_dict", None)):
        return (f"nbtorch.save cannot save a {kind} object: nbtorch never pickles objects. Save "
                f"its state instead: nbtorch.save(obj.state_dict(), path), and restore it with "
                f"obj.load_state_dict(nbtorch.load(path)) (for a model: model.state_dict()).")
    return (f"nbtorch.save cannot save a {kind} object: it saves tensors, and dicts, "
            "OrderedDicts, lists and tuples of tensors, numbers, strings, bools and None "
            "(nothing is pickled)")


def _write_payload(fh, header: bytes, arrays) -> None:
    fh.write(len(header).to_bytes(8, "little"))
    fh.write(header)
    for raw in arrays:
        if raw.size:
            fh.write(memoryview(raw))


def _atomic_write(path, header: bytes, arrays) -> None:
    """Write to a temporary file beside ``path``, fsync it, then rename it over ``path``: a
    reader (or a crash) sees the old file or the new one, never half of one."""
    target = os.path.realpath(os.fsdecode(path))  # through a symlink, as torch.save writes
    directory, name = os.path.split(target)
    temp = os.path.join(directory, f".{name}.{secrets.token_hex(8)}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as for an ordinary open().
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with open(fd, "wb") as fh:
            with contextlib.suppress(OSError):  # keep the permissions of the file replaced
                os.chmod(fh.fileno(), stat.S_IMODE(os.stat(target).st_mode))
            _write_payload(fh, header, arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    with contextlib.suppress(OSError, AttributeError):  # make the rename itself durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


# --- load ------------------------------------------------------------------------------------
def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Load what ``save`` wrote, a safetensors file, or a checkpoint written by ``torch.save``.

    Returns the saved structure (OrderedDicts stay OrderedDicts, tuples stay tuples).
    ``map_location`` puts the tensors on a device, as in PyTorch: a device or string
    (``'cpu'``), a dict mapping saved locations to new ones (``{'cuda:1': 'cuda:0'}``), or a
    callable ``fn(tensor, location)`` returning the tensor to use (``None``: the default); by
    default tensors return to the device they were saved from.  For PyTorch checkpoints the
    callable receives each storage as a 1-d tensor, as PyTorch passes storages.

    Nothing in the file is executed: PyTorch checkpoints are read by an interpreter that knows
    only tensors and plain containers.  So ``weights_only=False`` loads exactly what ``True``
    does (there is nothing else to load); ``pickle_module`` and ``pickle_load_args`` are accepted
    for compatibility and ignored.  ``mmap=True`` maps a safetensors file's data instead of
    reading it (copy-on-write: the tensors are writable and the file never changes); PyTorch
    checkpoints are always read into memory.  A damaged or hostile file raises ``RuntimeError``
    naming the problem.

    >>> import io, nbtorch as torch
    >>> buffer = io.BytesIO()
    >>> torch.save([torch.arange(3), (1.5, None)], buffer)
    >>> _ = buffer.seek(0)
    >>> torch.load(buffer, map_location="cpu")
    [tensor([0, 1, 2]), (1.5, None)]
    """
    is_path = isinstance(f, (str, os.PathLike))
    if mmap and not is_path:
        raise ValueError("f must be a file path in order to use the mmap argument")
    place = _placer(map_location)
    with open(f, "rb") if is_path else contextlib.nullcontext(f) as fh:
        start = fh.tell() if _seekable(fh) else None
        head = fh.read(8)
        if not isinstance(head, bytes):
            raise TypeError("nbtorch.load needs a file opened in binary mode ('rb')")
        if head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06":
            return _load_torch_zip(fh, start, head, place)
        if len(head) < 8:
            raise RuntimeError(
                f"nbtorch.load: the file is truncated or empty ({len(head)} bytes; a safetensors "
                "file starts with an 8-byte header length)")
        size = None
        if start is not None:
            size = fh.seek(0, os.SEEK_END) - start
            fh.seek(start + 8)
        return _load_safetensors(fh, head, size, os.fsdecode(f) if mmap else None, place)


def _seekable(fh) -> bool:
    try:
        return bool(fh.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _load_safetensors(fh, head: bytes, size, mmap_path, place):
    n = int.from_bytes(head, "little")
    if n > MAX_HEADER_BYTES or (size is not None and 8 + n > size):
        if head.startswith(_PICKLE_HEADS):
            raise RuntimeError(
                "nbtorch.load: this is a pickle file (PyTorch's legacy pre-1.6 format, or plain "
                "pickle), which nbtorch never loads because unpickling runs code. Re-save it in "
                "PyTorch with torch.save (the zip format), or as safetensors.")
        where = f"the end of the file ({size} bytes)" if size is not None else "the size limit"
        raise RuntimeError(f"nbtorch.load: the header length {n} goes beyond {where}: the file "
                           "is truncated or not a safetensors/nbtorch file")
    text = fh.read(n)
    if len(text) != n:
        raise RuntimeError(f"nbtorch.load: the file is truncated inside its {n}-byte header")
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RuntimeError(f"nbtorch.load: the header is not valid JSON ({exc})") from None
    metadata, entries = _check_header(header)
    data_size = None if size is None else size - 8 - n
    needed = max((end for *_, end in entries.values()), default=0)
    if data_size is not None and needed > data_size:
        key = max(entries, key=lambda k: entries[k][-1])
        raise RuntimeError(
            f"nbtorch.load: tensor '{key}' has data_offsets {list(entries[key][2:])}, beyond the "
            f"data section ({data_size} bytes): the file is truncated or corrupt")
    if mmap_path is not None and needed:
        buffer = np.asarray(np.memmap(mmap_path, np.uint8, "c", 8 + n, (needed,)))
    else:
        buffer = _read_exactly(fh, needed)
    arrays = {key: _array_of(buffer, entry) for key, entry in entries.items()}
    if "nbtorch" not in metadata:  # a plain safetensors file: its tensors, by name
        return {key: Tensor._wrap(place(arrays[key], "cpu")) for key in sorted(arrays)}
    try:
        tree = json.loads(metadata["nbtorch"])
    except (ValueError, RecursionError) as exc:
        raise RuntimeError(f"nbtorch.load: the structure metadata is not valid JSON ({exc}); "
                           "it may be nested too deeply") from None
    if type(tree) is not dict or tree.get("version") != FORMAT_VERSION or "root" not in tree:
        version = tree.get("version") if type(tree) is dict else None
        raise RuntimeError(f"nbtorch.load: unknown structure format (version {version!r}; this "
                           f"nbtorch reads version {FORMAT_VERSION})")
    return _Decoder(arrays, place).decode(tree["root"], 0)


def _check_header(header) -> tuple[dict, dict]:
    """Validate a parsed safetensors header: key -> (dtype, shape, begin, end)."""
    if type(header) is not dict:
        raise RuntimeError("nbtorch.load: the header is not a JSON object")
    metadata = header.get("__metadata__", {})
    if type(metadata) is not dict or not all(
            type(k) is str and type(v) is str for k, v in metadata.items()):
        raise RuntimeError("nbtorch.load: __metadata__ must map strings to strings")
    entries = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if type(info) is not dict or not {"dtype", "shape", "data_offsets"} <= info.keys():
            raise RuntimeError(
                f"nbtorch.load: tensor '{key}' needs dtype, shape and data_offsets")
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if code not in _FROM_CODE:
            reason = ("a dtype nbtorch does not have" if code in _FOREIGN_CODES
                      else "an unknown dtype")
            raise RuntimeError(f"nbtorch.load: tensor '{key}' has dtype {code!r}, {reason}")
        dtype = _FROM_CODE[code]
        if (type(shape) is not list or len(shape) > MAX_NDIM
                or not all(type(d) is int and 0 <= d < 2**63 for d in shape)):
            raise RuntimeError(f"nbtorch.load: tensor '{key}' has an invalid shape {shape!r}")
        numel = math.prod(shape)
        if math.prod(d for d in shape if d) >= 2**63:
            raise RuntimeError(f"nbtorch.load: tensor '{key}' has a shape too large {shape}")
        if (type(offsets) is not list or len(offsets) != 2
                or not all(type(o) is int and o >= 0 for o in offsets)
                or offsets[0] > offsets[1]):
            raise RuntimeError(
                f"nbtorch.load: tensor '{key}' has invalid data_offsets {offsets!r}")
        begin, end = offsets
        if end - begin != numel * dtype.itemsize:
            raise RuntimeError(
                f"nbtorch.load: tensor '{key}' has data_offsets [{begin}, {end}] ({end - begin} "
                f"bytes), but {code} of shape {shape} needs {numel * dtype.itemsize} bytes")
        entries[key] = (dtype, tuple(shape), begin, end)
    previous = None
    for key, (*_, begin, end) in sorted(entries.items(), key=lambda e: e[1][2:]):
        if begin == end:
            continue
        if previous is not None and begin < entries[previous][3]:
            raise RuntimeError(f"nbtorch.load: tensors '{previous}' and '{key}' overlap "
                               f"(data_offsets {list(entries[previous][2:])} and "
                               f"{[begin, end]})")
        previous = key
    return metadata, entries


def _read_exactly(fh, n: int) -> np.ndarray:
    buffer = np.empty(n, np.uint8)
    view, got = memoryview(buffer), 0
    readinto = getattr(fh, "readinto", None)
    while got < n:
        if readinto is not None:
            count = readinto(view[got:])
        else:
            chunk = fh.read(min(n - got, 1 << 26))
            count = len(chunk)
            view[got:got + count] = chunk
        if not count:
            raise RuntimeError(f"nbtorch.load: the file is truncated: its tensors need {n} "
                               f"bytes of data, it holds {got}")
        got += count
    return buffer


def _array_of(buffer: np.ndarray, entry) -> np.ndarray:
    dtype, shape, begin, end = entry
    le = dtype.np.newbyteorder("<")
    if begin == end:
        return np.empty(shape, dtype.np)
    array = buffer[begin:end].view(le).reshape(shape)
    if not array.dtype.isnative or not array.flags.aligned:
        array = array.astype(dtype.np)  # a copy, native and aligned
    return array


class _Decoder:
    """Rebuilds the structure from the JSON tree, checking every node."""

    def __init__(self, arrays: dict, place):
        self.arrays = arrays
        self.place = place
        self.made: dict[str, Tensor] = {}  # key -> the tensor made for it

    def decode(self, node, depth: int):
        if depth > MAX_DEPTH:
            raise RuntimeError(f"nbtorch.load: the structure is nested more than {MAX_DEPTH} "
                               "deep")
        if node is None or type(node) in (bool, int, float, str):
            return node
        if type(node) is list:
            return [self.decode(v, depth + 1) for v in node]
        if type(node) is not dict:
            raise RuntimeError(f"nbtorch.load: malformed structure node {_short(node)}")
        if "tensor" in node:
            return self.tensor(node)
        if len(node) != 1 and not ("odict" in node and set(node) == {"odict", "_metadata"}):
            raise RuntimeError(f"nbtorch.load: malformed structure node {_short(node)}")
        kind, value = next(iter(node.items()))
        if kind in ("dict", "odict"):
            if type(value) is not list or not all(
                    type(p) is list and len(p) == 2 for p in value):
                raise RuntimeError(f"nbtorch.load: malformed {kind} node")
            pairs = [(self.key(k, depth + 1), self.decode(v, depth + 1)) for k, v in value]
            if kind == "dict":
                return dict(pairs)
            result = OrderedDict(pairs)
            if "_metadata" in node:
                result._metadata = self.decode(node["_metadata"], depth + 1)
            return result
        if kind == "tuple" and type(value) is list:
            return tuple(self.decode(v, depth + 1) for v in value)
        if kind == "size" and type(value) is list and all(
                type(v) is int and v >= 0 for v in value):
            return Size(value)
        if kind == "float" and value in ("nan", "inf", "-inf"):
            return float(value)
        if kind == "complex" and type(value) is list and len(value) == 2:
            re, im = (self.decode(v, depth + 1) for v in value)
            if type(re) is float and type(im) is float:
                return complex(re, im)
        if kind == "dtype" and value in _DTYPES_BY_NAME:
            return _DTYPES_BY_NAME[value]
        if kind == "device" and type(value) is str:
            try:
                return backend.device(value)
            except RuntimeError:
                pass
        raise RuntimeError(f"nbtorch.load: malformed structure node {_short(node)}")

    def key(self, node, depth: int):
        key = self.decode(node, depth)
        try:
            hash(key)
        except TypeError:
            raise RuntimeError(f"nbtorch.load: a dict key is unhashable ({_short(key)})") from None
        if isinstance(key, Tensor):
            raise RuntimeError("nbtorch.load: a dict key is a tensor")
        return key

    def tensor(self, node: dict) -> Tensor:
        from .nn.parameter import Parameter

        allowed = {"tensor", "dtype", "device", "requires_grad", "parameter", "alias", "same"}
        key = node["tensor"]
        if not node.keys() <= allowed or type(key) is not str:
            raise RuntimeError(f"nbtorch.load: malformed tensor node {_short(node)}")
        if key not in self.arrays:
            raise RuntimeError(f"nbtorch.load: the structure refers to tensor '{key}', which is "
                               "not in the file")
        array = self.arrays[key]
        if node.get("dtype", "complex128") != "complex128":
            raise RuntimeError(f"nbtorch.load: malformed tensor node {_short(node)}")
        if "dtype" in node:
            if array.dtype != np.float64 or not array.ndim or array.shape[-1] != 2:
                raise RuntimeError(f"nbtorch.load: tensor '{key}' is not a complex128 pair array")
            array = np.ascontiguousarray(array).view(np.complex128)[..., 0]
        alias = node.get("alias")
        if alias is not None:
            if alias not in self.made:
                raise RuntimeError(f"nbtorch.load: tensor '{key}' is an alias of '{alias}', "
                                   "which comes nowhere before it")
            original = self.made[alias]
            if original.shape != array.shape or original._data.dtype != array.dtype:
                raise RuntimeError(f"nbtorch.load: tensor '{key}' does not match its alias "
                                   f"'{alias}'")
            if node.get("same") is True:
                return original
            data = original._data
        else:
            location = node.get("device", "cpu")
            if type(location) is not str:
                raise RuntimeError(f"nbtorch.load: malformed device in {_short(node)}")
            data = self.place(array, location)
        requires_grad = node.get("requires_grad", False)
        if type(requires_grad) is not bool or (
                requires_grad and data.dtype.kind not in "fc"):
            raise RuntimeError(f"nbtorch.load: tensor '{key}' has an invalid requires_grad")
        if node.get("parameter", False) is True:
            tensor = Parameter(Tensor._wrap(data), requires_grad)
        else:
            tensor = Tensor._wrap(data, requires_grad)
        self.made.setdefault(key, tensor)
        return tensor


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."


# --- devices ---------------------------------------------------------------------------------
def _placer(map_location):
    """``place(array, location) -> array on its target device``, from ``map_location``."""
    if map_location is None:
        return _to_location
    if isinstance(map_location, (str, backend.device)):
        target = str(backend.device(map_location))
        return lambda array, location: _to_location(array, target)
    if isinstance(map_location, dict):
        def mapped(array, location):
            target = map_location.get(location, location)
            return _to_location(array, str(backend.device(target)))
        return mapped
    if callable(map_location):
        def called(array, location):
            result = map_location(Tensor._wrap(array), location)
            if result is None:
                return _to_location(array, location)
            if not isinstance(result, Tensor):
                raise TypeError("map_location must return a tensor (or None), got "
                                f"{type(result).__name__}")
            return result._data
        return called
    raise ValueError(
        "map_location should be either a string, a torch.device, a dict or a callable; got "
        f"{type(map_location).__name__}")


def _to_location(array, location: str):
    try:
        dev = backend.device(location)
    except (RuntimeError, TypeError):
        raise RuntimeError(f"nbtorch.load: unknown device location '{location}' (nbtorch "
                           "has cpu and cuda); pass map_location='cpu'") from None
    if dev.type == "cuda":
        if backend.cupy_module() is None:
            raise RuntimeError(
                "Attempting to deserialize object on a CUDA device but torch.cuda.is_available() "
                "is False. If you are running on a CPU-only machine, please use torch.load with "
                "map_location=torch.device('cpu') to map your storages to the CPU.")
        count = backend.cuda_device_count()
        if (dev.index or 0) >= count:
            raise RuntimeError(
                f"Attempting to deserialize object on CUDA device {dev.index} but "
                f"torch.cuda.device_count() is {count}. Please use torch.load with map_location "
                "to map your storages to an existing device.")
    return backend.to_device(array, backend.canonical_device(dev))


# --- PyTorch checkpoints ---------------------------------------------------------------------
def _load_torch_zip(fh, start, head: bytes, place):
    from ._torch_zip import TorchCheckpointReader

    if start is None:  # zipfile needs to seek: read a non-seekable stream into memory
        import io

        fh, start = io.BytesIO(head + fh.read()), 0
    archive_size = fh.seek(0, os.SEEK_END)  # zip offsets count from the stream's start
    fh.seek(start)
    try:
        archive = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise RuntimeError(f"nbtorch.load: not a readable zip archive (a truncated or corrupt "
                           f"PyTorch checkpoint?): {exc}") from None
    with archive:
        return TorchCheckpointReader(archive, archive_size, place).load()
