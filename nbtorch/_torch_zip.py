"""Reading checkpoints written by PyTorch's ``torch.save``, without torch and without ``pickle``.

A ``torch.save`` file is a zip archive::

    archive/data.pkl        the structure, pickled (protocol 2): dicts, lists, tensors ...
    archive/data/0, 1, ...  one file per storage: the raw bytes of its elements
    archive/byteorder       "little" or "big"

Each tensor in ``data.pkl`` is ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
...)`` where ``storage`` is a *persistent id* naming one of the ``data/`` files.

Unpickling runs whatever functions the pickle names, so this module never calls ``pickle.load``.
Like PyTorch's own ``weights_only`` unpickler it interprets the pickle opcodes itself, with an
allowlist of the few globals a checkpoint needs (OrderedDict, the tensor rebuild functions, storage
types, ``torch.Size``, ``torch.device``, dtypes, set, complex); any other global is refused with an
error that names it, before anything is called.  A hand-written interpreter rather than a
``pickle.Unpickler`` subclass with ``find_class``: the C unpickler also lets a file grow its memo to
any index (``LONG_BINPUT 2**31`` allocates gigabytes from ten bytes), call ``__setitem__`` or
``__setstate__`` on any object it built, and accepts opcodes (``INST``, ``OBJ``, ``EXT*``) a
checkpoint never needs.  Here the memo is a dict, containers are built only by the opcodes that
make them, and every opcode outside a small table is an error.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections import Counter, OrderedDict

import numpy as np

from . import _dtype, backend
from ._tensor import Size, Tensor

# A storage's element type, by the name ``torch.save`` writes (``GLOBAL 'torch FloatStorage'``).
_STORAGE_DTYPES = {
    "FloatStorage": _dtype.float32, "DoubleStorage": _dtype.float64,
    "HalfStorage": _dtype.float16, "LongStorage": _dtype.int64, "IntStorage": _dtype.int32,
    "ShortStorage": _dtype.int16, "CharStorage": _dtype.int8, "ByteStorage": _dtype.uint8,
    "BoolStorage": _dtype.bool_, "ComplexFloatStorage": _dtype.complex64,
    "ComplexDoubleStorage": _dtype.complex128,
}
_UNSUPPORTED_STORAGES = {
    "BFloat16Storage": "bfloat16", "QInt8Storage": "qint8", "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32", "QUInt4x2Storage": "quint4x2", "QUInt2x4Storage": "quint2x4",
}
_TORCH_DTYPES = {d.name: d for d in _dtype.ALL}

# The deflate format cannot compress better than about 1032:1; an entry that claims more is a
# zip bomb, refused before it is inflated.
_MAX_RATIO = 1032
_MAX_PICKLE_BYTES = 1 << 30


class _StorageType:
    """What ``GLOBAL 'torch FloatStorage'`` pushes: a marker carrying the element type."""

    __slots__ = ("name", "dtype")

    def __init__(self, name: str, dtype):
        self.name, self.dtype = name, dtype  # dtype None: untyped (bytes; v3 tensors give dtype)


class _Storage:
    """A loaded storage: a 1-d array of its elements, already on its target device."""

    __slots__ = ("array", "dtype", "key")

    def __init__(self, array, dtype, key):
        self.array, self.dtype, self.key = array, dtype, key


class TorchCheckpointReader:
    """Loads one ``torch.save`` zip archive; ``place(array, location)`` puts a storage's array on
    the device ``map_location`` asks for (``location`` is where it was saved, e.g. ``'cuda:0'``)."""

    def __init__(self, archive: zipfile.ZipFile, archive_size: int, place):
        self.zip = archive
        self.archive_size = archive_size
        self.place = place
        self.storages: dict[str, _Storage] = {}
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            if any(n.endswith("/constants.pkl") for n in names):
                raise RuntimeError(
                    "nbtorch.load: this is a TorchScript archive (torch.jit.save), which nbtorch "
                    "cannot load; save the model's state_dict() with torch.save instead")
            raise RuntimeError(
                "nbtorch.load: this zip archive is not a PyTorch checkpoint (expected exactly one "
                f"'<name>/data.pkl', found {len(pickles)})")
        self.prefix = pickles[0][: -len("data.pkl")]
        order = "little"
        if self.prefix + "byteorder" in names:
            order = self._read(self.prefix + "byteorder", 16).decode("ascii", "replace").strip()
            if order not in ("little", "big"):
                raise RuntimeError(f"nbtorch.load: unknown byteorder record {order!r}")
        self.byteorder = "<" if order == "little" else ">"

    def load(self):
        data = self._read(self.prefix + "data.pkl", _MAX_PICKLE_BYTES)
        return _Unpickler(data, self).load()

    # --- archive entries ---------------------------------------------------------------------
    def _info(self, name: str) -> zipfile.ZipInfo:
        try:
            info = self.zip.getinfo(name)
        except KeyError:
            raise RuntimeError(f"nbtorch.load: the checkpoint has no entry '{name}'") from None
        stored = info.compress_type == zipfile.ZIP_STORED
        if (stored and info.header_offset + info.file_size > self.archive_size) or (
                not stored and info.file_size > _MAX_RATIO * max(info.compress_size, 1)):
            raise RuntimeError(
                f"nbtorch.load: entry '{name}' claims {info.file_size} bytes, more than the "
                f"archive ({self.archive_size} bytes) can hold (truncated file or zip bomb)")
        return info

    def _read(self, name: str, limit: int) -> bytes:
        info = self._info(name)
        if info.file_size > limit:
            raise RuntimeError(
                f"nbtorch.load: entry '{name}' is {info.file_size} bytes, over the limit {limit}")
        return self._read_into(info, bytearray(info.file_size))

    def _read_into(self, info: zipfile.ZipInfo, buffer):
        view = memoryview(buffer).cast("B")
        try:
            with self.zip.open(info) as fh:
                got = 0
                while got < len(view):
                    n = fh.readinto(view[got:])
                    if not n:
                        break
                    got += n
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError,
                RuntimeError, zlib.error) as exc:  # (zipfile raises RuntimeError if encrypted)
            raise RuntimeError(f"nbtorch.load: cannot read '{info.filename}': {exc}") from None
        if got != len(view):
            raise RuntimeError(
                f"nbtorch.load: entry '{info.filename}' is truncated ({got} of {len(view)} bytes)")
        return buffer

    # --- what the pickle may call ------------------------------------------------------------
    def persistent_load(self, pid):
        if not (type(pid) is tuple and len(pid) == 5 and pid[0] in ("storage", b"storage")):
            raise RuntimeError(f"nbtorch.load: unsupported persistent id {_short(pid)}")
        _, kind, key, location, numel = pid
        if (type(kind) is not _StorageType or type(key) is not str or type(location) is not str
                or type(numel) is not int or numel < 0):
            raise RuntimeError(f"nbtorch.load: malformed storage record {_short(pid)}")
        cached = self.storages.get(key)
        if cached is not None:
            if cached.dtype is not kind.dtype or cached.array.shape[0] != numel:
                raise RuntimeError(
                    f"nbtorch.load: storage '{key}' is referenced with two different types")
            return cached
        dtype = kind.dtype or _dtype.uint8
        info = self._info(f"{self.prefix}data/{key}")
        nbytes = numel * dtype.itemsize
        if info.file_size != nbytes:
            raise RuntimeError(
                f"nbtorch.load: storage '{key}' holds {info.file_size} bytes, but its record "
                f"says {numel} elements of {dtype} ({nbytes} bytes)")
        raw = self._read_into(info, np.empty(nbytes, np.uint8))
        array = raw.view(dtype.np.newbyteorder(self.byteorder))
        if not array.dtype.isnative:
            array = array.astype(dtype.np)
        storage = _Storage(self.place(array, location), kind.dtype, key)
        self.storages[key] = storage
        return storage

    def rebuild_tensor(self, storage, storage_offset, size, stride, dtype=None):
        if type(storage) is not _Storage:
            raise RuntimeError(
                f"nbtorch.load: a tensor's storage is a {type(storage).__name__}, not a storage")
        array = storage.array
        if storage.dtype is None:  # an untyped storage (bytes): _rebuild_tensor_v3 gives the dtype
            if not isinstance(dtype, _dtype.dtype):
                raise RuntimeError("nbtorch.load: a tensor on an untyped storage has no dtype")
            if array.shape[0] % dtype.itemsize:
                raise RuntimeError(
                    f"nbtorch.load: storage '{storage.key}' is not a whole number of {dtype}")
            array = array.view(dtype.np)
        elif dtype is not None and dtype is not storage.dtype:
            raise RuntimeError(f"nbtorch.load: dtype {dtype} does not match its storage")
        size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
        if (type(storage_offset) is not int or storage_offset < 0 or len(size) != len(stride)
                or len(size) > 64):
            raise RuntimeError(
                f"nbtorch.load: malformed tensor record (offset {storage_offset!r}, size {size}, "
                f"stride {stride})")
        xp = backend.xp_of(array)
        if 0 in size:
            with backend.on_device(backend.device_of(array)):
                return Tensor._wrap(xp.empty(size, dtype=array.dtype))
        last = storage_offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= array.shape[0]:
            raise RuntimeError(
                f"nbtorch.load: a tensor of size {list(size)}, stride {list(stride)} at offset "
                f"{storage_offset} reaches past its storage '{storage.key}' "
                f"({array.shape[0]} elements)")
        # A view, not a copy: tensors that shared a storage (tied weights) share memory again.
        view = xp.lib.stride_tricks.as_strided(
            array[storage_offset:], shape=size,
            strides=tuple(s * array.itemsize for s in stride))
        return Tensor._wrap(view)

    def rebuild_tensor_v2(self, storage, storage_offset, size, stride, requires_grad=False,
                          backward_hooks=None, metadata=None):
        return _requires_grad(self.rebuild_tensor(storage, storage_offset, size, stride),
                              requires_grad)

    def rebuild_tensor_v3(self, storage, storage_offset, size, stride, requires_grad,
                          backward_hooks, dtype, metadata=None):
        return _requires_grad(self.rebuild_tensor(storage, storage_offset, size, stride, dtype),
                              requires_grad)

    def rebuild_tensor_v1(self, storage, storage_offset, size, stride):
        return self.rebuild_tensor(storage, storage_offset, size, stride)

    def rebuild_parameter(self, data, requires_grad, backward_hooks, state=None):
        from .nn.parameter import Parameter

        if type(data) is not Tensor or type(requires_grad) is not bool:
            raise RuntimeError("nbtorch.load: malformed Parameter record")
        return Parameter(data, requires_grad)

    def resolve_global(self, module: str, name: str):
        """The object ``GLOBAL module name`` stands for, if it is on the allowlist."""
        if module == "__builtin__":  # Python 2 names, which protocol 2 writes
            module = "builtins"
        if module == "builtins" and name in _BUILTINS:
            return _BUILTINS[name]
        if module == "collections" and name in ("OrderedDict", "Counter"):
            return OrderedDict if name == "OrderedDict" else Counter
        if module == "_codecs" and name == "encode":
            return _encode_bytes
        if module == "torch._utils" and name in _REBUILDERS:
            return getattr(self, _REBUILDERS[name])
        if module in ("torch", "torch.storage"):
            if name in _STORAGE_DTYPES:
                return _StorageType(name, _STORAGE_DTYPES[name])
            if name in ("UntypedStorage", "ByteStorage_untyped"):
                return _StorageType(name, None)
            if name in _UNSUPPORTED_STORAGES or (name in _NO_NBTORCH_DTYPE):
                dt = _UNSUPPORTED_STORAGES.get(name, name)
                raise RuntimeError(
                    f"nbtorch.load: the checkpoint holds {dt} tensors, a dtype nbtorch does not "
                    "have; convert them in PyTorch first (e.g. tensor.float())")
        if module == "torch":
            if name == "Size":
                return Size
            if name == "device":
                return backend.device
            if name in _TORCH_DTYPES:
                return _TORCH_DTYPES[name]
        raise RuntimeError(
            f"nbtorch.load: refusing to load the global '{module}.{name}': a checkpoint may only "
            "hold tensors, dicts, lists, tuples and plain Python values (nothing in the file is "
            "ever executed). Save model.state_dict() rather than the model.")


_REBUILDERS = {
    "_rebuild_tensor": "rebuild_tensor_v1", "_rebuild_tensor_v2": "rebuild_tensor_v2",
    "_rebuild_tensor_v3": "rebuild_tensor_v3", "_rebuild_parameter": "rebuild_parameter",
    "_rebuild_parameter_with_state": "rebuild_parameter",
}
_NO_NBTORCH_DTYPE = {"bfloat16", "uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2",
                     "complex32", "chalf", "bits8", "bits16"}


def _encode_bytes(text, encoding="latin1"):
    """``_codecs.encode``, which protocol-2 pickles use for ``bytes``; only latin-1, so a file
    cannot make the codec registry import anything."""
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise RuntimeError(f"nbtorch.load: refusing _codecs.encode with {encoding!r}")
    return text.encode("latin-1")


def _bytearray(data=b"", encoding=None):
    """``bytearray`` as protocol-2 pickles call it, never ``bytearray(n)`` (n zero bytes: a
    memory bomb in ten bytes of pickle)."""
    if type(data) is str and encoding in ("latin1", "latin-1"):
        return bytearray(data, "latin-1")
    if type(data) is bytes and encoding is None:
        return bytearray(data)
    raise RuntimeError("nbtorch.load: refusing bytearray() with these arguments")


_BUILTINS = {"set": set, "frozenset": frozenset, "complex": complex, "bytearray": _bytearray,
             "slice": slice}
# What REDUCE/NEWOBJ may call, besides the reader's own bound rebuild methods.
_CALLABLES = {OrderedDict, Counter, Size, backend.device, set, frozenset, complex, slice,
              _bytearray, _encode_bytes}


def _requires_grad(tensor: Tensor, flag) -> Tensor:
    if flag:
        if type(flag) is not bool or not (tensor.is_floating_point() or tensor.is_complex()):
            raise RuntimeError("nbtorch.load: requires_grad set on a non-floating tensor")
        tensor._requires_grad = True
    return tensor


def _int_tuple(value, what: str) -> tuple:
    if type(value) not in (tuple, Size) or not all(type(v) is int and v >= 0 for v in value):
        raise RuntimeError(f"nbtorch.load: malformed tensor {what} {_short(value)}")
    return tuple(value)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."


# --- the pickle interpreter ------------------------------------------------------------------
_MARK = object()


class _Unpickler:
    """A pickle-opcode interpreter for checkpoints (protocols 2 to 5, data only)."""

    def __init__(self, data: bytes, reader: TorchCheckpointReader):
        self.file = io.BytesIO(data)
        self.reader = reader
        self.memo: dict[int, object] = {}
        self.stack: list = []
        self.marks: list[list] = []

    def read(self, n: int) -> bytes:
        chunk = self.file.read(n) if n <= _MAX_PICKLE_BYTES else b""
        if len(chunk) != n:
            raise RuntimeError("nbtorch.load: data.pkl is truncated")
        return chunk

    def readline(self) -> str:
        line = self.file.readline(1024)
        if not line.endswith(b"\n"):
            raise RuntimeError("nbtorch.load: data.pkl is truncated or malformed")
        return line[:-1].decode("utf-8", "strict")

    def pop_mark(self) -> list:
        items = self.stack
        if not self.marks:
            raise RuntimeError("nbtorch.load: malformed data.pkl (no MARK)")
        self.stack = self.marks.pop()
        return items

    def load(self):
        try:
            while True:
                code = self.file.read(1)
                if not code:
                    raise RuntimeError("nbtorch.load: data.pkl ends without STOP (truncated)")
                handler = _OPCODES.get(code[0])
                if handler is None:
                    raise RuntimeError(
                        f"nbtorch.load: unsupported pickle opcode {code!r} at byte "
                        f"{self.file.tell() - 1} of data.pkl")
                if handler is _stop:
                    if len(self.stack) != 1 or self.marks:
                        raise RuntimeError("nbtorch.load: malformed data.pkl at STOP")
                    return self.stack.pop()
                handler(self)
        except (IndexError, KeyError, TypeError, ValueError, OverflowError, UnicodeDecodeError,
                struct.error, RecursionError) as exc:
            raise RuntimeError(f"nbtorch.load: malformed data.pkl ({type(exc).__name__}: "
                               f"{exc})") from None


def _call(u: _Unpickler, func, args):
    if type(args) is not tuple:
        raise RuntimeError("nbtorch.load: malformed data.pkl (REDUCE arguments not a tuple)")
    try:
        allowed = func in _CALLABLES or getattr(func, "__self__", None) is u.reader
    except TypeError:  # unhashable
        allowed = False
    if not allowed:
        raise RuntimeError(f"nbtorch.load: refusing to call {_short(func)} from data.pkl")
    return func(*args)


def _push(u, value):
    # Not ``u.stack.append(f(u.pop_mark()))``: that binds ``append`` to the stack before
    # pop_mark() replaces it.
    u.stack.append(value)


def _op_reduce(u):
    args = u.stack.pop()
    u.stack[-1] = _call(u, u.stack[-1], args)


def _op_newobj(u):
    args = u.stack.pop()
    cls = u.stack.pop()
    if not isinstance(cls, type):
        raise RuntimeError("nbtorch.load: NEWOBJ of a non-class")
    u.stack.append(_call(u, cls, args))  # cls(*args) for the allowed classes: same result


def _op_build(u):
    state = u.stack.pop()
    inst = u.stack[-1]
    # Only a state_dict's ``_metadata`` (OrderedDict attributes) is ever built from state.
    if type(inst) is not OrderedDict or type(state) is not dict or not all(
            type(k) is str and not k.startswith("__") for k in state):
        raise RuntimeError(
            f"nbtorch.load: refusing to set the state of a {type(inst).__name__} from data.pkl")
    inst.__dict__.update(state)


def _op_global(u):
    u.stack.append(u.reader.resolve_global(u.readline(), u.readline()))


def _op_stack_global(u):
    name, module = u.stack.pop(), u.stack.pop()
    if type(name) is not str or type(module) is not str:
        raise RuntimeError("nbtorch.load: malformed STACK_GLOBAL")
    u.stack.append(u.reader.resolve_global(module, name))


def _op_persid(u):
    u.stack.append(u.reader.persistent_load(u.stack.pop()))


def _op_setitems(u):
    items = u.pop_mark()
    target = u.stack[-1]
    if type(target) not in (dict, OrderedDict, Counter) or len(items) % 2:
        raise RuntimeError("nbtorch.load: SETITEMS on something that is not a dict")
    for i in range(0, len(items), 2):
        target[items[i]] = items[i + 1]


def _op_setitem(u):
    value, key = u.stack.pop(), u.stack.pop()
    target = u.stack[-1]
    if type(target) not in (dict, OrderedDict, Counter):
        raise RuntimeError("nbtorch.load: SETITEM on something that is not a dict")
    target[key] = value


def _op_append(u):
    item = u.stack.pop()
    if type(u.stack[-1]) is not list:
        raise RuntimeError("nbtorch.load: APPEND to something that is not a list")
    u.stack[-1].append(item)


def _op_appends(u):
    items = u.pop_mark()
    if type(u.stack[-1]) is not list:
        raise RuntimeError("nbtorch.load: APPENDS to something that is not a list")
    u.stack[-1].extend(items)


def _op_additems(u):
    items = u.pop_mark()
    if type(u.stack[-1]) is not set:
        raise RuntimeError("nbtorch.load: ADDITEMS to something that is not a set")
    u.stack[-1].update(items)


def _op_mark(u):
    u.marks.append(u.stack)
    u.stack = []


def _op_get(u, index):
    if index not in u.memo:
        raise RuntimeError(f"nbtorch.load: data.pkl refers to unknown memo entry {index}")
    u.stack.append(u.memo[index])


def _op_put(u, index):
    u.memo[index] = u.stack[-1]


def _string(u, n):
    return u.read(n).decode("utf-8", "surrogatepass")


def _stop(u):  # handled in the loop
    pass


def _u(fmt):
    size = struct.calcsize(fmt)
    return lambda u: struct.unpack(fmt, u.read(size))[0]


_u1, _u2, _u4, _i4, _u8 = _u("<B"), _u("<H"), _u("<I"), _u("<i"), _u("<Q")

_OPCODES = {
    0x80: lambda u: u.read(1),                                           # PROTO
    0x95: lambda u: _u8(u),                                              # FRAME (ignored)
    ord("."): _stop,                                                     # STOP
    ord("("): _op_mark,                                                  # MARK
    ord("0"): lambda u: u.stack.pop(),                                   # POP
    ord("1"): lambda u: u.pop_mark(),                                    # POP_MARK
    ord("N"): lambda u: u.stack.append(None),                            # NONE
    0x88: lambda u: u.stack.append(True),                                # NEWTRUE
    0x89: lambda u: u.stack.append(False),                               # NEWFALSE
    ord("J"): lambda u: u.stack.append(_i4(u)),                          # BININT
    ord("K"): lambda u: u.stack.append(_u1(u)),                          # BININT1
    ord("M"): lambda u: u.stack.append(_u2(u)),                          # BININT2
    0x8A: lambda u: u.stack.append(int.from_bytes(u.read(_u1(u)), "little", signed=True)),
    0x8B: lambda u: u.stack.append(int.from_bytes(u.read(_u4(u)), "little", signed=True)),
    ord("G"): lambda u: u.stack.append(struct.unpack(">d", u.read(8))[0]),  # BINFLOAT
    ord("X"): lambda u: u.stack.append(_string(u, _u4(u))),              # BINUNICODE
    0x8C: lambda u: u.stack.append(_string(u, _u1(u))),                  # SHORT_BINUNICODE
    0x8D: lambda u: u.stack.append(_string(u, _u8(u))),                  # BINUNICODE8
    ord("U"): lambda u: u.stack.append(u.read(_u1(u)).decode("ascii")),  # SHORT_BINSTRING
    ord("B"): lambda u: u.stack.append(u.read(_u4(u))),                  # BINBYTES
    ord("C"): lambda u: u.stack.append(u.read(_u1(u))),                  # SHORT_BINBYTES
    ord(")"): lambda u: u.stack.append(()),                              # EMPTY_TUPLE
    ord("t"): lambda u: _push(u, tuple(u.pop_mark())),                   # TUPLE
    0x85: lambda u: u.stack.append((u.stack.pop(),)),                    # TUPLE1
    0x86: lambda u: u.stack.append(tuple(u.stack.pop() for _ in range(2))[::-1]),  # TUPLE2
    0x87: lambda u: u.stack.append(tuple(u.stack.pop() for _ in range(3))[::-1]),  # TUPLE3
    ord("]"): lambda u: u.stack.append([]),                              # EMPTY_LIST
    ord("}"): lambda u: u.stack.append({}),                              # EMPTY_DICT
    0x8F: lambda u: u.stack.append(set()),                               # EMPTY_SET
    0x90: _op_additems,                                                  # ADDITEMS
    0x91: lambda u: _push(u, frozenset(u.pop_mark())),                   # FROZENSET
    ord("a"): _op_append,
    ord("e"): _op_appends,
    ord("s"): _op_setitem,
    ord("u"): _op_setitems,
    ord("c"): _op_global,
    0x93: _op_stack_global,
    ord("R"): _op_reduce,
    0x81: _op_newobj,
    ord("b"): _op_build,
    ord("Q"): _op_persid,                                                # BINPERSID
    ord("h"): lambda u: _op_get(u, _u1(u)),                              # BINGET
    ord("j"): lambda u: _op_get(u, _u4(u)),                              # LONG_BINGET
    ord("q"): lambda u: _op_put(u, _u1(u)),                              # BINPUT
    ord("r"): lambda u: _op_put(u, _u4(u)),                              # LONG_BINPUT
    0x94: lambda u: _op_put(u, len(u.memo)),                             # MEMOIZE
}
