"""A restricted pickle reader for the CIFAR batch files: it never calls ``pickle.load``, never
imports a module and never calls anything named in the file.

CIFAR-10's ``data_batch_N``/``test_batch``/``batches.meta`` are Python-2 cPickle dicts of
strings, ints, lists and one numpy ``uint8`` array.  Unpickling runs whatever callables a file
names, so a hostile file could run code.  This interpreter understands only the opcodes those
files use (protocols 0-5: containers, ints, floats, strings, bytes, memo), and it recognises
numpy's array and dtype recipes (``numpy.core.multiarray._reconstruct`` + ``BUILD``,
``numpy.dtype``, ``_codecs.encode`` for bytes, protocol 5's ``_frombuffer``) by name, rebuilding
the array with ``np.frombuffer`` itself.  Every other global, and every other opcode, is refused
with ``UnsafePickleError`` before anything happens.
"""

from __future__ import annotations

import codecs
import struct

import numpy as np

__all__ = ["UnsafePickleError", "loads"]


class UnsafePickleError(ValueError):
    """The file uses something this reader does not allow (or is not a pickle)."""


_MARK = object()
# numpy's dtype descriptions this reader will build (plain numbers only: no objects, no records)
_DTYPES = {"b1", "u1", "i1", "u2", "i2", "u4", "i4", "u8", "i8", "f2", "f4", "f8"}


class _Global:
    """A name the file refers to; only the whitelisted ones below can be built from."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _PendingArray:
    """``_reconstruct(ndarray, (0,), b'b')``: an empty array whose BUILD state fills it (then
    ``value`` is the array, for memo references made before the BUILD)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = None


class _PendingDtype:
    __slots__ = ("dtype",)

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype


_ALLOWED = {
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.ndarray", "numpy.dtype", "_codecs.encode",
    "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
}


def _as_bytes(x) -> bytes:
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    if isinstance(x, str):  # a Python-2 str read as latin-1 (pickle's encoding="latin1")
        return x.encode("latin-1")
    raise UnsafePickleError(f"expected bytes, got {type(x).__name__}")


def _dtype(descr, byteorder: str = "|") -> np.dtype:
    descr = _as_bytes(descr).decode("ascii") if not isinstance(descr, str) else descr
    if descr[:1] in "<>|=":
        byteorder, descr = descr[0], descr[1:]
    if descr not in _DTYPES:
        raise UnsafePickleError(f"refusing numpy dtype {descr!r}")
    dt = np.dtype(descr)
    return dt.newbyteorder(byteorder) if byteorder in "<>" else dt


def _call(func: _Global, args: tuple):
    """REDUCE: only numpy's array/dtype recipes and bytes-from-latin-1."""
    name = func.name
    if name.endswith("._reconstruct"):
        if not (len(args) == 3 and isinstance(args[0], _Global)
                and args[0].name == "numpy.ndarray"):
            raise UnsafePickleError("unexpected arguments to numpy's _reconstruct")
        return _PendingArray()
    if name == "numpy.dtype":
        return _PendingDtype(_dtype(args[0]))
    if name == "_codecs.encode":
        if len(args) != 2 or args[1] not in ("latin1", "latin-1") or not isinstance(args[0],
                                                                                    str):
            raise UnsafePickleError("unexpected arguments to _codecs.encode")
        return args[0].encode("latin-1")
    if name.endswith("._frombuffer"):  # protocol 5: (buffer, dtype, shape, order)
        buf, dt, shape, order = args
        dt = dt.dtype if isinstance(dt, _PendingDtype) else dt
        if not isinstance(dt, np.dtype):
            raise UnsafePickleError("unexpected dtype in _frombuffer")
        return np.frombuffer(_as_bytes(buf), dtype=dt).reshape(_shape(shape), order=order)
    raise UnsafePickleError(f"refusing to call {name}")


def _shape(shape) -> tuple:
    if not isinstance(shape, tuple) or not all(type(n) is int and n >= 0 for n in shape):
        raise UnsafePickleError("bad array shape")
    return shape


def _build(obj, state):
    """BUILD: fill a pending array (numpy's __setstate__ recipe) or set a dtype's byte order."""
    if isinstance(obj, _PendingDtype):
        # (version, byteorder, subarray, names, fields, elsize, alignment, flags)
        if not isinstance(state, tuple) or len(state) < 2 or any(s is not None
                                                                 for s in state[2:5]):
            raise UnsafePickleError("refusing structured numpy dtype")
        order = state[1] if isinstance(state[1], str) else _as_bytes(state[1]).decode()
        obj.dtype = _dtype(obj.dtype.str[1:], order)
        return obj
    if isinstance(obj, _PendingArray):
        if not isinstance(state, tuple) or len(state) != 5:
            raise UnsafePickleError("unexpected numpy array state")
        _, shape, dt, fortran, raw = state
        dt = dt.dtype if isinstance(dt, _PendingDtype) else dt
        if not isinstance(dt, np.dtype):
            raise UnsafePickleError("unexpected numpy array dtype")
        flat = np.frombuffer(_as_bytes(raw), dtype=dt)
        shape = _shape(shape)
        if flat.size != int(np.prod(shape)):
            raise UnsafePickleError("numpy array data does not match its shape")
        obj.value = flat.reshape(shape, order="F" if fortran else "C")
        return obj.value
    raise UnsafePickleError(f"refusing to BUILD a {type(obj).__name__}")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise UnsafePickleError("truncated pickle data")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def line(self) -> bytes:
        end = self.data.find(b"\n", self.pos)
        if end < 0:
            raise UnsafePickleError("truncated pickle data")
        out = self.data[self.pos:end]
        self.pos = end + 1
        return out

    def unpack(self, fmt: str):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]


def _py2_string(text: bytes) -> str:
    """Protocol 0's STRING argument: a quoted Python-2 repr, read as latin-1."""
    if len(text) < 2 or text[:1] not in b"'\"" or text[-1:] != text[:1]:
        raise UnsafePickleError("bad STRING opcode")
    return codecs.escape_decode(text[1:-1])[0].decode("latin-1")


def _pop_mark(stack: list) -> list:
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is _MARK:
            items = stack[i + 1:]
            del stack[i:]
            return items
    raise UnsafePickleError("MARK not found")


def loads(data: bytes):
    """Read one pickled object from ``data`` under the restrictions in the module docstring.

    >>> import pickle
    >>> loads(pickle.dumps({"labels": [1, 2], "name": "batch"}, protocol=2))
    {'labels': [1, 2], 'name': 'batch'}
    >>> loads(b"cos\\nsystem\\n(S'echo hi'\\ntR.")
    Traceback (most recent call last):
    ...
    nbtorch.vision._safe_unpickle.UnsafePickleError: refusing global os.system
    """
    try:
        return _finish(_run(_Reader(bytes(data))))
    except UnsafePickleError:
        raise
    except (ValueError, TypeError, struct.error, OverflowError) as error:
        raise UnsafePickleError(f"malformed pickle data: {error}") from error


def _run(r: _Reader):
    stack: list = []
    memo: dict = {}

    def pop():
        if not stack or stack[-1] is _MARK:
            raise UnsafePickleError("stack underflow")
        return stack.pop()

    while True:
        op = r.take(1)
        if op == b"\x80":  # PROTO
            r.take(1)
        elif op == b"\x95":  # FRAME: a length prefix only
            r.take(8)
        elif op == b".":  # STOP
            return pop()
        elif op == b"(":
            stack.append(_MARK)
        elif op == b"}":
            stack.append({})
        elif op == b"]":
            stack.append([])
        elif op == b")":
            stack.append(())
        elif op == b"d":
            items = _pop_mark(stack)
            stack.append(dict(zip(items[::2], items[1::2])))
        elif op == b"l":
            stack.append(_pop_mark(stack))
        elif op == b"t":
            stack.append(tuple(_pop_mark(stack)))
        elif op in (b"\x85", b"\x86", b"\x87"):  # TUPLE1..3
            n = op[0] - 0x84
            if len(stack) < n or any(x is _MARK for x in stack[-n:]):
                raise UnsafePickleError("stack underflow")
            items = tuple(stack[-n:])
            del stack[-n:]
            stack.append(items)
        elif op == b"a":  # APPEND
            value = pop()
            _list(stack).append(value)
        elif op == b"e":  # APPENDS
            items = _pop_mark(stack)
            _list(stack).extend(items)
        elif op == b"s":  # SETITEM
            value, key = pop(), pop()
            _dict(stack)[_key(key)] = value
        elif op == b"u":  # SETITEMS
            items = _pop_mark(stack)
            d = _dict(stack)
            for k, v in zip(items[::2], items[1::2]):
                d[_key(k)] = v
        elif op == b"N":
            stack.append(None)
        elif op == b"\x88":
            stack.append(True)
        elif op == b"\x89":
            stack.append(False)
        elif op == b"J":
            stack.append(r.unpack("<i"))
        elif op == b"K":
            stack.append(r.unpack("<B"))
        elif op == b"M":
            stack.append(r.unpack("<H"))
        elif op == b"\x8a":  # LONG1
            stack.append(int.from_bytes(r.take(r.unpack("<B")), "little", signed=True))
        elif op == b"I":  # INT (protocol 0); "01"/"00" are True/False
            text = r.line()
            stack.append(text == b"01" if text in (b"01", b"00") else int(text))
        elif op == b"L":  # LONG (protocol 0)
            stack.append(int(r.line().rstrip(b"L")))
        elif op == b"F":
            stack.append(float(r.line()))
        elif op == b"G":
            stack.append(r.unpack(">d"))
        elif op == b"S":
            stack.append(_py2_string(r.line()))
        elif op == b"T":  # BINSTRING: a Python-2 str, read as latin-1 like encoding="latin1"
            stack.append(r.take(r.unpack("<i")).decode("latin-1"))
        elif op == b"U":  # SHORT_BINSTRING
            stack.append(r.take(r.unpack("<B")).decode("latin-1"))
        elif op == b"V":  # UNICODE (protocol 0)
            stack.append(r.line().decode("raw-unicode-escape"))
        elif op == b"X":
            stack.append(r.take(r.unpack("<I")).decode("utf-8"))
        elif op == b"\x8c":
            stack.append(r.take(r.unpack("<B")).decode("utf-8"))
        elif op == b"\x8d":
            stack.append(r.take(r.unpack("<Q")).decode("utf-8"))
        elif op == b"B":
            stack.append(r.take(r.unpack("<I")))
        elif op == b"C":
            stack.append(r.take(r.unpack("<B")))
        elif op in (b"\x8e", b"\x96"):  # BINBYTES8, BYTEARRAY8
            stack.append(r.take(r.unpack("<Q")))
        elif op == b"p":
            memo[int(r.line())] = stack[-1]
        elif op == b"q":
            memo[r.unpack("<B")] = stack[-1]
        elif op == b"r":
            memo[r.unpack("<I")] = stack[-1]
        elif op == b"\x94":  # MEMOIZE
            memo[len(memo)] = stack[-1]
        elif op in (b"g", b"h", b"j"):
            key = (int(r.line()) if op == b"g" else
                   r.unpack("<B") if op == b"h" else r.unpack("<I"))
            if key not in memo:
                raise UnsafePickleError("memo key not found")
            value = memo[key]
            if isinstance(value, _PendingArray) and value.value is not None:
                value = value.value
            stack.append(value)
        elif op == b"c":  # GLOBAL "module\nname\n"
            module, name = r.line().decode("ascii"), r.line().decode("ascii")
            stack.append(_global(module, name))
        elif op == b"\x93":  # STACK_GLOBAL
            name, module = pop(), pop()
            if not (isinstance(module, str) and isinstance(name, str)):
                raise UnsafePickleError("bad STACK_GLOBAL")
            stack.append(_global(module, name))
        elif op == b"R":  # REDUCE
            args, func = pop(), pop()
            if not isinstance(func, _Global) or not isinstance(args, tuple):
                raise UnsafePickleError("REDUCE of something that is not an allowed global")
            stack.append(_call(func, args))
        elif op == b"b":  # BUILD
            state = pop()
            stack.append(_build(pop(), state))
        else:
            raise UnsafePickleError(f"refusing pickle opcode {op!r} at byte {r.pos - 1}")


def _finish(result):
    """The finished object: dtypes unwrapped, and nothing half-built or callable left inside."""
    if isinstance(result, _PendingDtype):
        return result.dtype
    todo, seen = [result], set()
    while todo:
        obj = todo.pop()
        if id(obj) in seen:  # shared or cyclic references (memo GET)
            continue
        seen.add(id(obj))
        if isinstance(obj, (_PendingArray, _Global)):
            raise UnsafePickleError("incomplete object in pickle data")
        items = (obj.items() if isinstance(obj, dict) else
                 enumerate(obj) if isinstance(obj, list) else
                 obj if isinstance(obj, tuple) else ())
        if isinstance(obj, (dict, list)):
            for k, v in list(items):
                if isinstance(v, _PendingDtype):
                    obj[k] = v.dtype
                else:
                    todo.append(v)
        else:
            todo.extend(items)
    return result


def _global(module: str, name: str) -> _Global:
    full = f"{module}.{name}"
    if full not in _ALLOWED:
        raise UnsafePickleError(f"refusing global {full}")
    return _Global(full)


def _list(stack: list) -> list:
    if not stack or not isinstance(stack[-1], list):
        raise UnsafePickleError("APPEND to something that is not a list")
    return stack[-1]


def _dict(stack: list) -> dict:
    if not stack or not isinstance(stack[-1], dict):
        raise UnsafePickleError("SETITEM on something that is not a dict")
    return stack[-1]


def _key(key):
    if not isinstance(key, (str, bytes, int, float, bool, type(None), tuple)):
        raise UnsafePickleError("unhashable or unexpected dict key")
    return key
