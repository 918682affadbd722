import pytest

from ember.train.config import ConfigError, TrainConfig, parse_every, read_config_file


def test_defaults_validate_and_round_trip():
    cfg = TrainConfig().validate()
    assert TrainConfig.from_dict(cfg.to_dict()).to_dict() == cfg.to_dict()


def test_values_from_strings_are_converted():
    cfg = TrainConfig.from_dict({"epochs": "3", "lr": "2e-3", "batch-size": "64", "grad_clip": "1.5"})
    assert (cfg.epochs, cfg.lr, cfg.batch_size, cfg.grad_clip) == (3, 2e-3, 64, 1.5)


@pytest.mark.parametrize("key,value,words", [
    ("model", "lenet6", ["unknown model 'lenet6'", "did you mean 'lenet5'", "resnet20"]),
    ("optimizer", "adamm", ["'adamm' is not valid", "did you mean 'adam'", "sgd, adam, adamw, rmsprop, adagrad"]),
    ("data", "imagenet", ["valid: fashion-mnist, mnist, cifar10"]),
    ("scheduler", "linear", ["valid: none, step, cosine, onecycle, plateau"]),
    ("epochs", 0, ["epochs must be an integer >= 1"]),
    ("lr", -1, ["lr must lie in (0, inf)"]),
    ("val_split", 1.0, ["val-split must lie in [0, 1)"]),
    ("checkpoint_every", "3 weeks", ["checkpoint-every must be N"]),
    ("name", "../x", ["name must be letters"]),
])
def test_bad_values_name_the_valid_ones(key, value, words):
    with pytest.raises(ConfigError) as e:
        TrainConfig.from_dict({key: value})
    for w in words:
        assert w in str(e.value)


def test_unknown_key_lists_valid_options():
    with pytest.raises(ConfigError, match=r"unknown option 'epoch'.*did you mean 'epochs'.*valid options: model"):
        TrainConfig.from_dict({"epoch": 3})


def test_parse_every():
    assert parse_every("2") == (2, None)
    assert parse_every("3epochs") == (3, None)
    assert parse_every("50steps") == (None, 50)
    assert parse_every("none") == (None, None)


def test_config_files_yaml_toml_and_errors(tmp_path):
    y = tmp_path / "run.yaml"
    y.write_text("model: mlp\nepochs: 2\nmodel_args: {hidden: [32]}\n")
    assert read_config_file(y) == {"model": "mlp", "epochs": 2, "model_args": {"hidden": [32]}}
    t = tmp_path / "run.toml"
    t.write_text('model = "lenet5"\nlr = 0.002\n')
    assert read_config_file(t) == {"model": "lenet5", "lr": 0.002}
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid yaml"):
        read_config_file(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        read_config_file(tmp_path / "missing.yaml")
    lst = tmp_path / "list.yaml"
    lst.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        read_config_file(lst)
