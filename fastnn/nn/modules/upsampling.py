"""Upsampling layers: thin modules over ``F.interpolate``."""
from .. import functional as F
from .module import Module

__all__ = ["Upsample",
           "UpsamplingNearest2d",
           "UpsamplingBilinear2d"]


def _float_factor(scale_factor):
    """Scale factors are kept as floats (per dimension for a tuple); a missing or zero factor
    means "use ``size``" and is stored as None."""
    per_dim = isinstance(scale_factor, tuple)
    if per_dim:
        return tuple(map(float, scale_factor))
    return float(scale_factor) if scale_factor else None


class Upsample(Module):
    """Resize the input to ``size``, or by ``scale_factor``, with the given ``mode``.

    The input is (N, C, W), (N, C, H, W) or (N, C, D, H, W); see ``F.interpolate`` for the
    modes and for ``align_corners`` / ``recompute_scale_factor``.
    """
    __constants__ = ["size", "scale_factor", "mode", "align_corners", "name",
                     "recompute_scale_factor"]

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        self.name = self.__class__.__name__
        self.size = size
        self.scale_factor = _float_factor(scale_factor)
        self.mode = mode
        self.align_corners = align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, size=self.size, scale_factor=self.scale_factor,
                             mode=self.mode, align_corners=self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        # the factor, when given, is what decided the output size, so it is what we show
        if self.scale_factor is None:
            target = f"size={self.size!r}"
        else:
            target = f"scale_factor={self.scale_factor!r}"
        return f"{target}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample`` fixed to nearest-neighbour mode, for (N, C, H, W) input."""

    def __init__(self, size=None, scale_factor=None):
        Upsample.__init__(self, size=size, scale_factor=scale_factor)


class UpsamplingBilinear2d(Upsample):
    """``Upsample`` fixed to bilinear mode with corner pixels aligned, for (N, C, H, W) input."""

    def __init__(self, size=None, scale_factor=None):
        Upsample.__init__(self, size=size, scale_factor=scale_factor, mode="bilinear",
                          align_corners=True)
