"""gradcheck's failure report: PyTorch's layout (a row per input element) and output index."""
import pytest

import fastnn as torch
from fastnn.autograd.gradcheck import GradcheckError


class FlipTimesWrongGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.flip(0) * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x  # misses the flipped term


class TwoOutputs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x * 2, y * 3

    @staticmethod
    def backward(ctx, g1, g2):
        return g1 * 2, g2 * 4  # wrong for the second output


def _x():
    return torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)


def test_message_rows_are_inputs():
    with pytest.raises(GradcheckError) as info:
        torch.autograd.gradcheck(FlipTimesWrongGrad.apply, (_x(),))
    text = str(info.value)
    assert text.startswith("Jacobian mismatch for output 0 with respect to input 0,")
    numerical = text.split("numerical:")[1].split("analytical:")[0]
    # d(out_j)/d(x_i) for x = [1, 2, 3]: row i is input i, so the first row is [3, 0, 3]
    assert "tensor([[3.0000, 0.0000, 3.0000]," in numerical
    assert "dtype=fastnn.float64" in numerical


def test_names_the_failing_output():
    y = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(GradcheckError, match="for output 1 with respect to input 1,"):
        torch.autograd.gradcheck(TwoOutputs.apply, (_x(), y))
    assert torch.autograd.gradcheck(TwoOutputs.apply, (_x(), y), raise_exception=False) is False


def test_matches_pytorch_text():
    real = pytest.importorskip("torch")

    class Ref(real.autograd.Function):
        forward = staticmethod(FlipTimesWrongGrad.forward.__func__
                               if hasattr(FlipTimesWrongGrad.forward, "__func__")
                               else FlipTimesWrongGrad.forward)
        backward = staticmethod(FlipTimesWrongGrad.backward)

    x = real.tensor([1.0, 2.0, 3.0], dtype=real.float64, requires_grad=True)
    with pytest.raises(Exception) as theirs:
        real.autograd.gradcheck(Ref.apply, (x,))
    with pytest.raises(GradcheckError) as ours:
        torch.autograd.gradcheck(FlipTimesWrongGrad.apply, (_x(),))
    assert str(ours.value).replace("fastnn.", "torch.") == str(theirs.value)
