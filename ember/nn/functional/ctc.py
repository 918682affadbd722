"""CTC loss (Graves et al. 2006) for unsegmented sequence labelling (speech, handwriting): the model emits one
distribution per frame, and the loss sums over every way the frames can spell the target. The recursions are
in :mod:`ember.ops.ctc`; this module checks and normalises the arguments as PyTorch accepts them."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ember.ops.ctc import CTCLoss
from ember.tensor import Tensor

__all__ = ["ctc_loss"]


def _ints(value, name: str) -> np.ndarray:
    """Lengths or labels given as a tensor, list, tuple, array or int, as an int64 array (checked integral)."""
    a = value.array if isinstance(value, Tensor) else np.asarray(value)
    if a.dtype.kind not in "iu":
        raise TypeError(f"ctc_loss: {name} must hold integers, got dtype {a.dtype}")
    return a.astype(np.int64)


def _padded_targets(targets: np.ndarray, target_lengths: np.ndarray, n: int) -> np.ndarray:
    """Targets as (N, S) rows: padded ones checked, concatenated ones (1-D) split by ``target_lengths``."""
    if targets.ndim == 2:
        if targets.shape[0] != n:
            raise ValueError(f"ctc_loss: padded targets of shape {targets.shape} must have one row per sequence "
                             f"(batch size {n})")
        if target_lengths.size and target_lengths.max() > targets.shape[1]:
            raise ValueError(f"ctc_loss: target_lengths {target_lengths.tolist()} exceed the padded targets' "
                             f"length {targets.shape[1]} (targets of shape {targets.shape})")
        return targets
    if targets.ndim != 1:
        raise ValueError(f"ctc_loss: targets must be (N, S) padded or 1-D concatenated, got shape {targets.shape}")
    total = int(target_lengths.sum())
    if targets.size != total:
        raise ValueError(f"ctc_loss: concatenated targets hold {targets.size} labels but target_lengths "
                         f"{target_lengths.tolist()} add up to {total}")
    out = np.zeros((n, int(target_lengths.max()) if n else 0), dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(target_lengths)[:-1])).astype(np.int64)
    for i in range(n):
        out[i, :target_lengths[i]] = targets[starts[i]:starts[i] + target_lengths[i]]
    return out


def ctc_loss(log_probs: Tensor, targets, input_lengths: Tensor | Sequence[int], target_lengths: Tensor | Sequence[int],
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The connectionist temporal classification loss −log p(target | frames), summed over alignments.

    ``log_probs`` (T, N, C) or unbatched (T, C): log-probabilities per frame (e.g. ``log_softmax(x, 2)``).
    ``targets``: (N, S) padded (row n's first ``target_lengths[n]`` labels count) or 1-D, all target sequences
    concatenated. ``input_lengths`` / ``target_lengths``: (N,) tensors, lists or tuples; sequence n reads frames
    [0, input_lengths[n]). Labels lie in [0, C) and are never ``blank``. A target that cannot fit its frames
    (it needs one frame per label plus one per repeated neighbour) has infinite loss; ``zero_infinity=True``
    turns such losses and their gradients into zeros. ``reduction='mean'`` divides each loss by its target
    length (at least 1) and averages over the batch, as PyTorch does; 'sum' adds; 'none' keeps (N,).
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"ctc_loss: reduction must be one of ['mean', 'sum', 'none'], got {reduction!r}")
    if not isinstance(log_probs, Tensor):
        raise TypeError(f"ctc_loss: log_probs must be a Tensor, got {type(log_probs).__name__}")
    if log_probs.ndim not in (2, 3) or log_probs.dtype.kind != "f":
        raise ValueError(f"ctc_loss: log_probs must be a float (T, N, C) or (T, C) tensor, got shape "
                         f"{log_probs.shape} and dtype {log_probs.dtype}")
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    t_max, n, c = lp.shape
    if isinstance(blank, bool) or not isinstance(blank, (int, np.integer)) or not 0 <= blank < c:
        raise ValueError(f"ctc_loss: blank must be a class index in [0, {c}), got {blank!r}")
    il = _ints(input_lengths, "input_lengths").reshape(-1)
    tl = _ints(target_lengths, "target_lengths").reshape(-1)
    for name, lengths in (("input_lengths", il), ("target_lengths", tl)):
        if lengths.size != n:
            raise ValueError(f"ctc_loss: {name} must have one entry per sequence (batch size {n}), got "
                             f"{lengths.size}: {lengths.tolist()}")
        if (lengths < 0).any():
            raise ValueError(f"ctc_loss: {name} must be non-negative, got {lengths.tolist()}")
    if (il > t_max).any():
        raise ValueError(f"ctc_loss: input_lengths {il.tolist()} exceed the {t_max} frames of log_probs "
                         f"(shape {log_probs.shape})")
    tg = _padded_targets(_ints(targets, "targets"), tl, n)
    used = np.arange(tg.shape[1]) < tl[:, None]
    labels = tg[used]
    bad = labels[(labels < 0) | (labels >= c) | (labels == blank)]
    if bad.size:
        raise ValueError(f"ctc_loss: target label {int(bad[0])} is invalid: labels must lie in [0, {c}) and differ "
                         f"from blank={blank}")
    loss = CTCLoss.apply(lp, targets=tg, input_lengths=il, target_lengths=tl, blank=int(blank),
                         zero_infinity=bool(zero_infinity))
    if reduction == "mean":
        return (loss / Tensor._wrap(np.maximum(tl, 1).astype(loss.dtype))).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss
