"""Classification metrics: loss, accuracy, top-k accuracy, confusion matrix, per-class precision/recall/F1.

Two layers, as in most libraries:

* plain functions on arrays (``accuracy``, ``topk_accuracy``, ``confusion_matrix``,
  ``precision_recall_f1``) — they take logits or probabilities of shape (N, C) and integer labels (N,);
* streaming metric objects (``Mean``, ``Accuracy``, ``TopKAccuracy``, ``ConfusionMatrix``) with
  ``update(outputs, targets)`` / ``compute()`` / ``reset()``, which the Trainer feeds batch by batch so that
  an epoch's figure is exact (a sum over all samples, not a mean of batch means).

Targets may also be soft (N, C) probability rows, as produced by mixup; the metrics then score against
the row's arg-max, the label that carries the most weight.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from ember.tensor import Tensor


def _np(x) -> np.ndarray:
    return x.array if isinstance(x, Tensor) else np.asarray(x)


def _labels(targets) -> np.ndarray:
    t = _np(targets)
    if t.ndim == 2:  # soft targets (mixup, label smoothing): the heaviest class
        t = t.argmax(axis=1)
    return t.astype(np.int64, copy=False).reshape(-1)


def _scores(outputs) -> np.ndarray:
    out = _np(outputs)
    if out.ndim != 2:
        raise ValueError(f"expected outputs of shape (batch, classes), got {out.shape}")
    return out


# --------------------------------------------------------------------------- functions


def accuracy(outputs, targets) -> float:
    """Fraction of rows whose arg-max equals the label."""
    out, y = _scores(outputs), _labels(targets)
    if len(y) == 0:
        return float("nan")
    return float(np.mean(out.argmax(axis=1) == y))


def topk_correct(outputs, targets, k: int) -> np.ndarray:
    """Boolean per sample: is the label among the ``k`` highest scores? (Ties count as in PyTorch's topk:
    exactly k classes are taken.)"""
    out, y = _scores(outputs), _labels(targets)
    k = min(int(k), out.shape[1])
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    top = np.argpartition(-out, k - 1, axis=1)[:, :k] if k < out.shape[1] else np.broadcast_to(
        np.arange(out.shape[1]), out.shape)
    return (top == y[:, None]).any(axis=1)


def topk_accuracy(outputs, targets, k: int = 5) -> float:
    """Fraction of samples whose label is among the ``k`` highest scores."""
    c = topk_correct(outputs, targets, k)
    return float(c.mean()) if len(c) else float("nan")


def confusion_matrix(predictions, targets, num_classes: int) -> np.ndarray:
    """``cm[i, j]`` = number of samples of true class i predicted as class j. ``predictions`` are either
    class indices (N,) or scores (N, C)."""
    p = _np(predictions)
    if p.ndim == 2:
        p = p.argmax(axis=1)
    p = p.astype(np.int64).reshape(-1)
    y = _labels(targets)
    if p.shape != y.shape:
        raise ValueError(f"{p.shape[0]} predictions but {y.shape[0]} targets")
    if len(y) and (y.min() < 0 or y.max() >= num_classes or p.min() < 0 or p.max() >= num_classes):
        raise ValueError(f"labels must lie in [0, {num_classes}); got targets in [{y.min()}, {y.max()}], "
                         f"predictions in [{p.min()}, {p.max()}]")
    return np.bincount(y * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def precision_recall_f1(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision (tp / predicted), recall (tp / actual), F1 (their harmonic mean) and support
    from a confusion matrix. A class never predicted has precision 0 (not NaN), as in scikit-learn's
    ``zero_division=0``."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual.astype(np.int64)}


def classification_report(cm: np.ndarray, class_names: Sequence[str] | None = None, digits: int = 3) -> str:
    """A text table of per-class precision, recall, F1 and support, with macro averages and accuracy."""
    cm = np.asarray(cm)
    n = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    s = precision_recall_f1(cm)
    width = max(12, max(len(x) for x in names) + 2)
    lines = [f"{'class':<{width}}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for i, name in enumerate(names):
        lines.append(f"{name:<{width}}{s['precision'][i]:>10.{digits}f}{s['recall'][i]:>10.{digits}f}"
                     f"{s['f1'][i]:>10.{digits}f}{s['support'][i]:>10d}")
    total = int(cm.sum())
    acc = float(np.trace(cm) / total) if total else float("nan")
    lines.append("")
    lines.append(f"{'macro avg':<{width}}{s['precision'].mean():>10.{digits}f}{s['recall'].mean():>10.{digits}f}"
                 f"{s['f1'].mean():>10.{digits}f}{total:>10d}")
    lines.append(f"{'accuracy':<{width}}{'':>20}{acc:>10.{digits}f}{total:>10d}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- streaming metrics


class Metric:
    """A value accumulated over batches: ``update(outputs, targets)``, ``compute()``, ``reset()``.
    ``state_dict()`` / ``load_state_dict()`` let a run resumed mid-epoch finish the epoch's figure exactly."""

    name = "metric"

    def reset(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self, outputs, targets) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def compute(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_dict(self) -> dict:
        return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(self).items() if k.startswith("_")}

    def load_state_dict(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, np.array(v) if isinstance(getattr(self, k, None), np.ndarray) else v)


class Mean(Metric):
    """Running mean of a per-batch value weighted by the batch size (e.g. the loss)."""

    def __init__(self, name: str = "loss"):
        self.name = name
        self.reset()

    def reset(self) -> None:
        self._total, self._count = 0.0, 0

    def update(self, value, n: int = 1) -> None:  # type: ignore[override]
        self._total += float(value) * int(n)
        self._count += int(n)

    def compute(self) -> float:
        return self._total / self._count if self._count else float("nan")


class Accuracy(Metric):
    """Fraction of samples whose arg-max prediction equals the label."""

    name = "accuracy"

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self._correct, self._count = 0, 0

    def update(self, outputs, targets) -> None:
        out, y = _scores(outputs), _labels(targets)
        self._correct += int((out.argmax(axis=1) == y).sum())
        self._count += len(y)

    def compute(self) -> float:
        return self._correct / self._count if self._count else float("nan")


class TopKAccuracy(Metric):
    """Fraction of samples whose label is among the k highest scores (``top5_accuracy`` for k=5)."""

    def __init__(self, k: int = 5):
        if int(k) < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k = int(k)
        self.name = f"top{self.k}_accuracy"
        self.reset()

    def reset(self) -> None:
        self._correct, self._count = 0, 0

    def update(self, outputs, targets) -> None:
        c = topk_correct(outputs, targets, self.k)
        self._correct += int(c.sum())
        self._count += len(c)

    def compute(self) -> float:
        return self._correct / self._count if self._count else float("nan")


class ConfusionMatrix(Metric):
    """Counts of (true, predicted) pairs; ``compute()`` returns the matrix, ``report()`` per-class scores."""

    name = "confusion_matrix"

    def __init__(self, num_classes: int):
        self.num_classes = int(num_classes)
        self.reset()

    def reset(self) -> None:
        self._cm = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def update(self, outputs, targets) -> None:
        self._cm += confusion_matrix(outputs, targets, self.num_classes)

    def compute(self) -> np.ndarray:
        return self._cm.copy()

    def scores(self) -> dict[str, np.ndarray]:
        return precision_recall_f1(self._cm)


_BY_NAME = {"accuracy": Accuracy, "acc": Accuracy}


def make_metric(spec) -> Metric:
    """A metric from a name ("accuracy", "top5_accuracy", "top3", ...) or a Metric instance."""
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        s = spec.lower()
        if s in _BY_NAME:
            return _BY_NAME[s]()
        if s.startswith("top"):
            digits = s[3:].split("_")[0]
            if digits.isdigit():
                return TopKAccuracy(int(digits))
    raise ValueError(f"unknown metric {spec!r}; valid: accuracy, topK_accuracy (e.g. top5_accuracy), "
                     "or an ember.train.metrics.Metric instance")


def make_metrics(specs: Iterable) -> list[Metric]:
    return [make_metric(s) for s in specs]
