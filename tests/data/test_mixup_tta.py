"""soft_target_cross_entropy against PyTorch (value and gradient) and test-time augmentation."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.data import soft_target_cross_entropy, tta_predict, tta_views
from tests.helpers import assert_close


def test_soft_target_cross_entropy_matches_torch(torch):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 5)).astype(np.float32)
    probs = rng.dirichlet(np.ones(5), size=6).astype(np.float32)
    z = ember.tensor(logits, requires_grad=True)
    loss = soft_target_cross_entropy(z, probs)
    loss.backward()
    zt = torch.tensor(logits, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(zt, torch.tensor(probs))
    ref.backward()
    assert_close(loss, ref, what="loss")
    assert_close(z.grad, zt.grad, what="grad")


def test_soft_target_cross_entropy_formula_and_hard_labels():
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]], np.float32)
    probs = np.array([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]], np.float32)
    logq = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    per = -(probs * logq).sum(1)
    out = soft_target_cross_entropy(ember.tensor(logits), ember.tensor(probs), reduction="none")
    np.testing.assert_allclose(out.array, per, rtol=1e-6)
    np.testing.assert_allclose(soft_target_cross_entropy(ember.tensor(logits), probs, reduction="sum").item(),
                               per.sum(), rtol=1e-6)
    hard = soft_target_cross_entropy(ember.tensor(logits), np.array([0, 2]))
    np.testing.assert_allclose(hard.item(), -(logq[0, 0] + logq[1, 2]) / 2, rtol=1e-6)
    # a uniform 3-class prediction starts near ln C
    np.testing.assert_allclose(soft_target_cross_entropy(ember.zeros(4, 3), np.eye(3)[[0, 1, 2, 0]]).item(),
                               np.log(3), rtol=1e-6)
    with pytest.raises(ValueError, match=r"target shape \(2, 4\) does not match logits \(2, 3\)"):
        soft_target_cross_entropy(ember.tensor(logits), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="unknown reduction 'avg'"):
        soft_target_cross_entropy(ember.tensor(logits), probs, reduction="avg")


def images(n=4, c=1, h=8, w=8):
    return np.random.default_rng(0).random((n, c, h, w), dtype=np.float32)


def test_views_counts_and_geometry():
    x = images()
    assert len(tta_views(x, "none")) == 1
    flip = tta_views(x, "flip")
    np.testing.assert_array_equal(flip[1], x[..., ::-1])
    five = tta_views(x, "five_crop", padding=2)
    assert len(five) == 5 and all(v.shape == x.shape for v in five)
    np.testing.assert_array_equal(five[4], x)  # the centre crop of the padded image is the image
    np.testing.assert_array_equal(five[0][..., 2:, 2:], x[..., :-2, :-2])  # top-left corner: shifted by the padding
    ten = tta_views(x, "ten_crop", padding=2)
    assert len(ten) == 10
    np.testing.assert_array_equal(ten[7], five[2][..., ::-1])
    small = tta_views(x, "five_crop", crop_size=6, padding=0)
    assert all(v.shape == (4, 1, 6, 6) for v in small)
    np.testing.assert_array_equal(small[3], x[..., 2:, 2:])
    with pytest.raises(ValueError, match="unknown TTA mode 'rotate'; valid: none, flip, five_crop, ten_crop"):
        tta_views(x, "rotate")


def test_tta_predict_averages_probabilities():
    x = images()
    seen = []

    def predict(batch):
        assert isinstance(batch, ember.Tensor) and not ember.is_grad_enabled()
        seen.append(batch.array.copy())
        # logits: class 0 likes the left half, class 1 the right half
        return ember.tensor(np.stack([batch.array[..., :4].sum((1, 2, 3)), batch.array[..., 4:].sum((1, 2, 3))], 1))

    probs = tta_predict(predict, x, mode="flip")
    assert probs.shape == (4, 2) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-6)
    def softmax(z):
        e = np.exp(z - z.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    with ember.no_grad():
        views = [softmax(predict(ember.tensor(v)).array.astype(np.float64)) for v in tta_views(x, "flip")]
    np.testing.assert_allclose(probs, np.mean(views, 0), rtol=1e-5)
    # the mirror swaps this model's logits, so sigmoid(L - R) and sigmoid(R - L) average to exactly 1/2
    np.testing.assert_allclose(probs, 0.5, rtol=1e-5)
    seen.clear()
    out = tta_predict(predict, x, mode="ten_crop", batch_size=3)
    assert len(seen) == 20 and out.shape == (4, 2)  # 10 views x 2 chunks
    p = tta_predict(lambda b: np.full((len(b), 3), 1 / 3), x, mode="five_crop", outputs="probs")
    np.testing.assert_allclose(p, 1 / 3, rtol=1e-6)
    with pytest.raises(ValueError, match=r"must return \(N, classes\)"):
        tta_predict(lambda b: np.zeros(len(b)), x)
