"""Batch augmentations: property tests (identities, shapes, exact cutout area, mixup weights, seeding)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from ember.data import (AUGMENTATIONS, ColorJitter, Compose, Cutout, Mixup, PCALighting, RandomAffine, RandomCrop,
                        RandomHorizontalFlip, RandomResizedCrop, RandomRotation, parse_augment)


def batch(n=6, c=3, h=10, w=12, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w), dtype=np.float32)


def rng(seed=0):
    return np.random.default_rng(seed)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 9))
def test_flip_twice_with_same_draws_is_identity(seed, n, w):
    x = batch(n=n, w=w, seed=seed % 100)
    flip = RandomHorizontalFlip(p=0.5)
    once = flip(x, rng=rng(seed))
    np.testing.assert_array_equal(flip(once, rng=rng(seed)), x)
    flipped = np.array([not np.array_equal(a, b) for a, b in zip(once, x)])
    np.testing.assert_array_equal(once[flipped], x[flipped][..., ::-1])  # each image is itself or its mirror


def test_flip_probability_extremes():
    x = batch()
    np.testing.assert_array_equal(RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(RandomHorizontalFlip(p=0.0)(x), x)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 4), st.integers(2, 10),
       st.sampled_from(["constant", "reflect", "edge"]))
def test_crop_keeps_shape_and_is_a_window_of_the_padded_image(seed, padding, size, mode):
    x = batch(n=3, h=10, w=12)
    out = RandomCrop(size=size, padding=padding, padding_mode=mode)(x, rng=rng(seed))
    assert out.shape == (3, 3, size, size)
    kw = {"constant_values": 0.0} if mode == "constant" else {}
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode=mode, **kw)
    for img, pad in zip(out, padded):
        hits = [(r, c) for r in range(pad.shape[1] - size + 1) for c in range(pad.shape[2] - size + 1)
                if np.array_equal(pad[:, r:r + size, c:c + size], img)]
        assert hits


def test_crop_defaults_to_input_size_and_no_padding_is_identity():
    x = batch()
    assert RandomCrop(padding=4)(x).shape == x.shape
    np.testing.assert_array_equal(RandomCrop(padding=0)(x), x)


def test_resized_crop_shape_range_and_full_box_identity():
    x = batch(n=8, h=16, w=16)
    out = RandomResizedCrop(size=9)(x, rng=rng(1))
    assert out.shape == (8, 3, 9, 9) and out.dtype == np.float32
    assert x.min() - 1e-6 <= out.min() and out.max() <= x.max() + 1e-6
    full = RandomResizedCrop(scale=(1.0, 1.0), ratio=(1.0, 1.0))(x, rng=rng(2))
    np.testing.assert_allclose(full, x, atol=1e-6)


def test_rotation_zero_is_identity_and_90_is_rot90():
    x = batch(n=2, h=9, w=9)
    np.testing.assert_allclose(RandomRotation(degrees=0)(x), x, atol=1e-6)
    r = RandomRotation(degrees=90)
    rot = r.apply(x, _ConstantRng(90.0))
    np.testing.assert_allclose(rot, np.rot90(x, k=1, axes=(2, 3)), atol=1e-5)
    out = r.apply(x, _ConstantRng(30.0))
    assert out.shape == x.shape and out[:, :, 0, 0].max() == 0.0  # corners rotate out: filled with 0
    assert np.allclose(out[:, :, 4, 4], x[:, :, 4, 4])  # the centre stays


class _ConstantRng:
    """A stand-in generator whose uniform draws are all ``value`` (to pin an angle)."""

    def __init__(self, value):
        self.value = value

    def uniform(self, low, high, size):
        return np.full(size, self.value if (low, high) != (1.0, 1.0) else 1.0)


def test_stretch_changes_scale_only():
    x = np.zeros((1, 1, 11, 11), np.float32)
    x[0, 0, 5, 3:8] = 1.0  # a horizontal bar
    out = RandomAffine(degrees=0, stretch=0.5)(x, rng=rng(4))
    assert out.shape == x.shape and np.allclose(out[0, 0, :4], 0) and np.allclose(out[0, 0, 7:], 0)


def test_color_jitter_ranges_and_identity():
    x = batch()
    np.testing.assert_array_equal(ColorJitter()(x), x)
    out = ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5)(x, rng=rng(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not np.allclose(out, x)
    # brightness alone scales each image by one factor in [0.5, 1.5]
    b = ColorJitter(brightness=0.5)(x * 0.5, rng=rng(1))
    ratio = b / (x * 0.5)
    per_image = ratio.reshape(len(x), -1)
    np.testing.assert_allclose(per_image, np.broadcast_to(per_image[:, :1], per_image.shape), rtol=1e-5)
    assert np.all((per_image >= 0.5) & (per_image <= 1.5))
    # saturation 0..: grey images are unchanged by saturation
    grey = batch(c=1)
    np.testing.assert_array_equal(ColorJitter(saturation=0.9)(grey, rng=rng(2)), grey)
    # saturation factor keeps the per-pixel grey level
    s = ColorJitter(saturation=0.8)(x * 0.5 + 0.25, rng=rng(3))
    luma = np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(np.einsum("nchw,c->nhw", s, luma), np.einsum("nchw,c->nhw", x * 0.5 + 0.25, luma),
                               atol=1e-5)


def test_pca_lighting_shifts_along_principal_axes():
    x = batch(n=4)
    light = PCALighting.imagenet(std=0.1)
    out = light(x, rng=rng(0))
    shift = (out - x)[:, :, 0, 0]
    np.testing.assert_allclose(out - x, np.broadcast_to(shift[:, :, None, None], x.shape), atol=1e-6)
    alpha = np.random.default_rng(0).normal(0, 0.1, size=(4, 3)).astype(np.float32)
    expected = (alpha * PCALighting.IMAGENET_EIGVAL) @ PCALighting.IMAGENET_EIGVEC.T
    np.testing.assert_allclose(shift, expected, atol=1e-6)
    fitted = PCALighting(0.1).fit(x)
    cov = np.cov(x.transpose(0, 2, 3, 1).reshape(-1, 3), rowvar=False)
    np.testing.assert_allclose(np.sort(fitted.eigval), np.sort(np.linalg.eigvalsh(cov)), rtol=1e-4)
    assert PCALighting(0.1)(batch(c=1), rng=rng(0)).shape == (6, 1, 10, 12)  # unfitted: per-batch estimate
    with pytest.raises(ValueError, match="fitted on 3 channels, the batch has 1"):
        light(batch(c=1))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 8))
def test_cutout_zeroes_exactly_one_square(seed, size):
    x = batch(n=5, h=9, w=10) + 0.1  # no zeros to begin with
    out = Cutout(size=size)(x, rng=rng(seed))
    for img in out:
        zero = np.all(img == 0, axis=0)
        assert zero.sum() == size * size
        rows, cols = np.nonzero(zero)
        assert rows.max() - rows.min() + 1 == size and cols.max() - cols.min() + 1 == size
        np.testing.assert_array_equal(np.all(img != 0, axis=0), ~zero)


def test_mixup_weights_sum_to_one_and_blend_pairs():
    x = batch(n=16)
    y = np.arange(16) % 10
    mixup = Mixup(alpha=0.4, num_classes=10)
    xm, ym, lam, perm = mixup.sample(x, y, rng=rng(0))
    np.testing.assert_allclose(ym.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all((lam >= 0) & (lam <= 1))
    np.testing.assert_allclose(xm, lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[perm], atol=1e-6)
    onehot = np.eye(10)[y]
    np.testing.assert_allclose(ym, lam[:, None] * onehot + (1 - lam[:, None]) * onehot[perm], atol=1e-6)
    with pytest.raises(ValueError, match="needs num_classes"):
        Mixup(0.2).sample(x, y)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        Mixup(0.0)


ALL = [RandomHorizontalFlip(), RandomCrop(padding=2), RandomResizedCrop(scale=(0.5, 1)), ColorJitter(0.3, 0.3, 0.3),
       PCALighting(), RandomRotation(15), RandomAffine(5, stretch=0.1), Cutout(4)]


@pytest.mark.parametrize("t", ALL, ids=lambda t: type(t).__name__)
def test_same_seed_same_batch_and_global_generator(t):
    x = batch()
    a, b, c = t(x, rng=rng(5)), t(x, rng=rng(5)), t(x, rng=rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    ember.manual_seed(9)
    g1 = t(x)
    ember.manual_seed(9)
    np.testing.assert_array_equal(g1, t(x))
    own = type(t).__new__(type(t))
    own.__dict__.update(t.__dict__, generator=np.random.default_rng(5))
    np.testing.assert_array_equal(own(x), a)  # an explicit generator gives the same as rng=


@pytest.mark.parametrize("t", ALL, ids=lambda t: type(t).__name__)
def test_tensor_and_single_image_inputs(t):
    x = batch(n=1)
    out = t(ember.tensor(x), rng=rng(0))
    assert isinstance(out, ember.Tensor) and out.dtype == np.float32
    single = t(x[0], rng=rng(0))
    np.testing.assert_allclose(single, out.array[0], atol=1e-6)
    u8 = t((x * 255).astype(np.uint8), rng=rng(0))
    assert u8.dtype == np.float32 and u8.max() <= 1.5


def test_parser_builds_compose_and_rejects_unknown():
    c = parse_augment("flip, crop:padding=4, cutout:size=3, mixup:alpha=0.5", num_classes=10)
    assert [type(t).__name__ for t in c.transforms] == ["RandomHorizontalFlip", "RandomCrop", "Cutout", "Mixup"]
    assert c.transforms[1].padding == 4 and c.transforms[2].size == 3 and c.transforms[3].alpha == 0.5
    assert c.mixes_labels
    xm, ym = c(batch(), np.arange(6), rng=rng(0))
    assert xm.shape == (6, 3, 10, 12) and ym.shape == (6, 10)
    with pytest.raises(ValueError, match="call it with \\(images, labels\\)"):
        c(batch())
    assert len(parse_augment("")) == 0 and len(parse_augment("none")) == 0
    for name in AUGMENTATIONS:
        assert len(parse_augment(name, num_classes=10)) == 1
    with pytest.raises(ValueError, match="unknown augmentation 'flop'; valid: flip, crop, resized_crop, jitter"):
        parse_augment("flip,flop")
    with pytest.raises(ValueError, match="bad option 'pad=4' for augmentation 'crop'; valid: size=..., padding=..."):
        parse_augment("crop:pad=4")
    with pytest.raises(ValueError, match="augmentation 'cutout:size=-1'.*positive integer"):
        parse_augment("cutout:size=-1")


def test_compose_order_and_plain_callables():
    c = Compose([lambda x: x + 1, RandomHorizontalFlip(p=1.0), lambda x, rng=None: x * 2])
    x = batch()
    np.testing.assert_allclose(c(x, rng=rng(0)), ((x + 1)[..., ::-1]) * 2, rtol=1e-6)
    with pytest.raises(TypeError, match="Compose needs callables"):
        Compose(["flip"])


def test_argument_errors():
    with pytest.raises(ValueError, match="unknown padding_mode 'wrap'; valid: constant, edge, reflect, symmetric"):
        RandomCrop(padding_mode="wrap")
    with pytest.raises(ValueError, match="expects an NCHW batch or a CHW image"):
        RandomHorizontalFlip()(np.zeros((2, 3, 4, 4, 4)))
    with pytest.raises(ValueError, match="larger than the padded image"):
        RandomCrop(size=20, padding=1)(batch())
    with pytest.raises(ValueError, match="cutout square 11 is larger"):
        Cutout(11)(batch())


# ------------------------------------------------------------------ torchvision's argument forms and input kinds


def test_random_crop_torchvision_forms():
    x = batch(n=3, h=10, w=12)
    out = RandomCrop(6)(x, rng=rng(0))  # a size and no padding: a window of the image itself
    for img in out:
        assert any(np.array_equal(x_i[:, r:r + 6, c:c + 6], img) for x_i in x for r in range(5) for c in range(7))
    assert RandomCrop(10, padding=(1, 2)).padding == (1, 2) and RandomCrop(10, padding=(1, 2))(x).shape == (3, 3, 10, 10)
    assert RandomCrop(14, pad_if_needed=True)(x).shape == (3, 3, 14, 14)
    assert RandomCrop(8, padding=2, padding_mode="symmetric")(x).shape == (3, 3, 8, 8)


def test_pil_and_hwc_inputs_come_back_as_their_kind():
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    img = Image.fromarray(pixels)
    out = RandomHorizontalFlip(p=1.0)(img)
    assert isinstance(out, Image.Image) and out.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(out), pixels[:, ::-1])
    arr = RandomHorizontalFlip(p=1.0)(pixels)
    assert arr.dtype == np.uint8 and np.array_equal(arr, pixels[:, ::-1])
    assert RandomCrop(8, padding=2)(img).size == (8, 8)


def test_vertical_flip_rotation_range_and_affine_translate():
    from ember.data.augment import RandomVerticalFlip

    x = batch(n=2, h=9, w=9)
    np.testing.assert_array_equal(RandomVerticalFlip(p=1.0)(x), x[:, :, ::-1])
    r = RandomRotation((90, 90))
    np.testing.assert_allclose(r(x), np.rot90(x, k=1, axes=(2, 3)), atol=1e-5)
    with pytest.raises(ValueError, match=r"expand=True\) is not supported"):
        RandomRotation(10, expand=True)
    one = np.zeros((50, 1, 9, 9), np.float32)
    one[:, 0, 4, 4] = 1.0
    moved = RandomAffine(0, translate=(0.25, 0.25), interpolation="nearest")(one, rng=rng(0))
    rows, cols = np.nonzero(moved[:, 0].reshape(50, -1))[1] // 9, np.nonzero(moved[:, 0].reshape(50, -1))[1] % 9
    assert moved.sum() == 50 and np.abs(rows - 4).max() <= 2 and np.abs(cols - 4).max() <= 2 and len(set(cols)) > 1
    with pytest.raises(ValueError, match="translate must be a pair"):
        RandomAffine(5, 0.1)


def test_color_jitter_hue_and_ranges():
    x = batch(n=8)
    out = ColorJitter(hue=0.5)(x, rng=rng(0))
    np.testing.assert_allclose(out.max(axis=1), x.max(axis=1), atol=1e-5)  # hue keeps V = max(R, G, B)
    assert not np.allclose(out, x)
    red = np.zeros((1, 3, 2, 2), np.float32)
    red[:, 0] = 0.8
    np.testing.assert_allclose(ColorJitter(hue=(0.5, 0.5))(red)[0, :, 0, 0], [0.0, 0.8, 0.8], atol=1e-6)  # cyan
    np.testing.assert_allclose(ColorJitter(hue=(1 / 3, 1 / 3))(red)[0, :, 0, 0], [0.0, 0.8, 0.0], atol=1e-5)
    grey = batch(c=1)
    np.testing.assert_array_equal(ColorJitter(hue=0.3)(grey, rng=rng(1)), grey)
    b = ColorJitter(brightness=(2.0, 2.0))(x * 0.25)
    np.testing.assert_allclose(b, x * 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="hue values should be between"):
        ColorJitter(hue=0.7)


def test_global_seed_makes_transforms_reproducible():
    aug = Compose([RandomCrop(8, padding=2), ColorJitter(0.4, 0.4, 0.4, 0.1), RandomRotation(20)])
    x = batch()
    ember.manual_seed(7)
    a = aug(x)
    ember.manual_seed(7)
    np.testing.assert_array_equal(aug(x), a)


def test_rotation_and_affine_sample_nearest_by_default_as_torchvision_does():
    x = batch(n=4)
    allowed = np.append(np.unique(x), 0.0)  # every output pixel is an input pixel or the fill
    for aug in (RandomRotation(30), RandomAffine(20, translate=(0.1, 0.1), scale=(0.8, 1.2))):
        assert aug.interpolation.value == "nearest"
        assert np.isin(aug(x, rng=rng(1)), allowed).all()
    smooth = RandomRotation(30, interpolation="bilinear")(x, rng=rng(1))
    assert not np.isin(smooth, allowed).all()
    # ember's own recipes keep bilinear sampling
    recipes = parse_augment("rotate, stretch", num_classes=10).transforms
    assert [a.interpolation.value for a in recipes] == ["bilinear", "bilinear"]
