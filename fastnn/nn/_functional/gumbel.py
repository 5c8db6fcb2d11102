"""gumbel_softmax: a differentiable sample from a categorical distribution given by logits."""
import warnings

from ... import _creation


def gumbel_softmax(logits, tau=1, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) along ``dim``, g drawn i.i.d. from Gumbel(0, 1).

    ``hard=True`` returns the one-hot of the sample's argmax in the forward pass while the
    gradient is the soft sample's (the straight-through estimator). The noise comes from
    fastnn's generator, so ``fastnn.manual_seed`` makes a draw repeatable.
    """
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    # -log(E) with E ~ Exp(1) is a standard Gumbel variate
    noise = _creation.empty_like(logits).exponential_().log()
    y_soft = ((logits - noise) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = _creation.zeros_like(logits).scatter_(dim, index, 1.0)
    # forward value: y_hard; gradient: that of y_soft
    return y_hard - y_soft.detach() + y_soft
