"""Tensor.to(memory_format=...) and is_contiguous(memory_format=...) as in PyTorch."""
import numpy as np
import pytest

import fastnn as torch


def test_to_channels_last_changes_the_layout():
    x = torch.ones(2, 3, 4, 5)
    y = x.to(memory_format=torch.channels_last)
    assert y.stride() == (60, 1, 15, 3) and y is not x
    assert y.is_contiguous(memory_format=torch.channels_last) and not y.is_contiguous()
    assert y.to(memory_format=torch.channels_last) is y
    assert x.to(memory_format=torch.contiguous_format) is x
    assert y.to(memory_format=torch.contiguous_format).stride() == (60, 20, 5, 1)


def test_cast_with_a_format_and_cast_keeping_one():
    x = torch.arange(120.0).reshape(2, 3, 4, 5)
    z = x.to(torch.float64, memory_format=torch.channels_last)
    assert z.dtype == torch.float64 and z.stride() == (60, 1, 15, 3)
    np.testing.assert_array_equal(z.numpy(), x.numpy())
    y = x.to(memory_format=torch.channels_last)
    assert y.to(torch.float64).stride() == (60, 1, 15, 3)  # preserve_format by default


@pytest.mark.parametrize("shape, fmt, expected", [
    ((2, 3, 4, 5), "channels_last", False),
    ((2, 1, 4, 5), "channels_last", True),    # one channel: both layouts at once
    ((2, 3), "channels_last", False),         # wrong rank: not in that format
    ((2, 3, 4, 5, 6), "channels_last_3d", False),
    ((2, 3, 4, 5), "contiguous_format", True),
    ((2, 3, 4, 5), "preserve_format", True),
])
def test_is_contiguous_in_format(shape, fmt, expected):
    assert torch.ones(*shape).is_contiguous(memory_format=getattr(torch, fmt)) is expected


def test_errors():
    x = torch.ones(2, 3, 4, 5)
    with pytest.raises(RuntimeError, match="required rank 5 tensor to use channels_last_3d"):
        x.to(memory_format=torch.channels_last_3d)
    with pytest.raises(TypeError, match="argument 'memory_format' must be"):
        x.is_contiguous(memory_format=3)


def test_gradient_flows_back_in_the_source_layout():
    w = torch.ones(2, 3, 4, 5, requires_grad=True)
    weights = torch.arange(120.0).reshape(2, 3, 4, 5)
    (w.to(memory_format=torch.channels_last) * weights).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), weights.numpy())
