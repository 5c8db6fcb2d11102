"""fastnn's namespace for the Python array API standard, version 2023.12.

``x.__array_namespace__()`` returns this module, so code written against the standard runs on
fastnn tensors::

    xp = x.__array_namespace__()
    y = xp.sum(xp.exp(x), axis=-1)

Every function of the 2023.12 standard is here, and each records gradients where the math is
differentiable. What fastnn lacks raises AttributeError naming it: the dtypes uint16, uint32,
uint64, complex64 and complex128, and the ``linalg`` and ``fft`` extensions.

Differences worth knowing:

* Type promotion follows the standard's table within a kind, and 0-d arrays take part like
  any other array (fastnn's operators, like PyTorch's, let a 0-d tensor yield to a dimensioned
  one of the same kind). Across kinds, which the standard leaves undefined, the result has the
  higher kind's dtype (bool < integer < floating, as in PyTorch): int64 + float32 -> float32.
  Python scalars only lift the kind. ``can_cast(a, b)`` is ``result_type(a, b) == b``.
* The default floating dtype is ``fastnn.get_default_dtype()`` (float32 unless changed), as
  in PyTorch; the default integer and index dtype is int64.
* sum, prod and cumulative_sum of unsigned integers give int64 (fastnn has no uint64).
* Integer inputs of transcendental functions compute in the default floating dtype.
* ``x.size`` is PyTorch's method, not the standard's attribute; use ``x.numel()``.
"""
import math as _math
import sys as _sys

from .. import _dtype as _D
from ._dtypes import (__array_namespace_info__, astype, can_cast, finfo, iinfo,  # noqa: F401
                      isdtype, result_type, MISSING as _MISSING)
from ._creation import (arange, asarray, empty, empty_like, eye, full, full_like,  # noqa: F401
                        linspace, meshgrid, ones, ones_like, tril, triu, zeros, zeros_like)
from ._elementwise import (  # noqa: F401
    abs, acos, acosh, add, asin, asinh, atan, atan2, atanh, bitwise_and, bitwise_invert,
    bitwise_left_shift, bitwise_or, bitwise_right_shift, bitwise_xor, ceil, clip, conj,
    copysign, cos, cosh, divide, equal, exp, expm1, floor, floor_divide, greater,
    greater_equal, hypot, imag, isfinite, isinf, isnan, less, less_equal, log, log1p, log2,
    log10, logaddexp, logical_and, logical_not, logical_or, logical_xor, maximum, minimum,
    multiply, negative, not_equal, positive, pow, real, remainder, round, sign, signbit, sin,
    sinh, square, sqrt, subtract, tan, tanh, trunc, where)
from ._manipulation import (  # noqa: F401
    broadcast_arrays, broadcast_to, concat, expand_dims, flip, from_dlpack, matmul,
    matrix_transpose, moveaxis, permute_dims, repeat, reshape, roll, squeeze, stack, take,
    tensordot, tile, unstack, vecdot)
from ._statistics import (  # noqa: F401
    all, any, argmax, argmin, argsort, cumulative_sum, max, mean, min, nonzero, prod,
    searchsorted, sort, std, sum, unique_all, unique_counts, unique_inverse, unique_values,
    var)

__array_api_version__ = "2023.12"
# Earlier revisions are subsets of 2023.12 for everything fastnn implements.
SUPPORTED_VERSIONS = ("2021.12", "2022.12", "2023.12")

e = _math.e
inf = _math.inf
nan = _math.nan
pi = _math.pi
newaxis = None

bool = _D.bool_
int8 = _D.int8
int16 = _D.int16
int32 = _D.int32
int64 = _D.int64
uint8 = _D.uint8
float32 = _D.float32
float64 = _D.float64

_EXTENSIONS = ("linalg", "fft")


def __getattr__(name):
    if name in _MISSING:
        raise AttributeError(f"fastnn.array_api does not implement {name!r} (array API "
                             f"2023.12): fastnn has no {name} dtype")
    if name in _EXTENSIONS:
        raise AttributeError(f"fastnn.array_api does not implement {name!r} (array API "
                             f"2023.12): the {name} extension is not available")
    raise AttributeError(f"module 'fastnn.array_api' has no attribute {name!r}")


def namespace(api_version=None):
    """The namespace for ``api_version`` (None: the newest, 2023.12)."""
    if api_version is not None and api_version not in SUPPORTED_VERSIONS:
        raise ValueError(f"fastnn.array_api supports array API versions "
                         f"{', '.join(SUPPORTED_VERSIONS)}; got {api_version!r}")
    return _sys.modules[__name__]


_names = dir()  # taken outside the comprehension, whose scope has its own dir()
__all__ = [n for n in _names if not n.startswith("_") and n not in
           ("namespace", "SUPPORTED_VERSIONS")] + ["__array_api_version__",
                                                    "__array_namespace_info__"]
