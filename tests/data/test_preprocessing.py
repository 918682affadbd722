"""Preprocessing: fitted statistics match NumPy, whitening gives identity covariance, inverses recover the input."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.data import (PCA, DecimalScale, MinMaxScale, PCAWhitening, Standardize, TensorDataset, ZCAWhitening,
                        ZeroCenter, make_preprocessor)
from ember.data.dataset import ImageArrayDataset


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((64, 3, 4, 4)) * np.array([1.0, 3.0, 0.5])[:, None, None] +
            np.array([0.2, -1.0, 4.0])[:, None, None]).astype(np.float32)


def test_zero_center_per_channel(batch):
    p = ZeroCenter().fit(batch)
    np.testing.assert_allclose(p.mean.ravel(), batch.astype(np.float64).mean(axis=(0, 2, 3)), rtol=1e-10)
    out = p(batch)
    assert out.dtype == np.float32 and out.shape == batch.shape
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(p.inverse(out), batch, atol=1e-5)


@pytest.mark.parametrize("mode,axes", [("channel", (0, 2, 3)), ("feature", (0,)), ("global", None)])
def test_standardize_modes(batch, mode, axes):
    p = Standardize(mode=mode).fit(batch)
    x64 = batch.astype(np.float64)
    np.testing.assert_allclose(p.mean.squeeze(), np.squeeze(x64.mean(axis=axes)), rtol=1e-10)
    np.testing.assert_allclose(p.std.squeeze(), np.squeeze(x64.std(axis=axes)), rtol=1e-10)
    z = p(batch)
    np.testing.assert_allclose(z.mean(axis=axes), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=axes), 1.0, atol=1e-4)
    np.testing.assert_allclose(p.inverse(z), batch, atol=1e-5)


def test_standardize_constant_pixel_is_only_centred():
    x = np.zeros((10, 1, 2, 2), np.float32)
    x[:, 0, 0, 0] = np.arange(10)
    z = Standardize(mode="feature").fit(x)(x)
    assert np.all(np.isfinite(z)) and np.all(z[:, 0, 1:, :] == 0)


def test_minmax_and_decimal(batch):
    p = MinMaxScale((-1.0, 1.0)).fit(batch)
    np.testing.assert_allclose(p.min.ravel(), batch.min(axis=(0, 2, 3)), rtol=1e-7)
    np.testing.assert_allclose(p.max.ravel(), batch.max(axis=(0, 2, 3)), rtol=1e-7)
    out = p(batch)
    np.testing.assert_allclose(out.min(axis=(0, 2, 3)), -1.0, atol=1e-6)
    np.testing.assert_allclose(out.max(axis=(0, 2, 3)), 1.0, atol=1e-6)
    np.testing.assert_allclose(p.inverse(out), batch, atol=1e-5)

    x = np.array([[-123.0, 45.0], [999.0, 0.5]])
    d = DecimalScale().fit(x)
    assert d.exponent.item() == 3  # max |x| = 999 -> divide by 10^3
    np.testing.assert_allclose(d(x), x / 1000)
    assert np.abs(d(x)).max() < 1
    np.testing.assert_allclose(d.inverse(d(x)), x)
    assert DecimalScale().fit(np.array([[1000.0], [1.0]])).exponent.item() == 4  # exactly 10^3 needs j = 4
    assert DecimalScale().fit(np.array([[0.05], [0.01]])).exponent.item() == -1
    per_feature = DecimalScale(mode="feature").fit(x)
    np.testing.assert_array_equal(per_feature.exponent.ravel(), [3, 2])


def test_pca_matches_numpy_eigendecomposition():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((500, 6)) @ rng.standard_normal((6, 6)) + 3.0
    p = PCA(n_components=3).fit(x)
    lam = np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False)))[::-1]
    np.testing.assert_allclose(p.explained_variance, lam[:3], rtol=1e-8)
    np.testing.assert_allclose(p.explained_variance_ratio, lam[:3] / lam.sum(), rtol=1e-8)
    z = p(x)
    assert z.shape == (500, 3)
    np.testing.assert_allclose(np.cov(z, rowvar=False), np.diag(lam[:3]), atol=1e-8)  # decorrelated
    full = PCA().fit(x)
    np.testing.assert_allclose(full.inverse(full(x)), x, atol=1e-8)  # k = D: exact
    frac = PCA(n_components=0.9).fit(x)
    k = frac.components.shape[0]
    assert np.cumsum(lam)[k - 1] / lam.sum() >= 0.9 > np.cumsum(lam)[k - 2] / lam.sum()


def test_pca_on_images_keeps_shape_for_inverse(batch):
    p = PCA().fit(batch)
    z = p(batch)
    assert z.shape == (64, 48)
    back = p.inverse(z)
    assert back.shape == batch.shape
    np.testing.assert_allclose(back, batch, atol=1e-4)


@pytest.mark.parametrize("cls", [PCAWhitening, ZCAWhitening])
def test_whitening_gives_identity_covariance_and_inverts(cls):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((2000, 2, 2, 2)).reshape(2000, 8) @ rng.standard_normal((8, 8))).reshape(2000, 2, 2, 2)
    p = cls(eps=1e-9).fit(x)
    w = p(x)
    flat = w.reshape(len(w), -1)
    np.testing.assert_allclose(np.cov(flat, rowvar=False), np.eye(8), atol=1e-5)
    np.testing.assert_allclose(flat.mean(axis=0), 0.0, atol=1e-8)
    if cls is ZCAWhitening:
        assert w.shape == x.shape
    np.testing.assert_allclose(p.inverse(w), x, atol=1e-6)


def test_zca_is_the_symmetric_whitening():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1000, 4)) @ rng.standard_normal((4, 4))
    p = ZCAWhitening(eps=0.0).fit(x)
    c = np.cov(x, rowvar=False)
    lam, u = np.linalg.eigh(c)
    expected = (x - x.mean(0)) @ (u @ np.diag(lam ** -0.5) @ u.T)
    np.testing.assert_allclose(p(x), expected, atol=1e-8)


def test_state_dict_round_trip_and_apply_to_validation(batch):
    val = batch[:8] + 0.5
    for p in (ZeroCenter(), Standardize(), MinMaxScale(), DecimalScale(), PCA(5), PCAWhitening(4), ZCAWhitening()):
        p.fit(batch)
        state = p.state_dict()
        assert all(isinstance(v, np.ndarray) for v in state.values())
        q = type(p)()
        q.load_state_dict(state)
        np.testing.assert_allclose(q(val), p(val), atol=1e-6, err_msg=type(p).__name__)


def test_tensors_datasets_and_single_samples(batch):
    p = Standardize().fit(ember.tensor(batch))
    out = p(ember.tensor(batch))
    assert isinstance(out, ember.Tensor) and out.dtype == np.float32
    np.testing.assert_allclose(out.array, Standardize().fit(batch)(batch), atol=1e-6)
    np.testing.assert_allclose(p(batch[0]), p(batch)[0], atol=1e-6)  # one (C, H, W) sample
    ds = ImageArrayDataset(np.full((4, 1, 2, 2), 255, np.uint8), np.zeros(4))
    assert float(ZeroCenter().fit(ds).mean.ravel()[0]) == 1.0  # uint8 pixels fitted as [0, 1]
    assert float(ZeroCenter().fit(TensorDataset(np.ones((3, 2)), np.zeros(3))).mean.ravel()[0]) == 1.0


def test_errors():
    with pytest.raises(RuntimeError, match="not fitted: call .fit"):
        Standardize()(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="unknown mode 'pixel'; valid: channel, feature, global"):
        Standardize(mode="pixel")
    p = Standardize().fit(np.random.default_rng(0).standard_normal((10, 3, 2, 2)))
    with pytest.raises(ValueError, match=r"fitted on samples of shape \(3, 1, 1\).*shape \(10, 4, 2, 2\)"):
        p(np.zeros((10, 4, 2, 2)))
    with pytest.raises(ValueError, match="fitted on 12 features"):
        PCA().fit(np.random.default_rng(0).standard_normal((20, 3, 2, 2)))(np.zeros((5, 7)))
    with pytest.raises(ValueError, match="unknown preprocessing 'whiten'; valid: center, standardize"):
        make_preprocessor("whiten")
    with pytest.raises(ValueError, match="exceeds the 3 features"):
        PCA(5).fit(np.random.default_rng(0).standard_normal((10, 3)))
    with pytest.raises(KeyError, match="lacks std"):
        Standardize().load_state_dict({"mean": np.zeros(3)})
    assert isinstance(make_preprocessor("zca", eps=0.1), ZCAWhitening)
