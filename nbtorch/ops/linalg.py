"""Linear algebra ops: matmul and its special cases (dot, mv, mm, bmm), outer, addmm, einsum.

Every matrix product is one primitive, ``Matmul``: its forward is one ``xp.matmul`` (BLAS on the
CPU, cuBLAS on the GPU) and its backward two more (``g @ bᵀ`` and ``aᵀ @ g``).  ``Dot``, ``Mv``,
``Mm`` and ``Bmm`` are the same op under the names PyTorch shows in ``grad_fn``.  The wrappers check
shapes and dtypes first, so that errors read as PyTorch's.  Gradients of broadcast batch dimensions
are summed by the engine, as for every op.
"""

from __future__ import annotations

import numbers
import string

import numpy as np

from .. import _dtype, backend
from .._tensor import Tensor
from ..autograd.function import Op
from ..autograd.tensor_xp import adapter
from ._promote import _cast, check_broadcast

# PyTorch names dtypes two ways in its messages: ScalarType names and C++ type names.
_SCALAR = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
           "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool",
           "complex64": "ComplexFloat", "complex128": "ComplexDouble"}
_CTYPE = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
          "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
          "bool": "bool", "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _scalar(t: Tensor) -> str:
    return _SCALAR.get(t._data.dtype.name, t._data.dtype.name)


def _ctype(t: Tensor) -> str:
    return _CTYPE.get(t._data.dtype.name, t._data.dtype.name)


# --- the matrix product --------------------------------------------------------------------------


class Matmul(Op):
    """Matmul: y = a @ b; dL/da = g @ bᵀ, dL/db = aᵀ @ g (a 1-D operand acts as a row/column)"""

    @staticmethod
    def forward(ctx, a, b):
        if ctx.needs_input_grad:
            need_a, need_b = ctx.needs_input_grad
            ctx.save_for_backward(a if need_b else None, b if need_a else None)
            ctx.ndims = (a.ndim, b.ndim)
        if a.ndim > 2 and b.ndim <= 2 and a.flags.c_contiguous:
            # NOTE: one GEMM over the folded batch instead of one small GEMM per matrix
            # (nn.Linear on sequences), as PyTorch does.
            y = ctx.xp.matmul(a.reshape(-1, a.shape[-1]), b)
            return y.reshape(a.shape[:-1] + b.shape[1:])
        return ctx.xp.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        na, nb = ctx.ndims
        xp = ctx.xp
        if na == 1 and nb == 1:  # a dot product: g is a scalar
            return (g * b if need_a else None), (g * a if need_b else None)
        # Put back the dimension that matmul removed for a 1-D operand.
        if na == 1:
            g = xp.expand_dims(g, -2)
            a = a.reshape(1, -1) if a is not None else None
        if nb == 1:
            g = xp.expand_dims(g, -1)
            b = b.reshape(-1, 1) if b is not None else None
        # When b is one matrix shared by a batch of a, the batch folds into the rows of one GEMM
        # (and the sum of b's gradient over the batch comes out of that GEMM for free).
        fold = nb <= 2 and g.ndim > 2
        ga = gb = None
        if need_a:
            if fold:
                rows = g.reshape(-1, g.shape[-1])
                ga = xp.matmul(rows, xp.swapaxes(b, -1, -2)).reshape(g.shape[:-1] + b.shape[:1])
            else:
                ga = xp.matmul(g, xp.swapaxes(b, -1, -2))
            if na == 1 and ga.ndim == 2:
                ga = ga.reshape(-1)
        if need_b:
            if fold:
                rows = a.reshape(-1, a.shape[-1])
                gb = xp.matmul(xp.swapaxes(rows, -1, -2), g.reshape(-1, g.shape[-1]))
            else:
                gb = xp.matmul(xp.swapaxes(a, -1, -2), g)
            if nb == 1 and gb.ndim == 2:
                gb = gb.reshape(-1)
        return ga, gb


class Dot(Matmul):
    """Dot: y = Σᵢ aᵢbᵢ; dL/da = g b, dL/db = g a"""


class Mv(Matmul):
    """Mv: y = A x; dL/dA = g xᵀ, dL/dx = Aᵀ g"""


class Mm(Matmul):
    """Mm: Y = A B; dL/dA = G Bᵀ, dL/dB = Aᵀ G"""


class Bmm(Matmul):
    """Bmm: Yₙ = Aₙ Bₙ for each batch n; dL/dAₙ = Gₙ Bₙᵀ, dL/dBₙ = Aₙᵀ Gₙ"""


class Addmm(Op):
    """Addmm: y = β c + α (a @ b); dL/dc = β g, dL/da = α g bᵀ, dL/db = α aᵀ g"""

    @staticmethod
    def forward(ctx, c, a, b, beta=1, alpha=1):
        xp = ctx.xp
        if ctx.needs_input_grad:
            _, need_a, need_b = ctx.needs_input_grad
            ctx.save_for_backward(a if need_b else None, b if need_a else None)
            ctx.scale = (beta, alpha)
        y = xp.matmul(a, b)
        floating = y.dtype.kind in "fc"
        if alpha != 1:
            y = xp.multiply(y, alpha, out=y) if floating else (y * alpha).astype(y.dtype)
        if beta == 0:  # PyTorch ignores c entirely (even its NaNs) when beta is 0
            return y
        term = c if beta == 1 else c * beta
        if floating and np.broadcast_shapes(term.shape, y.shape) == y.shape:
            y += term  # y is a fresh array: adding in place saves a copy
            return y
        return (y + term).astype(y.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        beta, alpha = ctx.scale
        need_c, need_a, need_b = ctx.needs_input_grad
        xp = ctx.xp
        gc = ga = gb = None
        if need_c:
            gc = g if beta == 1 else g * beta
        if need_a:
            ga = xp.matmul(g, xp.swapaxes(b, -1, -2))
            ga = ga if alpha == 1 else ga * alpha
        if need_b:
            gb = xp.matmul(xp.swapaxes(a, -1, -2), g)
            gb = gb if alpha == 1 else gb * alpha
        return gc, ga, gb


class Baddbmm(Addmm):
    """Baddbmm: Yₙ = β Cₙ + α Aₙ Bₙ; dL/dC = β G, dL/dAₙ = α Gₙ Bₙᵀ, dL/dBₙ = α Aₙᵀ Gₙ"""


# --- argument checks, in PyTorch's words ---------------------------------------------------------


def _need_tensor(fn: str, name: str, position: int, value) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be Tensor, not "
                        f"{type(value).__name__}")


def _no_bool(kernel: str, a: Tensor) -> None:
    if a._data.dtype.kind == "b":
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def _check_dot(a: Tensor, b: Tensor) -> None:
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D "
                           "tensors")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("dot : expected both vectors to have same dtype, but found "
                           f"{_scalar(a)} and {_scalar(b)}")
    n, m = a._data.shape[0], b._data.shape[0]
    if n != m:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have "
                           f"the same number of elements, but got {n} and {m} elements "
                           "respectively")
    _no_bool("dot", a)


def _check_mv(mat_shape: tuple, a: Tensor, b: Tensor) -> None:
    rows, k = mat_shape
    if k != b._data.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({rows}), mat ({rows}x{k}), "
                           f"vec ({b._data.shape[0]})")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("addmv input tensors must have the same dtype, but got "
                           f"{_scalar(b)}, {_scalar(a)}, and {_scalar(b)}")
    _no_bool("addmv_impl_cpu", a)


def _check_mm(a_shape: tuple, b_shape: tuple, a: Tensor, b: Tensor) -> None:
    if a_shape[1] != b_shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a_shape[0]}x{a_shape[1]} "
                           f"and {b_shape[0]}x{b_shape[1]})")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {_ctype(a)} != "
                           f"{_ctype(b)}")
    _no_bool("addmm_impl_cpu_", a)


def _check_bmm(batch: int, a_cols: int, b_rows: int, b_batch: int, a: Tensor, b: Tensor) -> None:
    if a_cols != b_rows or batch != b_batch:
        raise RuntimeError("Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch}, {a_cols}] but got: [{b_batch}, {b_rows}].")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {_scalar(a)} but found {_scalar(b)}")
    _no_bool("bmm", a)


def _prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _matmul_op(a: Tensor, b: Tensor) -> type:
    """Check ``a @ b`` as PyTorch does (its error depends on the case) and pick the op's name."""
    sa, sb = a._data.shape, b._data.shape
    na, nb = len(sa), len(sb)
    if na == 2 and nb == 2:
        _check_mm(sa, sb, a, b)
        return Mm
    if na == 0 or nb == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {na}D "
                           f"and {nb}D")
    if na == 1 and nb == 1:
        _check_dot(a, b)
        return Dot
    if nb == 1 and na >= 2:  # PyTorch folds the batch of a into the rows of one matrix
        _check_mv((_prod(sa[:-1]), sa[-1]), a, b)
        return Mv if na == 2 else Matmul
    if nb == 2:
        rows = 1 if na == 1 else _prod(sa[:-1])
        _check_mm((rows, sa[-1]), sb, a, b)
        return Matmul
    # Batched: the batch dimensions broadcast, then one bmm over the flattened batch.
    batch_a, batch_b = sa[:-2], sb[:-2]
    check_broadcast(batch_a, batch_b)
    batch = _prod(np.broadcast_shapes(batch_a, batch_b))
    b_rows = sb[0] if nb == 1 else sb[-2]
    _check_bmm(batch, sa[-1], b_rows, batch, a, b)
    return Bmm if na == nb == 3 and sa[0] == sb[0] else Matmul


# --- public functions ----------------------------------------------------------------------------


def matmul(input, other, *, out=None):
    """Matrix product with PyTorch's rules for 1-D operands and broadcast batch dimensions.

    1-D · 1-D is a dot product, a 1-D first (second) operand is a row (column) that is removed
    from the result, and leading dimensions broadcast.

    >>> import nbtorch as torch
    >>> a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> torch.matmul(a, torch.tensor([1.0, 1.0]))
    tensor([3., 7.])
    >>> (a @ a).shape
    torch.Size([2, 2])
    """
    _need_tensor("matmul", "input", 1, input)
    _need_tensor("matmul", "other", 2, other)
    return _matmul_op(input, other).apply(input, other)


def mm(input, mat2, *, out=None):
    """Product of two matrices (2-D only, no broadcasting).

    >>> import nbtorch as torch
    >>> torch.mm(torch.ones(2, 3), torch.ones(3, 4)).shape
    torch.Size([2, 4])
    """
    _need_tensor("mm", "input", 1, input)
    _need_tensor("mm", "mat2", 2, mat2)
    if input._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if mat2._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    _check_mm(input._data.shape, mat2._data.shape, input, mat2)
    return Mm.apply(input, mat2)


def bmm(input, mat2, *, out=None):
    """Batched matrix product of two 3-D tensors with the same batch size.

    >>> import nbtorch as torch
    >>> torch.bmm(torch.ones(5, 2, 3), torch.ones(5, 3, 4)).shape
    torch.Size([5, 2, 4])
    """
    _need_tensor("bmm", "input", 1, input)
    _need_tensor("bmm", "mat2", 2, mat2)
    if input._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    sa, sb = input._data.shape, mat2._data.shape
    _check_bmm(sa[0], sa[2], sb[1], sb[0], input, mat2)
    return Bmm.apply(input, mat2)


def mv(input, vec, *, out=None):
    """Matrix-vector product.

    >>> import nbtorch as torch
    >>> torch.mv(torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([1.0, -1.0]))
    tensor([-1., -1.])
    """
    _need_tensor("mv", "input", 1, input)
    _need_tensor("mv", "vec", 2, vec)
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input._data.ndim}, "
                           f"{vec._data.ndim}")
    _check_mv(input._data.shape, input, vec)
    return Mv.apply(input, vec)


def dot(input, tensor, *, out=None):
    """Dot product of two 1-D tensors of the same size and dtype.

    >>> import nbtorch as torch
    >>> torch.dot(torch.tensor([2.0, 3.0]), torch.tensor([2.0, 1.0]))
    tensor(7.)
    """
    _need_tensor("dot", "input", 1, input)
    _need_tensor("dot", "tensor", 2, tensor)
    _check_dot(input, tensor)
    return Dot.apply(input, tensor)


def vdot(input, other, *, out=None):
    """Dot product that conjugates the first vector (the same as ``dot`` for real tensors).

    >>> import nbtorch as torch
    >>> torch.vdot(torch.tensor([2.0, 3.0]), torch.tensor([2.0, 1.0]))
    tensor(7.)
    """
    _need_tensor("vdot", "input", 1, input)
    _need_tensor("vdot", "other", 2, other)
    _check_dot(input, other)
    if input._data.dtype.kind == "c":
        raise NotImplementedError("vdot of complex tensors is not supported by nbtorch")
    return Dot.apply(input, other)


def outer(input, vec2):
    """Outer product of two vectors: ``out[i, j] = input[i] * vec2[j]`` (dtypes promote).

    >>> import nbtorch as torch
    >>> torch.outer(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 10.0, 100.0]))
    tensor([[  1.,  10., 100.],
            [  2.,  20., 200.]])
    """
    _need_tensor("outer", "input", 1, input)
    _need_tensor("outer", "vec2", 2, vec2)
    for name, t in (("self", input), ("vec2", vec2)):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    if input._data.dtype != vec2._data.dtype:
        common = _dtype.result_type_of([input.dtype, vec2.dtype], [], ())
        input, vec2 = _cast(input, common), _cast(vec2, common)
    # as PyTorch computes it, and so records it: a column view of input times vec2
    return input.reshape(-1, 1) * vec2


ger = outer


def inner(input, other, *, out=None):
    """Sum of products over the last dimension of both tensors (``input @ other.T`` for matrices).

    >>> import nbtorch as torch
    >>> torch.inner(torch.ones(2, 3), torch.ones(4, 3)).shape
    torch.Size([2, 4])
    """
    _need_tensor("inner", "input", 1, input)
    _need_tensor("inner", "other", 2, other)
    if input._data.ndim == 0 or other._data.ndim == 0:
        from .elementwise import mul

        return mul(input, other)
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError("inner() the last dimension must match on both input tensors but got "
                           f"shapes {list(input._data.shape)} and {list(other._data.shape)}")
    if input._data.dtype != other._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    na, nb = input._data.ndim, other._data.ndim
    letters = string.ascii_letters
    sa, sb = letters[: na - 1], letters[na - 1: na + nb - 2]
    return einsum(f"{sa}z,{sb}z->{sa}{sb}", input, other)


def tensordot(a, b, dims=2, out=None):
    """Sum of products over the dimensions ``dims`` (the last ``dims`` of ``a`` and the first
    ``dims`` of ``b``, or two explicit lists).

    >>> import nbtorch as torch
    >>> torch.tensordot(torch.ones(2, 3, 4), torch.ones(3, 4, 5), dims=2).shape
    torch.Size([2, 5])
    """
    _need_tensor("tensordot", "a", 1, a)
    _need_tensor("tensordot", "b", 2, b)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, numbers.Integral):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a._data.ndim or dims > b._data.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        dims_a, dims_b = list(range(-dims, 0)), list(range(dims))
    else:
        dims_a, dims_b = dims
        dims_a = [dims_a] if isinstance(dims_a, numbers.Integral) else list(dims_a)
        dims_b = [dims_b] if isinstance(dims_b, numbers.Integral) else list(dims_b)
        if len(dims_a) != len(dims_b):
            raise RuntimeError("both dimension lists should have same length")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    na, nb = a._data.ndim, b._data.ndim
    letters = iter(string.ascii_letters)
    sub_a = [next(letters) for _ in range(na)]
    sub_b = [next(letters) for _ in range(nb)]
    for da, db in zip(dims_a, dims_b):
        size_a, size_b = a._data.shape[da], b._data.shape[db]
        if size_a != size_b:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {size_a} "
                               f"in dim {da} and second has size {size_b} in dim {db}")
        sub_b[db % nb] = sub_a[da % na]
    contracted = {sub_a[d % na] for d in dims_a}
    out_sub = [s for s in sub_a if s not in contracted] + [s for s in sub_b if s not in contracted]
    return einsum(f"{''.join(sub_a)},{''.join(sub_b)}->{''.join(out_sub)}", a, b)


def _check_expand(shape: tuple, target: tuple, t: Tensor) -> None:
    if len(shape) > len(target):
        raise RuntimeError(
            f"expand({_type_name(t)}{{{list(shape)}}}, size={list(target)}): the number of sizes "
            f"provided ({len(target)}) must be greater or equal to the number of dimensions in the "
            f"tensor ({len(shape)})")
    for i in range(1, len(shape) + 1):
        if shape[-i] != target[-i] and shape[-i] != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[-i]}) must match the existing size "
                f"({shape[-i]}) at non-singleton dimension {len(target) - i}.  Target sizes: "
                f"{list(target)}.  Tensor sizes: {list(shape)}")


def _type_name(t: Tensor) -> str:
    from ..autograd.function import _type_string

    return _type_string(t._data)


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat1 @ mat2)``; ``input`` broadcasts to the product's shape.

    >>> import nbtorch as torch
    >>> torch.addmm(torch.ones(3), torch.ones(2, 2), torch.ones(2, 3), alpha=2)
    tensor([[5., 5., 5.],
            [5., 5., 5.]])
    """
    _need_tensor("addmm", "input", 1, input)
    _need_tensor("addmm", "mat1", 2, mat1)
    _need_tensor("addmm", "mat2", 3, mat2)
    for name, t in (("mat1", mat1), ("mat2", mat2)):
        if t._data.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t._data.ndim}-D tensor")
    if input._data.dtype != mat2._data.dtype:
        raise RuntimeError("self and mat2 must have the same dtype, but got "
                           f"{_scalar(input)} and {_scalar(mat2)}")
    if mat1._data.dtype != mat2._data.dtype:
        raise RuntimeError("mat1 and mat2 must have the same dtype, but got "
                           f"{_scalar(mat1)} and {_scalar(mat2)}")
    _check_mm(mat1._data.shape, mat2._data.shape, mat1, mat2)
    _check_expand(input._data.shape, (mat1._data.shape[0], mat2._data.shape[1]), input)
    return _scaled(Addmm, input, mat1, mat2, beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * bmm(batch1, batch2)``.

    >>> import nbtorch as torch
    >>> torch.baddbmm(torch.zeros(1, 3), torch.ones(2, 2, 4), torch.ones(2, 4, 3)).shape
    torch.Size([2, 2, 3])
    """
    for pos, (name, t) in enumerate((("input", input), ("batch1", batch1), ("batch2", batch2))):
        _need_tensor("baddbmm", name, pos + 1, t)
    if batch1._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if batch2._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    sa, sb = batch1._data.shape, batch2._data.shape
    _check_expand(input._data.shape, (sa[0], sa[1], sb[2]), input)
    _check_bmm(sa[0], sa[2], sb[1], sb[0], batch1, batch2)
    if input._data.dtype != batch1._data.dtype:
        raise RuntimeError(f"expected scalar type {_scalar(batch1)} but found {_scalar(input)}")
    return _scaled(Baddbmm, input, batch1, batch2, beta, alpha)


def _scaled(op, c, a, b, beta, alpha):
    params = {}
    if beta != 1:
        params["beta"] = beta
    if alpha != 1:
        params["alpha"] = alpha
    return op.apply(c, a, b, **params)


# --- einsum --------------------------------------------------------------------------------------

_LETTERS = string.ascii_letters  # the subscripts einsum accepts: [a-zA-Z]


class Einsum(Op):
    """Einsum: y = Σ over the subscripts missing from the output of Πₖ xₖ; dL/dxₖ = einsum of g
    with the other operands into xₖ's subscripts"""

    @staticmethod
    def forward(ctx, *operands, equation=""):
        xp = ctx.xp
        if ctx.needs_input_grad:
            need = ctx.needs_input_grad
            # Operand k is needed for the gradient of every other operand.
            ctx.save_for_backward(*(x if any(need[:k] + need[k + 1:]) else None
                                    for k, x in enumerate(operands)))
            ctx.equation = equation
            ctx.shapes = tuple(x.shape for x in operands)
        y = xp.einsum(equation, *operands, optimize=_optimize(operands))
        if any(xp.may_share_memory(y, x) for x in operands):
            y = y.copy()  # numpy returns a view for pure transpositions; ops return new memory
        return y

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        lhs, out = ctx.equation.split("->")
        subs = lhs.split(",")
        grads = []
        for k, need in enumerate(ctx.needs_input_grad):
            grads.append(_einsum_grad(ctx.xp, g, k, subs, out, operands, ctx.shapes)
                         if need else None)
        return tuple(grads)


def _optimize(operands) -> bool:
    # NOTE: numpy's path optimizer sends contractions to BLAS, but costs tens of microseconds:
    # worth it for large operands or long chains only.
    return len(operands) > 2 or sum(getattr(x, "_data", x).size for x in operands) > 4096


def _einsum_grad(xp, g, k, subs, out, operands, shapes):
    """dL/dxₖ: einsum of g and the other operands into xₖ's subscripts.  A subscript repeated in
    xₖ (a diagonal, 'ii') gets a fresh letter tied to the first by an identity matrix; a
    subscript found nowhere else (summed over in forward), or only with size 1 (broadcast), comes
    from a ones array."""
    shape = shapes[k]
    terms, arrays = [out], [g]
    size = dict(zip(out, g.shape))
    for j, s in enumerate(subs):
        if j != k:
            terms.append(s)
            arrays.append(operands[j])
            for c, n in zip(s, shapes[j]):
                size[c] = max(n, size.get(c, 1))
    used = set("".join(subs) + out)
    fresh = (c for c in _LETTERS if c not in used)
    target, seen = [], set()
    for pos, letter in enumerate(subs[k]):
        if letter in seen:
            twin = next(fresh)
            terms.append(letter + twin)
            arrays.append(_constant(g, "eye", shape[pos]))
            target.append(twin)
        else:
            seen.add(letter)
            target.append(letter)
    known = set("".join(terms))
    missing = [c for c in dict.fromkeys(subs[k])
               if c not in known or size.get(c, 1) < shape[subs[k].index(c)]]
    if missing:
        terms.append("".join(missing))
        arrays.append(_constant(g, "ones", tuple(shape[subs[k].index(c)] for c in missing)))
    equation = ",".join(terms) + "->" + "".join(target)
    return xp.einsum(equation, *arrays, optimize=_optimize(arrays))


def _constant(g, kind: str, size):
    """An identity matrix or a ones array on g's device and dtype (a Tensor when g is one)."""
    raw = g._data if isinstance(g, Tensor) else g
    xp = backend.xp_of(raw)
    array = xp.eye(size, dtype=raw.dtype) if kind == "eye" else xp.ones(size, dtype=raw.dtype)
    return Tensor._wrap(array) if isinstance(g, Tensor) else array


def _xp_einsum(subscripts, *operands, optimize=False):
    """TENSOR_XP's einsum: numpy's signature, nbtorch's differentiable op."""
    return _einsum_public(subscripts, *operands)


_xp_einsum.__name__ = "einsum"
adapter(_xp_einsum)


def _sublist_equation(args) -> tuple:
    """``einsum(op1, [0, 1], op2, [1, 2], [0, 2])`` to ``('ab,bc->ac', [op1, op2])``."""
    def letters(sublist):
        return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sublist)

    operands, terms = list(args[0::2]), [letters(s) for s in args[1::2]]
    if len(args) % 2:  # the last item is the output sublist
        operands.pop()
        return ",".join(terms[: len(operands)]) + "->" + letters(args[-1]), operands
    return ",".join(terms), operands


def _parse_einsum(equation: str, shapes: list) -> str:
    """Check ``equation`` against the operands' shapes, with PyTorch's errors, and return it in a
    canonical form: explicit output, no spaces, ellipses replaced by letters of their own."""
    for i, c in enumerate(equation):
        if c not in _LETTERS and c not in " ,.->":
            raise RuntimeError(f"einsum(): invalid subscript given at index {i} in the equation "
                               "string, subscripts must be in [a-zA-Z]")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    named, ellipsis_dims = [], []
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        has_ellipsis = "..." in term
        letters = term.replace("...", "", 1)
        if "." in letters:
            raise RuntimeError(f"einsum(): found '.' for operand {k} that is not part of any "
                               "ellipsis")
        if not has_ellipsis and len(letters) != len(shape):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(letters)}) does not "
                f"match the number of dimensions ({len(shape)}) for operand {k} and no ellipsis "
                "was given")
        if has_ellipsis and len(letters) > len(shape):
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(letters)}) is more than "
                f"the number of dimensions ({len(shape)}) for operand {k}")
        named.append(letters)
        ellipsis_dims.append(len(shape) - len(letters) if has_ellipsis else 0)
    # Ellipsis dimensions get letters not used elsewhere, aligned from the right as they broadcast.
    spare = [c for c in _LETTERS if c not in eq]
    n_ell = max(ellipsis_dims, default=0)
    ell = "".join(spare[:n_ell])
    canon = []
    for term, n in zip(terms, ellipsis_dims):
        canon.append(term.replace("...", ell[n_ell - n:]) if "..." in term else term)
    _check_sizes(canon, shapes)
    if arrow:
        if "..." in rhs:
            rhs = rhs.replace("...", ell)
        elif "." in rhs:
            raise RuntimeError("einsum(): found '.' for output but it is not part of any ellipsis")
        all_in = set("".join(canon))
        for i, c in enumerate(rhs):
            if c not in all_in:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   "equation for any input operand")
            if c in rhs[:i]:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in "
                                   "the output")
    else:  # implicit output: the ellipsis, then the subscripts seen once, in alphabetical order
        joined = "".join(named)
        rhs = ell + "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    return ",".join(canon) + "->" + rhs


def _check_sizes(terms: list, shapes: list) -> None:
    seen: dict = {}
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        own: dict = {}
        for c, n in zip(term, shape):
            if c in own and own[c] != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {k} but the "
                                   f"sizes don't match, {n} != {own[c]}")
            own[c] = n
        for c, n in own.items():
            if c in seen and n != seen[c] and 1 not in (n, seen[c]):
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {k} which "
                                   f"does not broadcast with previously seen size {seen[c]}")
            seen[c] = n if c not in seen or seen[c] == 1 else seen[c]


def _einsum_public(equation, *operands):
    if isinstance(equation, Tensor):
        equation, operands = _sublist_equation((equation,) + operands)
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for i, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 1, but got "
                            f"{type(x).__name__}")
    canonical = _parse_einsum(equation, [x._data.shape for x in operands])
    first = operands[0]._data.dtype if operands else None
    for x in operands[1:]:
        if x._data.dtype != first:
            raise RuntimeError(f"expected scalar type {_scalar(operands[0])} but found "
                               f"{_scalar(x)}")
    return Einsum.apply(*operands, equation=canonical)


def einsum(*args):
    """Sums of products given in Einstein notation: ``einsum('ij,jk->ik', a, b)`` is ``a @ b``.

    Supports ellipses, repeated subscripts (diagonals), implicit outputs, broadcasting of size-1
    dimensions and the sublist form ``einsum(a, [0, 1], b, [1, 2])``.

    >>> import nbtorch as torch
    >>> torch.einsum('ij,jk->ik', torch.ones(2, 3), torch.ones(3, 4)).shape
    torch.Size([2, 4])
    >>> torch.einsum('ii', torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(5.)
    """
    if not args:
        raise TypeError("einsum(): must specify the equation string and at least one operand, or "
                        "at least one operand and its subscripts list")
    return _einsum_public(*args)


def _rmatmul(self, other):
    return matmul(other, self)


METHODS = {
    "matmul": matmul, "__matmul__": matmul, "__rmatmul__": _rmatmul, "mm": mm, "bmm": bmm,
    "mv": mv, "dot": dot, "vdot": vdot, "outer": outer, "ger": outer, "inner": inner,
    "addmm": addmm, "baddbmm": baddbmm,
}
INPLACE = ("addmm", "baddbmm")
