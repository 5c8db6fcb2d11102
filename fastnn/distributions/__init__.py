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
from .binomial import Binomial
from .categorical import Categorical, OneHotCategorical
from .chi2 import Chi2
from .dirichlet import Dirichlet
from .distribution import Distribution, ExponentialFamily
from .exponential import Exponential
from .gamma import Gamma
from .geometric import Geometric
from .independent import Independent
from .kl import kl_divergence, register_kl
from .laplace import Laplace
from .log_normal import LogNormal
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .poisson import Poisson
from .studentT import StudentT
from .uniform import Uniform

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Chi2", "Dirichlet", "Distribution",
           "Exponential", "ExponentialFamily", "Gamma", "Geometric", "Independent", "Laplace",
           "LogNormal", "Multinomial", "MultivariateNormal", "Normal", "OneHotCategorical",
           "Poisson", "StudentT", "Uniform", "constraints", "kl_divergence", "register_kl"]
