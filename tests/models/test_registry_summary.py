"""``list_models`` / ``get`` drive the CLI; ``summary`` prints a Keras-style table measured with hooks."""
from __future__ import annotations

import pytest

import ember
import ember.models as zoo
from ember import nn

EXPECTED = {
    "mlp", "lenet5", "lenet5_bn", "alexnet", "vgg11", "vgg16", "vgg16_bn", "nin", "googlenet", "resnet18", "resnet34",
    "resnet50", "resnet20", "resnet32", "resnet56", "densenet121", "densenet161", "densenet169", "densenet201",
    "mobilenet_v1", "mobilenet_v2", "xception", "se_resnet50", "condensenet", "efficientnet", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2",
    "efficientnet_b3",
}


def test_list_models_names_every_builder_sorted():
    names = zoo.list_models()
    assert set(names) == EXPECTED
    assert names == sorted(names)


def test_get_builds_by_name_case_insensitively_and_passes_keyword_arguments():
    model = zoo.get("ResNet20", num_classes=3, in_channels=1)
    assert isinstance(model, zoo.CifarResNet) and model.fc.out_features == 3
    assert model.conv1.in_channels == 1


def test_get_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown model 'resnet9000'") as e:
        zoo.get("resnet9000")
    assert "lenet5" in str(e.value) and "efficientnet_b3" in str(e.value)


def test_get_rejects_unknown_keyword_arguments():
    with pytest.raises(TypeError):
        zoo.get("lenet5", depth=3)


def test_every_builder_has_a_one_line_description():
    for name in zoo.list_models():
        text = zoo.describe(name)
        assert len(text) > 10 and "\n" not in text and text.endswith("."), name


def test_register_model_refuses_a_second_builder_under_the_same_name():
    def lenet5():
        pass

    with pytest.raises(ValueError, match="already registered"):
        zoo.register_model(lenet5)


def test_summary_rows_shapes_params_and_macs_of_lenet5():
    model = zoo.lenet5(num_classes=10, in_channels=1, input_size=32)
    lines = []
    s = zoo.summary(model, (1, 32, 32), print_fn=lines.append)
    convs = [r for r in s.rows if r.kind == "Conv2d"]
    linears = [r for r in s.rows if r.kind == "Linear"]
    assert [r.output_shape for r in convs] == [(None, 6, 28, 28), (None, 16, 10, 10)]
    assert [r.params for r in convs + linears] == [156, 2416, 48120, 10164, 850]
    # conv: H·W·C_out · C_in·k·k; linear: in·out
    assert [r.macs for r in convs + linears] == [28 * 28 * 6 * 25, 10 * 10 * 16 * 150, 48000, 10080, 840]
    assert s.total_params == s.trainable_params == 61_706 == sum(r.params for r in s.rows)
    assert s.total_macs == 117_600 + 240_000 + 48_000 + 10_080 + 840
    text = lines[0]
    assert "Output Shape" in text and "Param #" in text and "MACs" in text and "61,706" in text
    assert "(None, 16, 10, 10)" in text and "features.3 (Conv2d)" in text


def test_summary_is_a_method_with_the_model_default_input_and_restores_training_mode():
    model = zoo.resnet20(num_classes=10)
    model.train()
    s = model.summary(print_fn=None)
    assert s.input_shape == (3, 32, 32)
    assert all(m.training for m in model.modules())
    assert s.total_params == model.num_parameters()
    assert s.rows[-1].output_shape == (None, 10)
    assert sum(r.params for r in s.rows) == s.total_params


def test_summary_counts_a_module_called_twice_once():
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    s = zoo.summary(model, (4,), print_fn=None)
    assert [r.params for r in s.rows] == [20, 0, 0] and s.total_params == 20
    assert s.total_macs == 2 * 16


def test_summary_counts_depthwise_convolutions_by_their_groups():
    model = zoo.mobilenet_v1(num_classes=10, input_size=32)
    s = zoo.summary(model, print_fn=None)
    depthwise = next(r for r in s.rows if r.name == "features.1.0.0")
    # 32 channels at 32×32, one 3×3 filter each
    assert depthwise.macs == 32 * 32 * 32 * 9 and depthwise.params == 32 * 9


def test_summary_reports_non_trainable_parameters():
    model = zoo.lenet5()
    model.features[0].weight.requires_grad_(False)
    s = zoo.summary(model, print_fn=None)
    assert s.total_params - s.trainable_params == 150


def test_summary_needs_an_input_shape_when_the_model_has_no_default():
    with pytest.raises(ValueError, match="input_shape"):
        zoo.summary(nn.Sequential(nn.Linear(2, 2)), print_fn=None)
    assert zoo.summary(nn.Sequential(nn.Linear(4, 2)), (4,), print_fn=None).total_macs == 8


@pytest.mark.slow
@pytest.mark.parametrize("name,gmacs", [("alexnet", 0.71), ("resnet18", 1.81), ("resnet50", 4.09), ("googlenet", 1.50),
                                        ("mobilenet_v2", 0.30), ("efficientnet_b0", 0.39)])
def test_imagenet_multiply_accumulates_match_the_published_figures(name, gmacs):
    # the per-image GMACs torchvision's reference tables list (rounded to 0.01), at 3×224×224
    s = zoo.summary(zoo.get(name), print_fn=None, batch_size=1)
    assert s.total_macs / 1e9 == pytest.approx(gmacs, abs=0.006)


def _torchvision_resnet_keys(layers, bottleneck: bool) -> list[str]:
    """torchvision's ResNet state_dict keys, written out from its module layout."""
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    keys = ["conv1.weight"] + [f"bn1.{k}" for k in bn]
    convs = 3 if bottleneck else 2
    for stage, n in enumerate(layers, 1):
        for b in range(n):
            pre = f"layer{stage}.{b}."
            for i in range(1, convs + 1):
                keys += [f"{pre}conv{i}.weight"] + [f"{pre}bn{i}.{k}" for k in bn]
            if b == 0 and (stage > 1 or bottleneck):
                keys += [f"{pre}downsample.0.weight"] + [f"{pre}downsample.1.{k}" for k in bn]
    return keys + ["fc.weight", "fc.bias"]


@pytest.mark.parametrize("name,layers,bottleneck,count", [("resnet18", (2, 2, 2, 2), False, 122),
                                                          ("resnet50", (3, 4, 6, 3), True, 320)])
def test_resnet_state_dict_keys_are_torchvisions(name, layers, bottleneck, count):
    keys = list(zoo.get(name).state_dict())
    assert keys == _torchvision_resnet_keys(layers, bottleneck) and len(keys) == count


def test_the_grayscale_resnet_idiom_works():
    """`model.conv1 = nn.Conv2d(1, 64, ...)`: torchvision's ResNet-18 adapted to MNIST-sized inputs."""
    model = zoo.resnet18(num_classes=10)
    model.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    assert model(ember.randn(2, 1, 28, 28)).shape == (2, 10)


def test_mobilenet_v2_state_dict_keys_are_torchvisions():
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    keys = ["features.0.0.weight"] + [f"features.0.1.{k}" for k in bn]
    keys += ["features.1.conv.0.0.weight"] + [f"features.1.conv.0.1.{k}" for k in bn]
    keys += ["features.1.conv.1.weight"] + [f"features.1.conv.2.{k}" for k in bn]
    for i in range(2, 18):
        p = f"features.{i}.conv."
        keys += [p + "0.0.weight"] + [p + f"0.1.{k}" for k in bn] + [p + "1.0.weight"] + [p + f"1.1.{k}" for k in bn]
        keys += [p + "2.weight"] + [p + f"3.{k}" for k in bn]
    keys += ["features.18.0.weight"] + [f"features.18.1.{k}" for k in bn] + ["classifier.1.weight", "classifier.1.bias"]
    assert list(zoo.get("mobilenet_v2").state_dict()) == keys and len(keys) == 314


@pytest.mark.parametrize("name,layers", [
    ("vgg16", ["features.0", "features.2", "features.5", "features.7", "features.10", "features.12", "features.14",
               "features.17", "features.19", "features.21", "features.24", "features.26", "features.28",
               "classifier.0", "classifier.3", "classifier.6"]),
    ("alexnet", ["features.0", "features.3", "features.6", "features.8", "features.10", "classifier.1",
                 "classifier.4", "classifier.6"]),
])
def test_vgg_and_alexnet_state_dict_keys_are_torchvisions(name, layers):
    assert list(zoo.get(name).state_dict()) == [f"{m}.{p}" for m in layers for p in ("weight", "bias")]


def test_efficientnet_b0_state_dict_keys_are_torchvisions():
    bn = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]

    def conv_bn(p):
        return [p + "0.weight"] + [p + f"1.{k}" for k in bn]

    keys = conv_bn("features.0.")
    for stage, n in enumerate((1, 2, 2, 3, 3, 4, 1), 1):
        for b in range(n):
            p = f"features.{stage}.{b}.block."
            parts = ([] if stage == 1 else conv_bn(p + "0.")) + conv_bn(p + ("0." if stage == 1 else "1."))
            se = p + ("1." if stage == 1 else "2.")
            parts += [se + "fc1.weight", se + "fc1.bias", se + "fc2.weight", se + "fc2.bias"]
            keys += parts + conv_bn(p + ("2." if stage == 1 else "3."))
    keys += conv_bn("features.8.") + ["classifier.1.weight", "classifier.1.bias"]
    assert list(zoo.get("efficientnet_b0").state_dict()) == keys and len(keys) == 360
