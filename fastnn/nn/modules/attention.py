"""MultiheadAttention: the module that owns the projection weights.

The computation itself is ``F.multi_head_attention_forward``; this class creates and
initialises the parameters, handles ``batch_first`` and forwards the masks.
"""
from ... import _creation
from .. import functional as F
from .. import init
from .._functional import attention as _attn
from ..parameter import Parameter
from .linear import NonDynamicallyQuantizableLinear
from .module import Module

__all__ = ["MultiheadAttention"]


def _to_seq_first(query, key, value):
    """Swap the batch and sequence dims of (N, L, E) inputs.

    A tensor passed twice is transposed once, so ``key is value`` (and ``query is key``)
    still hold afterwards: the functional core uses those identities to pick its packed
    projection paths.
    """
    q = query.transpose(1, 0)
    k = q if key is query else key.transpose(1, 0)
    v = k if value is key else value.transpose(1, 0)
    return q, k, v


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of size ``embed_dim // num_heads``.

    Inputs are (L, N, E), or (N, L, E) with ``batch_first``, or unbatched (L, E). The query,
    key and value projections are packed in ``in_proj_weight`` when ``kdim == vdim ==
    embed_dim``, else kept apart in ``q_proj_weight``, ``k_proj_weight`` and ``v_proj_weight``.
    """
    __constants__ = ["batch_first"]

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        if min(embed_dim, num_heads) <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()

        def new_param(*shape):
            return Parameter(_creation.empty(shape, device=device, dtype=dtype))

        self.embed_dim = embed_dim
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = (self.kdim, self.vdim) == (embed_dim, embed_dim)
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim, leftover = divmod(embed_dim, num_heads)
        if leftover:
            raise AssertionError("embed_dim must be divisible by num_heads")

        # parameter registration order fixes the state_dict order; absent ones stay as None
        separate = ("q_proj_weight", "k_proj_weight", "v_proj_weight")
        if self._qkv_same_embed_dim:
            self.in_proj_weight = new_param(3 * embed_dim, embed_dim)
            for name in separate:
                self.register_parameter(name, None)
        else:
            for name, in_features in zip(separate, (embed_dim, self.kdim, self.vdim)):
                setattr(self, name, new_param(embed_dim, in_features))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = new_param(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        device=device, dtype=dtype)
        # the extra key/value bias rows are plain None attributes when not asked for
        self.bias_k = new_param(1, 1, embed_dim) if add_bias_kv else None
        self.bias_v = new_param(1, 1, embed_dim) if add_bias_kv else None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            weights = [self.in_proj_weight]
        else:
            weights = [self.q_proj_weight, self.k_proj_weight, self.v_proj_weight]
        for w in weights:
            init.xavier_uniform_(w)
        for extra in (self.bias_k, self.bias_v):
            if extra is not None:
                init.xavier_normal_(extra)
        # zero biases draw no random numbers, so doing them last keeps the RNG sequence;
        # the output projection has a bias exactly when the input projections do
        if self.in_proj_bias is None:
            return
        init.constant_(self.in_proj_bias, 0.0)
        init.constant_(self.out_proj.bias, 0.0)

    def reset_parameters(self):
        self.out_proj.reset_parameters()
        self._reset_parameters()

    def __setstate__(self, state):
        # modules pickled before kdim/vdim existed always had packed projections
        state.setdefault("_qkv_same_embed_dim", True)
        super().__setstate__(state)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """(attn_output, attn_weights); the weights are None unless ``need_weights``, averaged
        over the heads unless ``average_attn_weights`` is False."""
        swap_batch = self.batch_first and query.dim() == 3
        key_padding_mask = _attn._canonical_mask(key_padding_mask, "key_padding_mask",
                                                 _attn._none_or_dtype(attn_mask), "attn_mask",
                                                 query.dtype)
        attn_mask = _attn._canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                          check_other=False)
        if swap_batch:
            query, key, value = _to_seq_first(query, key, value)
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        return (out.transpose(1, 0) if swap_batch else out), weights

    def merge_masks(self, attn_mask, key_padding_mask, query):
        """Combine the two masks into one (N, heads, L, L) float mask for batch-first
        ``query``; also returns its kind: 1 key padding only, 2 attention mask (merged with
        the padding when both are given), None neither."""
        if attn_mask is None:
            return key_padding_mask, (None if key_padding_mask is None else 1)
        n, length = query.shape[0], query.shape[1]
        heads = self.num_heads
        if attn_mask.dim() == 3:  # already one mask per (batch, head)
            full = attn_mask.reshape(n, -1, length, length)
        else:
            full = attn_mask.reshape(1, 1, length, length).expand(n, heads, -1, -1)
        if key_padding_mask is None:
            return full, 2
        padding = key_padding_mask.reshape(n, 1, 1, length).expand(-1, heads, -1, -1)
        return full + padding, 2
