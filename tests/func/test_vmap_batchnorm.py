"""BatchNorm under vmap: updating running statistics from inside vmap is refused (as in
PyTorch); without running statistics, or in eval mode, it maps like any layer."""
import numpy as np
import pytest

import fastnn
from fastnn.func import vmap


def test_training_batchnorm_with_running_stats_is_refused():
    m = fastnn.nn.BatchNorm1d(4)
    before = m.running_mean.clone()
    with pytest.raises(RuntimeError, match="Batch norm got a batched tensor as input while the "
                                           "running_mean or running_var"):
        vmap(m)(fastnn.randn(5, 2, 4))
    np.testing.assert_array_equal(m.running_mean.numpy(), before.numpy())
    m(fastnn.randn(3, 4))  # outside vmap the module trains as usual


@pytest.mark.parametrize("make", [
    lambda: fastnn.nn.BatchNorm1d(4, track_running_stats=False),
    lambda: fastnn.nn.BatchNorm1d(4).eval(),
])
def test_batchnorm_without_updates_maps_per_sample(make):
    m = make()
    x = fastnn.randn(5, 2, 4)
    out = vmap(m)(x)
    expected = fastnn.stack([m(x[i]) for i in range(5)])
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-6)


def test_vmap_level_is_left_after_an_error():
    m = fastnn.nn.BatchNorm1d(4)
    with pytest.raises(RuntimeError):
        vmap(m)(fastnn.randn(5, 2, 4))
    from fastnn.func import _vmap
    assert not _vmap.active()


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (fastnn, torch):
        with pytest.raises(RuntimeError, match="Batch norm got a batched tensor"):
            lib.func.vmap(lib.nn.BatchNorm1d(4))(lib.randn(5, 2, 4))
