"""Recurrent layers with PyTorch's constructors, parameter names, gate order and initialisation, so recurrent
PyTorch code runs unchanged and loads PyTorch checkpoints: the multi-layer :class:`RNN`, :class:`LSTM` and
:class:`GRU`, and the single-step :class:`RNNCell`, :class:`LSTMCell` and :class:`GRUCell`.

How a layer runs. The input projection of every step does not depend on the recurrence, so it is one matrix
product over the whole sequence, gx = x·W_ihᵀ + b_ih of shape (T, B, gates·H). What remains is inherently
sequential: a *scan* over time that adds h_{t−1}·W_hhᵀ + b_hh and applies the gate nonlinearities. Each scan
(one layer, one direction) is a single graph node whose forward and backward (back-propagation through time)
loop over the T steps on arrays, side by side below, with all gates of a step in one matrix product; its weight
gradients are one matrix product each, over all steps at once. A step therefore costs a few NumPy calls and no
graph bookkeeping. The cells are the same scans with T = 1.

Variable lengths. Given a :class:`~ember.nn.utils.rnn.PackedSequence`, a layer runs on the padded batch with a
mask: where sequence b has ended (t ≥ length_b) its state is carried through unchanged, h_t = h_{t−1}. Going
forward the final state is then each sequence's state at its own last step; going backward (bidirectional) the
state stays h_0 until the sequence's last real step, where the reverse pass must start. This is what PyTorch
computes on packed input; the carried values at padded steps are never read (the output is packed again).
"""
from __future__ import annotations

import math
import warnings
from typing import Optional, Tuple, Union

import numpy as np

from ember import devices as _devices
from ember import dtypes as _dt
from ember.nn import init as _init
from ember.nn.functional.dropout import dropout as _dropout
from ember.nn.functional.linear import linear
from ember.nn.layers._util import positive_int, probability
from ember.nn.module import Module, Parameter
from ember.nn.utils.rnn import (PackedSequence, _check_batch_sizes, _lengths_from_batch_sizes, _packed_to_padded,
                                _padded_to_packed)
from ember.ops.activation import _sigmoid
from ember.ops.api import cat, stack
from ember.tensor import Function, Tensor, zeros

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# --------------------------------------------------------------------------- the scans (one per cell type)
# Shared conventions. gx: (T, B, G·H) input projections (b_ih included); h0 (and c0): (B, ·) initial states;
# lengths: None, or the (B,) sequence lengths, masking steps t ≥ length_b (state carried, see the module doc);
# reverse: run t = T−1 … 0. The output holds the state after every step, stored at that step's index, so the
# final state is out[T−1] (forward) or out[0] (reverse). Backward walks the steps in the opposite order,
# carrying dL/dh (and dL/dc) from step to step.

def _mask(lengths: np.ndarray | None, T: int) -> np.ndarray | None:
    """(T, B, 1) bool, True where sequence b is still running at step t; None when all are (no masking)."""
    if lengths is None or lengths.min() >= T:
        return None
    return (np.arange(T)[:, None] < lengths[None, :])[:, :, None]


def _previous(states: np.ndarray, initial: np.ndarray, reverse: bool) -> np.ndarray:
    """The state each step started from, (T, B, ·): the initial one, then the states in processing order."""
    if reverse:
        return np.concatenate([states[1:], initial[None]], axis=0)
    return np.concatenate([initial[None], states[:-1]], axis=0)


def _order(T: int, reverse: bool, backward: bool = False) -> range:
    forward_in_time = reverse == backward  # the forward pass of a reverse scan runs backwards in time, and so on
    return range(T) if forward_in_time else range(T - 1, -1, -1)


def _weight_grad(d_pre: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """Σ_t,b d_preᵀ·inputs: a weight's gradient over every step, as one matrix product."""
    return d_pre.reshape(-1, d_pre.shape[-1]).T @ inputs.reshape(-1, inputs.shape[-1])


class _RNNScan(Function):
    """Elman recurrence, h_t = act(gx_t + h_{t−1}·W_hhᵀ + b_hh) with act = tanh or ReLU.

    Backward, with δ_t = dL/dh_t (from the output at t plus what step t+1 passed back):
    da_t = δ_t ⊙ act'(a_t) (1 − h_t² for tanh, [a_t > 0] for ReLU); step t passes da_t·W_hh back to h_{t−1};
    dgx_t = da_t; dW_hh = Σ_t da_tᵀ·h_{t−1}; db_hh = Σ_t da_t.
    """

    def forward(self, gx, h0, w_hh, b_hh, lengths=None, reverse=False, relu=False):
        T = gx.shape[0]
        pre = gx + b_hh if b_hh is not None else gx
        m = _mask(lengths, T)
        out = np.empty(gx.shape[:2] + (w_hh.shape[1],), gx.dtype)
        new = np.empty_like(out)  # the step's fresh value, before masking: its derivative needs it
        w_t = w_hh.T
        h = h0
        for t in _order(T, reverse):
            a = pre[t] + h @ w_t
            hn = np.maximum(a, 0, out=a) if relu else np.tanh(a, out=a)
            new[t] = hn
            h = hn if m is None else np.where(m[t], hn, h)
            out[t] = h
        self.saved = (out, new, h0, w_hh, m)
        self.reverse, self.relu = reverse, relu
        return out

    def backward(self, g):
        out, new, h0, w_hh, m = self.saved
        T = out.shape[0]
        d_pre = np.empty_like(new)
        dh = np.zeros_like(h0, dtype=g.dtype)
        for t in _order(T, self.reverse, backward=True):
            dh = dh + g[t]
            dnew = dh if m is None else np.where(m[t], dh, 0)
            da = dnew * (new[t] > 0) if self.relu else dnew * (1 - new[t] * new[t])
            d_pre[t] = da
            dh = da @ w_hh if m is None else da @ w_hh + np.where(m[t], 0, dh)
        needs = self.needs_input_grad
        dw = _weight_grad(d_pre, _previous(out, h0, self.reverse)) if needs[2] else None
        db = d_pre.sum(axis=(0, 1)) if needs[3] else None
        return d_pre, dh, dw, db


class _LSTMScan(Function):
    """LSTM recurrence (gate order i, f, g, o, as PyTorch), with the optional projection h = W_hr·(o ⊙ tanh c):

        (i, f, g, o) = (σ, σ, tanh, σ)(gx_t + h_{t−1}·W_hhᵀ + b_hh)
        c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = (o ⊙ tanh c_t)·W_hrᵀ   (no W_hr: h_t = o ⊙ tanh c_t)

    The output is [h_t | c_t] side by side, (T, B, P + H), so one node returns both state sequences.

    Backward, with δh, δc the gradients reaching h_t and c_t: du = δh·W_hr (δh without projection, and
    dW_hr = Σ δhᵀ·u with u = o ⊙ tanh c); do = du ⊙ tanh c; δc += du ⊙ o ⊙ (1 − tanh² c);
    di = δc ⊙ g, df = δc ⊙ c_{t−1}, dg = δc ⊙ i; through the nonlinearities (σ' = σ(1 − σ), tanh' = 1 − tanh²)
    these give the pre-activation gradient dz (B, 4H); then δh_{t−1} = dz·W_hh and δc_{t−1} = δc ⊙ f.
    """

    def forward(self, gx, h0, c0, w_hh, b_hh, w_hr, lengths=None, reverse=False):
        T, B = gx.shape[:2]
        H, P = c0.shape[1], h0.shape[1]
        pre = gx + b_hh if b_hh is not None else gx
        m = _mask(lengths, T)
        out = np.empty((T, B, P + H), gx.dtype)
        acts = np.empty_like(pre)  # i, f, g, o after their nonlinearities
        tanh_c = np.empty((T, B, H), gx.dtype)
        u_all = np.empty((T, B, H), gx.dtype) if w_hr is not None else None
        w_t = w_hh.T
        h, c = h0, c0
        for t in _order(T, reverse):
            z = pre[t] + h @ w_t
            a = acts[t]
            a[...] = _sigmoid(z)
            np.tanh(z[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
            cn = a[:, H:2 * H] * c + a[:, :H] * a[:, 2 * H:3 * H]
            tc = np.tanh(cn, out=tanh_c[t])
            u = a[:, 3 * H:] * tc
            if w_hr is not None:
                u_all[t] = u
                hn = u @ w_hr.T
            else:
                hn = u
            if m is None:
                h, c = hn, cn
            else:
                h, c = np.where(m[t], hn, h), np.where(m[t], cn, c)
            out[t, :, :P] = h
            out[t, :, P:] = c
        self.saved = (out, acts, tanh_c, u_all, h0, c0, w_hh, w_hr, m)
        self.reverse = reverse
        return out

    def backward(self, g):
        out, acts, tanh_c, u_all, h0, c0, w_hh, w_hr, m = self.saved
        T = out.shape[0]
        P, H = h0.shape[1], c0.shape[1]
        c_prev = _previous(out[..., P:], c0, self.reverse)
        d_pre = np.empty_like(acts)
        d_hn = np.empty(out.shape[:2] + (P,), g.dtype) if w_hr is not None else None
        dh = np.zeros_like(h0, dtype=g.dtype)
        dc = np.zeros_like(c0, dtype=g.dtype)
        for t in _order(T, self.reverse, backward=True):
            dh = dh + g[t, :, :P]
            dc = dc + g[t, :, P:]
            if m is None:
                dhn, dcn = dh, dc
            else:
                dhn, dcn = np.where(m[t], dh, 0), np.where(m[t], dc, 0)
            if w_hr is not None:
                d_hn[t] = dhn
                du = dhn @ w_hr
            else:
                du = dhn
            a, tc = acts[t], tanh_c[t]
            i, f, gg, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            dcn = dcn + du * o * (1 - tc * tc)
            dz = d_pre[t]
            dz[:, :H] = dcn * gg * i * (1 - i)
            dz[:, H:2 * H] = dcn * c_prev[t] * f * (1 - f)
            dz[:, 2 * H:3 * H] = dcn * i * (1 - gg * gg)
            dz[:, 3 * H:] = du * tc * o * (1 - o)
            if m is None:
                dh, dc = dz @ w_hh, dcn * f
            else:
                dh = dz @ w_hh + np.where(m[t], 0, dh)
                dc = dcn * f + np.where(m[t], 0, dc)
        needs = self.needs_input_grad
        dw = _weight_grad(d_pre, _previous(out[..., :P], h0, self.reverse)) if needs[3] else None
        db = d_pre.sum(axis=(0, 1)) if needs[4] else None
        dw_hr = _weight_grad(d_hn, u_all) if w_hr is not None and needs[5] else None
        return d_pre, dh, dc, dw, db, dw_hr


class _GRUScan(Function):
    """GRU recurrence (gate order r, z, n, as PyTorch; b_hn stays inside the reset gate's product):

        r = σ(x_r + h_{t−1}·W_hrᵀ + b_hr),  z = σ(x_z + h_{t−1}·W_hzᵀ + b_hz)
        n = tanh(x_n + r ⊙ (h_{t−1}·W_hnᵀ + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

    where (x_r, x_z, x_n) = gx_t. Backward, with δ = dL/dh_t: dn = δ ⊙ (1 − z), dz = δ ⊙ (h_{t−1} − n),
    da_n = dn ⊙ (1 − n²), dr = da_n ⊙ (h_{t−1}·W_hnᵀ + b_hn); the hidden-side pre-activation gradient is
    (dr·σ', dz·σ', da_n ⊙ r) and the input side's (dr·σ', dz·σ', da_n); δ_{t−1} = dgh·W_hh + δ ⊙ z.
    """

    def forward(self, gx, h0, w_hh, b_hh, lengths=None, reverse=False):
        T = gx.shape[0]
        H = h0.shape[1]
        m = _mask(lengths, T)
        out = np.empty(gx.shape[:2] + (H,), gx.dtype)
        gates = np.empty_like(gx)  # r, z, n after their nonlinearities
        hn_part = np.empty_like(out)  # h_{t−1}·W_hnᵀ + b_hn, which the reset gate multiplies
        w_t = w_hh.T
        h = h0
        for t in _order(T, reverse):
            gh = h @ w_t
            if b_hh is not None:
                gh += b_hh
            x = gx[t]
            a = gates[t]
            a[:, :2 * H] = _sigmoid(x[:, :2 * H] + gh[:, :2 * H])
            hn_part[t] = gh[:, 2 * H:]
            r, z = a[:, :H], a[:, H:2 * H]
            n = np.tanh(x[:, 2 * H:] + r * gh[:, 2 * H:], out=a[:, 2 * H:])
            hn = n + z * (h - n)
            h = hn if m is None else np.where(m[t], hn, h)
            out[t] = h
        self.saved = (out, gates, hn_part, h0, w_hh, m)
        self.reverse = reverse
        return out

    def backward(self, g):
        out, gates, hn_part, h0, w_hh, m = self.saved
        T, H = out.shape[0], h0.shape[1]
        h_prev = _previous(out, h0, self.reverse)
        d_gx = np.empty_like(gates)
        d_gh = np.empty_like(gates)
        dh = np.zeros_like(h0, dtype=g.dtype)
        for t in _order(T, self.reverse, backward=True):
            dh = dh + g[t]
            dhn = dh if m is None else np.where(m[t], dh, 0)
            a = gates[t]
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            dan = dhn * (1 - z) * (1 - n * n)
            dx, dg_ = d_gx[t], d_gh[t]
            dx[:, :H] = dan * hn_part[t] * r * (1 - r)
            dx[:, H:2 * H] = dhn * (h_prev[t] - n) * z * (1 - z)
            dx[:, 2 * H:] = dan
            dg_[:, :2 * H] = dx[:, :2 * H]
            dg_[:, 2 * H:] = dan * r
            dh_new = dg_ @ w_hh + dhn * z
            dh = dh_new if m is None else dh_new + np.where(m[t], 0, dh)
        needs = self.needs_input_grad
        dw = _weight_grad(d_gh, h_prev) if needs[2] else None
        db = d_gh.sum(axis=(0, 1)) if needs[3] else None
        return d_gx, dh, dw, db


def _last(out: Tensor, reverse: bool) -> Tensor:
    """The final state of a scan: the last step processed."""
    return out[0] if reverse else out[out.shape[0] - 1]


def _scan(mode: str, gx: Tensor, state: tuple, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None,
          lengths: np.ndarray | None, reverse: bool) -> tuple[Tensor, tuple]:
    """Run one layer-direction: (the h sequence (T, B, P), the final state tuple)."""
    if mode == "LSTM":
        h0, c0 = state
        P = h0.shape[-1]
        out = _LSTMScan.apply(gx, h0, c0, w_hh, b_hh, w_hr, lengths=lengths, reverse=reverse)
        k = 0 if reverse else out.shape[0] - 1
        return out[:, :, :P], (out[k, :, :P], out[k, :, P:])
    if mode == "GRU":
        out = _GRUScan.apply(gx, state[0], w_hh, b_hh, lengths=lengths, reverse=reverse)
    else:
        out = _RNNScan.apply(gx, state[0], w_hh, b_hh, lengths=lengths, reverse=reverse, relu=mode == "RNN_RELU")
    return out, (_last(out, reverse),)


# --------------------------------------------------------------------------- argument checks

def _check_bool(value, name: str, layer: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{layer}: {name} should be of type bool, got {type(value).__name__} ({value!r})")
    return bool(value)


def _float_dtype(dtype, device, layer: str) -> np.dtype:
    _devices.check(device)
    d = _dt.resolve(dtype)
    if d.kind != "f":
        raise ValueError(f"{layer}: dtype must be a floating-point type, got {d}")
    return d


def _nonlinearity(nonlinearity, layer: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{layer}: unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")
    return nonlinearity


# --------------------------------------------------------------------------- multi-layer recurrent layers

class RNNBase(Module):
    """The stack shared by :class:`RNN`, :class:`LSTM` and :class:`GRU` (``mode`` is 'RNN_TANH', 'RNN_RELU',
    'LSTM' or 'GRU').

    ``num_layers`` layers, each running over the whole sequence before the next starts (layer k+1 reads layer
    k's output, with dropout ``dropout`` between layers while training); with ``bidirectional`` each layer has a
    second, independent recurrence running from the last step to the first, and the two outputs are
    concatenated (2·H features). Parameters, per layer k and direction (suffix ``_reverse`` for the backward
    one): ``weight_ih_l{k}`` (G·H, in), ``weight_hh_l{k}`` (G·H, P), ``bias_ih_l{k}``, ``bias_hh_l{k}`` (G·H),
    and for an LSTM with ``proj_size`` P > 0 ``weight_hr_l{k}`` (P, H); G is the number of gates (1, 4, 3),
    the gates stacked in PyTorch's order. All are initialised U(−1/√H, 1/√H), PyTorch's choice: the
    recurrence stays in the nonlinearities' responsive range whatever the depth.

    ``forward(input, hx=None)``: input (T, B, in), (B, T, in) with ``batch_first``, unbatched (T, in), or a
    :class:`~ember.nn.utils.rnn.PackedSequence`; hx (num_layers·D, B, P) (an (h_0, c_0) pair for the LSTM;
    zeros when None; never batch-first). Returns (output, h_n): output (T, B, D·P) — a PackedSequence for a
    packed input — and h_n the final state of every layer and direction (each sequence's own last step when
    packed).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__()
        layer = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if mode not in _GATES:
            raise ValueError(f"RNNBase: unrecognized RNN mode {mode!r}; valid: {sorted(_GATES)}")
        self.mode = mode
        self.input_size = positive_int(input_size, "input_size", layer)
        self.hidden_size = positive_int(hidden_size, "hidden_size", layer)
        self.num_layers = positive_int(num_layers, "num_layers", layer)
        self.bias = _check_bool(bias, "bias", layer)
        self.batch_first = _check_bool(batch_first, "batch_first", layer)
        self.dropout = probability(dropout, "dropout", layer)
        self.bidirectional = _check_bool(bidirectional, "bidirectional", layer)
        self.proj_size = positive_int(proj_size, "proj_size", layer, allow_zero=True)
        if proj_size and mode != "LSTM":
            raise ValueError(f"{layer}: proj_size is only supported for LSTM, not RNN or GRU (got {proj_size})")
        if proj_size >= hidden_size:
            raise ValueError(f"{layer}: proj_size ({proj_size}) has to be smaller than hidden_size ({hidden_size})")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero dropout "
                          f"expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", stacklevel=3)
        d = _float_dtype(dtype, device, layer)
        gate_size = _GATES[mode] * hidden_size
        real = proj_size or hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for k in range(num_layers):
            for direction in range(directions):
                fan_in = input_size if k == 0 else real * directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = {"weight_ih": (gate_size, fan_in), "weight_hh": (gate_size, real)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for base, shape in shapes.items():
                    name = f"{base}_l{k}{suffix}"
                    setattr(self, name, Parameter(np.empty(shape, d)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            _init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """PyTorch's cuDNN memory-layout hook; nothing to do here (the weights are used as they are)."""

    @property
    def _flat_weights(self) -> list[Parameter]:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters per layer and direction, in PyTorch's order [w_ih, w_hh, b_ih, b_hh(, w_hr)]."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ----------------------------------------------------------------- forward
    @property
    def _layer_name(self) -> str:
        return type(self).__name__

    def _state_shapes(self, batch: int) -> list[tuple[int, int, int]]:
        """Expected shapes of the initial states: h (and c for the LSTM)."""
        n = self.num_layers * (2 if self.bidirectional else 1)
        shapes = [(n, batch, self.proj_size or self.hidden_size)]
        if self.mode == "LSTM":
            shapes.append((n, batch, self.hidden_size))
        return shapes

    def _initial_states(self, hx, batch: int, unbatched: bool, dtype, sorted_indices) -> list[Tensor]:
        """hx as a checked list of (L·D, B, ·) tensors in the sorted batch order the scans run on."""
        name = self._layer_name
        shapes = self._state_shapes(batch)
        if hx is None:
            return [zeros(*shape, dtype=dtype) for shape in shapes]
        lstm = self.mode == "LSTM"
        if lstm:
            if not (isinstance(hx, (tuple, list)) and len(hx) == 2 and all(isinstance(h, Tensor) for h in hx)):
                raise TypeError(f"{name}: hx must be a pair of tensors (h_0, c_0), got {type(hx).__name__}")
            states = list(hx)
        else:
            if not isinstance(hx, Tensor):
                raise TypeError(f"{name}: hx must be a Tensor, got {type(hx).__name__}")
            states = [hx]
        want = 2 if unbatched else 3
        if any(s.ndim != want for s in states):
            what = "hx and cx" if lstm else "hx"
            kind = "unbatched 2-D" if unbatched else "batched 3-D"
            dims = ", ".join(f"{s.ndim}-D" for s in states)
            raise RuntimeError(f"{name}: for {kind} input, {what} should also be {want}-D but got ({dims}) "
                               f"tensor{'s' if lstm else ''}")
        if unbatched:
            states = [s.unsqueeze(1) for s in states]
        for i, (s, shape) in enumerate(zip(states, shapes)):
            if tuple(s.shape) != shape:
                which = f"hidden[{i}]" if lstm else "hidden"
                raise RuntimeError(f"{name}: expected {which} size {shape}, got {list(s.shape)}")
            if s.dtype != dtype:
                raise ValueError(f"{name}: hx dtype ({s.dtype}) does not match the input dtype ({dtype})")
        if sorted_indices is not None:
            order = sorted_indices.array if isinstance(sorted_indices, Tensor) else np.asarray(sorted_indices)
            states = [s[:, order] for s in states]
        return states

    def forward(self, input, hx=None):
        name = self._layer_name
        packed = isinstance(input, PackedSequence)
        lengths = sorted_indices = unsorted_indices = None
        unbatched = False
        if packed:
            data, batch_sizes, sorted_indices, unsorted_indices = input
            if data.ndim != 2:
                raise RuntimeError(f"{name}: packed input data must have 2 dimensions (steps, features), got shape "
                                   f"{tuple(data.shape)}")
            bs = _check_batch_sizes(batch_sizes)
            lengths = _lengths_from_batch_sizes(bs)
            x = _packed_to_padded(data, bs)
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}: input must be a Tensor or a PackedSequence, got {type(input).__name__}")
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D tensor instead")
            unbatched = input.ndim == 2
            x = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if self.batch_first else input
        weight_dtype = self.weight_ih_l0.dtype
        if x.dtype != weight_dtype:
            raise ValueError(f"{name}: input dtype ({x.dtype}) does not match weight dtype ({weight_dtype}). "
                             f"Convert input: input.to({weight_dtype}), or convert model: model.to({x.dtype})")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got "
                               f"{x.shape[-1]} (input shape {tuple(x.shape)})")
        if x.shape[0] == 0:
            raise ValueError(f"{name}: expected a sequence of at least one step, got input of shape "
                             f"{tuple(x.shape)} (time first)")
        states = self._initial_states(hx, x.shape[1], unbatched, x.dtype, sorted_indices)
        out, finals = self._run(x, states, lengths)
        if packed:
            out = PackedSequence(_padded_to_packed(out, bs), batch_sizes, sorted_indices, unsorted_indices)
            if unsorted_indices is not None:
                order = unsorted_indices.array if isinstance(unsorted_indices, Tensor) else unsorted_indices
                finals = [f[:, np.asarray(order)] for f in finals]
        elif unbatched:
            out = out[:, 0]
            finals = [f[:, 0] for f in finals]
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, (tuple(finals) if self.mode == "LSTM" else finals[0])

    def _run(self, x: Tensor, states: list[Tensor], lengths: np.ndarray | None) -> tuple[Tensor, list[Tensor]]:
        """Every layer and direction over (T, B, in): the last layer's output and the stacked final states."""
        directions = 2 if self.bidirectional else 1
        finals: list[list[Tensor]] = [[] for _ in states]
        for k in range(self.num_layers):
            outs = []
            for direction in range(directions):
                index = k * directions + direction
                suffix = f"_l{k}_reverse" if direction else f"_l{k}"
                w_ih, w_hh, b_ih, b_hh, w_hr = (self._parameters.get(base + suffix) for base in
                                                ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"))
                gx = linear(x, w_ih, b_ih)
                h, final = _scan(self.mode, gx, tuple(s[index] for s in states), w_hh, b_hh, w_hr, lengths,
                                 reverse=direction == 1)
                outs.append(h)
                for store, f in zip(finals, final):
                    store.append(f)
            x = outs[0] if directions == 1 else cat(outs, dim=2)
            if self.dropout and self.training and k < self.num_layers - 1:
                x = _dropout(x, self.dropout, True)
        return x, [stack(f) for f in finals]


class RNN(RNNBase):
    """Multi-layer Elman RNN: h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh) (ReLU with
    ``nonlinearity='relu'``). The simplest recurrence; its gradient through time is a product of T Jacobians,
    which is why it vanishes or explodes on long sequences — the reason for the gated LSTM and GRU.
    See :class:`RNNBase` for the arguments, shapes and the packed-sequence behaviour."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        nonlinearity = _nonlinearity(nonlinearity, "RNN")
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Union[Tensor, PackedSequence],
                hx: Optional[Tensor] = None) -> Tuple[Union[Tensor, PackedSequence], Tensor]:
        return super().forward(input, hx)


class LSTM(RNNBase):
    """Multi-layer long short-term memory (Hochreiter & Schmidhuber 1997), PyTorch's formulation:

        i = σ(W_ii x + b_ii + W_hi h + b_hi)    f = σ(W_if x + b_if + W_hf h + b_hf)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)  o = σ(W_io x + b_io + W_ho h + b_ho)
        c' = f ⊙ c + i ⊙ g                      h' = o ⊙ tanh(c')

    The cell state c is updated additively, so gradients pass many steps back through f ⊙ instead of through a
    squashing product. With ``proj_size`` P > 0, h' = W_hr (o ⊙ tanh c') has P features (Sak et al. 2014): h_0,
    W_hh's columns and the output shrink to P while c keeps H. ``forward(input, (h_0, c_0))`` returns
    ``(output, (h_n, c_n))``. See :class:`RNNBase` for the arguments, shapes and the packed-sequence behaviour.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device=device, dtype=dtype)

    def forward(self, input: Union[Tensor, PackedSequence], hx: Optional[Tuple[Tensor, Tensor]] = None
                ) -> Tuple[Union[Tensor, PackedSequence], Tuple[Tensor, Tensor]]:
        return super().forward(input, hx)


class GRU(RNNBase):
    """Multi-layer gated recurrent unit (Cho et al. 2014), PyTorch's formulation:

        r = σ(W_ir x + b_ir + W_hr h + b_hr)    z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))    h' = (1 − z) ⊙ n + z ⊙ h

    Note that b_hn sits inside the reset gate's product (as in cuDNN), so b_in and b_hn are not
    interchangeable. Fewer parameters than the LSTM and no separate cell state; the update gate z plays the
    role of the LSTM's forget and input gates together. See :class:`RNNBase` for the arguments and shapes.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)

    def forward(self, input: Union[Tensor, PackedSequence],
                hx: Optional[Tensor] = None) -> Tuple[Union[Tensor, PackedSequence], Tensor]:
        return super().forward(input, hx)


# --------------------------------------------------------------------------- single-step cells

class RNNCellBase(Module):
    """One step of a recurrence, for loops written by hand (decoders, custom schedules): ``weight_ih``
    (G·H, input_size), ``weight_hh`` (G·H, H), ``bias_ih`` and ``bias_hh`` (G·H, or None without bias), all
    U(−1/√H, 1/√H) as in PyTorch. Inputs are (B, input_size) or unbatched (input_size,); states (B, H) or (H,)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device=None, dtype=None):
        super().__init__()
        layer = type(self).__name__
        self.input_size = positive_int(input_size, "input_size", layer)
        self.hidden_size = positive_int(hidden_size, "hidden_size", layer)
        self.bias = _check_bool(bias, "bias", layer)
        d = _float_dtype(dtype, device, layer)
        self.weight_ih = Parameter(np.empty((num_chunks * hidden_size, input_size), d))
        self.weight_hh = Parameter(np.empty((num_chunks * hidden_size, hidden_size), d))
        if bias:
            self.bias_ih = Parameter(np.empty((num_chunks * hidden_size,), d))
            self.bias_hh = Parameter(np.empty((num_chunks * hidden_size,), d))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            _init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _step(self, mode: str, input: Tensor, hx, n_states: int) -> tuple[Tensor, ...]:
        """Check the arguments, run one step of ``mode``; the new states, unbatched again if the input was."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size} (input shape {tuple(input.shape)})")
        if input.dtype != self.weight_ih.dtype:
            raise ValueError(f"{name}: input dtype ({input.dtype}) does not match weight dtype "
                             f"({self.weight_ih.dtype})")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        B = x.shape[0]
        if hx is None:
            states = [zeros(B, self.hidden_size, dtype=x.dtype) for _ in range(n_states)]
        else:
            states = list(hx) if n_states == 2 else [hx]
            if n_states == 2 and len(states) != 2:
                raise TypeError(f"{name}: hx must be a pair of tensors (h_0, c_0), got {len(states)} items")
            for i, s in enumerate(states):
                which = f"hx[{i}]" if n_states == 2 else "hidden"
                if not isinstance(s, Tensor):
                    raise TypeError(f"{name}: {which} must be a Tensor, got {type(s).__name__}")
                if s.ndim not in (1, 2):
                    raise ValueError(f"{name}: Expected {which} to be 1D or 2D, got {s.ndim}D instead")
                want = (B, self.hidden_size) if batched else (self.hidden_size,)
                if tuple(s.shape) != want:
                    raise RuntimeError(f"{name}: {which} has shape {tuple(s.shape)} but the input of shape "
                                       f"{tuple(input.shape)} needs {want}")
            if not batched:
                states = [s.unsqueeze(0) for s in states]
        gx = linear(x, self.weight_ih, self.bias_ih).unsqueeze(0)
        _, final = _scan(mode, gx, tuple(states), self.weight_hh, self.bias_hh, None, None, reverse=False)
        return final if batched else tuple(f[0] for f in final)


class RNNCell(RNNCellBase):
    """One Elman step: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (ReLU with ``nonlinearity='relu'``).
    ``forward(input, hx=None)`` returns h' (zeros stand in for a missing hx)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        nonlinearity = _nonlinearity(nonlinearity, "RNNCell")
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        return self._step(mode, input, hx, 1)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o; see :class:`LSTM` for the equations). ``forward(input, (h, c)=None)``
    returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tuple[Tensor, Tensor]] = None) -> Tuple[Tensor, Tensor]:
        h, c = self._step("LSTM", input, hx, 2)
        return h, c


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n; see :class:`GRU` for the equations). ``forward(input, hx=None)`` returns h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        return self._step("GRU", input, hx, 1)[0]

