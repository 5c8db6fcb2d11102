"""PyTorch's ``out=`` keyword for the module-level functions written without one.

The result is computed as usual and then written into ``out`` by ``_functions._into``
(resized when its shape differs, PyTorch's casting rules), so each function needs no code
of its own for it.
"""
import inspect

from ._functions import _takes_out

# fastnn.<name> functions that take ``out=`` in PyTorch
OUT_FUNCTIONS = """logaddexp logaddexp2 hypot copysign xlogy nextafter heaviside ldexp float_power
fmax fmin erf erfc erfinv lgamma digamma polygamma i0 sinc logit exp2 asinh acosh atanh arcsinh
arccosh arctanh frac fix sgn signbit nan_to_num isposinf isneginf bitwise_and bitwise_or
bitwise_xor bitwise_not bitwise_left_shift bitwise_right_shift gcd lcm logcumsumexp diff kron
addmv addbmm baddbmm addr take searchsorted bucketize histc histogram nansum matrix_power
frexp chain_matmul cross addcmul addcdiv nanmean column_stack row_stack dstack inner vdot renorm
isin angle conj_physical mvlgamma narrow_copy slice_scatter index_copy index_reduce take_along_dim
bernoulli multinomial""".split()


def takes_out(fn):
    """Whether ``fn`` has an ``out`` keyword of its own."""
    try:
        params = inspect.signature(fn, follow_wrapped=False).parameters
    except (TypeError, ValueError):
        return False
    return "out" in params


def add_out_keyword(namespace, names=OUT_FUNCTIONS):
    """Replace each function ``namespace[name]`` lacking ``out=`` by one that accepts it."""
    for name in names:
        fn = namespace.get(name)
        if fn is not None and callable(fn) and not takes_out(fn):
            namespace[name] = _takes_out(fn)
