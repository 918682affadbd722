import numpy as np
from PIL import Image

from ember.train import plots
from ember.train.history import History


def _is_png(path, min_size=(200, 150)):
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        assert im.size[0] >= min_size[0] and im.size[1] >= min_size[1]
        # not a blank canvas: some pixels differ from the background
        a = np.asarray(im.convert("L"))
        assert a.std() > 5


def _history():
    h = History()
    for s in range(1, 21):
        h.log_step({"step": s, "epoch": (s - 1) // 10 + 1, "loss": 2.0 / s, "lr": 1e-3 * (1 - s / 25),
                    "running_accuracy": 0.5 + s / 50})
        if s % 10 == 0:
            h.log_epoch({"epoch": s // 10, "step": s, "loss": 1.0 / s, "accuracy": 0.6 + s / 100,
                         "val_loss": 1.2 / s, "val_accuracy": 0.55 + s / 100})
    return h


def test_curves_lr_confusion_and_misclassified_are_real_pngs(tmp_path):
    h = _history()
    _is_png(plots.plot_curves(h, tmp_path / "curves.png", title="t"))
    _is_png(plots.plot_lr(h, tmp_path / "lr.png"))
    cm = np.array([[50, 3, 1], [4, 40, 6], [0, 2, 44]])
    _is_png(plots.plot_confusion_matrix(cm, tmp_path / "cm.png", ["a", "b", "c"]))
    rng = np.random.default_rng(0)
    images = rng.random((30, 1, 28, 28)).astype(np.float32)
    labels = rng.integers(0, 3, 30)
    probs = rng.dirichlet(np.ones(3), 30)
    _is_png(plots.plot_misclassified(images, labels, probs, tmp_path / "mis.png", ["a", "b", "c"]))
    assert not list(tmp_path.glob("*.tmp.png"))


def test_misclassified_with_no_mistakes_still_draws(tmp_path):
    labels = np.array([0, 1])
    probs = np.eye(2)
    out = plots.plot_misclassified(np.zeros((2, 3, 8, 8)), labels, probs, tmp_path / "m.png")
    assert out.exists()
