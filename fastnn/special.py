"""fastnn.special: PyTorch's special-function namespace (``torch.special``).

Most names are the top-level functions under their SciPy-style spellings (``expit`` is
``sigmoid``, ``gammaln`` is ``lgamma``); ``entr``, ``ndtr``, ``ndtri`` and ``xlog1py`` are
built from differentiable ops; ``i0e``, ``i1``, ``i1e``, ``erfcx`` and ``log_ndtr`` come from
fastnn._special_more, with ``zeta``; ``gammainc``/``gammaincc`` from fastnn._special_gammainc.
The orthogonal polynomials are not here.
"""
import math

from .tensor import Tensor

__all__ = ["digamma", "psi", "erf", "erfc", "erfinv", "exp2", "expm1", "expit", "gammaln",
           "i0", "log1p", "log_softmax", "softmax", "logit", "logsumexp", "multigammaln",
           "polygamma", "round", "sinc", "xlogy", "xlog1py", "entr", "ndtr", "ndtri", "i0e",
           "i1", "i1e", "erfcx", "log_ndtr", "zeta", "gammainc", "gammaincc"]


def _fn(name):
    import fastnn
    return getattr(fastnn, name)


def _tensor(x, fn):
    if not isinstance(x, Tensor):
        raise TypeError(f"special_{fn}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(x).__name__}")
    return x


def _alias(name, target):
    def special(input, *args, **kwargs):
        return _fn(target)(_tensor(input, name), *args, **kwargs)
    special.__name__ = name
    special.__doc__ = f"``fastnn.special.{name}`` is ``fastnn.{target}``."
    return special


digamma = psi = _alias("digamma", "digamma")
erf = _alias("erf", "erf")
erfc = _alias("erfc", "erfc")
erfinv = _alias("erfinv", "erfinv")
exp2 = _alias("exp2", "exp2")
expm1 = _alias("expm1", "expm1")
expit = _alias("expit", "sigmoid")
gammaln = _alias("gammaln", "lgamma")
i0 = _alias("i0", "i0")
log1p = _alias("log1p", "log1p")
logit = _alias("logit", "logit")
logsumexp = _alias("logsumexp", "logsumexp")
multigammaln = _alias("multigammaln", "mvlgamma")
round = _alias("round", "round")
sinc = _alias("sinc", "sinc")
xlogy = _alias("xlogy", "xlogy")


def polygamma(n, input):
    """The n-th derivative of digamma."""
    return _fn("polygamma")(n, _tensor(input, "polygamma"))


def softmax(input, dim, *, dtype=None):
    x = _tensor(input, "softmax")
    return (x if dtype is None else x.to(dtype)).softmax(dim)


def log_softmax(input, dim, *, dtype=None):
    x = _tensor(input, "log_softmax")
    return (x if dtype is None else x.to(dtype)).log_softmax(dim)


def entr(input):
    """-x log x elementwise: 0 at 0 and -inf for x < 0, as the entropy integrand."""
    x = _tensor(input, "entr")
    if not x.is_floating_point():
        x = x.to(_fn("get_default_dtype")())
    from .autograd.ops_math import relabel
    return relabel(_entr_function().apply(x), "SpecialEntrBackward0")


_ENTR = []


def _entr_function():
    """entr as one autograd Function: its slope -(log x + 1) is inf at 0 and NaN below."""
    if _ENTR:
        return _ENTR[0]
    import numpy as np
    from .autograd import Function
    from .tensor import _wrap

    class Entr(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            a = np.asarray(x._host(), dtype=np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.where(a > 0, -a * np.log(np.where(a > 0, a, 1.0)),
                             np.where(a == 0, 0.0, np.where(a < 0, -np.inf, a)))
            return _wrap(np.asarray(y.astype(x._data.dtype)))

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * -(x.log() + 1)  # tensor ops, so create_graph=True differentiates it

    _ENTR.append(Entr)
    return Entr


def ndtr(input):
    """The standard normal CDF: erfc(-x / sqrt 2) / 2 (accurate in the lower tail)."""
    x = _tensor(input, "ndtr")
    if not x.is_floating_point():
        x = x.to(_fn("get_default_dtype")())
    return 0.5 * (-x / math.sqrt(2.0)).erfc()


def ndtri(input):
    """The inverse of the standard normal CDF (accurate in both tails)."""
    from ._special_more import special_op
    return special_op("ndtri", _tensor(input, "ndtri"))


def xlog1py(input, other):
    """x * log1p(y), 0 where x == 0 (even for y = -1)."""
    import fastnn
    x = input if isinstance(input, Tensor) else fastnn.tensor(input)
    if not isinstance(other, Tensor):
        float_x = x.is_floating_point()
        other = fastnn.tensor(other, dtype=x.dtype if float_x else fastnn.get_default_dtype())
    y = other
    # where x is 0 and log1p(y) is not finite (y <= -1 or +inf) the term is taken as 0;
    # elsewhere x * log1p(y) is already 0 at x == 0 and keeps d/dx = log1p(y) there
    void = (x == 0) & ((y <= -1) | (y == math.inf))
    safe = fastnn.where(void, fastnn.zeros_like(y), y)  # (y * 0 would be NaN at y = inf)
    out = x * safe.log1p() + 0.0  # + 0.0 turns 0 * negative (-0.0) into 0.0
    # the where above made a 0-d y dimensioned: restore the dtype of x op y
    dtype = fastnn.result_type(x, other)
    if not dtype.is_floating_point and not dtype.is_complex:
        dtype = fastnn.get_default_dtype()
    return out if out.dtype == dtype else out.to(dtype)



def _computed(name):
    def special(input, *, out=None):
        from ._special_more import special_op
        result = special_op(name, _tensor(input, name))
        if out is None:
            return result
        from ._functions import _into
        return _into(out, result, f"special_{name}")
    special.__name__ = name
    special.__doc__ = f"``fastnn.special.{name}``, elementwise (differentiable)."
    return special


i0e = _computed("i0e")
i1 = _computed("i1")
i1e = _computed("i1e")
erfcx = _computed("erfcx")
log_ndtr = _computed("log_ndtr")


def zeta(input, other, *, out=None):
    """The Hurwitz zeta function: the sum over k >= 0 of (other + k) ** -input."""
    from ._special_more import zeta as hurwitz_zeta
    result = hurwitz_zeta(input, other)
    if out is None:
        return result
    from ._functions import _into
    return _into(out, result, "special_zeta")


def _incomplete_gamma(name, upper, input, other, out):
    from ._special_gammainc import incomplete_gamma
    for arg, position, value in (("input", 1, input), ("other", 2, other)):
        if not isinstance(value, Tensor):
            raise TypeError(f"special_{name}(): argument '{arg}' (position {position}) must "
                            f"be Tensor, not {type(value).__name__}")
    result = incomplete_gamma(input, other, upper)
    if out is None:
        return result
    from ._functions import _into
    return _into(out, result, f"special_{name}")


def gammainc(input, other, *, out=None):
    """The regularized lower incomplete gamma P(input, other); differentiable in ``other``."""
    return _incomplete_gamma("gammainc", False, input, other, out)


def gammaincc(input, other, *, out=None):
    """The regularized upper incomplete gamma Q(input, other) = 1 - P(input, other)."""
    return _incomplete_gamma("gammaincc", True, input, other, out)


def _with_out():
    # PyTorch's out= for the special functions built from fastnn ops above
    from ._functions import _takes_out
    for name in ("polygamma", "entr", "ndtr", "ndtri", "xlog1py"):
        globals()[name] = _takes_out(globals()[name])


_with_out()
