"""Layout and backend questions code asks of a tensor get PyTorch's answers for dense CPU."""
import pytest

import fastnn

FLAGS = ["is_sparse", "is_sparse_csr", "is_quantized", "is_meta", "is_nested", "is_mkldnn",
         "is_mps", "is_xpu", "is_xla", "is_ipu", "is_vulkan", "is_maia", "is_mtia"]


@pytest.mark.parametrize("flag", FLAGS)
def test_dense_cpu_flags(flag):
    assert getattr(fastnn.ones(2), flag) is False


def test_to_dense_dim_order_output_nr():
    x = fastnn.ones(2, 3, 4, 5)
    assert x.to_dense() is x and x.to_dense(fastnn.float64).dtype == fastnn.float64
    assert x.dim_order() == (0, 1, 2, 3)
    assert x.permute(0, 2, 3, 1).dim_order() == (0, 3, 1, 2)
    assert x.contiguous(memory_format=fastnn.channels_last).dim_order() == (0, 2, 3, 1)
    assert x.output_nr == 0 and x.get_device() == -1
