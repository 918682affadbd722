"""Attention as functions (PyTorch's names): scaled dot-product attention and the multi-head attention forward.

Both are compositions of differentiable tensor ops (matmul, masked_fill, softmax, dropout), so their gradients
come from those ops' backward passes.
"""
from __future__ import annotations

import math

import numpy as np

from ember.nn.functional.dropout import dropout
from ember.nn.functional.linear import linear
from ember.ops.api import masked_fill, matmul, softmax
from ember.tensor import Tensor

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _mask_array(mask, name: str) -> np.ndarray | Tensor:
    """A bool mask as a NumPy array; a float (additive) mask as a Tensor."""
    if isinstance(mask, Tensor):
        if mask.dtype == np.bool_:
            return mask.array
        if mask.dtype.kind != "f":
            raise RuntimeError(f"{name} must be a bool or floating-point tensor, got dtype {mask.dtype}")
        return mask
    arr = np.asarray(mask)
    if arr.dtype != np.bool_ and arr.dtype.kind != "f":
        raise RuntimeError(f"{name} must be a bool or floating-point tensor, got dtype {arr.dtype}")
    return arr if arr.dtype == np.bool_ else Tensor(arr)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q·Kᵀ·scale + M)·V over the last two axes (any leading batch/head axes broadcast).

    query (…, L, E), key (…, S, E), value (…, S, Ev) → (…, L, Ev); ``scale`` defaults to 1/√E.
    ``attn_mask``: a bool mask (True = the position takes part, False = masked out) or a float mask added to
    the scores, broadcastable to (…, L, S). ``is_causal`` masks out key j > query i (top-left aligned) and
    excludes ``attn_mask``. ``dropout_p`` drops attention weights (always applied when > 0, as in PyTorch).
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise RuntimeError(f"scaled_dot_product_attention: {name} must have at least 2 dimensions "
                               f"(..., seq, features), got shape {tuple(t.shape)}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query of shape {tuple(query.shape)} and key of shape "
                           f"{tuple(key.shape)} must have the same last (embedding) dimension")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: key of shape {tuple(key.shape)} and value of shape "
                           f"{tuple(value.shape)} must have the same sequence length (dim -2)")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise RuntimeError("scaled_dot_product_attention: explicit attn_mask should not be set when is_causal=True")
    if enable_gqa:
        hq, hk = query.shape[-3], key.shape[-3]
        if query.ndim < 3 or hq % hk:
            raise RuntimeError(f"scaled_dot_product_attention: with enable_gqa the query's heads (dim -3 of "
                               f"{tuple(query.shape)}) must be a multiple of the key's (dim -3 of {tuple(key.shape)})")
        idx = np.repeat(np.arange(hk), hq // hk)
        key = key[(Ellipsis, idx, slice(None), slice(None))]
        value = value[(Ellipsis, idx, slice(None), slice(None))]
    L, S = query.shape[-2], key.shape[-2]
    s = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = matmul(query, key.transpose(-2, -1)) * s
    if is_causal:
        attn_mask = np.tril(np.ones((L, S), dtype=bool))
    if attn_mask is not None:
        m = _mask_array(attn_mask, "scaled_dot_product_attention: attn_mask")
        try:
            np.broadcast_shapes(tuple(m.shape), tuple(scores.shape))
        except ValueError:
            raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape {tuple(m.shape)} does not "
                               f"broadcast to the attention scores' shape {tuple(scores.shape)}") from None
        if isinstance(m, np.ndarray):
            shape = np.broadcast_shapes(m.shape, tuple(scores.shape))
            if shape != tuple(scores.shape):
                scores = scores.expand(*shape)
            scores = masked_fill(scores, ~m, float("-inf"))
        else:
            scores = scores + (m if m.dtype == scores.dtype else m.type(scores.dtype))
    attn = softmax(scores, -1)
    if dropout_p > 0.0:
        attn = dropout(attn, dropout_p, True)
    return matmul(attn, value)


def _float_mask(mask, name: str, dtype) -> Tensor:
    """PyTorch's canonical MHA mask: bool True (= not allowed) becomes −inf, a float mask is added as it is."""
    m = _mask_array(mask, name)
    if isinstance(m, np.ndarray):
        return Tensor(np.where(m, -np.inf, 0).astype(dtype))
    return m if m.dtype == dtype else m.type(dtype)


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
                                 in_proj_weight: Tensor, in_proj_bias: Tensor | None, bias_k, bias_v,
                                 add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
                                 out_proj_bias: Tensor | None, training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
                                 q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True, is_causal: bool = False):
    """Multi-head attention (Vaswani et al. 2017) on sequence-first inputs: query (L, N, E), key/value (S, N, E)
    (or unbatched (L, E), (S, E)). Returns (output (L, N, E), weights (N, L, S) averaged over heads, or
    (N, H, L, S), or None without ``need_weights``).

    Q, K, V = x·W_{q,k,v}ᵀ + b (the three blocks of ``in_proj_weight``), split into H heads of E/H features;
    per head softmax(Q·Kᵀ/√(E/H) + M)·V; the heads concatenated and projected by ``out_proj``. Masks follow
    PyTorch's MHA convention: bool True means *masked out*; float masks are added. ``key_padding_mask`` (N, S)
    hides padded keys; ``attn_mask`` is (L, S) or (N·H, L, S).
    """
    if bias_k is not None or bias_v is not None or add_zero_attn or use_separate_proj_weight \
            or static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: bias_k/bias_v, add_zero_attn, separate "
                                  "projection weights and static_k/static_v are not supported by ember")
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise RuntimeError(f"multi_head_attention_forward: query, key and value must all be 3-D (batched) or all "
                           f"2-D (unbatched), got shapes {tuple(query.shape)}, {tuple(key.shape)} and "
                           f"{tuple(value.shape)}")
    batched = query.ndim == 3
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0) if isinstance(key_padding_mask, Tensor) else \
                np.asarray(key_padding_mask)[None]
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise RuntimeError(f"multi_head_attention_forward: expected embedding dimension {embed_dim_to_check}, "
                           f"but the query of shape {tuple(query.shape)} has {embed_dim}")
    if tuple(key.shape) != tuple(value.shape) or key.shape[1:] != query.shape[1:]:
        raise RuntimeError(f"multi_head_attention_forward: key of shape {tuple(key.shape)} and value of shape "
                           f"{tuple(value.shape)} must match each other and the query of shape "
                           f"{tuple(query.shape)} in batch and embedding dims")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise RuntimeError(f"multi_head_attention_forward: embed_dim {embed_dim} not divisible by num_heads "
                           f"{num_heads}")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    dtype = query.dtype
    mask = None
    if attn_mask is not None:
        mask = _float_mask(attn_mask, "attn_mask", dtype)
        if mask.ndim == 2:
            if tuple(mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(mask.shape)}, but should be "
                                   f"{(tgt_len, src_len)}.")
            mask = mask.unsqueeze(0)
        elif mask.ndim == 3:
            if tuple(mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(mask.shape)}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {mask.ndim} is not supported")
    if key_padding_mask is not None:
        kpm = _float_mask(key_padding_mask, "key_padding_mask", dtype)
        if tuple(kpm.shape) != (bsz, src_len):
            raise RuntimeError(f"key_padding_mask of shape {tuple(kpm.shape)} should be (batch, source length) = "
                               f"{(bsz, src_len)}")
        kpm = kpm.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len).reshape(bsz * num_heads, 1,
                                                                                          src_len)
        mask = kpm if mask is None else mask + kpm

    e = embed_dim
    b = (None, None, None) if in_proj_bias is None else (in_proj_bias[:e], in_proj_bias[e:2 * e],
                                                           in_proj_bias[2 * e:])
    q = linear(query, in_proj_weight[:e], b[0])
    k = linear(key, in_proj_weight[e:2 * e], b[1])
    v = linear(value, in_proj_weight[2 * e:], b[2])
    # (seq, N, E) → (N·H, seq, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(src_len, bsz * num_heads, head_dim).transpose(0, 1)
    v = v.reshape(src_len, bsz * num_heads, head_dim).transpose(0, 1)

    scores = matmul(q * math.sqrt(1.0 / head_dim), k.transpose(-2, -1))
    if mask is not None:
        scores = scores + mask
    weights = softmax(scores, -1)
    if training and dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    out = matmul(weights, v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    if not batched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        weights = weights.squeeze(0)
    return out, weights
