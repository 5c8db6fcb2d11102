"""The Wishart distribution over positive-definite matrices."""
import math
import warnings
from numbers import Number

import fastnn

from . import constraints
from ._special import digamma, lgamma
from .chi2 import Chi2
from .distribution import ExponentialFamily
from .utils import lazy_property

__all__ = ["Wishart"]

_LOG_2 = math.log(2.0)


def _mvlgamma(x, p):
    """log of the p-variate gamma function, differentiable in x."""
    shifts = fastnn.arange(p, dtype=x.dtype) / 2
    return p * (p - 1) / 4 * math.log(math.pi) + lgamma(x.unsqueeze(-1) - shifts).sum(-1)


def _mvdigamma(x, p):
    shifts = fastnn.arange(p, dtype=x.dtype) / 2
    return digamma(x.unsqueeze(-1) - shifts).sum(-1)


class Wishart(ExponentialFamily):
    """Wishart(df, covariance_matrix=None, precision_matrix=None, scale_tril=None): the
    distribution of sum_k x_k x_k^T for df draws x_k ~ N(0, Sigma) (real df > p - 1
    allowed).  Draws use the Bartlett decomposition, differentiable in df and the scale."""
    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix),
                                     ("scale_tril", scale_tril)) if m is not None]
        if len(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or "
                                 "scale_tril may be specified.")
        name, param = given[0]
        if param.dim() < 2:
            raise ValueError(f"{name} must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if isinstance(df, Number):
            batch_shape = tuple(param.shape[:-2])
            self.df = fastnn.tensor(df, dtype=param.dtype)
        else:
            batch_shape = tuple(fastnn.broadcast_shapes(tuple(param.shape[:-2]),
                                                        tuple(df.shape)))
            self.df = df.expand(batch_shape)
        event_shape = tuple(param.shape[-2:])
        p = event_shape[-1]
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = "
                             f"{p - 1}.")
        setattr(self, name, param.expand(batch_shape + (-1, -1)))
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to "
                          "occur for ndim - 1 < df < ndim.", stacklevel=2)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = param
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = fastnn.linalg.cholesky(param)
        else:
            self._unbroadcasted_scale_tril = fastnn.linalg.cholesky(fastnn.linalg.inv(param))
        self._make_chi2()

    def _make_chi2(self):
        """Chi2(df - i) for the Bartlett factor's diagonal, i = 0 .. p - 1."""
        p = self._event_shape[-1]
        steps = fastnn.arange(p, dtype=self._unbroadcasted_scale_tril.dtype)
        self._dist_chi2 = Chi2(self.df.unsqueeze(-1) - steps.expand(
            tuple(self._batch_shape) + (p,)))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = tuple(batch_shape)
        full = batch_shape + tuple(self._event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(full)
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(full))
        ExponentialFamily.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._make_chi2()
        new._validate_args = self._validate_args
        return new

    def _full(self, m):
        return m.expand(tuple(self._batch_shape) + tuple(self._event_shape))

    @lazy_property
    def scale_tril(self):
        return self._full(self._unbroadcasted_scale_tril)

    @lazy_property
    def covariance_matrix(self):
        tril = self._unbroadcasted_scale_tril
        return self._full(tril @ tril.mT)

    @lazy_property
    def precision_matrix(self):
        eye = fastnn.eye(self._event_shape[-1], dtype=self._unbroadcasted_scale_tril.dtype)
        return self._full(fastnn.cholesky_solve(eye, self._unbroadcasted_scale_tril))

    def _df_matrix(self, values):
        return values.reshape(tuple(self._batch_shape) + (1, 1))

    @property
    def mean(self):
        return self._df_matrix(self.df) * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = fastnn.where(factor <= 0, fastnn.full_like(factor, math.nan), factor)
        return self._df_matrix(factor) * self.covariance_matrix

    @property
    def variance(self):
        cov = self.covariance_matrix
        diag = cov.diagonal(dim1=-2, dim2=-1)
        return self._df_matrix(self.df) * (cov.pow(2) + diag.unsqueeze(-1) * diag.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape):
        p = self._event_shape[-1]
        chi = self._dist_chi2.rsample(sample_shape).sqrt()
        chi = chi.clamp(min=fastnn.finfo(chi.dtype).eps)
        lead = tuple(sample_shape) + tuple(self._batch_shape)
        normal = fastnn.randn(lead + (p, p), dtype=chi.dtype).tril(-1)
        factor = self._unbroadcasted_scale_tril @ (fastnn.diag_embed(chi) + normal)
        return factor @ factor.mT

    def rsample(self, sample_shape=(), max_try_correction=None):
        """Bartlett draws; singular ones (possible when df is close to p - 1) are redrawn up
        to ``max_try_correction`` (default 10) times, with a warning if some remain."""
        tries = 10 if max_try_correction is None else max_try_correction
        sample = self._bartlett_sampling(sample_shape)
        bad = ~self.support.check(sample)
        for _ in range(tries):
            if not bool(bad.any()):
                break
            fresh = self._bartlett_sampling(sample_shape)
            sample = fastnn.where(bad.unsqueeze(-1).unsqueeze(-1), fresh, sample)
            bad = ~self.support.check(sample)
        if bool(bad.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
        return sample

    def _log_scale_term(self):
        p = self._event_shape[-1]
        diag = self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1)
        return p * _LOG_2 / 2 + diag.log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        trace = fastnn.cholesky_solve(value, self._unbroadcasted_scale_tril).diagonal(
            dim1=-2, dim2=-1).sum(-1)
        return (-nu * self._log_scale_term() - _mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * fastnn.linalg.slogdet(value).logabsdet - trace / 2)

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        return ((p + 1) * self._log_scale_term() + _mvlgamma(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    @property
    def _natural_params(self):
        p = self._event_shape[-1]
        return -self.precision_matrix / 2, (self.df - p - 1) / 2

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        half = y + (p + 1) / 2
        return (half * (-fastnn.linalg.slogdet(-2 * x).logabsdet + _LOG_2 * p)
                + _mvlgamma(half, p))
