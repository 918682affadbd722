"""``ember.utils.tensorboard``: PyTorch's ``torch.utils.tensorboard.SummaryWriter`` for ember.

Logging to TensorBoard is not part of ember's core, so, like PyTorch, this module needs the ``tensorboard``
package (``pip install tensorboard`` or ``pip install 'ember[tensorboard]'``) and builds on it: the event files
are written by TensorBoard's own ``EventFileWriter`` (TFRecord framing, CRCs, the background flush thread), the
records are TensorBoard's protocol buffers (``summary_pb2``, ``event_pb2``) and each plugin's metadata comes
from that plugin's own module. What this module adds is what PyTorch's writer adds on top: turning tensors
(ember's or NumPy's) into those records with PyTorch's conventions, so that

    from ember.utils.tensorboard import SummaryWriter   # was: from torch.utils.tensorboard import ...

writes the same runs a PyTorch script would: scalars (one sub-run per key for ``add_scalars``), histograms
with TensorFlow's exponential buckets by default, images (``CHW``/``HWC``/``HW``, float in [0, 1] or uint8;
batches tiled eight to a row), matplotlib figures, text, hyperparameters (a sub-run per call, read by the
HParams dashboard) and precision-recall curves.

``add_graph`` records nothing: PyTorch traces the model with TorchScript to draw its graph, and ember has no
tracer. It warns once and returns, so scripts that call it keep running.
"""
from __future__ import annotations

import io
import os
import socket
import time
import warnings
from datetime import datetime
from typing import Any

import numpy as np

_INSTALL_HINT = ("ember.utils.tensorboard needs the 'tensorboard' package, which is not installed: "
                 "pip install tensorboard  (or: pip install 'ember[tensorboard]')")

try:
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.proto.event_pb2 import Event, SessionLog
    from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    from tensorboard.summary.writer.record_writer import RecordWriter
    from tensorboard.util import tensor_util
except ImportError as _e:  # pragma: no cover - exercised by simulating the missing package
    raise ModuleNotFoundError(_INSTALL_HINT, name="tensorboard") from _e

__all__ = ["FileWriter", "RecordWriter", "SummaryWriter"]


# ----------------------------------------------------------------------------------------------- conversion
def _make_np(x: Any) -> np.ndarray:
    """An ember Tensor, a NumPy array or a Python/NumPy scalar as an ndarray (PyTorch's ``make_np``)."""
    from ember.tensor import Tensor

    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, Tensor):
        return np.asarray(x.detach().array)
    if np.isscalar(x):
        return np.array([x])
    raise NotImplementedError(f"Got {type(x)}, but a numpy array or an ember Tensor is expected.")


def _scalar_value(x: Any) -> float:
    arr = _make_np(x).squeeze()
    if arr.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given size: {arr.size} "
                             f"and {arr.ndim} dimensions.")
    return float(arr)


def _default_bins() -> list[float]:
    """TensorFlow's histogram bucket edges: +-1e-12 growing by 10% up to 1e20, and 0 (as PyTorch)."""
    v, buckets = 1e-12, []
    while v < 1e20:
        buckets.append(v)
        v *= 1.1
    return [-b for b in reversed(buckets)] + [0] + buckets


_DEFAULT_BINS = _default_bins()


# ------------------------------------------------------------------------------------------- summaries
def _scalar_summary(tag: str, value: Any, new_style: bool = False, double_precision: bool = False) -> Summary:
    v = _scalar_value(value)
    if not new_style:
        return Summary(value=[Summary.Value(tag=tag, simple_value=v)])
    from tensorboard.plugins.scalar import metadata as scalar_metadata

    proto = tensor_util.make_tensor_proto(np.float64(v) if double_precision else np.float32(v))
    smd = scalar_metadata.create_summary_metadata(display_name="", description="")
    return Summary(value=[Summary.Value(tag=tag, tensor=proto, metadata=smd)])


def _histogram_proto(values: np.ndarray, bins, max_bins: int | None = None) -> HistogramProto:
    """numpy.histogram of the values, trimmed to the non-empty range, as TensorBoard's HistogramProto.

    Follows PyTorch: ``bucket_limit`` holds each bucket's right edge, and one empty bucket is kept before the
    first non-empty one so the dashboard knows where the data starts."""
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        sub = len(counts) // max_bins
        if len(counts) % sub:
            counts = np.pad(counts, (0, sub - len(counts) % sub))
        counts = counts.reshape(-1, sub).sum(axis=-1)
        limits = np.concatenate([limits[:-1:sub], limits[-1:]])
    cum = np.cumsum(counts > 0)
    start, end = (int(i) for i in np.searchsorted(cum, [0, cum[-1] - 1], side="right"))
    end += 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty.")
    return HistogramProto(min=values.min(), max=values.max(), num=len(values), sum=values.sum(),
                          sum_squares=values.dot(values), bucket_limit=limits.tolist(), bucket=counts.tolist())


def _make_grid(imgs: np.ndarray, ncols: int = 8) -> np.ndarray:
    """(N, C, H, W) -> (3, H*rows, W*cols): the images in rows of ``ncols``, gray ones made RGB (as PyTorch)."""
    if imgs.shape[1] == 1:
        imgs = np.concatenate([imgs] * 3, axis=1)
    if imgs.ndim != 4 or imgs.shape[1] != 3:
        raise ValueError(f"images should have 1 or 3 channels, got shape {imgs.shape}")
    n, _, h, w = imgs.shape
    ncols = min(n, ncols)
    nrows = -(-n // ncols)
    canvas = np.zeros((3, h * nrows, w * ncols), dtype=imgs.dtype)
    for i in range(n):
        y, x = divmod(i, ncols)
        canvas[:, y * h:(y + 1) * h, x * w:(x + 1) * w] = imgs[i]
    return canvas


def _to_hwc(arr: np.ndarray, dataformats: str) -> np.ndarray:
    fmt = dataformats.upper()
    if len(set(fmt)) != len(fmt):
        raise ValueError(f"You can not use the same dimension shorthand twice. dataformats: {dataformats}")
    if arr.ndim != len(fmt):
        raise ValueError(f"size of input tensor and input format are different. tensor shape: {arr.shape}, "
                         f"dataformats: {dataformats}")
    if len(fmt) == 4:
        return _make_grid(arr.transpose([fmt.find(c) for c in "NCHW"])).transpose(1, 2, 0)
    if len(fmt) == 3:
        hwc = arr.transpose([fmt.find(c) for c in "HWC"])
        return np.concatenate([hwc] * 3, axis=2) if hwc.shape[2] == 1 else hwc
    if len(fmt) == 2:
        return np.stack([arr.transpose([fmt.find(c) for c in "HW"])] * 3, axis=2)
    raise ValueError(f"dataformats should have 2, 3 or 4 letters, got {dataformats!r}")


def _image_summary(tag: str, img: Any, dataformats: str) -> Summary:
    from PIL import Image

    hwc = _to_hwc(_make_np(img), dataformats)
    scale = 1 if hwc.dtype == np.uint8 else 255  # floats are taken to lie in [0, 1]
    hwc = (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    height, width, channels = hwc.shape
    buf = io.BytesIO()
    Image.fromarray(hwc).save(buf, format="PNG")
    image = Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=buf.getvalue())
    return Summary(value=[Summary.Value(tag=tag, image=image)])


def _figure_to_image(figures, close: bool = True) -> np.ndarray:
    """A matplotlib figure as a (3, H, W) uint8 array, a list of them as (N, 3, H, W)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    def render(fig) -> np.ndarray:
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        rgba = np.asarray(canvas.buffer_rgba())
        chw = np.moveaxis(rgba[:, :, :3], 2, 0).copy()
        if close:
            plt.close(fig)
        return chw

    if isinstance(figures, list):
        return np.stack([render(f) for f in figures])
    return render(figures)


def _text_summary(tag: str, text: str) -> Summary:
    from tensorboard.plugins.text import metadata as text_metadata

    smd = text_metadata.create_summary_metadata(display_name="", description="")
    proto = tensor_util.make_tensor_proto(np.array([text.encode("utf-8")], dtype=object))
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=smd, tensor=proto)])


def _pr_curve_summary(tag: str, data: np.ndarray, num_thresholds: int) -> Summary:
    from tensorboard.plugins.pr_curve import metadata as pr_metadata

    smd = pr_metadata.create_summary_metadata(display_name=tag, description="", num_thresholds=num_thresholds)
    proto = tensor_util.make_tensor_proto(np.asarray(data, dtype=np.float32))
    return Summary(value=[Summary.Value(tag=tag, metadata=smd, tensor=proto)])


def _compute_pr_curve(labels: np.ndarray, predictions: np.ndarray, num_thresholds: int, weights=None) -> np.ndarray:
    """Rows tp, fp, tn, fn, precision, recall at ``num_thresholds`` evenly spaced thresholds (as TensorBoard)."""
    weights = 1.0 if weights is None else _make_np(weights)
    buckets = np.floor(np.asarray(predictions, dtype=np.float64) * (num_thresholds - 1)).astype(np.int32)
    fl = np.asarray(labels, dtype=np.float64)
    rng = (0, num_thresholds - 1)
    tp_b, _ = np.histogram(buckets, bins=num_thresholds, range=rng, weights=fl * weights)
    fp_b, _ = np.histogram(buckets, bins=num_thresholds, range=rng, weights=(1.0 - fl) * weights)
    tp = np.cumsum(tp_b[::-1])[::-1]
    fp = np.cumsum(fp_b[::-1])[::-1]
    tn, fn = fp[0] - fp, tp[0] - tp
    precision = tp / np.maximum(1e-7, tp + fp)
    recall = tp / np.maximum(1e-7, tp + fn)
    return np.stack((tp, fp, tn, fn, precision, recall))


def _hparams_summaries(hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None):
    """The HParams plugin's experiment, session-start and session-end summaries (as PyTorch writes them)."""
    from google.protobuf import struct_pb2
    from ember.tensor import Tensor
    from tensorboard.plugins.hparams import api_pb2, metadata as hp_metadata, plugin_data_pb2

    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing logged.")
    for k, v in domains.items():
        if k not in hparam_dict or not isinstance(v, list) or not all(isinstance(d, type(hparam_dict[k])) for d in v):
            raise TypeError(f"parameter: hparam_domain_discrete[{k}] should be a list of same type as "
                            f"hparam_dict[{k}].")

    infos, start = [], plugin_data_pb2.SessionStartInfo(start_time_secs=time.time())
    for k, v in hparam_dict.items():
        if v is None:
            continue
        if isinstance(v, (np.ndarray, np.generic, Tensor)):
            v = _make_np(v)
            if v.size != 1:
                raise ValueError(f"hparam {k!r}: a tensor value must have one element, got shape {v.shape}")
            v = v.reshape(()).item()
        if isinstance(v, bool):
            start.hparams[k].bool_value = v
            dtype, field = api_pb2.DATA_TYPE_BOOL, "bool_value"
        elif isinstance(v, (int, float)):
            start.hparams[k].number_value = v
            dtype, field = api_pb2.DATA_TYPE_FLOAT64, "number_value"
        elif isinstance(v, str):
            start.hparams[k].string_value = v
            dtype, field = api_pb2.DATA_TYPE_STRING, "string_value"
        else:
            raise ValueError(f"hparam {k!r}: value should be one of int, float, str, bool, or a one-element "
                             f"Tensor, got {type(v).__name__}")
        discrete = None
        if k in domains:
            discrete = struct_pb2.ListValue(values=[struct_pb2.Value(**{field: d}) for d in domains[k]])
        infos.append(api_pb2.HParamInfo(name=k, type=dtype, domain_discrete=discrete))

    experiment = api_pb2.Experiment(hparam_infos=infos,
                                    metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=k))
                                                  for k in metric_dict])
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS, end_time_secs=time.time())

    def summary(tag, data):
        smd = hp_metadata.create_summary_metadata(data)
        return Summary(value=[Summary.Value(tag=tag, metadata=smd, tensor=hp_metadata.NULL_TENSOR)])

    return (summary(hp_metadata.EXPERIMENT_TAG, plugin_data_pb2.HParamsPluginData(experiment=experiment)),
            summary(hp_metadata.SESSION_START_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_start_info=start)),
            summary(hp_metadata.SESSION_END_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=end)))


# ---------------------------------------------------------------------------------------------- writers
class FileWriter:
    """One event file in ``log_dir``, written asynchronously by TensorBoard's ``EventFileWriter``."""

    def __init__(self, log_dir, max_queue: int = 10, flush_secs: float = 120, filename_suffix: str = ""):
        self._args = (str(log_dir), max_queue, flush_secs, filename_suffix)
        self.event_writer = EventFileWriter(*self._args)
        self._closed = False

    def get_logdir(self) -> str:
        return self.event_writer.get_logdir()

    def add_event(self, event, step=None, walltime=None) -> None:
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def add_summary(self, summary, global_step=None, walltime=None) -> None:
        self.add_event(event_pb2.Event(summary=summary), global_step, walltime)

    def flush(self) -> None:
        self.event_writer.flush()

    def close(self) -> None:
        self.event_writer.close()
        self._closed = True

    def reopen(self) -> None:
        """After ``close()``, go on writing to a new event file in the same directory."""
        if self._closed:
            self.event_writer = EventFileWriter(*self._args)
            self._closed = False


_graph_warned = False


class SummaryWriter:
    """Writes scalars, histograms, images, text, hyperparameters... to event files TensorBoard reads.

    ``log_dir`` defaults to ``runs/<Mon><DD>_<HH>-<MM>-<SS>_<hostname><comment>``. ``purge_step``: on resuming
    a crashed run in the same ``log_dir`` at step T, events at steps >= T written before are hidden. Events are
    queued (``max_queue``) and written by a background thread at least every ``flush_secs``; ``flush()``
    forces them out, ``close()`` (or leaving a ``with`` block) flushes and closes every file."""

    def __init__(self, log_dir=None, comment: str = "", purge_step: int | None = None, max_queue: int = 10,
                 flush_secs: float = 120, filename_suffix: str = ""):
        if not log_dir:
            now = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", now + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.default_bins = list(_DEFAULT_BINS)
        self.file_writer: FileWriter | None = None
        self.all_writers: dict[str, FileWriter] | None = None
        self._get_file_writer()

    def _get_file_writer(self) -> FileWriter:
        """The writer of ``log_dir``'s own event file, created again if the writer was closed."""
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                self.file_writer.add_event(Event(step=self.purge_step, file_version="brain.Event:2"))
                self.file_writer.add_event(Event(step=self.purge_step,
                                                 session_log=SessionLog(status=SessionLog.START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        return self.log_dir

    # ------------------------------------------------------------------------------------------- scalars
    def add_scalar(self, tag: str, scalar_value, global_step=None, walltime=None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        """One value (a float, a NumPy scalar or a one-element tensor) of the series ``tag`` at ``global_step``.
        ``new_style`` stores it as a tensor (the ``scalars`` plugin's format) rather than a ``simple_value``."""
        summary = _scalar_summary(tag, scalar_value, new_style=new_style, double_precision=double_precision)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict, global_step=None, walltime=None) -> None:
        """Several series on one chart: as PyTorch, each key gets its own run (a sub-directory
        ``<log_dir>/<main_tag with / as _>_<key>``) in which the value is logged under ``main_tag``."""
        walltime = time.time() if walltime is None else walltime
        fw_logdir = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            fw_tag = fw_logdir + "/" + main_tag.replace("/", "_") + "_" + tag
            fw = self.all_writers.get(fw_tag)
            if fw is None:
                fw = self.all_writers[fw_tag] = FileWriter(fw_tag, self.max_queue, self.flush_secs,
                                                           self.filename_suffix)
            fw.add_summary(_scalar_summary(main_tag, value), global_step, walltime)

    # ---------------------------------------------------------------------------------------- histograms
    def add_histogram(self, tag: str, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins: int | None = None) -> None:
        """A histogram of ``values``. ``bins``: ``'tensorflow'`` (TensorFlow's exponential buckets, the
        default), or anything ``numpy.histogram`` takes (``'auto'``, ``'fd'``, a count, the edges)."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        hist = _histogram_proto(_make_np(values).astype(float), bins, max_bins=max_bins)
        self._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, histo=hist)]), global_step,
                                            walltime)

    def add_histogram_raw(self, tag: str, min, max, num, sum, sum_squares, bucket_limits, bucket_counts,  # noqa: A002
                          global_step=None, walltime=None) -> None:
        """A histogram whose buckets were computed elsewhere (``bucket_limits`` are right edges)."""
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        hist = HistogramProto(min=min, max=max, num=num, sum=sum, sum_squares=sum_squares,
                              bucket_limit=list(bucket_limits), bucket=list(bucket_counts))
        self._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, histo=hist)]), global_step,
                                            walltime)

    # ------------------------------------------------------------------------------------------- images
    def add_image(self, tag: str, img_tensor, global_step=None, walltime=None, dataformats: str = "CHW") -> None:
        """One image: float values in [0, 1] or uint8 in [0, 255]; ``dataformats`` ``'CHW'`` (default),
        ``'HWC'``, ``'HW'``... One-channel and two-dimensional images are shown in gray."""
        self._get_file_writer().add_summary(_image_summary(tag, img_tensor, dataformats), global_step, walltime)

    def add_images(self, tag: str, img_tensor, global_step=None, walltime=None, dataformats: str = "NCHW") -> None:
        """A batch of images (``'NCHW'`` by default, or ``'NHWC'``) tiled into one, eight to a row."""
        self._get_file_writer().add_summary(_image_summary(tag, img_tensor, dataformats), global_step, walltime)

    def add_figure(self, tag: str, figure, global_step=None, close: bool = True, walltime=None) -> None:
        """A matplotlib figure (or a list of them, tiled) rendered to an image; closed afterwards if ``close``."""
        if isinstance(figure, list):
            self.add_image(tag, _figure_to_image(figure, close), global_step, walltime, dataformats="NCHW")
        else:
            self.add_image(tag, _figure_to_image(figure, close), global_step, walltime, dataformats="CHW")

    # ---------------------------------------------------------------------------------------------- text
    def add_text(self, tag: str, text_string: str, global_step=None, walltime=None) -> None:
        """Text (markdown) shown in the Text dashboard under ``<tag>/text_summary``."""
        self._get_file_writer().add_summary(_text_summary(tag, text_string), global_step, walltime)

    # ------------------------------------------------------------------------------------------- hparams
    def add_hparams(self, hparam_dict: dict, metric_dict: dict, hparam_domain_discrete: dict | None = None,
                    run_name: str | None = None, global_step=None) -> None:
        """Hyperparameters and the metrics they gave, for the HParams dashboard. As PyTorch, they go to a run
        of their own, ``<log_dir>/<run_name>`` (``run_name`` defaults to the current time), where the metrics
        are also logged as scalars."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        exp, ssi, sei = _hparams_summaries(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as w_hp:
            for s in (exp, ssi, sei):
                w_hp.file_writer.add_summary(s, global_step)
            for k, v in metric_dict.items():
                w_hp.add_scalar(k, v, global_step)

    # ------------------------------------------------------------------------------------------ pr curves
    def add_pr_curve(self, tag: str, labels, predictions, global_step=None, num_thresholds: int = 127,
                     weights=None, walltime=None) -> None:
        """A precision-recall curve from binary ``labels`` and ``predictions`` in [0, 1], at up to 127
        evenly spaced thresholds."""
        num_thresholds = min(num_thresholds, 127)
        data = _compute_pr_curve(_make_np(labels), _make_np(predictions), num_thresholds, weights)
        self._get_file_writer().add_summary(_pr_curve_summary(tag, data, num_thresholds), global_step, walltime)

    def add_pr_curve_raw(self, tag: str, true_positive_counts, false_positive_counts, true_negative_counts,
                         false_negative_counts, precision, recall, global_step=None, num_thresholds: int = 127,
                         weights=None, walltime=None) -> None:
        """A precision-recall curve from counts computed elsewhere (one value per threshold in each)."""
        num_thresholds = min(num_thresholds, 127)
        data = np.stack([_make_np(a).astype(np.float64) for a in (true_positive_counts, false_positive_counts,
                                                                  true_negative_counts, false_negative_counts,
                                                                  precision, recall)])
        self._get_file_writer().add_summary(_pr_curve_summary(tag, data, num_thresholds), global_step, walltime)

    # --------------------------------------------------------------------------------------------- graph
    def add_graph(self, model, input_to_model=None, verbose: bool = False, use_strict_trace: bool = True) -> None:
        """Not recorded: PyTorch draws the graph from a TorchScript trace, and ember has no tracer. Warns once
        per process and writes nothing."""
        global _graph_warned
        if not _graph_warned:
            _graph_warned = True
            warnings.warn("SummaryWriter.add_graph: ember has no tracer to record the model's graph, so no graph "
                          "is written to TensorBoard (the other summaries are unaffected)", UserWarning, stacklevel=2)

    # --------------------------------------------------------------------------------------------- files
    def flush(self) -> None:
        """Write everything queued so far to disk."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self) -> None:
        """Flush and close every event file; a later ``add_*`` opens a new file in the same ``log_dir``."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self) -> "SummaryWriter":
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.close()
