"""ember.lab's registry: list_experiments() and run(name, out_dir, quick) as the CLI uses them."""
from __future__ import annotations

import inspect

import numpy as np
import pytest

import ember.lab
from tests.lab.pngcheck import assert_png

REQUIRED = ("xor", "universal_approximation", "activations", "initialisation", "softmax_init_loss", "optimizers",
            "learning_rate", "batch_size", "batchnorm", "regularisation", "search", "start_small")


def test_list_experiments_names_every_required_experiment_with_its_claim():
    listed = ember.lab.list_experiments()
    assert isinstance(listed, dict)
    for name in REQUIRED:
        assert name in listed, f"{name} missing from list_experiments()"
    for name, claim in listed.items():
        assert len(claim) > 30, f"{name}: the claim line is too short: {claim!r}"
        assert "NOTES §" in claim, f"{name}: the claim should cite the notes' section: {claim!r}"


@pytest.mark.parametrize("name", ember.lab.EXPERIMENTS)
def test_every_experiment_module_has_a_docstring_and_run(name):
    module = ember.lab.get(name)
    assert module.__doc__ and len(module.__doc__) > 200
    params = list(inspect.signature(module.run).parameters)
    assert params[:2] == ["out_dir", "quick"]
    assert inspect.signature(module.run).parameters["quick"].default is False


def test_unknown_name_is_a_value_error_listing_the_valid_ones(tmp_path):
    with pytest.raises(ValueError) as info:
        ember.lab.run("no_such_experiment", tmp_path)
    message = str(info.value)
    assert "no_such_experiment" in message
    for name in REQUIRED:
        assert name in message
    with pytest.raises(ValueError):
        ember.lab.get("")


def test_png_check_rejects_what_is_not_a_real_plot(tmp_path):
    from PIL import Image

    (tmp_path / "fake.png").write_bytes(b"not a png at all" * 1000)
    with pytest.raises(AssertionError):
        assert_png(tmp_path / "fake.png")
    Image.fromarray(np.full((400, 600, 3), 255, np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(AssertionError):
        assert_png(tmp_path / "blank.png")
