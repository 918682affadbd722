"""ember.vision.transforms.v2: torchvision's v2 names; ToImage + ToDtype(scale=True) is v1's ToTensor."""
import numpy as np
import pytest
from PIL import Image

import ember
from ember.vision import transforms as T
from ember.vision.transforms import v2

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _rgb(h=6, w=9, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _v2_pipeline(mean=MEAN, std=STD):
    return v2.Compose([v2.ToImage(), v2.ToDtype(ember.float32, scale=True), v2.Normalize(mean, std)])


def _v1_pipeline(mean=MEAN, std=STD):
    return T.Compose([T.ToTensor(), T.Normalize(mean, std)])


@pytest.mark.parametrize("kind", ["pil", "hwc uint8 array"])
def test_the_v2_pipeline_gives_the_v1_result(kind):
    a = _rgb()
    x = Image.fromarray(a) if kind == "pil" else a
    got, want = _v2_pipeline()(x), _v1_pipeline()(x)
    assert isinstance(got, ember.Tensor) and got.dtype == np.float32 and got.shape == (3, 6, 9)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    expected = (a.transpose(2, 0, 1) / 255.0 - np.array(MEAN)[:, None, None]) / np.array(STD)[:, None, None]
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)


def test_the_v2_pipeline_on_a_grayscale_image():
    a = _rgb()[..., 0]
    for x in (Image.fromarray(a), a):
        got, want = _v2_pipeline((0.5,), (0.25,))(x), _v1_pipeline((0.5,), (0.25,))(x)
        assert got.shape == (1, 6, 9)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_a_random_v2_pipeline_matches_v1_under_the_same_seed():
    a = _rgb(12, 12, seed=3)
    ember.manual_seed(7)
    got = v2.Compose([v2.ToImage(), v2.RandomHorizontalFlip(), v2.RandomCrop(8, padding=2),
                      v2.ToDtype(ember.float32, scale=True), v2.Normalize(MEAN, STD)])(a)
    ember.manual_seed(7)
    want = T.Compose([T.ToTensor(), T.RandomHorizontalFlip(), T.RandomCrop(8, padding=2), T.Normalize(MEAN, STD)])(a)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)


def test_to_image_keeps_the_dtype_and_lays_out_chw():
    a = _rgb()
    img = v2.ToImage()(Image.fromarray(a))
    assert img.dtype == np.uint8 and img.shape == (3, 6, 9)
    np.testing.assert_array_equal(img.numpy(), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(v2.ToImage()(a).numpy(), a.transpose(2, 0, 1))
    assert v2.ToImage()(a[..., 0]).shape == (1, 6, 9)
    chw = np.random.default_rng(0).random((3, 5, 7), dtype=np.float32)  # what ember's datasets hand out
    out = v2.ToImage()(chw)
    assert out.dtype == np.float32 and out.shape == (3, 5, 7)
    hwc16 = np.arange(5 * 7 * 3, dtype=np.int16).reshape(5, 7, 3)
    assert v2.ToImage()(hwc16).dtype == np.int16 and v2.ToImage()(hwc16).shape == (3, 5, 7)
    t = ember.ones(3, 4, 4)
    assert v2.ToImage()(t) is t and v2.ToImage()(ember.ones(4, 4)).shape == (1, 4, 4)
    with pytest.raises(TypeError, match="PIL image, a NumPy array or an ember Tensor"):
        v2.ToImage()([[1, 2]])
    with pytest.raises(ValueError, match="2 or 3 dimensions"):
        v2.ToImage()(np.zeros((2, 3, 4, 5), np.uint8))


def test_to_dtype_scaling_matches_torchvision_formulas(torch):
    a = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    got = v2.ToDtype(ember.float32, scale=True)(ember.from_numpy(a))
    want = torch.from_numpy(a).to(torch.float32).mul_(1.0 / 255)  # torchvision's to_dtype_image, int → float
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    f = np.linspace(0, 1, 101, dtype=np.float32).reshape(1, 1, -1)
    back = v2.ToDtype(ember.uint8, scale=True)(ember.from_numpy(f))
    want = torch.from_numpy(f).mul(255 + 1.0 - 1e-3).to(torch.uint8)  # float → int
    np.testing.assert_array_equal(back.numpy(), want.numpy())
    assert back.numpy()[0, 0, -1] == 255 and back.numpy()[0, 0, 0] == 0
    wide = v2.ToDtype(ember.int16, scale=True)(ember.from_numpy(a))
    np.testing.assert_array_equal(wide.numpy(), torch.from_numpy(a).to(torch.int16).bitwise_left_shift(7).numpy())
    narrow = v2.ToDtype(ember.uint8, scale=True)(wide)
    np.testing.assert_array_equal(narrow.numpy(), a)


def test_to_dtype_without_scale_casts_and_keeps_the_kind():
    a = _rgb().transpose(2, 0, 1)
    t = v2.ToDtype(ember.float32)(ember.from_numpy(a))
    assert t.dtype == np.float32 and t.numpy().max() > 1  # values unchanged
    arr = v2.ToDtype(ember.float64, scale=True)(a)
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.max() <= 1.0
    f = ember.rand(3, 2, 2)
    assert v2.ToDtype(ember.float32, scale=True)(f) is f  # already float32: unchanged
    assert v2.ToDtype(ember.float64, scale=True)(f).dtype == np.float64  # float → float: a plain cast
    x = ember.rand(3, 2, 2, requires_grad=True)
    v2.ToDtype(ember.float64)(x).sum().backward()  # a float cast of a tensor stays differentiable
    assert x.grad is not None
    np.testing.assert_array_equal(v2.ConvertImageDtype(ember.float32)(ember.from_numpy(a)).numpy(),
                                  v2.ToDtype(ember.float32, scale=True)(ember.from_numpy(a)).numpy())
    with pytest.raises(TypeError, match="put ToImage"):
        v2.ToDtype(ember.float32, scale=True)(Image.fromarray(_rgb()))
    with pytest.raises(TypeError, match="one dtype"):
        v2.ToDtype({"Image": ember.float32})
    with pytest.raises(TypeError, match="NumPy has no bfloat16"):
        v2.ToDtype(ember.bfloat16)


def test_pure_tensor_identity_and_the_names_of_v1():
    t = ember.ones(3, 2, 2)
    assert v2.ToPureTensor()(t) is t and v2.Identity()(t) is t
    missing = set(T.__all__) - set(v2.__all__) - {"v2"}
    assert not missing, f"v2 lacks v1 names: {missing}"
    for name in v2.__all__:
        assert getattr(v2, name) is not None
    assert v2.Normalize is T.Normalize and v2.RandomResizedCrop is T.RandomResizedCrop
    assert repr(_v2_pipeline()).startswith("Compose([ToImage(), ToDtype(dtype=ember.float32, scale=True), Normalize(")


def test_random_choice_draws_each_transform_with_its_probability_and_reproducibly():
    add = [v2.Lambda(lambda x, k=k: x + k) for k in range(3)]
    choice = v2.RandomChoice(add, p=[1, 0, 3])
    ember.manual_seed(0)
    picks = np.array([choice(ember.zeros(1)).item() for _ in range(4000)])
    assert set(np.unique(picks)) == {0.0, 2.0}
    assert abs((picks == 2).mean() - 0.75) < 0.03
    ember.manual_seed(0)
    again = np.array([choice(ember.zeros(1)).item() for _ in range(4000)])
    np.testing.assert_array_equal(picks, again)
    with pytest.raises(ValueError, match="Length of p"):
        v2.RandomChoice(add, p=[1, 2])
    with pytest.raises(ValueError, match="non-negative"):
        v2.RandomChoice(add, p=[1, -1, 1])
    with pytest.raises(TypeError, match="callables"):
        v2.RandomChoice([1, 2])


def test_random_order_applies_every_transform_in_some_order():
    order = v2.RandomOrder([v2.Lambda(lambda s: s + "a"), v2.Lambda(lambda s: s + "b"), v2.Lambda(lambda s: s + "c")])
    ember.manual_seed(0)
    seen = {order("") for _ in range(200)}
    assert seen == {"abc", "acb", "bac", "bca", "cab", "cba"}
    rng = np.random.default_rng(5)
    first = order("", rng=rng)
    assert first == order("", rng=np.random.default_rng(5))  # the DataLoader's per-batch rng is used
