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
    check_random_bounds(arr.dtype, low, high)
    return low, high - 1


# the C type names PyTorch's random_/randint bounds errors and warnings use
_C_NAMES = {"int8": "signed char", "uint8": "unsigned char", "int16": "short int",
            "uint16": "short unsigned int", "int32": "int", "uint32": "unsigned int",
            "int64": "long int", "uint64": "unsigned long int", "bool": "bool",
            "float16": "c10::Half", "float32": "float", "float64": "double"}


def check_random_bounds(npd, low, high):
    """random_/randint's [low, high) for dtype ``npd``: an integer dtype must hold low and
    high - 1 (RuntimeError); past the integers a float dtype holds exactly, a warning."""
    npd = np.dtype(npd)
    name = _C_NAMES.get(npd.name, npd.name)
    if npd.kind in "iub":
        lo, hi = (0, 1) if npd.kind == "b" else (int(np.iinfo(npd).min), int(np.iinfo(npd).max))
        if not lo <= low <= hi:
            raise RuntimeError(f"from is out of bounds for {name}")
        if not lo <= high - 1 <= hi:
            raise RuntimeError(f"to - 1 is out of bounds for {name}")
    elif npd.kind == "f":
        digits = np.finfo(npd).nmant + 1
        for what, v in (("from", low), ("to - 1", high - 1)):
            if abs(v) > 2 ** digits:
                import warnings
                warnings.warn(f"{what} is out of bounds [-(2^{digits}), 2^{digits}]. Due to "
                              f"precision limitations {name} can support discrete uniform "
                              "distribution only within this range. This warning will become "
                              "an error in version 1.7 release, please fix the code in "
                              "advance", UserWarning, stacklevel=3)
                return
