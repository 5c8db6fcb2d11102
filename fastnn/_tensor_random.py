"""Argument checks and samplers behind normal, bernoulli, multinomial and random_."""
import numpy as np

from ._dtype import scalar_type_name as _title

_P_IN = ("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error message "
         "be improved?  If so, please report an enhancement request to PyTorch.)")


def _num(v):
    """A float written as PyTorch's messages write it: -1, -0.5, nan."""
    return f"{float(v):g}"


def check_std(std):
    """``std`` of normal/normal_: a number or a tensor, every value >= 0 (NaN fails)."""
    data = getattr(std, "_data", None)
    if data is None:
        if not std >= 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {_num(std)}")
    elif data.size and not (np.asarray(std._host()) >= 0).all():
        raise RuntimeError("normal expects all elements of std >= 0.0")


def check_p(p, tensor_p=None):
    """A probability of bernoulli/bernoulli_: a number in [0, 1], or a tensor of them."""
    if tensor_p is None:
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_num(p)}")
        return
    if tensor_p.size and not ((tensor_p >= 0) & (tensor_p <= 1)).all():
        raise RuntimeError(_P_IN)


def check_multinomial(t, num_samples, replacement):
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)):
        raise TypeError("multinomial(): argument 'num_samples' (position 2) must be int, not "
                        f"{type(num_samples).__name__}")
    a = t._data
    if a.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if a.dtype.kind != "f":
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{_title(a.dtype)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    if not replacement and num_samples > a.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")


def sample_rows(g, rows, n, replacement):
    """``n`` category indices per row of ``rows`` (non-negative weights, positive sums).

    Without replacement each row is ordered by weight / Exp(1) draws (a weighted random
    permutation); zero-weight categories, never preferred, follow in a uniform random order.
    With replacement: inverse-CDF lookups of uniform draws."""
    r, k = rows.shape
    if not replacement:
        keys = np.where(rows > 0, rows / g.standard_exponential((r, k)), -g.random((r, k)))
        return np.argsort(-keys, axis=1, kind="stable")[:, :n]
    cdf = np.cumsum(rows, axis=1)
    cdf /= cdf[:, -1:]
    # row i's CDF shifted into (i, i + 1]: one sorted array serves every row's lookups
    shift = np.arange(r, dtype=np.float64)[:, None]
    u = g.random((r, n)) + shift
    flat = np.searchsorted((cdf + shift).ravel(), u.ravel(), side="right").reshape(r, n)
    return np.minimum(flat - shift.astype(np.int64) * k, k - 1)


def random_range(arr, low, high):
    """The [low, high] (inclusive) integer range of ``random_(low, high)`` on ``arr``;
    no bounds: [0, the largest integer the dtype holds exactly]."""
    if high is None and low is None:
        dt = arr.dtype
        if dt.kind == "f":
            return 0, 2 ** (np.finfo(dt).nmant + 1)
        if dt.kind == "b":
            return 0, 1
        return 0, int(np.iinfo(dt).max)
    if high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    return low, high - 1
