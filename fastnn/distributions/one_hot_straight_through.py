"""OneHotCategorical with the straight-through gradient estimator."""
from .categorical import OneHotCategorical

__all__ = ["OneHotCategoricalStraightThrough"]


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """``rsample`` returns a one-hot draw whose gradient is that of ``probs`` (Bengio et al.,
    2013): the forward value is the sample, the backward pass sees the probabilities."""
    has_rsample = True

    def rsample(self, sample_shape=()):
        drawn = self.sample(sample_shape)
        probs = self.probs
        return drawn + (probs - probs.detach())
