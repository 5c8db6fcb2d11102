"""Second-order rules of the normalization layers (batch, layer, group and instance norm),
for ``create_graph=True``: each redoes its forward in differentiable ops (``recompute``)."""
import numpy as np

from .higher_order import _const, _input, recompute, rule


def _register_norm_rules():
    from ..nn._functional import normalization as norm_mod

    def _inputs(node, x_like, param_shape):
        """x_like (the centred input: the normalized output does not see a shift) and the
        affine parameters, as Tensors linked to the node's inputs (the bias's values are
        never needed, only its place in the graph)."""
        (_, w), (has_w, has_b) = node.saved, node.has
        ts = [_input(node, 0, x_like)]
        if has_w:
            ts.append(_input(node, 1, w))
        if has_b:
            ts.append(_input(node, 1 + has_w, np.zeros(param_shape, x_like.dtype)))
        return ts

    def _affine(node, y, rest, shape):
        has_w, has_b = node.has
        if has_w:
            y = y * rest[0].reshape(shape)
        if has_b:
            y = y + rest[has_w].reshape(shape)
        return y

    @rule(norm_mod.NativeLayerNormBackward0)
    def _layer_norm(node, g):
        xhat = node.saved[0]
        eps = node.eps
        axes = node.axes
        ts = _inputs(node, xhat / node.invstd, xhat.shape[xhat.ndim - len(axes):])

        def forward(x, *rest):
            c = x - x.mean(axes, keepdim=True)
            y = c * ((c * c).mean(axes, keepdim=True) + eps).rsqrt()
            return _affine(node, y, rest, tuple(x.shape[x.dim() - len(axes):]))
        return recompute(node, g, ts, forward)

    @rule(norm_mod.NativeBatchNormBackward0)
    def _batch_norm(node, g):
        xhat, w = node.saved
        invstd = _const(node.invstd.reshape(node.shape))
        ts = _inputs(node, xhat / node.invstd.reshape(node.shape), (xhat.shape[1],))
        axes = node.axes
        eps = node.eps

        def forward(x, *rest):
            if node.training:  # batch statistics, which depend on x
                c = x - x.mean(axes, keepdim=True)
                y = c * ((c * c).mean(axes, keepdim=True) + eps).rsqrt()
            else:  # running statistics: constants
                y = x * invstd
            return _affine(node, y, rest, node.shape)
        return recompute(node, g, ts, forward)

    @rule(norm_mod.NativeGroupNormBackward0)
    def _group_norm(node, g):
        xhat = node.saved[0]
        groups, shape, _, _, _ = node.meta
        n = xhat.shape[0]
        centred = (xhat.reshape(n, groups, -1) / node.invstd).reshape(xhat.shape)
        ts = _inputs(node, centred, (xhat.shape[1],))
        eps = node.eps

        def forward(x, *rest):
            xr = x.reshape(n, groups, -1)
            c = xr - xr.mean(2, keepdim=True)
            y = (c * ((c * c).mean(2, keepdim=True) + eps).rsqrt()).reshape(tuple(x.shape))
            return _affine(node, y, rest, shape)
        return recompute(node, g, ts, forward)


_register_norm_rules()
