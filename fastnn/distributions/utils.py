"""Helpers shared by fastnn's distributions: parameter broadcasting, probs <-> logits,
cached derived parameters, shape bookkeeping and draws from fastnn's random stream."""
import math
from numbers import Number

import numpy as np

import fastnn
from fastnn import Size, Tensor

euler_constant = 0.57721566490153286060  # Euler-Mascheroni constant

__all__ = ["broadcast_all", "logits_to_probs", "clamp_probs", "probs_to_logits",
           "lazy_property", "tril_matrix_to_vec", "vec_to_tril_matrix"]


def _tensorize(values):
    """Python/numpy numbers become 0-d tensors of the first tensor's dtype (or the
    default dtype when every value is a number)."""
    dtype = next((v.dtype for v in values if isinstance(v, Tensor)),
                 fastnn.get_default_dtype())
    return [v if isinstance(v, Tensor) else fastnn.tensor(float(v), dtype=dtype)
            for v in values]


def broadcast_all(*values):
    """Tensors of one common shape from a mix of tensors and numbers."""
    for v in values:
        if not isinstance(v, (Tensor, Number, np.number)):
            raise ValueError("Input arguments must all be instances of Number, "
                             "torch.Tensor or objects implementing __torch_function__.")
    return tuple(fastnn.broadcast_tensors(*_tensorize(values)))


def _size(shape):
    return shape if isinstance(shape, Size) else Size(tuple(shape))


def _concat_shapes(*shapes):
    """One Size made of the given shapes laid end to end."""
    out = ()
    for s in shapes:
        out += tuple(s)
    return Size(out)


def _standard_normal(shape, dtype):
    return fastnn.randn(tuple(shape), dtype=dtype)


def _standard_uniform(shape, dtype):
    return fastnn.rand(tuple(shape), dtype=dtype)


def _sum_rightmost(value, dim):
    """Add up the ``dim`` trailing dimensions of ``value`` (nothing to do for 0)."""
    if dim <= 0:
        return value
    if value.dim() < dim:  # fewer dims than asked for: all of them add up to one number
        return value.reshape(-1).sum(-1)
    return value.sum(tuple(range(-dim, 0)))


def _lay_out_support(points, batch_shape, expand):
    """``points`` (n, *event) becomes (n, 1.., *event) with one singleton per batch dim, or,
    with ``expand``, a view broadcast across the whole batch."""
    n, event = points.shape[0], tuple(points.shape[1:])
    lifted = points.view((n,) + (1,) * len(batch_shape) + event)
    return lifted.expand((n,) + tuple(batch_shape) + event) if expand else lifted


def logits_to_probs(logits, is_binary=False):
    return fastnn.sigmoid(logits) if is_binary else fastnn.softmax(logits, dim=-1)


def clamp_probs(probs):
    """Keep probabilities one machine epsilon away from 0 and 1 so logs stay finite."""
    tiny = fastnn.finfo(probs.dtype).eps
    return probs.clamp(min=tiny, max=1 - tiny)


def probs_to_logits(probs, is_binary=False):
    p = clamp_probs(probs)
    # binary: the log-odds; categorical: plain log-probabilities (softmax undoes either)
    return fastnn.log(p) - fastnn.log1p(-p) if is_binary else fastnn.log(p)


class lazy_property:
    """Computes a derived parameter on first access and stores it on the instance.  The
    computation runs with gradients enabled, so a derived ``logits`` still carries the
    graph back to the ``probs`` the user passed (even when first touched under no_grad)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__name__ = wrapped.__name__
        self.__doc__ = wrapped.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        with fastnn.enable_grad():
            derived = self.wrapped(instance)
        instance.__dict__[self.__name__] = derived
        return derived


def xlogy(x, y):
    """x * log(y), 0 wherever x == 0: fastnn.xlogy, whose gradient in x stays log(y) at
    x == 0 (a where() around the product would zero it, e.g. at concentration 1)."""
    return fastnn.xlogy(x, y)


def log1p_exp(x):
    """log(1 + e^x) without overflow.  max(x, 0) is taken as the mean of clamp(min=0) and
    x - clamp(max=0), so its slope at x == 0 is 1/2 and the total gradient there is exact."""
    hinge = (x.clamp(min=0) + x - x.clamp(max=0)) / 2
    return hinge + fastnn.log1p(fastnn.exp(-x.abs()))


def _gen_numpy():
    """The numpy Generator behind fastnn's default random stream (fastnn.manual_seed)."""
    from fastnn.random import get_generator
    return get_generator(None).np


def _unit_gamma_draws(concentration, shape):
    """Gamma(concentration, 1) draws of ``shape`` as float64 numpy, from fastnn's stream."""
    alpha = np.broadcast_to(concentration.detach().numpy(), tuple(shape)).astype(np.float64)
    # small concentrations underflow to 0: keep draws positive so ratios of them are defined
    return np.maximum(_gen_numpy().standard_gamma(alpha), np.finfo(np.float64).tiny)


def _normalized_draws(draws, numer, dtype):
    """numer / draws.sum(-1) (float64 Gamma draws) as a fastnn tensor of ``dtype``, kept
    inside the open unit interval: [tiny, the largest value below 1] of that dtype."""
    ratio = np.asarray(numer / draws.sum(-1, keepdims=True)).astype(dtype.np)
    top = np.nextafter(ratio.dtype.type(1), ratio.dtype.type(0))
    return fastnn.tensor(np.clip(ratio, np.finfo(ratio.dtype).tiny, top), dtype=dtype)


class _ProbsOrLogits:
    """Mixin for Bernoulli and Categorical: the user gives ``probs`` or ``logits`` and the
    other is derived lazily.  ``_binary`` picks sigmoid/log-odds over softmax/log."""
    _binary = False

    @staticmethod
    def _choose(probs, logits):
        """(name, value) of the one parametrisation given; both or neither is an error."""
        if (probs is None) is (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        return ("probs", probs) if logits is None else ("logits", logits)

    @property
    def _param(self):
        """The parameter the user supplied (the other one may not exist yet)."""
        return self.__dict__["probs" if "probs" in self.__dict__ else "logits"]

    @property
    def param_shape(self):
        return self._param.size()

    @lazy_property
    def logits(self):
        p = clamp_probs(self.probs)
        if self._binary:
            return p.log() - (-p).log1p()
        return p.log()

    @lazy_property
    def probs(self):
        if self._binary:
            return fastnn.sigmoid(self.logits)
        return fastnn.softmax(self.logits, dim=-1)


def _tril_mask(n, diag):
    """(n, n) bool mask of the entries on or below diagonal ``diag`` (row-major order)."""
    rows = fastnn.arange(n)
    return rows < rows.view(-1, 1) + (diag + 1)


def vec_to_tril_matrix(vec, diag=0):
    """Lay the last dim of ``vec`` out, row by row, as the entries on or below diagonal
    ``diag`` of square matrices (zeros elsewhere); differentiable in ``vec``."""
    length = vec.shape[-1]
    # n solves n (n + 1) / 2 + diag n + ... = length for the square side
    b = 1 + 2 * diag
    side = (-b + math.sqrt(b * b + 8 * length + 4 * abs(diag) * (diag + 1))) / 2
    if round(side) - side > fastnn.finfo(vec.dtype).eps:
        raise ValueError(f"The size of last dimension is {length} which cannot be expressed "
                         "as the lower triangular part of a square D x D matrix.")
    side = round(side)
    mat = vec.new_zeros(tuple(vec.shape[:-1]) + (side, side))
    mat[..., _tril_mask(side, diag)] = vec
    return mat


def tril_matrix_to_vec(mat, diag=0):
    """The entries on or below diagonal ``diag`` of square matrices, row by row, as the
    last dim of the result (the inverse of vec_to_tril_matrix)."""
    side = mat.shape[-1]
    if not -side <= diag < side:
        raise ValueError(f"diag ({diag}) provided is outside [{-side}, {side - 1}].")
    if mat.shape[-2] != side:  # the (side, side) mask cannot index these matrices
        raise IndexError(f"The shape of the mask [{side}, {side}] at index 0 does not match "
                         f"the shape of the indexed tensor {list(mat.shape)} at index "
                         f"{mat.dim() - 2}")
    return mat[..., _tril_mask(side, diag)]
