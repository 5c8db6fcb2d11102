"""fastnn.nn.functional: the stateless layers, activations and losses (``import ... as F``)."""
from ._functional.activation import (relu, relu_, leaky_relu, leaky_relu_, elu, elu_,  # noqa
                                     gelu, silu, softplus, hardtanh, relu6, sigmoid, tanh,
                                     logsigmoid, softmax, log_softmax, softmin, prelu,
                                     selu, celu, mish, hardswish, hardsigmoid, softsign,
                                     threshold, threshold_, glu)
from ._functional.conv import conv1d, conv2d, conv3d  # noqa: F401
from ._functional.conv_transpose import (conv_transpose1d, conv_transpose2d,  # noqa: F401
                                         conv_transpose3d)
from ._functional.pooling import (max_pool1d, max_pool2d, max_pool2d_with_indices,  # noqa
                                  avg_pool1d, avg_pool2d, adaptive_avg_pool1d,
                                  adaptive_avg_pool2d, adaptive_max_pool1d,
                                  adaptive_max_pool2d)
from ._functional.pooling_extra import (max_pool3d, avg_pool3d, lp_pool1d,  # noqa: F401
                                        lp_pool2d, lp_pool3d, max_unpool1d, max_unpool2d,
                                        max_unpool3d, max_pool1d_with_indices,
                                        max_pool3d_with_indices, adaptive_avg_pool3d,
                                        adaptive_max_pool3d, adaptive_max_pool1d_with_indices,
                                        adaptive_max_pool2d_with_indices,
                                        adaptive_max_pool3d_with_indices)
from ._functional.pooling_fractional import (fractional_max_pool2d,  # noqa: F401
                                             fractional_max_pool2d_with_indices,
                                             fractional_max_pool3d,
                                             fractional_max_pool3d_with_indices)
from ._functional.activation_shrink import (hardshrink, softshrink, tanhshrink,  # noqa: F401
                                            rrelu, rrelu_)
from ._functional.normalization_extra import rms_norm, local_response_norm  # noqa: F401
from ._functional.dropout_extra import alpha_dropout, feature_alpha_dropout  # noqa: F401
from ._functional.normalization import (batch_norm, layer_norm, group_norm,  # noqa: F401
                                        instance_norm)
from ._functional.dropout import dropout, dropout1d, dropout2d, dropout3d  # noqa: F401
from ._functional.loss import (mse_loss, l1_loss, smooth_l1_loss, huber_loss,  # noqa: F401
                               binary_cross_entropy, binary_cross_entropy_with_logits, kl_div)
from ._functional.loss_class import cross_entropy, nll_loss  # noqa: F401
from ._functional.loss_margin import (margin_ranking_loss, hinge_embedding_loss,  # noqa: F401
                                      soft_margin_loss, cosine_embedding_loss,
                                      multilabel_soft_margin_loss, multi_margin_loss,
                                      multilabel_margin_loss, triplet_margin_loss,
                                      triplet_margin_with_distance_loss)
from ._functional.loss_nll import poisson_nll_loss, gaussian_nll_loss  # noqa: F401
from ._functional.loss_ctc import ctc_loss  # noqa: F401
from ._functional.fold import fold, unfold  # noqa: F401
from ._functional.grid_sample import affine_grid, grid_sample  # noqa: F401
from ._functional.misc import one_hot, pad, embedding, normalize  # noqa: F401
from ._functional.embedding_bag import embedding_bag  # noqa: F401
from ._functional.gumbel import gumbel_softmax  # noqa: F401
from . import _reduction as _Reduction  # noqa: F401
from ._functional.distance import cosine_similarity, pairwise_distance  # noqa: F401

try:  # the Cython addmm path lives in its own file
    from ._functional.linear import linear, bilinear  # noqa: F401
    from ._functional.linear_cross_entropy import linear_cross_entropy  # noqa: F401
except ImportError as _e:
    if _e.name != __name__.rsplit(".", 1)[0] + "._functional.linear":
        raise
from ._functional.upsampling import (interpolate, upsample, upsample_nearest,  # noqa: F401
                                     upsample_bilinear, pixel_shuffle, pixel_unshuffle,
                                     channel_shuffle)
from ._functional.activation_inplace import (hardtanh_, selu_, celu_,  # noqa: F401
                                             native_channel_shuffle)
from .._functions_more import pdist  # noqa: F401
from ._functional.attention import (scaled_dot_product_attention,  # noqa: F401
                                    multi_head_attention_forward)
