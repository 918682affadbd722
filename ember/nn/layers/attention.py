"""Attention layers: multi-head attention (PyTorch's parameters, state_dict keys and initialisation)."""
from __future__ import annotations

import numpy as np

from ember import dtypes as _dt
from ember.nn import init as _init
from ember.nn.functional.attention import multi_head_attention_forward
from ember.nn.layers._util import positive_int, probability
from ember.nn.layers.linear import Linear
from ember.nn.module import Module, Parameter
from ember.tensor import Tensor

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under PyTorch's name for MultiheadAttention's ``out_proj`` (so the reprs match)."""


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017): H heads of scaled dot-product attention over learned
    projections, concatenated and projected back to ``embed_dim``.

    Parameters as PyTorch: ``in_proj_weight`` (3E, E, Xavier-uniform) stacking W_q, W_k, W_v; ``in_proj_bias``
    (3E, zeros); ``out_proj`` a Linear(E, E) with zero bias. Inputs are (L, N, E) sequence-first, (N, L, E) with
    ``batch_first=True``, or unbatched (L, E). ``forward`` returns (attn_output, attn_weights); the weights are
    averaged over heads unless ``average_attn_weights=False``, and None with ``need_weights=False``.
    Only kdim = vdim = embed_dim, no ``add_bias_kv`` and no ``add_zero_attn`` are supported.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        self.embed_dim = positive_int(embed_dim, "embed_dim", "MultiheadAttention")
        self.num_heads = positive_int(num_heads, "num_heads", "MultiheadAttention")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        if self.kdim != embed_dim or self.vdim != embed_dim:
            raise NotImplementedError(f"MultiheadAttention: kdim/vdim different from embed_dim ({embed_dim}) are "
                                      f"not supported, got kdim={kdim}, vdim={vdim}")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are not supported")
        self._qkv_same_embed_dim = True
        self.dropout = probability(dropout, "dropout", "MultiheadAttention")
        self.batch_first = bool(batch_first)
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn = False
        d = _dt.resolve(dtype)
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), d))
        self.register_parameter("q_proj_weight", None)
        self.register_parameter("k_proj_weight", None)
        self.register_parameter("v_proj_weight", None)
        self.register_parameter("in_proj_bias", Parameter(np.empty(3 * embed_dim, d)) if bias else None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        _init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            _init.constant_(self.in_proj_bias, 0.0)
            _init.constant_(self.out_proj.bias, 0.0)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        batched = query.ndim == 3
        if self.batch_first and batched:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        out, weights = multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias, None, None,
            False, self.dropout, self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        return out, weights
