"""MixtureSameFamily: a Categorical choice among K components of one batched family."""
import fastnn

from . import constraints
from .categorical import Categorical
from .distribution import Distribution

__all__ = ["MixtureSameFamily"]


class MixtureSameFamily(Distribution):
    """MixtureSameFamily(mixture_distribution, component_distribution): the component's
    rightmost batch dim (size K) indexes the components that the Categorical weighs."""
    arg_constraints = {}
    has_rsample = False

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of "
                             "torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an instance of "
                             "torch.distributions.Distribution")
        mix_batch = mixture_distribution.batch_shape
        comp_batch = component_distribution.batch_shape[:-1]
        for a, b in zip(reversed(tuple(mix_batch)), reversed(tuple(comp_batch))):
            if a != 1 and b != 1 and a != b:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mix_batch}) is not "
                                 "compatible with `component_distribution.batch_shape`"
                                 f"({comp_batch})")
        k_mix = mixture_distribution.logits.shape[-1]
        k_comp = component_distribution.batch_shape[-1]
        if k_mix != k_comp:
            raise ValueError(f"`mixture_distribution component` ({k_mix}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({k_comp})")
        self._num_component = k_mix
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(comp_batch, component_distribution.event_shape,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        shape = tuple(batch_shape)
        new = self._get_checked_instance(MixtureSameFamily, _instance)
        new._component_distribution = self._component_distribution.expand(
            shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(shape)
        new._num_component = self._num_component
        new._event_ndims = self._event_ndims
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    mixture_distribution = property(lambda self: self._mixture_distribution)
    component_distribution = property(lambda self: self._component_distribution)

    def _weights(self):
        """Mixture probabilities laid out as (..., K, 1 per event dim)."""
        p = self._mixture_distribution.probs
        return p.reshape(tuple(p.shape) + (1,) * self._event_ndims)

    def _component_axis(self):
        return -1 - self._event_ndims

    def _lift(self, x):
        """Insert the component axis into a value, to evaluate it under every component."""
        return x.unsqueeze(self._component_axis())

    @property
    def mean(self):
        return (self._weights() * self._component_distribution.mean).sum(
            self._component_axis())

    @property
    def variance(self):
        w, comp = self._weights(), self._component_distribution
        axis = self._component_axis()
        within = (w * comp.variance).sum(axis)
        between = (w * (comp.mean - self._lift(self.mean)).pow(2)).sum(axis)
        return within + between

    def cdf(self, x):
        x = self._lift(x)
        per_component = self._component_distribution.cdf(x)
        return (per_component * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        if self._validate_args:
            self._validate_sample(x)
        per_component = self._component_distribution.log_prob(self._lift(x))
        log_w = fastnn.log_softmax(self._mixture_distribution.logits, dim=-1)
        return (per_component + log_w).logsumexp(dim=-1)

    def sample(self, sample_shape=()):
        with fastnn.no_grad():
            n_lead = len(tuple(sample_shape)) + len(self.batch_shape)
            choice = self._mixture_distribution.sample(sample_shape)
            draws = self._component_distribution.sample(sample_shape)
            event = tuple(self.event_shape)
            index = choice.reshape(tuple(choice.shape) + (1,) * (len(event) + 1))
            index = index.expand(tuple(choice.shape) + (1,) + event)
            return draws.gather(n_lead, index).squeeze(n_lead)

    def __repr__(self):
        return (f"MixtureSameFamily(\n  {self._mixture_distribution},\n"
                f"  {self._component_distribution})")
