"""Elementwise kernels over strided, broadcast operands.

Every operand arrives as (flat buffer, element offset, element strides); the launcher has
already collapsed the shared index space to as few dimensions as the layouts allow, so the
common contiguous case runs with one dimension. Kernels compile on first use and numba caches
one specialisation per (op, dtypes, number of dimensions).
"""
import math

from ._backend import cuda, grid
from ._launch import launch

# ---- the ops, as device functions -------------------------------------------------------


@cuda.jit(device=True)
def _finite(x):
    return x == x and x != math.inf and x != -math.inf


def _floor(x):
    # math.floor gives an integer: keep NaN and infinities as they are
    return math.floor(x) if _finite(x) else x


def _ceil(x):
    return math.ceil(x) if _finite(x) else x


def _trunc(x):
    return math.trunc(x) if _finite(x) else x


def _rint(x):
    if not _finite(x):
        return x
    f = math.floor(x)
    d = x - f
    if d > 0.5 or (d == 0.5 and f % 2 != 0):
        return f + 1
    return f


def _sign(x):
    if x > 0:
        return 1
    if x < 0:
        return -1
    return x  # zero or NaN


def _maximum(a, b):
    return a if (a > b or a != a) else b


def _minimum(a, b):
    return a if (a < b or a != a) else b


def _fmax(a, b):
    return a if (a >= b or b != b) else b


def _fmin(a, b):
    return a if (a <= b or b != b) else b


def _logaddexp(a, b):
    if a == b:  # also both infinite of one sign
        return a + 0.6931471805599453
    d = a - b
    if d > 0:
        return a + math.log1p(math.exp(-d))
    if d < 0:
        return b + math.log1p(math.exp(d))
    return d  # NaN


def _floor_divide(a, b):
    return a // b


def _remainder(a, b):
    return a % b


UNARY = {
    "negative": lambda x: -x,
    "positive": lambda x: x,
    "copy": lambda x: x,
    "absolute": lambda x: abs(x),
    "sign": _sign,
    "exp": lambda x: math.exp(x),
    "exp2": lambda x: math.pow(2.0, x),
    "expm1": lambda x: math.expm1(x),
    "log": lambda x: math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan),
    "log2": lambda x: math.log2(x) if x > 0 else (-math.inf if x == 0 else math.nan),
    "log10": lambda x: math.log10(x) if x > 0 else (-math.inf if x == 0 else math.nan),
    "log1p": lambda x: math.log1p(x) if x > -1 else (-math.inf if x == -1 else math.nan),
    "sqrt": lambda x: math.sqrt(x) if x >= 0 else math.nan,
    "square": lambda x: x * x,
    "reciprocal": lambda x: 1 / x,
    "sin": lambda x: math.sin(x),
    "cos": lambda x: math.cos(x),
    "tan": lambda x: math.tan(x),
    "tanh": lambda x: math.tanh(x),
    "arctan": lambda x: math.atan(x),
    "erf": lambda x: math.erf(x),
    "arcsin": lambda x: math.asin(x),
    "arccos": lambda x: math.acos(x),
    "sinh": lambda x: math.sinh(x),
    "cosh": lambda x: math.cosh(x),
    "floor": _floor,
    "ceil": _ceil,
    "trunc": _trunc,
    "rint": _rint,
    "isnan": lambda x: x != x,
    "isinf": lambda x: x == math.inf or x == -math.inf,
    "isfinite": lambda x: _finite(x),
    "logical_not": lambda x: not x,
    "invert": lambda x: ~x,
    "signbit": lambda x: x < 0 or (x == 0 and math.copysign(1.0, x) < 0),
}

BINARY = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "true_divide": lambda a, b: a / b,
    "floor_divide": _floor_divide,
    "remainder": _remainder,
    "power": lambda a, b: a ** b,
    "maximum": _maximum,
    "minimum": _minimum,
    "fmax": _fmax,
    "fmin": _fmin,
    "equal": lambda a, b: a == b,
    "not_equal": lambda a, b: a != b,
    "less": lambda a, b: a < b,
    "less_equal": lambda a, b: a <= b,
    "greater": lambda a, b: a > b,
    "greater_equal": lambda a, b: a >= b,
    "logical_and": lambda a, b: bool(a) and bool(b),
    "logical_or": lambda a, b: bool(a) or bool(b),
    "logical_xor": lambda a, b: bool(a) != bool(b),
    "bitwise_and": lambda a, b: a & b,
    "bitwise_or": lambda a, b: a | b,
    "bitwise_xor": lambda a, b: a ^ b,
    "arctan2": lambda a, b: math.atan2(a, b),
    "hypot": lambda a, b: math.hypot(a, b),
    "copysign": lambda a, b: math.copysign(a, b),
    "logaddexp": _logaddexp,
    # relu's gradient from its output y: torch's threshold_backward (a NaN y passes g)
    "threshold_grad": lambda g, y: 0.0 if y <= 0 else g,
}

_dev = {}
_kernels = {}


def _device_fn(table, name):
    fn = _dev.get(name)
    if fn is None:
        fn = _dev[name] = cuda.jit(device=True)(table[name])
    return fn


# ---- kernel factories -------------------------------------------------------------------
def _unary_kernel(op):
    @cuda.jit
    def k(n, shape, out, oo, ost, a, ao, ast):
        i = cuda.grid(1)
        step = cuda.gridsize(1)
        while i < n:
            r = i
            io = oo
            ia = ao
            for d in range(len(shape) - 1, -1, -1):
                c = r % shape[d]
                r //= shape[d]
                io += c * ost[d]
                ia += c * ast[d]
            out[io] = op(a[ia])
            i += step
    return k


def _binary_kernel(op):
    @cuda.jit
    def k(n, shape, out, oo, ost, a, ao, ast, b, bo, bst):
        i = cuda.grid(1)
        step = cuda.gridsize(1)
        while i < n:
            r = i
            io = oo
            ia = ao
            ib = bo
            for d in range(len(shape) - 1, -1, -1):
                c = r % shape[d]
                r //= shape[d]
                io += c * ost[d]
                ia += c * ast[d]
                ib += c * bst[d]
            out[io] = op(a[ia], b[ib])
            i += step
    return k


def _scalar_kernel(op):
    """out = op(a, s) for a strided a and a scalar s."""
    @cuda.jit
    def k(n, shape, out, oo, ost, a, ao, ast, s):
        i = cuda.grid(1)
        step = cuda.gridsize(1)
        while i < n:
            r = i
            io = oo
            ia = ao
            for d in range(len(shape) - 1, -1, -1):
                c = r % shape[d]
                r //= shape[d]
                io += c * ost[d]
                ia += c * ast[d]
            out[io] = op(a[ia], s)
            i += step
    return k


def _scalar_first(op):
    """op with its operands swapped, for ``s - a`` and the like."""
    @cuda.jit(device=True)
    def f(x, s):
        return op(s, x)
    return f


@cuda.jit
def _where_kernel(n, shape, out, oo, ost, c, co, cst, a, ao, ast, b, bo, bst):
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < n:
        r = i
        io = oo
        ic = co
        ia = ao
        ib = bo
        for d in range(len(shape) - 1, -1, -1):
            q = r % shape[d]
            r //= shape[d]
            io += q * ost[d]
            ic += q * cst[d]
            ia += q * ast[d]
            ib += q * bst[d]
        out[io] = a[ia] if c[ic] else b[ib]
        i += step


@cuda.jit
def _fill_kernel(n, shape, out, oo, ost, value):
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < n:
        r = i
        io = oo
        for d in range(len(shape) - 1, -1, -1):
            q = r % shape[d]
            r //= shape[d]
            io += q * ost[d]
        out[io] = value
        i += step


@cuda.jit
def _arange_kernel(n, out, start, step_):
    i = cuda.grid(1)
    step = cuda.gridsize(1)
    while i < n:
        out[i] = start + i * step_
        i += step


def _get(key, make):
    k = _kernels.get(key)
    if k is None:
        k = _kernels[key] = make()
    return k


# ---- launchers: operands are (buffer, offset, strides) triples over a shared shape ----------
def unary(name, n, shape, out, a):
    k = _get(("u", name), lambda: _unary_kernel(_device_fn(UNARY, name)))
    launch(k, grid(n), n, shape, *out, *a)


def binary(name, n, shape, out, a, b):
    k = _get(("b", name), lambda: _binary_kernel(_device_fn(BINARY, name)))
    launch(k, grid(n), n, shape, *out, *a, *b)


def binary_scalar(name, n, shape, out, a, s, scalar_first):
    def build():
        op = _device_fn(BINARY, name)
        return _scalar_kernel(_scalar_first(op) if scalar_first else op)
    k = _get(("s", name, scalar_first), build)
    launch(k, grid(n), n, shape, *out, *a, s)


def where(n, shape, out, c, a, b):
    launch(_where_kernel, grid(n), n, shape, *out, *c, *a, *b)


def fill(n, shape, out, value):
    launch(_fill_kernel, grid(n), n, shape, *out, value)


def arange(n, buf, start, step):
    launch(_arange_kernel, grid(n), n, buf, start, step)
