"""ember.utils.tensorboard: what SummaryWriter writes is read back with TensorBoard's own EventAccumulator and
checked (tags, steps, values, image sizes and pixels, histogram buckets, text, hparams, PR curves); the
missing-package path is simulated; a parity test compares with PyTorch's writer when torch is installed."""
from __future__ import annotations

import importlib
import io
import os
import re
import socket
import sys
import time
import warnings

import numpy as np
import pytest
from PIL import Image

import ember
import ember.utils
from ember.utils import tensorboard as tb
from ember.utils.tensorboard import SummaryWriter
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.plugins.hparams import api_pb2
from tensorboard.plugins.hparams import metadata as hp_metadata
from tensorboard.plugins.pr_curve import metadata as pr_metadata
from tensorboard.util import tensor_util


def _read(path) -> ea.EventAccumulator:
    acc = ea.EventAccumulator(str(path), size_guidance=ea.STORE_EVERYTHING_SIZE_GUIDANCE)
    acc.Reload()
    return acc


def _event_files(path) -> list[str]:
    return sorted(f for f in os.listdir(path) if f.startswith("events.out.tfevents."))


def _png(image_event) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(image_event.encoded_image_string)))


# ------------------------------------------------------------------------------------------------ setup
def test_reachable_as_pytorch_spells_it():
    assert ember.utils.tensorboard.SummaryWriter is SummaryWriter
    assert tb.FileWriter and tb.RecordWriter


def test_default_log_dir_is_runs_date_host_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1", filename_suffix=".ember")
    logdir = w.get_logdir()
    w.close()
    head, name = os.path.split(logdir)
    assert head == "runs"
    assert re.fullmatch(r"[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(socket.gethostname() + "_lr0.1"), name)
    files = _event_files(tmp_path / logdir)
    assert len(files) == 1 and files[0].endswith(".ember")


def test_explicit_log_dir_and_pathlike(tmp_path):
    with SummaryWriter(tmp_path / "exp1", comment="ignored") as w:
        assert w.get_logdir() == tmp_path / "exp1"
        w.add_scalar("x", 1.0, 0)
    assert len(_event_files(tmp_path / "exp1")) == 1
    assert _read(tmp_path / "exp1").Scalars("x")[0].value == 1.0


# ---------------------------------------------------------------------------------------------- scalars
def test_add_scalar_accepts_tensors_numpy_and_python_numbers(tmp_path):
    w = SummaryWriter(tmp_path)
    p = ember.tensor([2.5], requires_grad=True)  # one element, requires grad: taken detached
    w.add_scalar("loss", p, 0)
    w.add_scalar("loss", ember.tensor(1.25), 1)
    w.add_scalar("loss", np.float32(0.75), 2)
    w.add_scalar("loss", np.array(0.5), 3)
    w.add_scalar("loss", 0.25, 4)
    w.add_scalar("loss", 3, np.int64(5), walltime=1234.5)
    w.add_scalar("acc", 0.9)  # no step: step 0
    w.close()
    acc = _read(tmp_path)
    assert set(acc.Tags()["scalars"]) == {"loss", "acc"}
    events = acc.Scalars("loss")
    assert [e.step for e in events] == [0, 1, 2, 3, 4, 5]
    np.testing.assert_allclose([e.value for e in events], [2.5, 1.25, 0.75, 0.5, 0.25, 3.0])
    assert events[-1].wall_time == 1234.5
    assert acc.Scalars("acc")[0].step == 0
    assert acc.Scalars("acc")[0].value == pytest.approx(0.9)


def test_add_scalar_rejects_several_values_and_unknown_types(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(AssertionError, match="one element"):
            w.add_scalar("x", ember.tensor([1.0, 2.0]), 0)
        with pytest.raises(NotImplementedError):
            w.add_scalar("x", [1.0], 0)


def test_add_scalar_new_style_is_a_scalars_plugin_tensor(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("lr", ember.tensor(0.125), 7, new_style=True)
        w.add_scalar("lr64", 1 / 3, 8, new_style=True, double_precision=True)
    acc = _read(tmp_path)
    assert acc.Tags()["scalars"] == []
    (e,) = acc.Tensors("lr")
    assert e.step == 7 and tensor_util.make_ndarray(e.tensor_proto) == np.float32(0.125)
    assert acc.SummaryMetadata("lr").plugin_data.plugin_name == "scalars"
    (e,) = acc.Tensors("lr64")
    arr = tensor_util.make_ndarray(e.tensor_proto)
    assert arr.dtype == np.float64 and arr == 1 / 3


def test_add_scalars_writes_one_run_per_key(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalars("loss", {"train": ember.tensor(1.0 / (step + 1)), "val": 2.0 * step}, step)
        w.add_scalars("a/b", {"x": 1.0}, 0)
    assert sorted(d for d in os.listdir(tmp_path) if (tmp_path / d).is_dir()) == ["a_b_x", "loss_train", "loss_val"]
    train, val = _read(tmp_path / "loss_train"), _read(tmp_path / "loss_val")
    assert train.Tags()["scalars"] == ["loss"] and val.Tags()["scalars"] == ["loss"]
    np.testing.assert_allclose([e.value for e in train.Scalars("loss")], [1.0, 0.5, 1 / 3], rtol=1e-6)
    assert [e.step for e in val.Scalars("loss")] == [0, 1, 2]
    assert [e.value for e in val.Scalars("loss")] == [0.0, 2.0, 4.0]
    # all keys of one call share a wall time, as in PyTorch
    assert train.Scalars("loss")[1].wall_time == val.Scalars("loss")[1].wall_time
    assert _read(tmp_path / "a_b_x").Scalars("a/b")[0].value == 1.0
    assert _read(tmp_path).Tags()["scalars"] == []  # nothing in the main run


# -------------------------------------------------------------------------------------------- histograms
def test_add_histogram_with_a_bin_count(tmp_path):
    values = np.array([0.5, 1.5, 1.5, 2.5, 2.5, 2.5])
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("h", values, 3, bins=3)
    (e,) = _read(tmp_path).Histograms("h")
    h = e.histogram_value
    assert e.step == 3
    assert (h.min, h.max, h.num) == (0.5, 2.5, 6)
    assert h.sum == pytest.approx(values.sum()) and h.sum_squares == pytest.approx(values @ values)
    # right edges of numpy's buckets, one empty bucket in front of the data (PyTorch's layout)
    np.testing.assert_allclose(h.bucket_limit, [0.5, 0.5 + 2 / 3, 0.5 + 4 / 3, 2.5])
    assert list(h.bucket) == [0, 1, 2, 3]


def test_add_histogram_tensorflow_bins_by_default(tmp_path):
    x = ember.randn(1000, requires_grad=True) * 3.0
    values = x.detach().numpy().astype(np.float64)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("weights", x, 0)
        w.add_histogram("weights", x + 100.0, 1)
    events = _read(tmp_path).Histograms("weights")
    assert [e.step for e in events] == [0, 1]
    h = events[0].histogram_value
    assert h.num == 1000 and sum(h.bucket) == 1000
    assert h.min == pytest.approx(values.min()) and h.max == pytest.approx(values.max())
    limits = np.array(h.bucket_limit)
    assert np.all(np.diff(limits) > 0)
    # consecutive edges grow by 10%: TensorFlow's exponential buckets (on either side of zero)
    big = np.abs(limits) > 1e-3
    ratios = limits[1:][big[1:] & big[:-1] & (limits[1:] > 0) & (limits[:-1] > 0)] / \
        limits[:-1][big[1:] & big[:-1] & (limits[1:] > 0) & (limits[:-1] > 0)]
    np.testing.assert_allclose(ratios, 1.1, rtol=1e-9)
    # every value lies in the bucket that counts it: (previous limit, limit]
    counts = np.histogram(values, bins=np.concatenate([[-np.inf], limits]))[0]
    np.testing.assert_array_equal(counts, h.bucket)
    assert events[1].histogram_value.min == pytest.approx(values.min() + 100.0, rel=1e-6)


def test_add_histogram_auto_and_explicit_edges(tmp_path):
    values = np.random.default_rng(0).normal(size=500)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("auto", values, bins="auto")
        w.add_histogram("edges", values, bins=[-10, 0, 10])
        w.add_histogram_raw("raw", min=0, max=4, num=5, sum=10, sum_squares=30, bucket_limits=[1, 2, 4],
                            bucket_counts=[1, 1, 3], global_step=2)
        with pytest.raises(ValueError, match="no element"):
            w.add_histogram("empty", np.array([]))
    acc = _read(tmp_path)
    auto = acc.Histograms("auto")[0].histogram_value
    expected = np.histogram(values, bins="auto")[0]
    assert list(auto.bucket) == [0] + expected.tolist()
    edges = acc.Histograms("edges")[0].histogram_value
    assert list(edges.bucket_limit) == [-10, 0, 10]
    assert list(edges.bucket) == [0, int((values < 0).sum()), int((values >= 0).sum())]
    raw = acc.Histograms("raw")[0]
    assert raw.step == 2 and list(raw.histogram_value.bucket) == [1, 1, 3]


# ------------------------------------------------------------------------------------------------ images
def test_add_image_formats_and_pixels(tmp_path):
    rng = np.random.default_rng(0)
    chw = rng.random((3, 8, 5)).astype(np.float32)
    hwc_u8 = rng.integers(0, 256, size=(6, 4, 3), dtype=np.uint8)
    hw = rng.random((7, 9))
    gray = rng.random((1, 4, 4))
    with SummaryWriter(tmp_path) as w:
        w.add_image("chw", ember.tensor(chw, requires_grad=True), 0)
        w.add_image("hwc", hwc_u8, 1, dataformats="HWC")
        w.add_image("hw", hw, 2, dataformats="HW")
        w.add_image("gray", gray, 3)
        w.add_image("clipped", np.full((3, 2, 2), 1.7), 4)
        with pytest.raises(ValueError, match="different"):
            w.add_image("bad", chw, dataformats="HW")
    acc = _read(tmp_path)
    assert set(acc.Tags()["images"]) == {"chw", "hwc", "hw", "gray", "clipped"}
    (e,) = acc.Images("chw")
    assert (e.width, e.height, e.step) == (5, 8, 0)
    np.testing.assert_array_equal(_png(e), (chw * 255).astype(np.uint8).transpose(1, 2, 0))
    (e,) = acc.Images("hwc")
    assert (e.width, e.height) == (4, 6)
    np.testing.assert_array_equal(_png(e), hwc_u8)  # uint8 is taken as it is
    (e,) = acc.Images("hw")
    assert (e.width, e.height) == (9, 7)
    px = _png(e)
    assert px.shape == (7, 9, 3) and np.array_equal(px[..., 0], (hw * 255).astype(np.uint8))
    assert np.array_equal(px[..., 0], px[..., 2])
    px = _png(acc.Images("gray")[0])
    assert px.shape == (4, 4, 3) and np.array_equal(px[..., 1], (gray[0] * 255).astype(np.uint8))
    assert (_png(acc.Images("clipped")[0]) == 255).all()


def test_add_images_tiles_eight_to_a_row(tmp_path):
    n, h, wd = 10, 4, 6
    batch = np.stack([np.full((3, h, wd), (i + 1) * 20, dtype=np.uint8) for i in range(n)])
    with SummaryWriter(tmp_path) as w:
        w.add_images("batch", ember.tensor(batch), 5)
        w.add_images("nhwc", batch[:3].transpose(0, 2, 3, 1), 5, dataformats="NHWC")
        w.add_images("gray", np.random.rand(2, 1, h, wd), 5)
    acc = _read(tmp_path)
    e = acc.Images("batch")[0]
    assert (e.height, e.width, e.step) == (2 * h, 8 * wd, 5)
    px = _png(e)
    for i in range(n):
        r, c = divmod(i, 8)
        assert (px[r * h:(r + 1) * h, c * wd:(c + 1) * wd] == (i + 1) * 20).all()
    assert (px[h:, 2 * wd:] == 0).all()  # the empty cells of the last row stay black
    e = acc.Images("nhwc")[0]
    assert (e.height, e.width) == (h, 3 * wd)
    assert np.array_equal(_png(e), np.concatenate([batch[i].transpose(1, 2, 0) for i in range(3)], axis=1))
    assert _png(acc.Images("gray")[0]).shape == (h, 2 * wd, 3)


def test_add_figure_renders_and_closes(tmp_path):
    import matplotlib.pyplot as plt  # the writer renders with Agg whatever the backend

    fig = plt.figure(figsize=(2, 1.5), dpi=50)
    plt.plot([0, 1], [0, 1])
    kept = plt.figure(figsize=(2, 1.5), dpi=50)
    figs = [plt.figure(figsize=(1, 1), dpi=40) for _ in range(3)]
    with SummaryWriter(tmp_path) as w:
        w.add_figure("fig", fig, 1)
        w.add_figure("kept", kept, 2, close=False)
        w.add_figure("several", figs, 3)
    assert not plt.fignum_exists(fig.number) and plt.fignum_exists(kept.number)
    assert not any(plt.fignum_exists(f.number) for f in figs)
    plt.close(kept)
    acc = _read(tmp_path)
    e = acc.Images("fig")[0]
    assert (e.width, e.height, e.step) == (100, 75, 1)
    px = _png(e)
    assert px.shape == (75, 100, 3) and (px == 255).any() and (px < 255).any()  # white page, a drawn line
    e = acc.Images("several")[0]
    assert (e.width, e.height) == (120, 40)


# -------------------------------------------------------------------------------------------------- text
def test_add_text(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "lr **0.1** — résumé", 0)
        w.add_text("notes", "second", 10)
    acc = _read(tmp_path)
    events = acc.Tensors("notes/text_summary")
    assert [e.step for e in events] == [0, 10]
    assert [tensor_util.make_ndarray(e.tensor_proto)[0].decode() for e in events] == ["lr **0.1** — résumé", "second"]
    assert acc.SummaryMetadata("notes/text_summary").plugin_data.plugin_name == "text"


# ----------------------------------------------------------------------------------------------- hparams
def test_add_hparams_writes_an_hparams_run(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.1, "bsize": 32, "opt": "sgd", "nesterov": True, "wd": ember.tensor(1e-4),
                       "skipped": None},
                      {"hparam/accuracy": 0.93, "hparam/loss": ember.tensor(0.25)},
                      hparam_domain_discrete={"opt": ["sgd", "adam"]}, run_name="trial0")
    assert [d for d in os.listdir(tmp_path) if (tmp_path / d).is_dir()] == ["trial0"]
    acc = _read(tmp_path / "trial0")
    content = acc.PluginTagToContent("hparams")
    assert set(content) == {hp_metadata.EXPERIMENT_TAG, hp_metadata.SESSION_START_INFO_TAG,
                            hp_metadata.SESSION_END_INFO_TAG}
    exp = hp_metadata.parse_experiment_plugin_data(content[hp_metadata.EXPERIMENT_TAG])
    types = {i.name: i.type for i in exp.hparam_infos}
    assert types == {"lr": api_pb2.DATA_TYPE_FLOAT64, "bsize": api_pb2.DATA_TYPE_FLOAT64,
                     "opt": api_pb2.DATA_TYPE_STRING, "nesterov": api_pb2.DATA_TYPE_BOOL,
                     "wd": api_pb2.DATA_TYPE_FLOAT64}
    (opt_info,) = [i for i in exp.hparam_infos if i.name == "opt"]
    assert [v.string_value for v in opt_info.domain_discrete.values] == ["sgd", "adam"]
    assert [m.name.tag for m in exp.metric_infos] == ["hparam/accuracy", "hparam/loss"]
    start = hp_metadata.parse_session_start_info_plugin_data(content[hp_metadata.SESSION_START_INFO_TAG])
    assert start.hparams["lr"].number_value == 0.1 and start.hparams["bsize"].number_value == 32
    assert start.hparams["opt"].string_value == "sgd" and start.hparams["nesterov"].bool_value is True
    assert start.hparams["wd"].number_value == pytest.approx(1e-4)
    assert "skipped" not in start.hparams
    end = hp_metadata.parse_session_end_info_plugin_data(content[hp_metadata.SESSION_END_INFO_TAG])
    assert end.status == api_pb2.STATUS_SUCCESS
    assert acc.Scalars("hparam/accuracy")[0].value == pytest.approx(0.93)
    assert acc.Scalars("hparam/loss")[0].value == 0.25


def test_add_hparams_default_run_name_and_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.1}, {"m": 1.0})
        with pytest.raises(TypeError, match="dictionary"):
            w.add_hparams([("lr", 0.1)], {"m": 1.0})
        with pytest.raises(TypeError, match="hparam_domain_discrete"):
            w.add_hparams({"lr": 0.1}, {"m": 1.0}, hparam_domain_discrete={"lr": ["a"]})
        with pytest.raises(ValueError, match="one of int, float, str, bool"):
            w.add_hparams({"lr": [0.1, 0.2]}, {"m": 1.0})
        with pytest.raises(ValueError, match="one element"):
            w.add_hparams({"lr": ember.tensor([0.1, 0.2])}, {"m": 1.0})
    (run,) = [d for d in os.listdir(tmp_path) if (tmp_path / d).is_dir()]
    assert float(run) == pytest.approx(time.time(), abs=60)  # named after the time, as PyTorch


# --------------------------------------------------------------------------------------------- pr curves
def test_add_pr_curve(tmp_path):
    labels = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    preds = np.array([0.9, 0.8, 0.7, 0.4, 0.35, 0.1, 0.05, 0.0])
    with SummaryWriter(tmp_path) as w:
        w.add_pr_curve("pr", ember.tensor(labels), ember.tensor(preds), 3, num_thresholds=11)
        w.add_pr_curve("capped", labels, preds, num_thresholds=500)
    acc = _read(tmp_path)
    (e,) = acc.Tensors("pr")
    assert e.step == 3
    data = tensor_util.make_ndarray(e.tensor_proto)
    assert data.shape == (6, 11)
    tp, fp, tn, fn, precision, recall = data
    for j in range(11):  # threshold j/10: an example counts as predicted positive if floor(p * 10) >= j
        pos = np.floor(preds * 10) >= j
        assert tp[j] == (pos & (labels == 1)).sum() and fp[j] == (pos & (labels == 0)).sum()
        assert tn[j] == (~pos & (labels == 0)).sum() and fn[j] == (~pos & (labels == 1)).sum()
    np.testing.assert_allclose(precision[:3], [4 / 8, 3 / 6, 3 / 5], rtol=1e-6)
    np.testing.assert_allclose(recall, tp / 4, rtol=1e-6)
    md = pr_metadata.parse_plugin_metadata(acc.SummaryMetadata("pr").plugin_data.content)
    assert acc.SummaryMetadata("pr").plugin_data.plugin_name == "pr_curves" and md.num_thresholds == 11
    assert tensor_util.make_ndarray(acc.Tensors("capped")[0].tensor_proto).shape == (6, 127)


# ------------------------------------------------------------------------------------------------- graph
def test_add_graph_warns_once_and_writes_nothing(tmp_path, monkeypatch):
    import ember.nn as nn

    monkeypatch.setattr(tb, "_graph_warned", False)
    model = nn.Linear(3, 2)
    with SummaryWriter(tmp_path) as w:
        with pytest.warns(UserWarning, match="no tracer"):
            w.add_graph(model, ember.randn(1, 3))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            w.add_graph(model, ember.randn(1, 3))
    acc = _read(tmp_path)
    assert acc.Tags()["graph"] is False
    events = list(EventFileLoader(str(tmp_path / _event_files(tmp_path)[0])).Load())
    assert [e.WhichOneof("what") for e in events] == ["file_version"]


# --------------------------------------------------------------------------------------- files, lifecycle
def test_flush_makes_events_visible_and_close_then_reuse(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=1000, flush_secs=3600)
    w.add_scalar("x", 1.0, 0)
    w.flush()
    assert [e.value for e in _read(tmp_path).Scalars("x")] == [1.0]
    w.add_scalars("m", {"a": 1.0}, 0)
    w.close()
    assert w.all_writers is None
    w.close()  # twice is fine
    w.flush()
    w.add_scalar("x", 2.0, 1)  # a closed writer opens a new event file, as in PyTorch
    w.close()
    assert len(_event_files(tmp_path)) == 2
    assert [e.value for e in _read(tmp_path).Scalars("x")] == [1.0, 2.0]


def test_context_manager_closes(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("x", 5.0, 0)
        inner = w.file_writer.event_writer
    assert w.all_writers is None
    with pytest.raises(IOError):
        inner.add_event(tb.Event())


def test_purge_step_hides_events_of_the_crashed_run(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(10):
            w.add_scalar("loss", float(step), step)
    # event files sort by their creation second: start the resumed run in a later one
    t0 = int(time.time())
    while int(time.time()) == t0:
        time.sleep(0.02)
    with SummaryWriter(tmp_path, purge_step=5) as w:
        for step in range(5, 8):
            w.add_scalar("loss", 100.0 + step, step)
    resumed = list(EventFileLoader(str(tmp_path / _event_files(tmp_path)[1])).Load())
    assert [(e.WhichOneof("what"), e.step) for e in resumed[:3]] == [
        ("file_version", 0), ("file_version", 5), ("session_log", 5)]
    events = _read(tmp_path).Scalars("loss")
    assert [e.step for e in events] == list(range(8))
    assert [e.value for e in events] == [0.0, 1.0, 2.0, 3.0, 4.0, 105.0, 106.0, 107.0]
    # only the first file of the resumed writer purges: reopening it after close does not purge again
    w.add_scalar("loss", 108.0, 8)
    w.close()
    files = _event_files(tmp_path)
    purging = [f for f in files if any(e.HasField("session_log") for e in EventFileLoader(str(tmp_path / f)).Load())]
    assert len(files) == 3 and len(purging) == 1


# ------------------------------------------------------------------------------------ missing tensorboard
def test_missing_tensorboard_names_the_package_to_install(monkeypatch):
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # what `import tensorboard` sees when it is absent
    monkeypatch.delitem(sys.modules, "ember.utils.tensorboard")
    monkeypatch.delattr(ember.utils, "tensorboard")
    with pytest.raises(ImportError, match=r"pip install tensorboard.*pip install 'ember\[tensorboard\]'") as info:
        importlib.import_module("ember.utils.tensorboard")
    assert isinstance(info.value, ModuleNotFoundError) and info.value.name == "tensorboard"
    with pytest.raises(ImportError, match="pip install tensorboard"):
        ember.utils.tensorboard  # noqa: B018  (the lazy attribute imports it)


def test_ember_works_without_tensorboard_and_does_not_load_it():
    import subprocess

    code = (
        "import sys\n"
        "import ember, ember.utils, ember.utils.data\n"
        "print('tensorboard' in sys.modules)\n"
        "sys.modules['tensorboard'] = None\n"
        "try:\n"
        "    from ember.utils.tensorboard import SummaryWriter\n"
        "except ImportError as e:\n"
        "    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    first, second = out.strip().splitlines()
    assert first == "False"
    assert second.startswith("ModuleNotFoundError") and "pip install tensorboard" in second


# ------------------------------------------------------------------------------------------------ parity
def test_parity_with_pytorch_summary_writer(tmp_path, torch):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    rng = np.random.default_rng(1)
    vals = rng.normal(size=300).astype(np.float32)
    img = rng.random((3, 5, 7)).astype(np.float32)
    batch = rng.random((11, 1, 4, 3)).astype(np.float32)
    labels, preds = rng.integers(0, 2, 50), rng.random(50)

    def log(w, as_tensor):
        w.add_scalar("s", as_tensor(np.float32(0.5)), 1)
        w.add_histogram("h", as_tensor(vals), 2)
        w.add_histogram("h_auto", as_tensor(vals), 2, bins="auto")
        w.add_image("img", as_tensor(img), 3)
        w.add_images("imgs", as_tensor(batch), 3)
        w.add_text("t", "hello", 4)
        w.add_pr_curve("pr", as_tensor(labels), as_tensor(preds), 5)
        w.add_scalars("ms", {"a": 1.0, "b": 2.0}, 6)
        w.add_hparams({"lr": 0.1, "opt": "adam"}, {"hp/m": 1.0}, run_name="hp")

    with SummaryWriter(tmp_path / "ember") as w:
        log(w, ember.tensor)
    with TorchWriter(str(tmp_path / "torch")) as w:
        log(w, torch.tensor)
    for sub in ("", "ms_a", "ms_b", "hp"):
        a, b = _read(tmp_path / "ember" / sub), _read(tmp_path / "torch" / sub)
        ta, tb_ = a.Tags(), b.Tags()
        if sub == "hp":  # ember's hparams summaries carry TensorBoard's empty tensor (as TensorBoard writes
            # them; it adds that tensor itself when reading PyTorch's), so they are also listed as tensors
            assert sorted(ta.pop("tensors")) == sorted([hp_metadata.EXPERIMENT_TAG, hp_metadata.SESSION_START_INFO_TAG,
                                                       hp_metadata.SESSION_END_INFO_TAG])
            assert tb_.pop("tensors") == []
        assert ta == tb_, sub
    a, b = _read(tmp_path / "ember"), _read(tmp_path / "torch")
    assert (a.Scalars("s")[0].step, a.Scalars("s")[0].value) == (b.Scalars("s")[0].step, b.Scalars("s")[0].value)
    for tag in ("h", "h_auto"):
        ha, hb = a.Histograms(tag)[0].histogram_value, b.Histograms(tag)[0].histogram_value
        assert list(ha.bucket) == list(hb.bucket) and np.allclose(ha.bucket_limit, hb.bucket_limit)
        assert (ha.min, ha.max, ha.num) == (hb.min, hb.max, hb.num)
    for tag in ("img", "imgs"):
        ia, ib = a.Images(tag)[0], b.Images(tag)[0]
        assert (ia.width, ia.height) == (ib.width, ib.height) and np.array_equal(_png(ia), _png(ib))
    ta, tb_ = (tensor_util.make_ndarray(x.Tensors("t/text_summary")[0].tensor_proto) for x in (a, b))
    assert ta.tolist() == tb_.tolist()
    pa, pb = (tensor_util.make_ndarray(x.Tensors("pr")[0].tensor_proto) for x in (a, b))
    np.testing.assert_allclose(pa, pb, rtol=1e-6)
    ca, cb = (_read(tmp_path / d / "hp").PluginTagToContent("hparams") for d in ("ember", "torch"))
    ea_, eb = (hp_metadata.parse_experiment_plugin_data(c[hp_metadata.EXPERIMENT_TAG]) for c in (ca, cb))
    assert ea_ == eb
    sa, sb = (hp_metadata.parse_session_start_info_plugin_data(c[hp_metadata.SESSION_START_INFO_TAG])
              for c in (ca, cb))
    assert dict(sa.hparams) == dict(sb.hparams)
