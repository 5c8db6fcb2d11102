"""inf and nan come back quietly, as in PyTorch, even when warnings are errors (pytest -W error)."""
import warnings

import numpy as np
import pytest

import fastnn as torch
import fastnn.nn.functional as F

zeros = lambda: torch.zeros(3)  # noqa: E731
ones = lambda: torch.ones(3)  # noqa: E731

QUIET_CASES = {
    "log": lambda: torch.log(zeros()),
    "log2": lambda: zeros().log2(),
    "log10": lambda: torch.log10(zeros()),
    "divide": lambda: ones() / zeros(),
    "zero_over_zero": lambda: zeros() / zeros(),
    "reverse_divide": lambda: 1 / zeros(),
    "sqrt_negative": lambda: torch.tensor([-1.0]).sqrt(),
    "rsqrt": lambda: zeros().rsqrt(),
    "reciprocal": lambda: zeros().reciprocal(),
    "negative_power": lambda: zeros() ** -1,
    "exp_overflow": lambda: torch.exp(torch.tensor([1000.0])),
    "atanh_one": lambda: torch.atanh(ones()),
    "inf_minus_inf": lambda: torch.tensor([float("inf")]) - float("inf"),
    "zero_times_inf": lambda: zeros() * float("inf"),
    "log_inplace": lambda: zeros().log_(),
    "divide_inplace": lambda: ones().div_(zeros()),
    "cumprod_overflow": lambda: torch.cumprod(torch.full((3,), 1e30), 0),
    "sum_overflow": lambda: torch.full((2,), 3e38).sum(),
    "corrcoef_constant": lambda: torch.corrcoef(torch.ones(2, 3)),
    "log_backward": lambda: torch.log(zeros().requires_grad_()).sum().backward(),
    "sqrt_backward": lambda: torch.sqrt(zeros().requires_grad_()).sum().backward(),
    "batch_norm_overflow": lambda: torch.nn.BatchNorm1d(3)(torch.full((4, 3), 3e38)),
    "bce_at_zero": lambda: F.binary_cross_entropy(zeros(), ones()),
}


@pytest.mark.parametrize("name", sorted(QUIET_CASES))
def test_no_numpy_warning(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the filters pytest -W error would install
        QUIET_CASES[name]()


def test_values_are_pytorchs_inf_and_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.log(torch.zeros(1)).item() == float("-inf")
        assert np.isnan((torch.zeros(1) / torch.zeros(1)).item())


def test_users_numpy_still_warns():
    # only fastnn's own ops are quiet: numpy's state outside them is the user's
    torch.log(torch.zeros(1))
    with pytest.warns(RuntimeWarning):
        np.log(np.zeros(1))


def test_numpy_state_restored_after_a_failing_op():
    before = np.geterr()
    with pytest.raises(RuntimeError):
        torch.ones(2, 3) @ torch.ones(2, 3)
    with pytest.raises(RuntimeError):
        torch.ones(3).div_(torch.ones(2))
    assert np.geterr() == before


def test_user_error_state_respected_outside_ops():
    with np.errstate(divide="raise"):
        torch.log(torch.zeros(1))  # quiet inside the op
        with pytest.raises(FloatingPointError):
            np.log(np.zeros(1))
