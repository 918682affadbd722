import numpy as np
import pytest

from ember.train.metrics import (
    Accuracy, ConfusionMatrix, Mean, TopKAccuracy, accuracy, classification_report, confusion_matrix, make_metric,
    precision_recall_f1, topk_accuracy,
)


def test_accuracy_and_topk_on_known_scores():
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    labels = np.array([1, 1, 2, 2])
    assert accuracy(scores, labels) == 0.5
    # top-2: row0 {1,2} ok, row1 {0,1} ok, row2 {2,1} ok, row3 {0,1} miss
    assert topk_accuracy(scores, labels, 2) == 0.75
    assert topk_accuracy(scores, labels, 3) == 1.0


def test_streaming_metrics_equal_whole_set_figures():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(103, 7))
    labels = rng.integers(0, 7, size=103)
    acc, top3, cm = Accuracy(), TopKAccuracy(3), ConfusionMatrix(7)
    for i in range(0, 103, 10):  # uneven last batch
        for m in (acc, top3, cm):
            m.update(scores[i:i + 10], labels[i:i + 10])
    assert acc.compute() == pytest.approx(accuracy(scores, labels))
    assert top3.compute() == pytest.approx(topk_accuracy(scores, labels, 3))
    assert top3.name == "top3_accuracy"
    np.testing.assert_array_equal(cm.compute(), confusion_matrix(scores, labels, 7))
    assert cm.compute().sum() == 103


def test_mean_is_weighted_by_batch_size():
    m = Mean()
    m.update(1.0, 10)
    m.update(4.0, 30)
    assert m.compute() == pytest.approx((10 + 120) / 40)


def test_confusion_matrix_precision_recall_f1_by_hand():
    y = np.array([0, 0, 0, 1, 1, 2])
    p = np.array([0, 1, 0, 1, 1, 1])
    cm = confusion_matrix(p, y, 3)
    np.testing.assert_array_equal(cm, [[2, 1, 0], [0, 2, 0], [0, 1, 0]])
    s = precision_recall_f1(cm)
    np.testing.assert_allclose(s["precision"], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(s["recall"], [2 / 3, 1.0, 0.0])
    np.testing.assert_allclose(s["f1"], [0.8, 2 / 3, 0.0])
    np.testing.assert_array_equal(s["support"], [3, 2, 1])
    text = classification_report(cm, ["a", "b", "c"])
    assert "macro avg" in text and "0.667" in text


def test_soft_targets_score_against_their_heaviest_class():
    scores = np.array([[2.0, 1.0], [0.0, 3.0]])
    soft = np.array([[0.7, 0.3], [0.6, 0.4]])
    assert accuracy(scores, soft) == 0.5


def test_confusion_matrix_rejects_labels_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)


def test_metric_state_round_trip_and_names():
    a = Accuracy()
    a.update(np.eye(3), np.array([0, 1, 0]))
    b = Accuracy()
    b.load_state_dict(a.state_dict())
    assert b.compute() == a.compute() == pytest.approx(2 / 3)
    assert isinstance(make_metric("top5_accuracy"), TopKAccuracy)
    with pytest.raises(ValueError, match="unknown metric"):
        make_metric("f2")
