"""The chi-squared distribution, a Gamma with shape df / 2 and rate 1 / 2."""
from fastnn import Tensor

from . import constraints
from .gamma import Gamma
from .utils import broadcast_all

__all__ = ["Chi2"]


class Chi2(Gamma):
    """Chi2(df) = Gamma(df / 2, 1 / 2): the sum of ``df`` squared standard normals."""
    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None):
        if not isinstance(df, Tensor):
            df = broadcast_all(df)[0]
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    @property
    def df(self):
        return self.concentration * 2
