"""The ``ember`` command end to end, on tiny Fashion-MNIST-format IDX files written by the tests.

Runs real subprocesses: train (loss falls, checkpoints, valid PNG plots), a run killed with SIGKILL
mid-epoch and resumed (final parameters bit-identical to an uninterrupted run), eval, predict, ensemble,
finetune; and every user error the issue lists exits with status 2 and a message naming what is valid.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from ember.cli import main
from tests.train.conftest import synthetic_images, write_tiny_fashion

ROOT = Path(__file__).resolve().parents[1]
# a small model with dropout and batch norm, augmentation, mixup and a one-cycle schedule: every source
# of state that exact resume must carry
TRAIN = ["train", "--model", "mlp", "--model-args", "hidden=[48],dropout=0.2,batchnorm=true", "--epochs", "3",
         "--batch-size", "32", "--lr", "3e-3", "--scheduler", "onecycle", "--augment", "flip,crop", "--mixup", "0.2",
         "--val-split", "0.2", "--seed", "3", "--checkpoint-every", "4steps", "--keep-last", "2"]


def ember_cli(args, cwd, env_extra=None, check=True, timeout=180):
    env = dict(os.environ)
    env["EMBER_DATA"] = str(Path(cwd) / "no-cache")  # never pick up a real dataset by accident
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # two test workers on two cores: no BLAS threads on top
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-m", "ember", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"ember {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\n"
                             f"stderr:\n{proc.stderr}")
    return proc


def weights(path):
    import ember

    state = ember.load(path)
    return {k: np.asarray(v) for k, v in state["model"].items()}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "data").mkdir()
    write_tiny_fashion(d / "data", n_train=400, n_test=100)
    return d


@pytest.fixture(scope="module")
def trained(workdir):
    proc = ember_cli(TRAIN + ["--data-root", "data", "--name", "base"], workdir)
    return workdir / "runs" / "base", proc


def _is_png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.size[0] > 300 and im.size[1] > 200
        assert np.asarray(im.convert("L")).std() > 5  # something is drawn


def test_train_writes_a_complete_run_directory(trained):
    run, proc = trained
    assert "test accuracy" in proc.stdout and str(run.name) in proc.stdout
    epochs = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in epochs if r["kind"] == "epoch"]
    assert len(epochs) == 3 and epochs[-1]["loss"] < epochs[0]["loss"]  # the loss falls
    steps = 3 * 10  # 320 training images / 32
    ck = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert ck == ["best.ckpt", "step-00000028.ckpt", f"step-{steps:08d}.ckpt"]
    assert (run / "model.ckpt").exists()
    for name in ("curves.png", "lr.png", "confusion_matrix.png", "misclassified.png"):
        _is_png(run / "plots" / name)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    assert cfg["train"]["model"] == "mlp" and cfg["train"]["mixup"] == 0.2 and "warmup_epochs" in cfg["train"]
    assert cfg["data_info"]["classes"][0] == "T-shirt/top" and cfg["data_info"]["train_size"] == 320
    with np.load(run / "preprocessing.npz") as z:
        assert z["mean"].shape == (1, 1, 1, 1) and 0 < float(z["mean"].ravel()[0]) < 1
    summary = json.loads((run / "summary.json").read_text())
    assert summary["steps"] == steps and summary["test"]["images"] == 100
    assert summary["test"]["accuracy"] > 0.5  # ten well-separated synthetic classes
    assert len(summary["test"]["per_class"]) == 10


def test_resume_after_kill_gives_the_uninterrupted_parameters(workdir, trained):
    run, _ = trained
    proc = ember_cli(TRAIN + ["--data-root", "data", "--name", "killed", "--quiet"], workdir,
                     env_extra={"EMBER_KILL_AFTER_STEP": "14"}, check=False)
    assert proc.returncode == -signal.SIGKILL, proc.stderr  # killed mid-epoch 2 (steps 11-20)
    killed = workdir / "runs" / "killed"
    assert not (killed / "summary.json").exists()
    # checkpoints every 4 steps, the newest two kept
    assert sorted(p.name for p in (killed / "checkpoints").glob("step-*")) == ["step-00000008.ckpt",
                                                                                "step-00000012.ckpt"]
    proc = ember_cli(["train", "--resume", str(killed)], workdir)
    assert "resuming" in proc.stdout and "step-00000012.ckpt" in proc.stdout
    want, got = weights(run / "model.ckpt"), weights(killed / "model.ckpt")
    assert want.keys() == got.keys()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    # metrics.jsonl lost the steps after the checkpoint and has every step exactly once
    steps = [json.loads(line)["step"] for line in (killed / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["kind"] == "step"]
    assert steps == list(range(1, 31))


class Result:
    def __init__(self, code, out):
        self.returncode, self.stdout, self.stderr = code, out.out, out.err


@pytest.fixture
def cli(workdir, capsys, monkeypatch):
    """``ember`` in this process (no interpreter start-up), in the work directory; returns a Result."""
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("EMBER_DATA", str(workdir / "no-cache"))

    def run(args, check=True):
        capsys.readouterr()
        try:
            code = main(args)
        except SystemExit as e:
            code = e.code
        res = Result(code, capsys.readouterr())
        if check and code != 0:
            raise AssertionError(f"ember {' '.join(args)} exited {code}\n{res.stdout}\n{res.stderr}")
        return res

    return run


def test_eval_and_tta(workdir, trained, cli):
    run, _ = trained
    res = cli(["eval", str(run), "--data-root", "data", "--tta", "flip", "--json", "eval.json"])
    summary = json.loads((run / "summary.json").read_text())
    out = json.loads((workdir / "eval.json").read_text())
    assert out["accuracy"] == pytest.approx(summary["test"]["accuracy"])  # same weights, same figure
    assert "with test-time augmentation (flip)" in res.stdout and "macro avg" in res.stdout
    assert 0 <= out["tta"]["accuracy"] <= 1


def test_predict_top5_and_image_size_checks(workdir, trained, cli):
    run, _ = trained
    x, y = synthetic_images(3, seed=9)
    for i in range(3):
        Image.fromarray(x[i]).save(workdir / f"img{i}.png")
    Image.fromarray(np.zeros((40, 30), np.uint8)).save(workdir / "big.png")
    res = json.loads(cli(["predict", str(run), "img0.png", "img1.png", "--json"]).stdout)
    assert [len(r["top"]) for r in res] == [5, 5]
    for r in res:
        p = [t["probability"] for t in r["top"]]
        assert p == sorted(p, reverse=True) and 0 < sum(p) <= 1 + 1e-6
    res = cli(["predict", str(run), "img2.png"])
    assert "1. " in res.stdout and "%" in res.stdout
    res = cli(["predict", str(run), "big.png"], check=False)
    assert res.returncode == 2
    assert "big.png is 30x40 pixels, but this model takes 28x28 images; pass --resize" in res.stderr
    res = cli(["predict", str(run), "big.png", "--resize"])
    assert "warning: resizing big.png from 30x40 to 28x28" in res.stderr and "1. " in res.stdout
    res = cli(["predict", str(run), "missing.png"], check=False)
    assert res.returncode == 2 and "image missing.png does not exist" in res.stderr


def test_ensemble_of_snapshots_and_finetune(workdir, trained, cli):
    run, _ = trained
    res = cli(["ensemble", str(run), "--snapshots", "--data-root", "data", "--json", "ens.json"])
    rep = json.loads((workdir / "ens.json").read_text())
    files = [run / "checkpoints" / "step-00000028.ckpt", run / "checkpoints" / "step-00000030.ckpt",
             run / "checkpoints" / "best.ckpt", run / "model.ckpt"]
    distinct = {tuple(float(v.sum()) for v in weights(f).values()) for f in files}
    assert len(rep["members"]) == len(distinct) >= 2  # files holding the same weights count once
    assert "gain over the best member" in res.stdout
    res = cli(["finetune", "--from", str(run), "--data-root", "data", "--freeze", "backbone", "--epochs", "1",
               "--name", "ft", "--model-args", "hidden=[8]"], check=False)
    assert res.returncode == 2 and "unknown option(s): --model-args" in res.stderr
    res = cli(["finetune", "--from", str(run), "--data-root", "data", "--freeze", "backbone", "--epochs", "1",
               "--name", "ft", "--lr", "1e-2"])
    assert "re-initialised (new head)" in res.stdout and "froze backbone" in res.stdout
    ft = workdir / "runs" / "ft"
    base_w, ft_w = weights(run / "model.ckpt"), weights(ft / "model.ckpt")
    # the frozen backbone kept the pretrained weights; the new head trained
    np.testing.assert_array_equal(ft_w["1.weight"], base_w["1.weight"])
    assert not np.array_equal(ft_w["5.weight"], base_w["5.weight"])
    doc = yaml.safe_load((ft / "config.yaml").read_text())
    assert doc["finetune"]["from"] == str(run) and doc["finetune"]["freeze"] == "backbone"
    with np.load(run / "preprocessing.npz") as a, np.load(ft / "preprocessing.npz") as b:
        np.testing.assert_array_equal(a["mean"], b["mean"])  # the backbone's input statistics are kept


def test_divergence_exits_3_naming_the_step_and_the_last_good_checkpoint(workdir):
    proc = ember_cli(["train", "--model", "mlp", "--data-root", "data", "--optimizer", "sgd", "--lr", "1e6",
                      "--epochs", "1", "--batch-size", "32", "--checkpoint-every", "1steps", "--keep-last", "1",
                      "--name", "diverge", "--quiet"], workdir, check=False)
    assert proc.returncode == 3, proc.stderr
    assert "training diverged" in proc.stderr and "the step was not applied" in proc.stderr
    info = json.loads((workdir / "runs" / "diverge" / "diverged.json").read_text())
    last = Path(info["last_good_checkpoint"])
    assert last.name == f"step-{info['step']:08d}.ckpt" and (workdir / last).exists()
    assert f"at step {info['step'] + 1} " in proc.stderr and str(last) in proc.stderr
    assert not (workdir / "runs" / "diverge" / "model.ckpt").exists()
    assert all(np.isfinite(v).all() for v in weights(workdir / last).values())


# --------------------------------------------------------------------------- errors: exit status 2


def run_main(args, capsys):
    try:
        code = main(args)
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr()


@pytest.mark.parametrize("args,words", [
    (["train", "--model", "lenet6"], ["unknown model 'lenet6'", "did you mean 'lenet5'", "resnet20"]),
    (["train", "--data", "imagenet"], ["'imagenet' is not valid", "fashion-mnist, mnist, cifar10"]),
    (["train", "--optimizer", "adamm"], ["did you mean 'adam'", "sgd, adam, adamw, rmsprop, adagrad"]),
    (["train", "--epoch", "3"], ["unknown option(s): --epoch (did you mean --epochs?)", "valid options:"]),
    (["train", "--scheduler", "cosin"], ["did you mean 'cosine'"]),
    (["train", "--config", "missing.yaml"], ["config file missing.yaml does not exist"]),
    (["eval", "runs/nope"], ["run directory runs/nope does not exist"]),
    (["predict", "runs/nope", "x.png"], ["run directory runs/nope does not exist"]),
    (["train", "--resume", "runs/nope"], ["run directory runs/nope does not exist"]),
    (["train", "--model-args", "dropout"], ["expected key=value pairs"]),
])
def test_user_errors_exit_2_with_a_clear_message(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out = run_main(args, capsys)
    assert code == 2
    for w in words:
        assert w in out.err, out.err


def test_unreadable_and_invalid_config_files(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("bad.yaml").write_text("model: [lenet5\n")
    code, out = run_main(["train", "--config", "bad.yaml"], capsys)
    assert code == 2 and "bad.yaml is not valid yaml" in out.err
    Path("unknown.toml").write_text('modle = "lenet5"\n')
    code, out = run_main(["train", "--config", "unknown.toml"], capsys)
    assert code == 2 and "unknown option 'modle' (did you mean 'model'?)" in out.err
    Path("noperm.yaml").write_text("model: lenet5\n")
    Path("noperm.yaml").chmod(0)
    if not os.access("noperm.yaml", os.R_OK):  # root can read anything
        code, out = run_main(["train", "--config", "noperm.yaml"], capsys)
        assert code == 2 and "cannot read config file noperm.yaml" in out.err


def test_missing_dataset_and_resume_conflicts(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMBER_DATA", str(tmp_path / "empty"))
    code, out = run_main(["train", "--data", "mnist", "--data-root", str(tmp_path / "nothing"), "--quiet",
                          "--no-download"], capsys)
    assert code == 2 and "mnist" in out.err and "How to get it" in out.err
    Path("runs/x").mkdir(parents=True)
    code, out = run_main(["eval", "runs/x"], capsys)
    assert code == 2 and "not an ember run directory" in out.err
    code, out = run_main(["train", "--resume", "runs/x", "--epochs", "3"], capsys)
    assert code == 2 and "drop --epochs" in out.err


def test_models_datasets_info_and_help(capsys):
    code, out = run_main(["datasets"], capsys)
    assert code == 0 and "fashion-mnist" in out.out and "cifar10" in out.out
    code, out = run_main(["info"], capsys)
    assert code == 0 and "numpy BLAS" in out.out and "threads" in out.out
    for sub in ("train", "eval", "predict", "finetune", "ensemble", "models", "datasets", "info", "lab"):
        code, out = run_main([sub, "--help"], capsys)
        assert code == 0 and "example" in out.out, sub
    code, out = run_main(["--help"], capsys)
    assert code == 0 and "ember train" in out.out
    code, out = run_main(["lab", "list"], capsys)
    assert code == 0 and "xor" in out.out and "NOTES" in out.out
    code, out = run_main(["lab", "run", "xr"], capsys)
    assert code == 2 and "unknown experiment 'xr' (did you mean 'xor'?)" in out.err


@pytest.mark.slow
def test_models_lists_the_zoo_with_parameter_counts(capsys):
    code, out = run_main(["models"], capsys)
    assert code == 0
    assert "lenet5" in out.out and "61,706" in out.out and "resnet20" in out.out
