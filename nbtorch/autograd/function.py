"""Recording ops: ``Function`` (PyTorch's contract) and the backward ``Node`` it records
(``grad_fn``).

A Node is also the ``ctx`` that ``forward`` fills and ``backward`` reads, as in PyTorch.  Two kinds
of
Function exist:

* ``Function`` - PyTorch's public contract: ``forward(ctx, *tensors)`` runs without recording and
  returns tensors; ``backward(ctx, *grads)`` returns one gradient per input (``None`` where none).
* ``Op`` - nbtorch's primitives: ``forward`` receives the raw arrays (numpy or cupy) and returns
arrays,
  so the forward pass pays no wrapping cost; ``backward`` is written with tensor ops, so
  higher-order
  gradients come for free.

By convention, positional arguments of ``apply`` are the operands (tensors or Python numbers) and
get
one gradient each; op parameters (dims, flags) are keywords.  Gradients of broadcast inputs are
reduced
to the input's shape once, centrally, in ``Node.run_backward``.
"""

from __future__ import annotations

import itertools
import re
import traceback
import weakref

import numpy as np

from .. import backend
from . import events
from .anomaly import ANOMALY
from .events import LISTENERS
from .grad_mode import GRAD, no_grad
from .tensor_xp import TENSOR_XP

_sequence = itertools.count()
_ndarray = np.ndarray
_new = object.__new__
_NO_EDGE = (None, 0)
_RELEASED = object()

BACKWARD_TWICE = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)

Tensor = None  # set by nbtorch._tensor, which imports this module first


class Node:
    """A recorded operation in the backward graph: ``tensor.grad_fn``, and the ``ctx`` of its op."""

    # Hot attributes are slots; the rest live in the instance __dict__ and default to these class
    # attributes, so that recording an op sets only what it must.
    __slots__ = ("__dict__", "__weakref__", "_fn", "next_functions", "_saved", "_in_meta", "_seq",
                 "needs_input_grad")
    # The array module of the node's device: numpy unless set per node (cupy), or TENSOR_XP while
    # a backward with create_graph runs.
    xp = np
    _out_meta = None
    _hooks = _pre_hooks = _tensor_hooks = _retained = None
    _hooked = False  # any of the four above was ever set: one check in the engine's hot loop
    _non_diff = ()
    _trace = None
    _materialize = True

    def __init__(self, fn):
        self._fn = fn
        # needs_input_grad: one bool per input (does it need a gradient?); () when nothing is
        # recorded.
        self.next_functions = self._saved = self._in_meta = self.needs_input_grad = ()
        self._seq = next(_sequence)

    @property
    def metadata(self) -> dict:
        return self.__dict__.setdefault("_metadata", {})

    # --- what PyTorch shows of a grad_fn ---------------------------------------------------------
    def name(self) -> str:
        return self._fn._backward_name

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def num_outputs(self) -> int:
        return 1 if self._out_meta is None else len(self._out_meta)

    # --- ctx API used by forward and backward ----------------------------------------------------
    def save_for_backward(self, *items) -> None:
        """Keep tensors (or, in an ``Op``, arrays) for backward; modifying them in place is
        caught."""
        self._saved = items

    @property
    def saved_tensors(self) -> tuple:
        """Tensors, or raw arrays while an ``Op``'s backward runs without ``create_graph``."""
        saved = self._saved
        if saved is _RELEASED:
            raise RuntimeError(BACKWARD_TWICE)
        if not MODE.arrays:
            return tuple([_unpack(self, entry, False) for entry in saved])
        out = []  # the hot path of every backward step: inlined
        for entry in saved:
            if entry is None:
                out.append(None)
                continue
            kind, payload, version = entry
            if kind == 3:
                out.append(payload)
            elif kind == 1:
                if payload[1][0] != version:
                    return tuple([_unpack(self, e, True) for e in saved])  # raises
                out.append(payload[0])
            elif payload._vbox[0] != version:
                return tuple([_unpack(self, e, True) for e in saved])  # raises
            else:
                out.append(payload._data)
        return tuple(out)

    def mark_non_differentiable(self, *items) -> None:
        self._non_diff = items

    def mark_dirty(self, *tensors) -> None:
        """Accepted for compatibility; nbtorch's in-place ops bump version counters themselves."""

    def set_materialize_grads(self, value: bool) -> None:
        self._materialize = bool(value)

    # --- hooks -----------------------------------------------------------------------------------
    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` runs after this node's backward; it may return new
        ``grad_inputs``."""
        if self._hooks is None:
            self._hooks = {}
            self._hooked = True
        return _add_hook(self._hooks, fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` runs before this node's backward; it may return new
        ``grad_outputs``."""
        if self._pre_hooks is None:
            self._pre_hooks = {}
            self._hooked = True
        return _add_hook(self._pre_hooks, fn)

    # --- running backward -------------------------------------------------------------------------
    def run_backward(self, grads: list, create_graph: bool = False) -> tuple:
        """Apply this node's backward rule to the gradients of its outputs; one gradient per input.

        Without ``create_graph`` the gradients are raw arrays and an ``Op``'s backward runs on them
        with ``ctx.xp`` = numpy/cupy (fast); with it they are Tensors and ``ctx.xp`` is
        ``TENSOR_XP``, numpy's names over differentiable ops, so the same formula records a graph.
        """
        if self._pre_hooks:
            replaced = _call_hooks(self._pre_hooks, create_graph, tuple(grads))
            grads = list(replaced) if replaced is not None else grads
        if self._out_meta is not None and self._materialize:
            grads = [g if g is not None or meta is None else _zeros(meta, create_graph)
                     for g, meta in zip(grads, self._out_meta)]
        fn = self._fn
        if fn._array_backward and not create_graph:  # the common case first
            # The engine has set MODE.arrays for the whole step: saved_tensors gives arrays.
            result = fn.backward(self, grads[0]) if len(grads) == 1 else fn.backward(self, *grads)
            if type(result) is not tuple:
                result = (result,)
        elif fn._array_backward:
            array_xp, self.xp = self.xp, TENSOR_XP
            try:
                result = fn.backward(self, *grads)
            finally:
                self.xp = array_xp
            if type(result) is not tuple:
                result = (result,)
        else:
            arrays, MODE.arrays = MODE.arrays, False  # public Functions always see Tensors
            try:
                result = fn.backward(self, *(_as_tensor(g) for g in grads))
            finally:
                MODE.arrays = arrays
            if not isinstance(result, tuple):
                result = (result,)
            for r in result:
                if r is not None and not isinstance(r, Tensor):
                    raise RuntimeError(f"expected Variable or None (got {type(r).__name__})")
            if not create_graph:
                result = tuple(r._data if isinstance(r, Tensor) else r for r in result)
        keep = fn._edge_args
        if keep is not None:  # one gradient per operand -> one per edge
            result = tuple([result[i] if i < len(result) else None for i in keep])
        edges = self.next_functions
        if len(result) != len(edges):
            result = self._fit(result)
        conformed = []
        i = 0
        for g, edge, meta in zip(result, edges, self._in_meta):
            if g is not None:
                if edge[0] is None:
                    g = None
                elif create_graph or type(g) is not _ndarray or g.shape != meta[0] \
                        or g.dtype != meta[1]:
                    g = self._conform(i, g, create_graph)
            conformed.append(g)
            i += 1
        result = conformed
        if self._hooks:
            replaced = _call_hooks(self._hooks, create_graph, result, tuple(grads))
            result = tuple(replaced) if replaced is not None else result
        if ANOMALY.enabled:
            ANOMALY.check_gradients(self, result)
        return result

    def _fit(self, result: tuple) -> tuple:
        """One gradient per edge: trailing Nones are dropped; another count is PyTorch's error."""
        n = len(self.next_functions)
        if len(result) > n and all(r is None for r in result[n:]):
            return result[:n]
        raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                           f"(expected {n}, got {len(result)})")

    def _conform(self, i: int, g, create_graph: bool):
        """Reduce a broadcast gradient to the input's shape and cast it to the input's dtype."""
        shape, dtype = self._in_meta[i]
        if create_graph:
            if not isinstance(g, Tensor):
                g = Tensor._wrap(g)
            if g._data.shape != shape:
                g = sum_to_shape(g, shape, self.name(), i, TENSOR_XP)
            if g._data.dtype != dtype:
                g = g.to(dtype=_dtype_module().from_numpy_dtype(dtype))
            return g
        if isinstance(g, Tensor):
            g = g._data
        elif not hasattr(g, "dtype"):  # a Python number: a constant gradient
            g = self.xp.full(shape, g, dtype=dtype)
        if g.shape != shape:
            g = sum_to_shape(g, shape, self.name(), i, self.xp)
        if g.dtype != dtype:
            g = g.astype(dtype)
        return g


class _Mode:
    """``arrays`` is True while an Op's backward runs on raw arrays (saved_tensors gives arrays)."""

    __slots__ = ("arrays",)

    def __init__(self):
        self.arrays = False


MODE = _Mode()


def _as_tensor(g):
    return g if g is None or isinstance(g, Tensor) else Tensor._wrap(g)


def _call_hooks(table: dict, create_graph: bool, first: tuple, *rest):
    """Run hooks that see tuples of gradients as Tensors; return their replacement, if any."""
    def wrap(grads):
        return tuple(_as_tensor(g) for g in grads)

    current = wrap(first)
    changed = False
    for hook in tuple(table.values()):
        replaced = hook(current, *(wrap(r) for r in rest))
        if replaced is not None:
            current, changed = wrap(replaced), True
    if not changed:
        return None
    if create_graph:
        return current
    return tuple(g._data if g is not None else None for g in current)


class AccumulateGrad(Node):
    """The node at a leaf tensor: adds the arriving gradient into ``variable.grad``."""

    __slots__ = ("variable",)
    _backward_name = "AccumulateGrad"

    def __init__(self, variable):
        super().__init__(AccumulateGrad)
        self.variable = variable
        self._seq = float("inf")  # processed as soon as it is ready, as in PyTorch

    def accumulate(self, grad, create_graph: bool, handed: set | None = None):
        """Run the leaf's hooks, then add ``grad`` into ``.grad``; return what was added.

        ``handed`` holds the ids of the arrays this backward pass has already given away (root
        gradients, other leaves' gradients): only an array that is in no one else's hands may
        become ``.grad`` without a copy.
        """
        var = self.variable
        array = grad._data if isinstance(grad, Tensor) else grad
        grad = _as_tensor(grad)
        for hook in tuple(var._hooks.values()) if var._hooks else ():
            array = None  # a hook may keep what it saw: never adopt it
            replaced = hook(grad)
            if replaced is not None:
                grad = replaced
        if grad._data.shape != var._data.shape:
            grad = sum_to_shape(grad, var._data.shape, "AccumulateGrad", 0, TENSOR_XP)
        if grad._data.dtype != var._data.dtype:
            with no_grad():
                grad = grad.to(dtype=var.dtype)
        old = var.grad
        if create_graph:
            var.grad = grad if old is None else old + grad
        elif old is None:
            # Two leaves must never share gradient memory (an in-place update of one .grad, such
            # as clip_grad_norm_, must not touch another), so a gradient is adopted without a copy
            # only when it is a fresh array that nobody else was handed: not a view, not given to
            # another leaf in this pass, not seen by a hook.  Op backwards never write into the
            # gradients they receive, so a fresh array is not modified later either.
            data = grad._data
            if handed is None or data is not array or data.base is not None or id(data) in handed \
                    or not getattr(data.flags, "writeable", True):  # cupy has no such flag
                data = data.copy()
            elif handed is not None:
                handed.add(id(data))
            var.grad = Tensor._wrap(data)
        elif old.grad_fn is not None or old._data.shape != grad._data.shape:
            var.grad = Tensor._wrap(old._data + grad._data)
        else:
            old._data += grad._data
            old._vbox[0] += 1
        if events.LISTENERS:
            events.emit(events.GradAccumulated(id(var), tuple(var._data.shape),
                                               float(backend.xp_of(grad._data).linalg.norm(
                                                   grad._data.astype(np.float64)))))
        return grad


def _dtype_module():
    from .. import _dtype

    return _dtype


def accumulator_of(tensor) -> AccumulateGrad:
    """The leaf's AccumulateGrad node, shared by every op that uses the leaf (held weakly)."""
    ref = tensor._accumulator
    node = ref() if ref is not None else None
    if node is None:
        node = AccumulateGrad(tensor)
        tensor._accumulator = weakref.ref(node)
    return node


def edge_of(t) -> tuple:
    """Where the gradient of ``t`` goes: ``(grad_fn, output_nr)``, the leaf's accumulator, or
    none."""
    if not t._requires_grad:
        return _NO_EDGE
    fn = t.grad_fn
    if fn is None:
        return (accumulator_of(t), 0)
    return (fn, t._output_nr)


def _zeros(meta, as_tensor: bool):
    shape, dtype, dev = meta
    xp = backend.xp_for(dev)
    with backend.on_device(dev):
        z = xp.zeros(shape, dtype=dtype)
    return Tensor._wrap(z) if as_tensor else z


def sum_to_shape(g, shape: tuple, name: str, index: int, xp):
    """Sum a broadcast gradient (an array, or a Tensor with ``xp=TENSOR_XP``) down to ``shape``."""
    gshape = tuple(g.shape)
    lead = len(gshape) - len(shape)
    if lead < 0:
        _invalid_gradient(name, index, gshape, shape)
    dims = list(range(lead))
    for i, n in enumerate(shape):
        if n == 1 and gshape[lead + i] != 1:
            dims.append(lead + i)
        elif n != gshape[lead + i]:
            _invalid_gradient(name, index, gshape, shape)
    if dims:
        g = xp.sum(g, axis=tuple(dims), keepdims=True)
    if lead:
        g = g.reshape(shape)
    return g


def _invalid_gradient(name, index, got, expected):
    raise RuntimeError(
        f"Function {name} returned an invalid gradient at index {index} - got {list(got)} but "
        f"expected shape compatible with {list(expected)}"
    )


def _add_hook(table: dict, fn):
    from ..utils.hooks import RemovableHandle

    handle = RemovableHandle(table)
    table[handle.id] = fn
    return handle


# --- saved tensors --------------------------------------------------------------------------------
# A packed entry is (kind, payload, version): kind 0 an input tensor, 1 an output of the node itself
# (kept as its array and version box, not as the tensor, to avoid a reference cycle), 2 another
# tensor, 3 an array or number that no tensor owns.


def _pack(items, args, arrays, outputs) -> tuple:
    """Pack what forward saved; ``arrays`` are the arrays (or numbers) forward received for
    ``args``."""
    packed = []
    for item in items:
        if item is None:
            packed.append(None)
            continue
        raw = item._data if isinstance(item, Tensor) else item
        for k, array in enumerate(arrays):
            if array is raw:
                t = args[k]
                if t is raw:  # an operand that is no tensor (a number as an array): unversioned
                    packed.append((3, raw, 0))
                    break
                if isinstance(t, Tensor) and t._data is raw:  # not a copy moved to the device
                    packed.append((0, t, t._vbox[0]))
                    break
        else:
            for nr, out in enumerate(outputs):
                if out._data is raw:
                    packed.append((1, (raw, out._vbox, nr), out._vbox[0]))
                    break
            else:
                if isinstance(item, Tensor):
                    packed.append((2, item, item._vbox[0]))
                else:  # an array or number that no tensor owns: nothing can modify it
                    packed.append((3, item, 0))
    return tuple(packed)


def _unpack(node: Node, entry, as_arrays: bool):
    if entry is None:
        return None
    kind, payload, version = entry
    if kind == 3:
        if as_arrays or not hasattr(payload, "shape"):
            return payload
        return Tensor._wrap(payload)
    if kind == 1:
        data, box, nr = payload
        if box[0] != version:
            _raise_modified(node, data, box[0], version, output_of=node.name(), nr=nr)
        if as_arrays:
            return data
        t = Tensor._wrap(data, requires_grad=True)
        t.grad_fn, t._output_nr, t._vbox = node, nr, box
        return t
    if payload._vbox[0] != version:
        fn = payload.grad_fn
        _raise_modified(node, payload._data, payload._vbox[0], version,
                        output_of=fn.name() if fn is not None else None, nr=payload._output_nr)
    return payload._data if as_arrays else payload


def _type_string(data) -> str:
    names = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
             "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
    prefix = "torch." if backend.xp_of(data) is np else "torch.cuda."
    return f"{prefix}{names.get(data.dtype.name, data.dtype.name)}Tensor"


def _raise_modified(node, data, now, expected, output_of, nr):
    what = f"[{_type_string(data)} [{', '.join(map(str, data.shape))}]]"
    if output_of:  # PyTorch names the op without its suffix: "output 0 of Exp"
        output_of = re.sub(r"Backward\d*$", "", output_of)
    where = f", which is output {nr} of {output_of}," if output_of else ""
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: {what}{where} is at version {now}; expected version {expected} instead. "
        "Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
        "with torch.autograd.set_detect_anomaly(True, check_nan=False)."
    )


# --- Function and Op ------------------------------------------------------------------------------


class Function:
    """PyTorch's ``torch.autograd.Function``: subclass it with static ``forward`` and ``backward``.

    >>> import nbtorch as torch
    >>> class Cube(torch.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return grad * 3 * x ** 2
    >>> x = torch.tensor([2.0], requires_grad=True)
    >>> Cube.apply(x).backward(); x.grad
    tensor([12.])
    """

    _backward_name = "FunctionBackward"
    _array_backward = False  # public Functions get and return Tensors in backward
    _direct = False
    _edge_args: tuple | None = None  # see Op

    _name_suffix = "Backward"  # MyFn -> MyFnBackward; primitives (Op) get PyTorch's "Backward0"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The engine's shortcut (engine.backward_steps) takes nodes of an Op that has a gradient
        # for every operand.
        cls._direct = cls._array_backward and cls._edge_args is None
        # Op.apply's extra work: sharing a view's version counter, dropping edges.
        cls._special = getattr(cls, "_is_view", False) or cls._edge_args is not None
        if "_backward_name" not in cls.__dict__:  # an op may take PyTorch's own node name
            cls._backward_name = cls.__name__ + cls._name_suffix

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function."
        )

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("You must implement either the backward or vjp method for your "
                                  "custom autograd.Function to use it with backward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        record = GRAD.enabled and any(isinstance(a, Tensor) and a._requires_grad for a in args)
        ctx = Node(cls)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        first = next((a for a in args if isinstance(a, Tensor)), None)
        if first is not None:
            ctx.xp = backend.xp_of(first._data)
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        if not record:
            return result
        fixed = []
        non_diff = ctx._non_diff
        for nr, out in enumerate(outputs):
            if not isinstance(out, Tensor):
                fixed.append(out)
                continue
            if any(out is a for a in args):  # an input returned as is becomes a new alias
                out = Tensor._wrap(out._data)
            if any(out is n or out._data is getattr(n, "_data", n) for n in non_diff) or \
                    out._data.dtype.kind not in "fc":
                out._requires_grad = False
            else:
                out._requires_grad, out.grad_fn, out._output_nr = True, ctx, nr
            fixed.append(out)
        tensors_out = [o for o in fixed if isinstance(o, Tensor)]
        _finish_node(ctx, args, tensors_out, len(fixed))
        if len(tensors_out) != len(fixed):  # outputs that are not tensors get None in backward
            ctx._out_meta = tuple(
                (o._data.shape, o._data.dtype, backend.device_of(o._data))
                if isinstance(o, Tensor) else None for o in fixed
            )
        arrays = [a._data if isinstance(a, Tensor) else a for a in args]
        ctx._saved = _pack(ctx._saved, args, arrays, tensors_out)
        return fixed[0] if single else tuple(fixed)


class Op(Function):
    """A primitive: ``forward(ctx, *arrays, **params)`` on raw arrays; ``backward`` against
    ``ctx.xp``."""

    _array_backward = True
    _is_view = False  # True for ops whose output shares memory with their first input
    # The positional operands PyTorch's node lists in next_functions, when not all of them: an
    # index, mask or target tensor is an operand of the op but no input of the derivative.
    # backward still returns one gradient per operand; the others are dropped.
    _edge_args: tuple | None = None

    _name_suffix = "Backward0"

    @classmethod
    def apply(cls, *args, **kwargs):
        # The hot path of every op, written out flat: the operands are unwrapped and, when
        # recording, the graph edges collected (before forward, so that forward can read
        # needs_input_grad).  One or two operands that are plain CPU tensors or numbers, which is
        # nearly every op, skip the general loop and its lists (bench/bench_overhead.py).
        recording = GRAD.enabled
        n = len(args)
        a = args[0] if n else None
        edges = arrays = None
        if type(a) is Tensor and type(a._data) is _ndarray and n <= 2:
            data = a._data
            a_edge = recording and a._requires_grad and edge_of(a)  # False, or the edge
            if n == 1:
                arrays = (data,)
                if a_edge:
                    edges, meta, needs = (a_edge,), ((data.shape, data.dtype),), (True,)
            else:
                b = args[1]
                if type(b) is not Tensor:
                    if not isinstance(b, Tensor):  # a number, or a number's 0-d array
                        arrays = (data, b)
                        if a_edge:
                            edges, meta = (a_edge, _NO_EDGE), ((data.shape, data.dtype), None)
                            needs = (True, False)
                elif type(b._data) is _ndarray:
                    other = b._data
                    arrays = (data, other)
                    b_edge = recording and b._requires_grad and edge_of(b)
                    if a_edge or b_edge:
                        edges = (a_edge or _NO_EDGE, b_edge or _NO_EDGE)
                        meta = ((data.shape, data.dtype) if a_edge else None,
                                (other.shape, other.dtype) if b_edge else None)
                        needs = (a_edge is not False, b_edge is not False)
            foreign = False
        if arrays is None:  # any other operands: the general loop
            arrays = []
            foreign = False
            i = 0
            for a in args:
                if isinstance(a, Tensor):
                    data = a._data
                    arrays.append(data)
                    if type(data) is not _ndarray:
                        foreign = True
                    if recording and a._requires_grad:
                        if edges is None:
                            edges, meta, needs = [_NO_EDGE] * n, [None] * n, [False] * n
                        edges[i] = edge_of(a)
                        meta[i] = (data.shape, data.dtype)
                        needs[i] = True
                else:
                    arrays.append(a)
                i += 1
            if edges is not None:
                edges, needs = tuple(edges), tuple(needs)
        ctx = _new(Node)  # Node(cls), inlined
        ctx._fn = cls
        ctx._seq = next(_sequence)
        ctx._saved = ()
        if edges is None:
            ctx.next_functions = ctx._in_meta = ctx.needs_input_grad = ()
        else:
            ctx.next_functions = edges
            ctx._in_meta = meta
            ctx.needs_input_grad = needs
        if foreign:
            ctx.xp, arrays = _unify_devices(cls, args, arrays)
        if kwargs:
            result = cls.forward(ctx, *arrays, **kwargs)
        elif n == 1:  # a call with spelled-out arguments is much cheaper than with *arrays
            result = cls.forward(ctx, arrays[0])
        elif n == 2:
            result = cls.forward(ctx, arrays[0], arrays[1])
        else:
            result = cls.forward(ctx, *arrays)
        if type(result) is not tuple:
            if type(result) is not _ndarray and isinstance(result, np.generic):
                result = _scalar_output(ctx, result)
            out = _new(Tensor)  # Tensor._wrap, inlined
            out._data = result
            out.grad = None
            out._output_nr = 0
            out._vbox = [0]
            if edges is not None and result.dtype.kind in "fc" and not ctx._non_diff:
                out._requires_grad = True
                out.grad_fn = ctx
            else:
                out._requires_grad = False
                out.grad_fn = None
            if cls._special:
                if cls._is_view:
                    _share_version(cls, ctx.xp, args[0], out, kwargs)
                if edges is not None and cls._edge_args is not None:
                    _keep_edges(ctx, cls._edge_args)
            if edges is not None:
                saved = ctx._saved
                if saved:
                    if len(saved) == 1 and saved[0] is result:  # y = f(x) keeping y: most often
                        ctx._saved = ((1, (result, out._vbox, 0), 0),)
                    else:
                        ctx._saved = _pack(saved, args, arrays, (out,))
                if ANOMALY.enabled or LISTENERS:
                    _observe(ctx, (out,))
            return out
        result = tuple([_scalar_output(ctx, r) if isinstance(r, np.generic) else r for r in result])
        outputs = tuple(map(Tensor._wrap, result))
        if cls._is_view:
            _share_version(cls, ctx.xp, args[0], outputs[0], kwargs)
        if edges is None:
            return outputs
        non_diff = ctx._non_diff
        for nr, out in enumerate(outputs):
            if out._data.dtype.kind in "fc" and not any(result[nr] is n for n in non_diff):
                out._requires_grad, out.grad_fn, out._output_nr = True, ctx, nr
        ctx._out_meta = tuple(
            (o._data.shape, o._data.dtype, backend.device_of(o._data)) for o in outputs
        )
        if ctx._saved:
            ctx._saved = _pack(ctx._saved, args, arrays, outputs)
        if cls._edge_args is not None:
            _keep_edges(ctx, cls._edge_args)
        if ANOMALY.enabled or LISTENERS:
            _observe(ctx, outputs)
        return outputs


def _keep_edges(ctx: Node, keep: tuple) -> None:
    """Only the operands ``keep`` stay edges of the node (``Op._edge_args``); which inputs need
    a gradient is still said per operand, as forward and backward read it."""
    ctx.next_functions = tuple([ctx.next_functions[i] for i in keep])
    ctx._in_meta = [ctx._in_meta[i] for i in keep]


def _scalar_output(ctx: Node, scalar):
    """numpy gives a scalar for a 0-d result: make it a 0-d array, and save that array wherever
    forward saved the scalar, so that backward still finds the op's own output (its graph and
    version counter)."""
    array = np.asarray(scalar)
    if ctx._saved:
        ctx._saved = tuple([array if s is scalar else s for s in ctx._saved])
    return array


def _share_version(op, xp, source, view, params) -> None:
    """A view shares its base's version counter, and remembers how to make itself from the base
    (replayed when the view is modified in place, to rebase the base's history)."""
    if view._data is source._data or xp.may_share_memory(view._data, source._data):
        view._vbox = source._vbox
        if source._base is None:
            view._base, view._view_chain = source, ((op, params),)
        else:
            view._base, view._view_chain = source._base, source._view_chain + ((op, params),)


def _finish_node(ctx: Node, args, outputs, n_outputs: int) -> None:
    """Fill in the graph edges and metadata of a node that was just recorded."""
    edges = []
    meta = []
    needs = []
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            edges.append(edge_of(a))
            meta.append((a._data.shape, a._data.dtype))
            needs.append(True)
        else:
            edges.append(_NO_EDGE)
            meta.append(None)
            needs.append(False)
    ctx.next_functions = tuple(edges)
    ctx._in_meta = tuple(meta)
    ctx.needs_input_grad = tuple(needs)
    if n_outputs > 1:
        ctx._out_meta = tuple(
            (o._data.shape, o._data.dtype, backend.device_of(o._data)) for o in outputs
        )
    if ANOMALY.enabled or events.LISTENERS:
        _observe(ctx, outputs)


def _observe(ctx: Node, outputs) -> None:
    """Anomaly mode's forward trace, and the NodeRecorded event (only when someone asks)."""
    if ANOMALY.enabled:
        ctx._trace = traceback.extract_stack()[:-3]
        ANOMALY.check_forward(ctx, outputs)
    if events.LISTENERS:
        edges = ctx.next_functions
        first = outputs[0] if outputs else None
        events.emit(events.NodeRecorded(
            node_id=id(ctx), name=ctx.name(),
            input_ids=tuple(id(e[0]) if e[0] is not None else None for e in edges),
            shape=tuple(first._data.shape) if first is not None else (),
            dtype=str(first._data.dtype) if first is not None else "",
            device=str(backend.device_of(first._data)) if first is not None else "cpu",
            node_ref=weakref.ref(ctx),
        ))


def _unify_devices(cls, args, arrays):
    """The array module shared by all tensor arguments (moving zero-dim CPU tensors to it, as
    PyTorch allows), or PyTorch's device-mismatch error."""
    devices = []
    for a in args:
        if isinstance(a, Tensor):
            dev = backend.device_of(a._data)
            if dev.type == "cpu" and a._data.ndim == 0:
                continue
            if dev not in devices:
                devices.append(dev)
    if len(devices) > 1:
        first, second = devices[0], devices[1]
        raise RuntimeError(
            "Expected all tensors to be on the same device, but found at least two devices, "
            f"{second} and {first}! (when checking argument for "
            f"{re.sub(r'Backward[0-9]*$', '', cls._backward_name).lower()})"
        )
    if not devices:
        return np, arrays
    dev = devices[0]
    moved = [backend.to_device(x, dev) if isinstance(a, Tensor) else x
             for a, x in zip(args, arrays)]
    return backend.xp_for(dev), moved
