"""The Tensor: an array (numpy or cupy) with autograd state.  Its math methods are attached by
``nbtorch._tensor_methods`` and call the ops; this module holds the state and Python's protocols."""

from __future__ import annotations

import numpy as np

from . import _dtype, backend
from .autograd import function as _function


class Size(tuple):
    """A tensor's shape, printed as PyTorch prints it.

    >>> Size([2, 3])
    torch.Size([2, 3])
    >>> Size([2, 3]).numel()
    6
    """

    def __repr__(self) -> str:
        return f"torch.Size([{', '.join(map(str, self))}])"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __getitem__(self, key):
        item = tuple.__getitem__(self, key)
        return Size(item) if isinstance(key, slice) else item

    def __add__(self, other):
        return Size(tuple.__add__(self, other)) if isinstance(other, tuple) else NotImplemented


_new = object.__new__
_ndarray = np.ndarray
_generic = np.generic


class Tensor:
    """A multi-dimensional array that can record operations for autograd, as ``torch.Tensor``.

    >>> import nbtorch as torch
    >>> torch.tensor([1.0, 2.0], requires_grad=True)
    tensor([1., 2.], requires_grad=True)
    """

    __slots__ = ("_data", "_requires_grad", "grad", "grad_fn", "_output_nr", "_vbox",
                 "__dict__", "__weakref__")
    # Rarely set state lives in the instance __dict__, with these class-level defaults.
    _accumulator = None
    _hooks = None
    _base = None
    _view_chain = ()
    _name = None
    __array_priority__ = 1000  # numpy defers to our reflected operators

    def __init__(self, *args, dtype=None, device=None):
        # Legacy constructor: torch.Tensor([1, 2]) (float32 data) or torch.Tensor(2, 3) (empty).
        from .ops.creation import empty, tensor

        if not args:
            args = (0,)  # torch.Tensor() is an empty 1-d tensor
        if len(args) == 1 and not isinstance(args[0], int):
            made = tensor(args[0], dtype=dtype or _dtype.get_default_dtype(), device=device)
        else:
            made = empty(*args, dtype=dtype or _dtype.get_default_dtype(), device=device)
        self._data = made._data
        self._requires_grad = False
        self.grad = self.grad_fn = None
        self._output_nr = 0
        self._vbox = [0]

    @staticmethod
    def _wrap(data, requires_grad: bool = False) -> Tensor:
        """Wrap an array without copying (numpy scalars become 0-d arrays)."""
        if type(data) is not _ndarray and isinstance(data, _generic):
            data = np.asarray(data)
        t = _new(Tensor)
        t._data = data
        t._requires_grad = requires_grad
        t.grad = t.grad_fn = None
        t._output_nr = 0
        t._vbox = [0]
        return t

    # --- metadata --------------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim, scalar_ok=False)]

    @property
    def dtype(self) -> _dtype.dtype:
        return _dtype.FROM_NUMPY[self._data.dtype]

    @property
    def device(self) -> backend.device:
        return backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return type(self._data) is not _ndarray

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def stride(self, dim: int | None = None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[_wrap_dim(dim, self._data.ndim, scalar_ok=False)]

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    def data_ptr(self) -> int:
        d = self._data
        return d.ctypes.data if type(d) is _ndarray else d.data.ptr

    def untyped_storage(self):
        base = self._data
        while getattr(base, "base", None) is not None:
            base = base.base
        return _Storage(base)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def output_nr(self) -> int:
        """Which output of its ``grad_fn`` this tensor is."""
        return self._output_nr

    @property
    def _version(self) -> int:
        """PyTorch's version counter: how many times the tensor (or a view of its memory) was
        modified in place. nbtorch keeps it in ``_vbox``, a one-element list that views share."""
        return self._vbox[0]

    @property
    def names(self):
        return (None,) * self._data.ndim

    # --- autograd state --------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            hint = "" if value else (
                " If you want to use a computed variable in a subgraph that doesn't require "
                "differentiation use var_no_grad = var.detach().")
            raise RuntimeError("you can only change requires_grad flags of leaf variables." + hint)
        if value and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                "only Tensors of floating point and complex dtype can require gradients"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.grad_fn is not None:
            return self  # a non-leaf already requires grad: allowed here, unlike the setter
        if requires_grad and self._data.dtype.kind not in "fc":
            # PyTorch's wording differs from the setter's here.
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self.requires_grad = requires_grad
        return self

    @property
    def data(self) -> Tensor:
        """The same memory as a tensor that autograd does not track (PyTorch's ``.data``)."""
        t = Tensor._wrap(self._data)
        return t

    @data.setter
    def data(self, value) -> None:
        self._data = value._data if isinstance(value, Tensor) else value

    def detach(self) -> Tensor:
        """A tensor on the same memory, cut from the graph (shares the version counter).

        >>> import nbtorch as torch
        >>> torch.ones(2, requires_grad=True).detach().requires_grad
        False
        """
        t = Tensor._wrap(self._data)
        t._vbox = self._vbox
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep the gradient of this non-leaf tensor in ``.grad`` after backward."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None:
            return
        import weakref

        node = self.grad_fn
        if node._retained is None:
            node._retained = {}
            node._hooked = True
        node._retained[self._output_nr] = weakref.ref(self)
        self.__dict__["_retains"] = True

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.__dict__.get("_retains", False)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new grad.

        >>> import nbtorch as torch
        >>> x = torch.ones(2, requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> x.sum().backward(); x.grad
        tensor([10., 10.])
        """
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        from .utils.hooks import RemovableHandle

        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = {}
            table = self._hooks
        else:
            node = self.grad_fn
            if node._tensor_hooks is None:
                node._tensor_hooks = {}
                node._hooked = True
            table = node._tensor_hooks.setdefault(self._output_nr, {})
        handle = RemovableHandle(table)
        table[handle.id] = hook
        return handle

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Compute the gradient of this tensor with respect to the graph's leaves.

        >>> import nbtorch as torch
        >>> x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        >>> (x ** 2).sum().backward()
        >>> x.grad
        tensor([2., 4., 6.])
        """
        from .autograd import backward

        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    # --- conversions out of nbtorch ------------------------------------------------------------
    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The numpy array this tensor wraps (shared memory, as in PyTorch)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        if type(self._data) is not _ndarray:
            if force:
                return self._data.get()
            raise TypeError(
                f"can't convert {self.device} device type tensor to numpy. "
                "Use Tensor.cpu() to copy "
                "the tensor to host memory first."
            )
        return self._data

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        if dtype is not None:
            return array.astype(dtype, copy=bool(copy))
        return array.copy() if copy else array  # np.array(t) copies, np.asarray(t) shares

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        data = self._data if type(self._data) is _ndarray else self._data.get()
        return data.tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                "Boolean value of Tensor with "
                f"{'more than one value' if self._data.size else 'no values'} is ambiguous"
            )
        return bool(self._data.reshape(()))

    def __float__(self) -> float:
        return float(self._scalar("float"))

    def __int__(self) -> int:
        return int(self._scalar("int"))

    def __complex__(self) -> complex:
        return complex(self._scalar("complex"))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(()))

    def _scalar(self, kind: str):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self._data.reshape(()).item()

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        from ._tensor_str import tensor_repr

        return tensor_repr(self)

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return self.item().__format__(spec)
        return object.__format__(self, spec) if spec else repr(self)

    def __deepcopy__(self, memo):
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment.  If you were attempting to deepcopy a module, this may be "
                "because of a torch.nn.utils.weight_norm usage, see "
                "https://github.com/pytorch/pytorch/pull/103001"
            )
        if id(self) in memo:
            return memo[id(self)]
        new = _new(type(self))
        new._data = self._data.copy()
        new._requires_grad = self._requires_grad
        new.grad = None if self.grad is None else self.grad.__deepcopy__(memo)
        new.grad_fn = None
        new._output_nr = 0
        new._vbox = [0]
        new.__dict__.update({k: v for k, v in self.__dict__.items()
                             if k not in ("_accumulator", "_hooks", "_base", "_view_chain")})
        memo[id(self)] = new
        return new

    def __reduce_ex__(self, protocol):
        raise TypeError(
            "nbtorch tensors are not pickled; use nbtorch.save(), which writes a safetensors file"
        )


class _Storage:
    """Just enough of ``untyped_storage()`` to compare where tensors live."""

    def __init__(self, base):
        self._base = base

    def data_ptr(self) -> int:
        b = self._base
        return b.ctypes.data if type(b) is _ndarray else b.data.ptr

    def nbytes(self) -> int:
        return int(self._base.nbytes)

    def size(self) -> int:
        return int(self._base.nbytes)


def _wrap_dim(dim: int, ndim: int, scalar_ok: bool = True) -> int:
    """Normalize a possibly negative dim, with PyTorch's IndexError when it is out of range (dims 0
    and -1 of a 0-d tensor are allowed where ``scalar_ok``, as in reductions)."""
    if not ndim and not scalar_ok:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})"
        )
    return dim % n


_function.Tensor = Tensor
