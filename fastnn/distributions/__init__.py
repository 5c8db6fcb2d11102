"""Probability distributions for fastnn, with the API of ``torch.distributions``.

    >>> from fastnn.distributions import Normal, Categorical, kl_divergence
    >>> z = Normal(mu, sigma).rsample()          # differentiable in mu and sigma
    >>> a = Categorical(logits=scores).sample()  # int64 actions
    >>> loss = -Categorical(logits=scores).log_prob(a) * advantage

Random draws come from fastnn's generator, so ``fastnn.manual_seed`` makes them repeat.
"""
from . import constraints
from . import transforms
from .bernoulli import Bernoulli
from .beta import Beta
from .binomial import Binomial
from .cauchy import Cauchy
from .categorical import Categorical, OneHotCategorical
from .chi2 import Chi2
from .constraint_registry import biject_to, transform_to
from .continuous_bernoulli import ContinuousBernoulli
from .dirichlet import Dirichlet
from .distribution import Distribution, ExponentialFamily
from .exponential import Exponential
from .extreme_value import Gumbel, Pareto, Weibull
from .gamma import Gamma
from .generalized_pareto import GeneralizedPareto
from .geometric import Geometric
from .half_dists import HalfCauchy, HalfNormal
from .independent import Independent
from .inverse_gamma import InverseGamma
from .kl import kl_divergence, register_kl
from .kumaraswamy import Kumaraswamy, LogisticNormal
from .laplace import Laplace
from .lkj_cholesky import LKJCholesky
from .log_normal import LogNormal
from .lowrank_multivariate_normal import LowRankMultivariateNormal
from .mixture_same_family import MixtureSameFamily
from .multinomial import Multinomial
from .multivariate_normal import MultivariateNormal
from .negative_binomial import NegativeBinomial
from .normal import Normal
from .one_hot_straight_through import OneHotCategoricalStraightThrough
from .poisson import Poisson
from .relaxed import (ExpRelaxedCategorical, LogitRelaxedBernoulli, RelaxedBernoulli,
                      RelaxedOneHotCategorical)
from .studentT import StudentT
from .transformed_distribution import TransformedDistribution
from .transforms import *  # noqa: F401,F403
from .uniform import Uniform
from .von_mises import FisherSnedecor, VonMises
from .wishart import Wishart
from . import kl_cross as _kl_cross  # noqa: F401  (registers the cross-family KL pairs)
from . import kl_continuous_bernoulli as _kl_cb  # noqa: F401  (its KL pairs, likewise)

__all__ = ["Bernoulli", "Beta", "Binomial", "Categorical", "Chi2", "Dirichlet", "Distribution",
           "Exponential", "ExponentialFamily", "Gamma", "Geometric", "Independent", "Laplace",
           "LogNormal", "Multinomial", "MultivariateNormal", "Normal", "OneHotCategorical",
           "Poisson", "StudentT", "Uniform", "constraints", "kl_divergence", "register_kl",
           "Cauchy", "ExpRelaxedCategorical", "FisherSnedecor", "Gumbel", "HalfCauchy",
           "HalfNormal", "Kumaraswamy", "LogisticNormal", "LogitRelaxedBernoulli",
           "LowRankMultivariateNormal", "MixtureSameFamily", "Pareto", "RelaxedBernoulli",
           "RelaxedOneHotCategorical", "TransformedDistribution", "VonMises", "Weibull",
           "biject_to", "transform_to", "transforms", "ContinuousBernoulli",
           "GeneralizedPareto", "InverseGamma", "NegativeBinomial",
           "OneHotCategoricalStraightThrough", "Wishart", "LKJCholesky"]
__all__ += transforms.__all__
