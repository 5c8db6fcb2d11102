from collections import OrderedDict

import numpy as np
import pytest

import fastnn
from fastnn import nn
from fastnn.utils.summary import ModelSummary, summary


class Lin(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.weight = nn.Parameter(fastnn.ones(o, i))
        self.bias = nn.Parameter(fastnn.zeros(o))

    def forward(self, x):
        return x @ self.weight.T + self.bias


class Act(nn.Module):
    def forward(self, x):
        return x.relu()


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.left = Lin(3, 2)
        self.register_buffer("count", fastnn.zeros(1))

    def forward(self, a, b):
        return self.left(a), b.sum()


def autoencoder():
    return nn.Sequential(OrderedDict(encoder=nn.Sequential(Lin(784, 128), Act()),
                                     decoder=Lin(128, 10)))


def test_summary_table(capsys):
    model = autoencoder()
    result = fastnn.summary(model, (2, 784))
    printed = capsys.readouterr().out
    assert isinstance(result, ModelSummary) and printed.strip() == str(result)
    assert repr(result) == str(result)
    lines = str(result).splitlines()
    rows = {line.split()[0]: line.split() for line in lines
            if line and line.split()[0] in ("Sequential", "encoder", "encoder.0", "encoder.1",
                                            "decoder")}
    assert rows["encoder.0"][1:] == ["Lin", "[2,", "128]", "100,480"]
    assert rows["encoder.1"][1:] == ["Act", "[2,", "128]", "--"]
    assert rows["decoder"][1:] == ["Lin", "[2,", "10]", "1,290"]
    assert rows["Sequential"][1:] == ["Sequential", "[2,", "10]", "--"]
    assert [r["path"] for r in result.rows] == ["", "encoder", "encoder.0", "encoder.1",
                                                "decoder"]
    assert [r["depth"] for r in result.rows] == [0, 1, 2, 2, 1]
    assert result.total_params == 101770 and result.trainable_params == 101770
    assert "Total params: 101,770" in printed and "Non-trainable params: 0" in printed
    assert result.param_bytes == 101770 * 4 and result.input_bytes == 2 * 784 * 4
    # activations of the leaf layers (and as much again for their gradients)
    assert result.forward_backward_bytes == 2 * 4 * (2 * 128 + 2 * 128 + 2 * 10)
    assert "Params size (MB): 0.41" in printed and "Estimated Total Size (MB):" in printed


def test_summary_leaves_model_and_rng_alone(capsys):
    model = autoencoder()
    model.decoder.eval()
    model.encoder[0].weight.requires_grad_(False)
    fastnn.manual_seed(3)
    expected = fastnn.rand(3)
    fastnn.manual_seed(3)
    result = model.summary((1, 784), verbose=0)
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(fastnn.rand(3).numpy(), expected.numpy())
    assert model.training and model.encoder.training and not model.decoder.training
    assert not any(m._hooked for m in model.modules())
    assert result.trainable_params == 1418 and result.non_trainable_params == 100352


def test_summary_multiple_inputs_dtypes_and_input_data():
    model = Pair()
    res = summary(model, [(4, 3), (4, 5)], dtypes=[fastnn.float32, fastnn.int64], verbose=0)
    assert res.rows[0]["output_shape"] == "[[4, 2], []]"
    assert res.rows[1]["path"] == "left" and res.rows[1]["output_shape"] == "[4, 2]"
    assert res.input_bytes == 4 * 3 * 4 + 4 * 5 * 8
    res = summary(model, input_data=[fastnn.ones(1, 3), fastnn.ones(2)], verbose=0)
    assert res.rows[1]["output_shape"] == "[1, 2]"


def test_summary_without_input_and_depth():
    res = summary(autoencoder(), verbose=0)
    assert [r["output_shape"] for r in res.rows] == ["--"] * 5
    assert res.total_params == 101770
    res = summary(autoencoder(), (1, 784), depth=1, verbose=0)
    assert [r["path"] for r in res.rows] == ["", "encoder", "decoder"]


def test_summary_shared_layer_is_marked_recursive():
    lin = Lin(4, 4)
    res = summary(nn.Sequential(lin, Act(), lin), (1, 4), verbose=0)
    assert [r["num_params"] for r in res.rows] == ["--", 20, "--", "(recursive)"]
    assert res.total_params == 20


def test_summary_bad_arguments():
    with pytest.raises(TypeError, match="summary\\(\\) expects a fastnn.nn.Module, got int"):
        summary(3, (1, 2))
    with pytest.raises(TypeError, match="input_size must be a shape"):
        summary(Lin(2, 2), "2x2")
    with pytest.raises(ValueError, match="got 2 dtypes for 1 inputs"):
        summary(Lin(2, 2), (1, 2), dtypes=[fastnn.float32, fastnn.float32])
    model = autoencoder()
    with pytest.raises(RuntimeError) as err:
        summary(model, (1, 785), verbose=0)
    assert err.value.__notes__[0].startswith("in module 'encoder.0'")
    assert not any(m._hooked for m in model.modules())  # hooks removed after a failure
