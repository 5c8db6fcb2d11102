"""F.dropout and the channel-wise forms: scaling, eval identity, reproducible masks, errors."""
import numpy as np
import pytest

import fastnn
import fastnn.nn.functional as F


def test_dropout_scales_kept_entries_and_zeros_the_rest():
    fastnn.manual_seed(0)
    x = fastnn.ones(200, 50)
    y = F.dropout(x, 0.3).numpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(kept.mean() - 0.7) < 0.02


def test_dropout_is_identity_in_eval_and_for_p_zero():
    x = fastnn.randn(4, 5)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_p_one_gives_zeros():
    y = F.dropout(fastnn.randn(4, 5), 1.0)
    assert (y.numpy() == 0).all()


def test_dropout_mask_follows_manual_seed():
    x = fastnn.ones(10, 10)
    fastnn.manual_seed(123)
    a = F.dropout(x, 0.5).numpy()
    b = F.dropout(x, 0.5).numpy()
    fastnn.manual_seed(123)
    np.testing.assert_array_equal(a, F.dropout(x, 0.5).numpy())
    assert not np.array_equal(a, b)


def test_dropout_gradient_uses_the_same_mask():
    x = fastnn.ones(6, 7, requires_grad=True)
    y = F.dropout(x, 0.4)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), y.detach().numpy())


def test_dropout_inplace_writes_into_input():
    x = fastnn.ones(8, 8)
    assert F.dropout(x, 0.5, inplace=True) is x
    assert set(np.unique(x.numpy())) <= {0.0, 2.0}


def test_dropout2d_drops_whole_channels():
    fastnn.manual_seed(1)
    y = F.dropout2d(fastnn.ones(4, 6, 3, 3), 0.5).numpy()
    per_channel = y.reshape(4, 6, -1)
    assert ((per_channel == 0).all(-1) | (per_channel == 2).all(-1)).all()
    y1 = F.dropout1d(fastnn.ones(4, 6, 5), 0.5).numpy()
    assert ((y1 == 0).all(-1) | (y1 == 2).all(-1)).all()


def test_dropout2d_on_3d_input_warns_like_pytorch():
    with pytest.warns(UserWarning, match="dropout2d: Received a 3D input to dropout2d"):
        F.dropout2d(fastnn.ones(2, 3, 4), 0.5)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_probability_out_of_range(p):
    with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but "
                       f"got {p}"):
        F.dropout(fastnn.ones(3), p)


def test_dropout_rejects_integer_input_and_bad_feature_rank():
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                       "output type Long"):
        F.dropout(fastnn.tensor([1, 2]), 0.5)
    with pytest.raises(RuntimeError, match=r"dropout1d: Expected 2D or 3D input, but received a "
                       r"4D input"):
        F.dropout1d(fastnn.ones(2, 3, 4, 5), 0.5)
