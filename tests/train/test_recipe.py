"""Building a run's objects from its configuration: data splits and preprocessing, init, optimizers, schedules."""
import numpy as np
import pytest

from ember.train.config import ConfigError, TrainConfig
from ember.train.recipe import build_data, build_model, build_optimizer, build_scheduler, make_loaders


def cfg(**kw):
    return TrainConfig.from_dict({"model": "lenet5_bn", **kw})


@pytest.mark.parametrize("scheme,std", [("kaiming", (2 / 25) ** 0.5), ("xavier", (2 / (25 + 300)) ** 0.5),
                                         ("normal", 0.01)])
def test_init_schemes_set_the_expected_scale(scheme, std):
    m = build_model(cfg(init=scheme), 10, 1, 28)
    w = m.features[0].weight.array  # 12 x 1 x 5 x 5: fan_in 25, fan_out 300
    assert w.std() == pytest.approx(std, rel=0.25)


def test_schedulers_and_their_intervals():
    model = build_model(cfg(), 10, 1, 28)
    for name, interval, cls in [("onecycle", "step", "OneCycleLR"), ("cosine", "step", "CosineAnnealingLR"),
                                ("plateau", "epoch", "ReduceLROnPlateau"), ("step", "epoch", "StepLR"),
                                ("none", "epoch", "NoneType")]:
        opt = build_optimizer(cfg(), model.parameters())
        sched, iv = build_scheduler(cfg(scheduler=name, epochs=3), opt, steps_per_epoch=10)
        assert (type(sched).__name__, iv) == (cls, interval), name
    opt = build_optimizer(cfg(), model.parameters())
    sched, iv = build_scheduler(cfg(warmup_epochs=1), opt, steps_per_epoch=10)
    assert iv == "step" and opt.param_groups[0]["lr"] == pytest.approx(1e-3 / 10)  # warm-up starts low
    with pytest.raises(ConfigError, match="warmup-epochs works with --scheduler none or cosine"):
        build_scheduler(cfg(warmup_epochs=1, scheduler="step"), opt, 10)
    for name in ("sgd", "adam", "adamw", "rmsprop", "adagrad"):
        assert type(build_optimizer(cfg(optimizer=name), model.parameters())).__name__.lower() == name


def test_data_split_limits_preprocessing_and_augmentation_order(tiny_fashion):
    c = cfg(data_root=tiny_fashion, val_split=0.25, limit_train=150, limit_test=40, augment="flip,crop", mixup=0.2,
            download=False)
    b = build_data(c)
    assert (len(b.train), len(b.val), len(b.test)) == (150, 50, 40)
    assert b.classes[9] == "Ankle boot" and (b.in_channels, b.input_size) == (1, 28)
    # the statistics come from the training split only
    x = b.train.arrays()[0].astype(np.float64) / 255
    np.testing.assert_allclose(b.preprocessor.state_dict()["mean"].ravel(), [x.mean()], rtol=1e-6)
    train, val, test = make_loaders(c, b)
    names = [type(t).__name__ for t in train.transform.transforms]
    assert names == ["RandomHorizontalFlip", "RandomCrop", "Standardize", "Mixup"]
    xb, yb = next(iter(train))
    assert xb.shape == (128, 1, 28, 28)  # the default batch size, from 150 training images
    assert yb.shape == (xb.shape[0], 10)  # mixup gives soft targets
    xv, yv = next(iter(val))
    assert yv.ndim == 1 and abs(float(xv.array.mean())) < 0.5  # standardised, not augmented
