"""Model ensembles (NOTES §7): average the predicted class probabilities of several models.

    ens = Ensemble([model_a, model_b])                  # modules taking the same inputs
    ens = Ensemble(["runs/a", "runs/b"])                # trained runs: each brings its own preprocessing
    ens = Ensemble.snapshots("runs/a")                  # the periodic checkpoints of one run
    report = ens.evaluate(images, labels)               # accuracy of the ensemble and of every member

Members are independently trained models (different seeds, architectures or hyperparameters) or
*snapshots* of one run taken at different points of training (Huang et al. 2017). Averaging
probabilities — not logits — keeps each member's calibration and is what the notes describe.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ember.train.metrics import accuracy
from ember.train.trainer import predict_proba


@dataclass
class Member:
    """One model of an ensemble and the preprocessing its inputs need (None: use inputs as given)."""

    model: object
    name: str
    preprocessor: object | None = None

    def predict_proba(self, images: np.ndarray, tta=False, batch_size: int = 256) -> np.ndarray:
        return predict_proba(self.model, images, tta=tta, batch_size=batch_size, preprocess=self.preprocessor)


class Ensemble:
    """Average of the members' softmax probabilities, optionally weighted."""

    def __init__(self, members, weights=None):
        members = list(members)
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members: list[Member] = []
        for i, m in enumerate(members):
            if isinstance(m, Member):
                self.members.append(m)
            elif isinstance(m, (str, Path)):
                self.members.append(member_from_run(m))
            else:
                self.members.append(Member(m, f"model {i}"))
        if weights is None:
            weights = np.ones(len(self.members))
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (len(self.members),) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(f"weights must be {len(self.members)} non-negative numbers with a positive sum, "
                             f"got {weights.tolist()}")
        self.weights = weights / weights.sum()

    @classmethod
    def snapshots(cls, run, which: str = "periodic", include_final: bool = False) -> "Ensemble":
        """A snapshot ensemble from one run's checkpoints: its periodic ``step-*.ckpt`` files
        (``which="periodic"``), plus ``best.ckpt`` with ``which="all"`` and the final ``model.ckpt`` with
        ``include_final``; files holding the same weights count once."""
        from ember.train.checkpoint import list_checkpoints
        from ember.train.rundir import RunDir

        rd = RunDir.open(run)
        paths = list(list_checkpoints(rd.checkpoints))
        if which == "all" and (rd.checkpoints / "best.ckpt").exists():
            paths.append(rd.checkpoints / "best.ckpt")
        if include_final and rd.model_path.exists():
            paths.append(rd.model_path)
        if not paths:
            raise FileNotFoundError(f"{rd.path} has no checkpoints to build a snapshot ensemble from "
                                    "(train with --checkpoint-every)")
        members, seen = [], set()
        for p in paths:  # best.ckpt and model.ckpt often hold the last snapshot's weights: count them once
            m = member_from_run(rd.path, p)
            digest = _weights_digest(m.model)
            if digest not in seen:
                seen.add(digest)
                members.append(m)
        return cls(members)

    def __len__(self) -> int:
        return len(self.members)

    def predict_proba(self, images, tta=False, batch_size: int = 256, member_probs: list | None = None) -> np.ndarray:
        """The weighted mean of the members' probabilities for raw images (N, C, H, W) in [0, 1]."""
        images = np.asarray(getattr(images, "data", images), dtype=np.float32)
        total = None
        for w, m in zip(self.weights, self.members):
            p = m.predict_proba(images, tta=tta, batch_size=batch_size)
            if member_probs is not None:
                member_probs.append(p)
            total = w * p if total is None else total + w * p
        return total

    def predict(self, images, **kw) -> np.ndarray:
        return self.predict_proba(images, **kw).argmax(axis=1)

    def evaluate(self, images, labels, tta=False, batch_size: int = 256) -> dict:
        """Accuracy of the ensemble and of each member on the same images; also the gain over the best
        member and the mean member."""
        labels = np.asarray(getattr(labels, "data", labels)).astype(np.int64)
        per = []
        probs = self.predict_proba(images, tta=tta, batch_size=batch_size, member_probs=per)
        members = [{"name": m.name, "accuracy": accuracy(p, labels)} for m, p in zip(self.members, per)]
        ens = accuracy(probs, labels)
        best = max(x["accuracy"] for x in members)
        return {"ensemble_accuracy": ens, "members": members, "best_member_accuracy": best,
                "mean_member_accuracy": float(np.mean([x["accuracy"] for x in members])),
                "gain_over_best_member": ens - best}


def _weights_digest(model) -> str:
    h = hashlib.sha1()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(np.ascontiguousarray(v.array).tobytes())
    return h.hexdigest()


def member_from_run(run, checkpoint=None) -> Member:
    """A trained run as an ensemble member: its model architecture, weights (``model.ckpt`` or the
    given checkpoint) and its preprocessing."""
    from ember.train.checkpoint import load_weights
    from ember.train.restore import model_for_run

    model, rd, _cfg, pre = model_for_run(run)
    path = Path(checkpoint) if checkpoint is not None else rd.model_path
    load_weights(model, path)
    label = rd.name if checkpoint is None else f"{rd.name}/{path.name}"
    return Member(model, label, pre)


def format_report(report: dict) -> str:
    lines = [f"{'member':<40}{'accuracy':>10}"]
    for m in report["members"]:
        lines.append(f"{m['name']:<40}{100 * m['accuracy']:>9.2f}%")
    lines.append(f"{'ensemble of ' + str(len(report['members'])):<40}{100 * report['ensemble_accuracy']:>9.2f}%")
    lines.append(f"gain over the best member: {100 * report['gain_over_best_member']:+.2f} points; "
                 f"over the mean member: {100 * (report['ensemble_accuracy'] - report['mean_member_accuracy']):+.2f}")
    return "\n".join(lines)
