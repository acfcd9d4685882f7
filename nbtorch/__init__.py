"""nbtorch: PyTorch's API on numpy and CuPy, with an autograd tape you can see.

>>> import nbtorch as torch
>>> x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y
tensor(14., grad_fn=<SumBackward0>)
>>> y.backward(); x.grad
tensor([2., 4., 6.])
"""

from __future__ import annotations

import importlib as _importlib
import warnings as _warnings

from . import _tensor_methods
from ._dtype import (
    bool_ as bool,  # noqa: A001 - PyTorch's name
)
from ._dtype import (
    complex64,
    complex128,
    dtype,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    set_default_dtype,
    uint8,
)
from ._tensor import Size, Tensor
from ._tensor_str import get_printoptions, printoptions, set_printoptions
from .autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import device

__version__ = "0.1.0"

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
cfloat, cdouble = complex64, complex128

_tensor_methods.install()

# PyTorch returns inf and nan silently; numpy warns about them.  Silence numpy's floating-point
# warnings for the numpy calls made inside nbtorch only (warnings are attributed to the calling
# module); nbtorch's own RuntimeWarnings (a live widget that failed to update) still show.
_NUMPY_FP_WARNING = r"(overflow|underflow|invalid value|divide by zero) encountered in"
_warnings.filterwarnings("ignore", _NUMPY_FP_WARNING, RuntimeWarning, r"nbtorch(\.|$)")


def _export(module) -> None:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items()
                 if not n.startswith("_") and callable(v) and not isinstance(v, type)
                 and getattr(v, "__module__", None) == module.__name__]
    for name in names:
        globals()[name] = getattr(module, name)


for _family in ("creation",) + _tensor_methods.FAMILIES:
    try:
        _export(_importlib.import_module(f".ops.{_family}", __name__))
    except ModuleNotFoundError as _missing:
        if _missing.name != f"{__name__}.ops.{_family}":
            raise

from . import accelerator, autograd, cuda, linalg, nn, optim, utils  # noqa: E402
from .serialization import load, save  # noqa: E402


def result_type(tensor1, tensor2):
    """The dtype PyTorch's promotion gives ``tensor1`` op ``tensor2``.

    >>> import nbtorch as torch
    >>> torch.result_type(torch.tensor([1, 2]), 1.0)
    torch.float32
    """
    from ._dtype import result_type_of

    operands = [tensor1, tensor2]
    dims = [t.dtype for t in operands if isinstance(t, Tensor) and t.ndim]
    zero = [t.dtype for t in operands if isinstance(t, Tensor) and not t.ndim]
    scalars = [t for t in operands if not isinstance(t, Tensor)]
    return result_type_of(dims, zero, scalars)


def is_floating_point(input) -> bool:
    return input.is_floating_point()


def is_complex(input) -> bool:
    return input.is_complex()
