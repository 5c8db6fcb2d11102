"""fastnn.nn.utils: gradient clipping, parameter/vector helpers, parametrizations, pruning."""
import importlib as _importlib

from . import rnn  # noqa: F401  (pad_sequence, pack_padded_sequence, PackedSequence, ...)
from .weight_norm import weight_norm, remove_weight_norm  # noqa: F401
from .spectral_norm import spectral_norm, remove_spectral_norm  # noqa: F401
from . import parametrize, parametrizations, prune, stateless  # noqa: F401
from . import fusion, init  # noqa: F401
from .fusion import (fuse_conv_bn_eval, fuse_conv_bn_weights, fuse_linear_bn_eval,  # noqa
                     fuse_linear_bn_weights)
from .init import skip_init  # noqa: F401
from . import memory_format  # noqa: F401
from . import convert_parameters  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from .memory_format import (convert_conv2d_weight_memory_format,  # noqa: F401
                            convert_conv3d_weight_memory_format)

__all__ = ["parameters_to_vector", "vector_to_parameters", "weight_norm", "remove_weight_norm",
           "spectral_norm", "remove_spectral_norm", "fuse_conv_bn_eval", "fuse_conv_bn_weights",
           "fuse_linear_bn_eval", "fuse_linear_bn_weights", "skip_init",
           "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]

try:
    _clip = _importlib.import_module(".clip_grad", __name__)
except ImportError as _e:
    if _e.name != f"{__name__}.clip_grad":
        raise
else:
    for _name in ("clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
                  "clip_grads_with_norm_"):
        if hasattr(_clip, _name):
            globals()[_name] = getattr(_clip, _name)
            __all__.append(_name)
    clip_grad = _clip
