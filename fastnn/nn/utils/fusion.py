"""Folding an eval-mode BatchNorm into the convolution or linear layer that feeds it.

In eval mode a batch norm is the per-channel affine map y = (x - mean) * w / sqrt(var + eps)
+ b, so it can be absorbed into the preceding layer's weight and bias: one layer then does
the work of two.
"""
import copy

from ...autograd import grad_mode
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


def _require_eval(layer, bn):
    if layer.training or bn.training:
        raise AssertionError("Fusion only for eval!")


def _require_stats(bn):
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of ``conv`` whose output equals ``bn(conv(x))`` (both in eval mode)."""
    _require_eval(conv, bn)
    fused = copy.deepcopy(conv)
    _require_stats(bn)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose)
    return fused


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """(weight, bias) Parameters of the convolution with the batch norm folded in.

    The output channels are dim 0 of the weight, or dim 1 when ``transpose`` (a transposed
    convolution's weight is (in, out / groups, *kernel)). A missing conv bias, bn weight or
    bn bias counts as 0, 1 and 0; the results keep the conv's dtypes.
    """
    w_dtype = conv_w.dtype
    b_dtype = conv_b.dtype if conv_b is not None else w_dtype
    b_requires_grad = conv_b.requires_grad if conv_b is not None else False
    with grad_mode.no_grad():
        zeros = bn_rm.new_zeros(bn_rm.shape)
        conv_b = zeros if conv_b is None else conv_b
        bn_w = bn_rm.new_ones(bn_rm.shape) if bn_w is None else bn_w
        bn_b = zeros if bn_b is None else bn_b
        inv_std = (bn_rv + bn_eps).rsqrt()
        shape = [1, -1] if transpose else [-1, 1]
        shape += [1] * (conv_w.dim() - 2)
        fused_w = (conv_w * (bn_w * inv_std).reshape(shape)).to(dtype=w_dtype)
        fused_b = ((conv_b - bn_rm) * inv_std * bn_w + bn_b).to(dtype=b_dtype)
    return Parameter(fused_w, conv_w.requires_grad), Parameter(fused_b, b_requires_grad)


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` whose output equals ``bn(linear(x))`` (both in eval mode)."""
    _require_eval(linear, bn)
    fused = copy.deepcopy(linear)
    # the bn's channels must broadcast against the linear layer's output features
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(
            "To fuse, linear.out_features == bn.num_features or bn.num_features == 1, got "
            f"linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    _require_stats(bn)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """(weight, bias) Parameters of the linear layer with the batch norm folded in; a
    missing linear bias counts as 0 (an affine-free bn's weight and bias as 1 and 0)."""
    w_dtype = linear_w.dtype
    b_dtype = linear_b.dtype if linear_b is not None else w_dtype
    b_requires_grad = linear_b.requires_grad if linear_b is not None else False
    with grad_mode.no_grad():
        linear_b = bn_rm.new_zeros(bn_rm.shape) if linear_b is None else linear_b
        bn_w = bn_rm.new_ones(bn_rm.shape) if bn_w is None else bn_w
        bn_b = bn_rm.new_zeros(bn_rm.shape) if bn_b is None else bn_b
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        fused_w = linear_w * scale.unsqueeze(-1).to(dtype=w_dtype)
        fused_b = ((linear_b - bn_rm) * scale + bn_b).to(dtype=b_dtype)
    return Parameter(fused_w, linear_w.requires_grad), Parameter(fused_b, b_requires_grad)
