"""Transformer layers (Vaswani et al. 2017) with PyTorch's constructors, forward signatures, module names and
state_dict keys, so Vision-Transformer and sequence-to-sequence code written for PyTorch runs unchanged and loads
PyTorch checkpoints.

Every block is a residual stack of :class:`MultiheadAttention`, a two-layer feed-forward network and
:class:`LayerNorm`; the masks follow PyTorch's MultiheadAttention convention (a bool True hides a position, a
float mask is added to the attention scores).
"""
from __future__ import annotations

import copy
from typing import Callable, Union

import numpy as np

from ember import devices as _devices
from ember import dtypes as _dt
from ember.nn import functional as F
from ember.nn import init as _init
from ember.nn.containers import ModuleList
from ember.nn.functional.attention import _float_mask
from ember.nn.layers._util import positive_float, positive_int, probability
from ember.nn.layers.activation import GELU, ReLU
from ember.nn.layers.attention import MultiheadAttention
from ember.nn.layers.dropout import Dropout
from ember.nn.layers.linear import Linear
from ember.nn.layers.normalization import LayerNorm
from ember.nn.module import Module
from ember.tensor import Tensor

__all__ = ["TransformerEncoderLayer", "TransformerEncoder", "TransformerDecoderLayer", "TransformerDecoder",
           "Transformer"]

Activation = Union[str, Callable[[Tensor], Tensor]]


# --------------------------------------------------------------------------- helpers

def _generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """(sz, sz) float mask: 0 on and below the diagonal, −inf above it (position i attends to j ≤ i)."""
    sz = positive_int(sz, "sz", "generate_square_subsequent_mask", allow_zero=True)
    _devices.check(device)
    d = _dt.resolve(dtype)
    if d.kind != "f":
        raise ValueError(f"generate_square_subsequent_mask: dtype must be a floating-point type (the mask holds "
                         f"-inf), got {d}")
    return Tensor(np.triu(np.full((sz, sz), -np.inf, d), 1))


def _activation(activation: Activation, layer: str) -> Callable[[Tensor], Tensor]:
    """PyTorch's choices: the names 'relu' and 'gelu', or any callable (a function or a Module)."""
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise ValueError(f"{layer}: activation should be 'relu', 'gelu' or a callable, not {activation!r}")
    if not callable(activation):
        raise TypeError(f"{layer}: activation must be 'relu', 'gelu' or a callable, got {type(activation).__name__}")
    return activation


def _relu_or_gelu(activation: Callable) -> int:
    """PyTorch's ``activation_relu_or_gelu`` flag: 1 for ReLU, 2 for GELU, 0 for anything else."""
    if activation is F.relu or isinstance(activation, ReLU):
        return 1
    if activation is F.gelu or isinstance(activation, GELU):
        return 2
    return 0


def _activation_name(activation: Callable) -> str:
    return getattr(activation, "__name__", None) or type(activation).__name__


def _check_block_args(layer: str, d_model, nhead, dim_feedforward, dropout, layer_norm_eps, device) -> None:
    """Fail before any weight is allocated, naming this layer rather than the sub-module that would trip."""
    positive_int(d_model, "d_model", layer)
    positive_int(nhead, "nhead", layer)
    if d_model % nhead:
        raise ValueError(f"{layer}: d_model ({d_model}) must be divisible by nhead ({nhead})")
    positive_int(dim_feedforward, "dim_feedforward", layer)
    probability(dropout, "dropout", layer)
    positive_float(layer_norm_eps, "layer_norm_eps", layer)
    _devices.check(device)


def _get_seq_len(src: Tensor, batch_first: bool) -> int:
    if src.ndim == 2:  # unbatched (L, E)
        return src.shape[0]
    return src.shape[1 if batch_first else 0]


def _layer_batch_first(layer: Module) -> bool:
    """Whether a stacked layer reads (N, L, E); custom layers without a ``self_attn`` count as sequence-first."""
    attn = getattr(layer, "self_attn", None)
    return bool(getattr(attn, "batch_first", getattr(layer, "batch_first", False)))


def _detect_is_causal_mask(mask, is_causal: bool | None, size: int | None) -> bool:
    """PyTorch's reading of the ``is_causal`` hint: an explicit True/False wins; None means 'is ``mask`` exactly
    the square subsequent mask?' (a float −inf/0 mask; a bool mask compares unequal, as in PyTorch)."""
    if is_causal is not None or mask is None:
        return is_causal is True
    arr = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    sz = size if size is not None else arr.shape[-2]
    if arr.shape != (sz, sz):
        return False
    causal = np.triu(np.full((sz, sz), -np.inf), 1)
    return bool((arr == causal).all())


def _canonical_mask(mask, name: str, dtype) -> Tensor | None:
    """A bool mask (True = hidden) as the equivalent additive float mask; a float mask as it is (gradients of a
    learned float mask still flow)."""
    return None if mask is None else _float_mask(mask, name, dtype)


def _get_clones(module: Module, n: int) -> ModuleList:
    """``n`` independent deep copies: each layer of a stack trains its own weights."""
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


class _TransformerBlock(Module):
    """What encoder and decoder layers share: their sub-modules, built in PyTorch's registration order (so the
    state_dict keys come in PyTorch's order), the self-attention and feed-forward sub-blocks, and the repr."""

    _FF_DROPOUT = "dropout2"  # the dropout after the feed-forward network (dropout3 in a decoder layer)

    def _build(self, cross: bool, d_model: int, nhead: int, dim_feedforward: int, dropout: float,
               activation: Activation, layer_norm_eps: float, batch_first: bool, norm_first: bool, bias: bool,
               device, dtype) -> None:
        name = type(self).__name__
        _check_block_args(name, d_model, nhead, dim_feedforward, dropout, layer_norm_eps, device)
        act = _activation(activation, name)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            dtype=dtype)
        if cross:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = bool(norm_first)
        blocks = range(1, 4 if cross else 3)
        for i in blocks:
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for i in blocks:
            setattr(self, f"dropout{i}", Dropout(dropout))
        self.activation = act

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x: Tensor) -> Tensor:
        return getattr(self, self._FF_DROPOUT)(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def extra_repr(self) -> str:
        act = "" if isinstance(self.activation, Module) else f"activation={_activation_name(self.activation)}, "
        return f"{act}batch_first={self.self_attn.batch_first}, norm_first={self.norm_first}"


# --------------------------------------------------------------------------- encoder

class TransformerEncoderLayer(_TransformerBlock):
    """One encoder block: self-attention then a position-wise feed-forward network, each wrapped in a residual
    connection with layer norm.

        post-norm (``norm_first=False``, the original paper): x = norm1(x + SA(x)); x = norm2(x + FF(x))
        pre-norm  (``norm_first=True``, ViT and most modern models): x = x + SA(norm1(x)); x = x + FF(norm2(x))

    with FF(x) = linear2(dropout(activation(linear1(x)))). Pre-norm keeps an un-normalised residual path from
    input to output, which is why deep stacks train without warm-up. Inputs are (L, N, E), (N, L, E) with
    ``batch_first=True``, or unbatched (L, E).

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``: ``src_mask`` (L, L) or
    (N·nhead, L, L) and ``src_key_padding_mask`` (N, L) are bool (True = hidden) or additive float masks;
    ``is_causal`` is a hint that ``src_mask`` is the causal mask (it needs that mask, as in PyTorch).
    PyTorch's inference fast path is a faster kernel for the same function, so it has no counterpart here.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self._build(False, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                    norm_first, bias, device, dtype)
        self.activation_relu_or_gelu = _relu_or_gelu(self.activation)

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None, is_causal: bool = False) -> Tensor:
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask", src.dtype)
        src_mask = _canonical_mask(src_mask, "src_mask", src.dtype)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x



class TransformerEncoder(Module):
    """A stack of ``num_layers`` independent copies of ``encoder_layer`` (``layers``, a ModuleList), then an
    optional final ``norm`` (pre-norm stacks need it: their last residual sum is never normalised otherwise).

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)`` passes the masks to every layer;
    ``is_causal=None`` detects whether ``mask`` is the square subsequent mask, as PyTorch does.
    ``enable_nested_tensor`` and ``mask_check`` are kept for PyTorch code: they steer PyTorch's nested-tensor
    inference path, which ember does not have (``use_nested_tensor`` is always False). One visible consequence:
    in PyTorch's eval mode without gradients the outputs at padded positions are zeros; here they are computed
    like every other position. They are meaningless either way.
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder: encoder_layer must be a Module, got {type(encoder_layer).__name__}")
        if norm is not None and not isinstance(norm, Module):
            raise TypeError(f"TransformerEncoder: norm must be a Module or None, got {type(norm).__name__}")
        self.layers = _get_clones(encoder_layer, positive_int(num_layers, "num_layers", "TransformerEncoder"))
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = bool(enable_nested_tensor)
        self.use_nested_tensor = False
        self.mask_check = bool(mask_check)

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None, is_causal: bool | None = None) -> Tensor:
        src_key_padding_mask = _canonical_mask(src_key_padding_mask, "src_key_padding_mask", src.dtype)
        mask = _canonical_mask(mask, "mask", src.dtype)
        seq_len = _get_seq_len(src, _layer_batch_first(self.layers[0]))
        is_causal = _detect_is_causal_mask(mask, is_causal, seq_len)
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if self.norm is not None:
            output = self.norm(output)
        return output

    def extra_repr(self) -> str:
        return f"num_layers={self.num_layers}"


# --------------------------------------------------------------------------- decoder

class TransformerDecoderLayer(_TransformerBlock):
    """One decoder block: masked self-attention over the target, cross-attention from the target to the encoder's
    output (``memory``), then the feed-forward network; each a residual connection with layer norm
    (norm1, norm2, norm3; post-norm by default, pre-norm with ``norm_first=True``, as
    :class:`TransformerEncoderLayer`).

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)``: ``tgt_mask`` (T, T) is usually
    :meth:`Transformer.generate_square_subsequent_mask` so position t cannot see later targets;
    ``memory_mask`` is (T, S); padding masks are (N, T) and (N, S).
    """

    _FF_DROPOUT = "dropout3"

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: Activation = F.relu, layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self._build(True, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                    norm_first, bias, device, dtype)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _mha_block(self, x: Tensor, mem: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        x = self.multihead_attn(x, mem, mem, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                is_causal=is_causal, need_weights=False)[0]
        return self.dropout2(x)


class TransformerDecoder(Module):
    """A stack of ``num_layers`` independent copies of ``decoder_layer`` (``layers``), each attending to the same
    ``memory``, then an optional final ``norm``. ``tgt_is_causal=None`` detects whether ``tgt_mask`` is the
    square subsequent mask, as PyTorch does."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None):
        super().__init__()
        if not isinstance(decoder_layer, Module):
            raise TypeError(f"TransformerDecoder: decoder_layer must be a Module, got {type(decoder_layer).__name__}")
        if norm is not None and not isinstance(norm, Module):
            raise TypeError(f"TransformerDecoder: norm must be a Module or None, got {type(norm).__name__}")
        self.layers = _get_clones(decoder_layer, positive_int(num_layers, "num_layers", "TransformerDecoder"))
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        seq_len = _get_seq_len(tgt, _layer_batch_first(self.layers[0]))
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, seq_len)
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                           memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        return output

    def extra_repr(self) -> str:
        return f"num_layers={self.num_layers}"


# --------------------------------------------------------------------------- encoder-decoder

class Transformer(Module):
    """The encoder-decoder model of "Attention Is All You Need": ``encoder`` (a TransformerEncoder of
    ``num_encoder_layers`` blocks and a final LayerNorm) reads ``src``; ``decoder`` (a TransformerDecoder of
    ``num_decoder_layers`` blocks and a final LayerNorm) reads ``tgt`` and attends to the encoder's output.
    ``custom_encoder`` / ``custom_decoder`` replace either half. Every parameter with more than one dimension
    (custom halves included) is re-initialised Xavier-uniform, as in PyTorch. Embeddings, positional encodings
    and the output projection are the caller's, also as in PyTorch.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation: Activation = F.relu,
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        _check_block_args("Transformer", d_model, nhead, dim_feedforward, dropout, layer_norm_eps, device)
        for value, name in ((custom_encoder, "custom_encoder"), (custom_decoder, "custom_decoder")):
            if value is not None and not isinstance(value, Module):
                raise TypeError(f"Transformer: {name} must be a Module or None, got {type(value).__name__}")
        if custom_encoder is None:
            positive_int(num_encoder_layers, "num_encoder_layers", "Transformer")
        if custom_decoder is None:
            positive_int(num_decoder_layers, "num_decoder_layers", "Transformer")
        block = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*block, dtype=dtype), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*block, dtype=dtype), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self._reset_parameters()
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = bool(batch_first)

    def _reset_parameters(self) -> None:
        for p in self.parameters():
            if p.ndim > 1:
                _init.xavier_uniform_(p)

    def forward(self, src: Tensor, tgt: Tensor, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        if src.ndim == 3:
            axis = 0 if self.batch_first else 1
            if src.shape[axis] != tgt.shape[axis]:
                raise RuntimeError(f"the batch number of src and tgt must be equal: src of shape {tuple(src.shape)} "
                                   f"and tgt of shape {tuple(tgt.shape)} differ on axis {axis} "
                                   f"(batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(f"the feature number of src and tgt must be equal to d_model ({self.d_model}), got "
                               f"src of shape {tuple(src.shape)} and tgt of shape {tuple(tgt.shape)}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """The causal mask for a sequence of ``sz``: float (sz, sz), −inf above the diagonal and 0 elsewhere, so
        position i attends only to positions j ≤ i (the decoder must not see the tokens it is to predict)."""
        return _generate_square_subsequent_mask(sz, device=device, dtype=dtype)

    def extra_repr(self) -> str:
        return f"d_model={self.d_model}, nhead={self.nhead}, batch_first={self.batch_first}"
