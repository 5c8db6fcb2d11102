"""Probability distributions for fastnn, with the API of ``torch.distributions``.

    >>> from fastnn.distributions import Normal, Categorical, kl_divergence
    >>> z = Normal(mu, sigma).rsample()          # differentiable in mu and sigma
    >>> a = Categorical(logits=scores).sample()  # int64 actions
    >>> loss = -Categorical(logits=scores).log_prob(a) * advantage

Random draws come from fastnn's generator, so ``fastnn.manual_seed`` makes them repeat.
"""
from . import constraints
from .bernoulli import Bernoulli
from .beta import Beta
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution, ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .multinomial import Multinomial
from .normal import Normal
from .uniform import Uniform

__all__ = ["Bernoulli", "Beta", "Categorical", "Distribution", "Exponential",
           "ExponentialFamily", "Gamma", "Independent", "Laplace", "Multinomial", "Normal",
           "OneHotCategorical", "Uniform", "constraints", "kl_divergence", "register_kl"]
