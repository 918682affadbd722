"""ember.train: the training loop and everything around a run.

* :class:`Trainer` — ``fit`` / ``evaluate`` / ``predict`` with metrics, callbacks, gradient clipping,
  schedules stepped per batch or per epoch, and exact resume from checkpoints;
* callbacks — :class:`EarlyStopping`, :class:`ModelCheckpoint`, :class:`NaNGuard`, :class:`CSVLogger`,
  :class:`JSONLinesLogger`, :class:`StopAfterSteps`, :class:`LambdaCallback`;
* metrics — accuracy, top-k accuracy, confusion matrix, per-class precision/recall/F1;
* :class:`History`, run directories (:class:`RunDir`), PNG plots, :class:`Ensemble` and transfer
  learning (:func:`load_pretrained`, :func:`freeze`, :func:`param_groups`).
"""
from ember.train.callbacks import (  # noqa: F401
    Callback, CSVLogger, EarlyStopping, JSONLinesLogger, LambdaCallback, ModelCheckpoint, NaNGuard, StopAfterSteps,
)
from ember.train.checkpoint import (  # noqa: F401
    CheckpointError, latest_checkpoint, list_checkpoints, load_checkpoint, load_weights, save_checkpoint, save_weights,
)
from ember.train.config import ConfigError, TrainConfig  # noqa: F401
from ember.train.ensemble import Ensemble, Member  # noqa: F401
from ember.train.history import History  # noqa: F401
from ember.train.metrics import (  # noqa: F401
    Accuracy, ConfusionMatrix, Mean, Metric, TopKAccuracy, accuracy, classification_report, confusion_matrix,
    precision_recall_f1, topk_accuracy,
)
from ember.train.progress import ProgressBar  # noqa: F401
from ember.train.restore import load_run  # noqa: F401
from ember.train.rundir import RunDir, RunNotFoundError  # noqa: F401
from ember.train.trainer import Trainer, predict_proba  # noqa: F401
from ember.train.transfer import (  # noqa: F401
    TransferReport, UnfreezeBackbone, freeze, head_name, load_pretrained, param_groups, replace_head, unfreeze,
)
