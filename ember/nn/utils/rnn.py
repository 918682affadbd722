"""Variable-length sequences for the recurrent layers (PyTorch's ``torch.nn.utils.rnn``).

A batch of sequences of different lengths is held either *padded* — one (T, B, *) tensor (or (B, T, *) with
``batch_first``), each sequence followed by filler up to the longest length T — or *packed*: a
:class:`PackedSequence` whose ``data`` holds only the real steps, time-major, with the sequences sorted by
decreasing length, so that step t is the contiguous block of the ``batch_sizes[t]`` sequences still running::

    lengths 3, 2, 1 (a, b, c):   data = [a0 b0 c0 | a1 b1 | a2],   batch_sizes = [3, 2, 1]

``sorted_indices[k]`` is the original batch position of the k-th longest sequence and ``unsorted_indices`` its
inverse; both are None when the batch was already sorted (``enforce_sorted=True``). A recurrent layer given a
packed batch never computes on filler, and its final state is each sequence's state at its own last step.

Every conversion is differentiable: packing is a gather and padding a scatter of the same positions (one
node each, the adjoint of the other), so gradients reach the padded input through a packed RNN.
"""
from __future__ import annotations

from numbers import Integral, Real
from typing import Any, NamedTuple, Sequence

import numpy as np

from ember.tensor import Function, Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]


# --------------------------------------------------------------------------- the two ops

class _Gather(Function):
    """out = a[index] for an ``index`` tuple of integer arrays naming distinct positions. Backward writes the
    gradient back to those positions (no scatter-add needed: no position repeats)."""

    def forward(self, a, index):
        self.shape, self.index = a.shape, index
        return a[index]

    def backward(self, g):
        out = np.zeros(self.shape, g.dtype)
        out[self.index] = g
        return (out,)


class _Scatter(Function):
    """out = a filled with ``value`` everywhere but at ``index`` (distinct positions), where it takes ``data``'s
    rows in order: the adjoint of :class:`_Gather`. Backward reads the gradient at those positions."""

    def forward(self, data, index, shape, value):
        self.index = index
        out = np.full(shape, value, data.dtype)
        out[index] = data
        return out

    def backward(self, g):
        return (g[self.index],)


# --------------------------------------------------------------------------- helpers

def _int_array(values, what: str) -> np.ndarray:
    """A 1-D int64 array from a list, a NumPy array or an integer tensor; anything else is an error naming it."""
    arr = values.array if isinstance(values, Tensor) else np.asarray(values)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise TypeError(f"{what} must be a 1-D sequence of integers, got {arr.dtype} values of shape {arr.shape}")
    return arr.astype(np.int64)


def _batch_sizes_from_lengths(lengths: np.ndarray) -> np.ndarray:
    """batch_sizes[t] = how many sequences are longer than t (lengths sorted or not)."""
    return (lengths[None, :] > np.arange(int(lengths.max()))[:, None]).sum(axis=1).astype(np.int64)


def _lengths_from_batch_sizes(batch_sizes: np.ndarray) -> np.ndarray:
    """The sorted lengths: sequence k runs while batch_sizes[t] > k."""
    return (batch_sizes[:, None] > np.arange(int(batch_sizes[0]))[None, :]).sum(axis=0).astype(np.int64)


def _packed_positions(batch_sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(time step, sorted batch position) of every row of the packed data, in data order."""
    steps = np.repeat(np.arange(len(batch_sizes)), batch_sizes)
    starts = np.repeat(np.cumsum(batch_sizes) - batch_sizes, batch_sizes)
    return steps, np.arange(len(steps)) - starts


def _check_batch_sizes(batch_sizes) -> np.ndarray:
    bs = _int_array(batch_sizes, "batch_sizes")
    if bs.size == 0 or bs.min() < 1 or np.any(np.diff(bs) > 0):
        raise ValueError(f"batch_sizes must be a non-empty, non-increasing sequence of positive integers, got "
                         f"{bs.tolist()}")
    return bs


def _packed_to_padded(data: Tensor, batch_sizes: np.ndarray, total_length: int | None = None,
                      padding_value: float = 0.0) -> Tensor:
    """The packed rows as a (T, B, *) tensor in sorted batch order (the layout a recurrent layer runs on)."""
    steps, pos = _packed_positions(batch_sizes)
    if data.shape[0] != len(steps):
        raise ValueError(f"PackedSequence: data has {data.shape[0]} rows but batch_sizes {batch_sizes.tolist()} "
                         f"add up to {len(steps)}")
    T = len(batch_sizes) if total_length is None else total_length
    return _Scatter.apply(data, index=(steps, pos), shape=(T, int(batch_sizes[0])) + tuple(data.shape[1:]),
                          value=padding_value)


def _padded_to_packed(padded: Tensor, batch_sizes: np.ndarray) -> Tensor:
    """The inverse of :func:`_packed_to_padded`: the real steps of a (T, B, *) sorted batch, packed."""
    return _Gather.apply(padded, index=_packed_positions(batch_sizes))


# --------------------------------------------------------------------------- PackedSequence

def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse of a permutation of 0..n-1 (None stays None): turns ``sorted_indices`` into
    ``unsorted_indices`` and back."""
    if permutation is None:
        return None
    p = _int_array(permutation, "permutation")
    inv = np.empty_like(p)
    inv[p] = np.arange(len(p))
    return Tensor._wrap(inv)


class _PackedSequenceFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceFields):
    """A packed batch: ``data`` (the real steps, time-major, sorted by decreasing length), ``batch_sizes`` (how
    many sequences are running at each step, int64), ``sorted_indices`` / ``unsorted_indices`` (the sort and
    its inverse, or None). A named tuple, as in PyTorch, so ``data, batch_sizes, _, _ = packed`` works.

    Build one with :func:`pack_padded_sequence` or :func:`pack_sequence` rather than by hand; when only
    ``sorted_indices`` is given, ``unsorted_indices`` is computed."""

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None, sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> "PackedSequence":
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PyTorch's legacy form PackedSequence((data, batch_sizes))
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise TypeError("PackedSequence(data, batch_sizes, ...) needs batch_sizes (or data given as the "
                                "pair (data, batch_sizes))")
            data, batch_sizes = data
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = Tensor._wrap(_int_array(batch_sizes, "batch_sizes"))
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        """``data.to(...)`` (dtype and device arguments as for a tensor); ``self`` when nothing changes."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else type(self)(data, self.batch_sizes, self.sorted_indices,
                                                          self.unsorted_indices)

    def cpu(self) -> "PackedSequence":
        return self

    def cuda(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        return type(self)(self.data.cuda(), self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def pin_memory(self) -> "PackedSequence":
        return self

    def is_pinned(self) -> bool:
        return False

    @property
    def is_cuda(self) -> bool:
        return False

    def double(self) -> "PackedSequence":
        return self.to(dtype=np.float64)

    def float(self) -> "PackedSequence":
        return self.to(dtype=np.float32)

    def half(self) -> "PackedSequence":
        return self.to(dtype=np.float16)

    def long(self) -> "PackedSequence":
        return self.to(dtype=np.int64)

    def int(self) -> "PackedSequence":
        return self.to(dtype=np.int32)


# --------------------------------------------------------------------------- padded <-> packed

def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, B, *) batch (B, T, * with ``batch_first``) whose sequence b has ``lengths[b]`` real
    steps. With ``enforce_sorted`` the lengths must already decrease (``sorted_indices`` is then None);
    otherwise the batch is sorted here (stably, longest first) and the sort is recorded. Steps beyond a
    sequence's length are dropped. Differentiable with respect to ``input``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input must have at least 2 dimensions (time and batch), got "
                         f"shape {tuple(input.shape)}")
    lengths = _int_array(lengths, "lengths")
    T, B = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if len(lengths) != B:
        raise RuntimeError(f"pack_padded_sequence: expected len(lengths) to be equal to batch_size, but got "
                           f"{len(lengths)} (batch_size={B}, input shape {tuple(input.shape)})")
    if B == 0 or lengths.min() <= 0:
        raise RuntimeError(f"pack_padded_sequence: length of all samples has to be greater than 0, got lengths "
                           f"{lengths.tolist()}")
    if lengths.max() > T:
        raise RuntimeError(f"pack_padded_sequence: a length of {int(lengths.max())} exceeds the {T} time steps of "
                           f"the input of shape {tuple(input.shape)} (batch_first={batch_first})")
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise RuntimeError(f"`lengths` array must be sorted in decreasing order when `enforce_sorted` is True "
                               f"(got {lengths.tolist()}). You can pass `enforce_sorted=False` to "
                               "pack_padded_sequence and/or pack_sequence to sidestep this requirement.")
        order, sorted_indices = np.arange(B), None
    else:
        order = np.argsort(-lengths, kind="stable")  # ties keep their order, as torch.sort does
        sorted_indices = Tensor._wrap(order.astype(np.int64))
    batch_sizes = _batch_sizes_from_lengths(lengths)
    steps, pos = _packed_positions(batch_sizes)
    index = (order[pos], steps) if batch_first else (steps, order[pos])
    data = _Gather.apply(input, index=index)
    return PackedSequence(data, Tensor._wrap(batch_sizes), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """The inverse of :func:`pack_padded_sequence`: (padded, lengths), the batch back in its original order,
    steps beyond each length set to ``padding_value``, T = the longest length or ``total_length`` (which must
    not be shorter). ``lengths`` is an int64 tensor. Differentiable with respect to ``sequence.data``."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence expects a PackedSequence, got {type(sequence).__name__}")
    bs = _check_batch_sizes(sequence.batch_sizes)
    T = len(bs)
    if total_length is not None:
        if not isinstance(total_length, Integral) or isinstance(total_length, bool):
            raise TypeError(f"total_length must be an int or None, got {total_length!r}")
        if total_length < T:
            raise ValueError("Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {T}")
        T = int(total_length)
    if not isinstance(padding_value, Real):
        raise TypeError(f"padding_value must be a number, got {padding_value!r}")
    data = sequence.data
    steps, pos = _packed_positions(bs)
    if data.shape[0] != len(steps):
        raise ValueError(f"PackedSequence: data has {data.shape[0]} rows but batch_sizes {bs.tolist()} add up to "
                         f"{len(steps)}")
    lengths = _lengths_from_batch_sizes(bs)
    B = int(bs[0])
    unsorted = sequence.unsorted_indices
    if unsorted is not None:  # sorted column k goes back to the original position i with unsorted[i] == k
        unsorted = _int_array(unsorted, "unsorted_indices")
        pos = invert_permutation(unsorted).array[pos]
        lengths = lengths[unsorted]
    index = (pos, steps) if batch_first else (steps, pos)
    shape = ((B, T) if batch_first else (T, B)) + tuple(data.shape[1:])
    padded = _Scatter.apply(data, index=index, shape=shape, value=padding_value)
    return padded, Tensor._wrap(lengths)


# --------------------------------------------------------------------------- lists of sequences

class _PadSequence(Function):
    """Stack (L_i, *) arrays into (T, B, *) / (B, T, *), filling the rest with ``value``; each input's
    gradient is its own block of the output's."""

    def forward(self, *arrays, batch_first, value, left):
        T = max(a.shape[0] for a in arrays)
        out = np.full((len(arrays), T) + arrays[0].shape[1:], value, np.result_type(*arrays))
        self.spans = []
        for b, a in enumerate(arrays):
            span = slice(T - a.shape[0], T) if left else slice(0, a.shape[0])
            out[b, span] = a
            self.spans.append((b, span))
        self.batch_first = batch_first
        return out if batch_first else np.swapaxes(out, 0, 1)

    def backward(self, g):
        if not self.batch_first:
            g = np.swapaxes(g, 0, 1)
        return tuple(g[b, span] for b, span in self.spans)


def pad_sequence(sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_i, *) into one (T, B, *) tensor ((B, T, *) with ``batch_first``), T the
    longest L_i, each padded with ``padding_value`` after its steps (``padding_side='right'``) or before them
    ('left'). The trailing dimensions must agree. Differentiable with respect to every sequence."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences)
    try:
        sequences = list(sequences)
    except TypeError:
        raise TypeError(f"pad_sequence: expected a sequence of tensors, got {type(sequences).__name__}") from None
    if not sequences:
        raise ValueError("pad_sequence: received an empty list of sequences")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: sequence {i} is a {type(s).__name__}, not a Tensor")
        if s.ndim == 0:
            raise ValueError(f"pad_sequence: sequence {i} is a 0-d tensor; each needs a time dimension")
        if s.shape[1:] != sequences[0].shape[1:]:
            raise ValueError(f"pad_sequence: every sequence must have the same trailing dimensions; sequence 0 "
                             f"has shape {tuple(sequences[0].shape)} and sequence {i} has {tuple(s.shape)}")
    if padding_side not in ("left", "right"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got {padding_side!r}")
    return _PadSequence.apply(*sequences, batch_first=bool(batch_first), value=padding_value,
                              left=padding_side == "left")


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list[Tensor]:
    """The inverse of :func:`pad_sequence` (right padding): the list of sequences, the b-th cut to
    ``lengths[b]`` steps. Slices of the input, so gradients flow back into it; the input is not modified."""
    lengths = _int_array(lengths, "lengths")
    B, T = (padded_sequences.shape[:2] if batch_first else padded_sequences.shape[1::-1])
    if len(lengths) != B:
        raise ValueError(f"unpad_sequence: {len(lengths)} lengths for a batch of {B} (input shape "
                         f"{tuple(padded_sequences.shape)}, batch_first={batch_first})")
    if len(lengths) and (lengths.min() < 0 or lengths.max() > T):
        raise ValueError(f"unpad_sequence: lengths {lengths.tolist()} must lie between 0 and the {T} time steps")
    if batch_first:
        return [padded_sequences[b, :n] for b, n in enumerate(lengths.tolist())]
    return [padded_sequences[:n, b] for b, n in enumerate(lengths.tolist())]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) sequences: :func:`pad_sequence` then :func:`pack_padded_sequence`."""
    sequences = list(sequences)
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The inverse of :func:`pack_sequence`: the list of sequences in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
