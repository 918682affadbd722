"""CondenseNet: learned group convolutions prune input channels group-wise, and the condensed
inference model computes the same function with fewer weights."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.models as zoo
from ember.models.condensenet import CondensedConv, LearnedGroupConv, channel_shuffle


def small_condensenet():
    return zoo.condensenet(num_classes=10, input_size=32, stages=(2, 2), growth=(8, 16))


def randomise_batch_norm_statistics(model, rng):
    for m in model.modules():
        if type(m).__name__ == "BatchNorm2d":
            m.running_mean.array[...] = rng.normal(0, 0.2, m.running_mean.shape)
            m.running_var.array[...] = rng.uniform(0.5, 1.5, m.running_var.shape)
            m.weight.array[...] = rng.uniform(0.5, 1.5, m.weight.shape)
            m.bias.array[...] = rng.normal(0, 0.1, m.bias.shape)


def test_each_condensing_stage_drops_a_quarter_of_the_inputs_in_every_group():
    conv = LearnedGroupConv(16, 32, condense_factor=4, groups=4)
    ember.nn.init.normal_(conv.weight)
    assert conv.group_mask.sum(axis=1).tolist() == [16] * 4
    for stage in (1, 2, 3):
        conv.condense_step()
        assert conv.stage == stage
        assert conv.group_mask.sum(axis=1).tolist() == [16 - 4 * stage] * 4
    assert conv.fully_condensed
    with pytest.raises(RuntimeError, match="fully condensed"):
        conv.condense_step()


def test_condensing_drops_the_least_important_inputs_of_each_group():
    conv = LearnedGroupConv(8, 4, condense_factor=2, groups=2)   # filters 0, 2 → group 0; 1, 3 → group 1
    w = np.ones((4, 8), np.float32)
    w[0, :4] = w[2, :4] = 0.01   # group 0 barely uses inputs 0-3
    w[1, 4:] = w[3, 4:] = 0.01   # group 1 barely uses inputs 4-7
    conv.weight.array[...] = w[:, :, None, None]
    conv.condense_step()
    assert conv.group_mask[0].tolist() == [False] * 4 + [True] * 4
    assert conv.group_mask[1].tolist() == [True] * 4 + [False] * 4


def test_masked_weights_get_no_gradient():
    conv = LearnedGroupConv(8, 8, condense_factor=2, groups=2)
    ember.nn.init.normal_(conv.weight)
    conv.condense_step()
    conv(ember.randn(2, 8, 4, 4)).sum().backward()
    mask = conv.mask.array.astype(bool)
    assert np.all(conv.weight.grad.array[~mask] == 0) and np.any(conv.weight.grad.array[mask] != 0)


def test_update_condensation_follows_the_schedule():
    model = small_condensenet()
    # C = 4: stage s at progress s/6, all three stages done by half-way through training
    assert [model.update_condensation(p) for p in (0.0, 0.1, 0.17, 0.34, 0.5, 0.9)] == [0, 0, 1, 2, 3, 3]
    assert all(m.fully_condensed for m in model.learned_group_convs())


def test_condensed_model_gives_the_same_outputs_as_before_conversion():
    rng = np.random.default_rng(0)
    model = small_condensenet()
    model.train()
    for p in model.parameters():  # perturb all weights, as training would
        p.array += rng.normal(0, 0.01, p.shape).astype(p.array.dtype)
    model.update_condensation(1.0)
    randomise_batch_norm_statistics(model, rng)
    model.eval()
    x = ember.randn(3, 3, 32, 32)
    before = model(x).detach().numpy()
    n_before = model.num_parameters()
    model.condense()
    assert not any(isinstance(m, LearnedGroupConv) for m in model.modules())
    assert sum(isinstance(m, CondensedConv) for m in model.modules()) == 4
    after = model(x).detach().numpy()
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    assert model.num_parameters() < n_before
    # the condensed 1×1 convolutions are ordinary group convolutions with G groups
    convs = [m.conv for m in model.modules() if isinstance(m, CondensedConv)]
    assert all(c.groups == 4 and c.weight.shape[1] * 4 == c.in_channels for c in convs)


def test_condensed_model_still_trains():
    model = small_condensenet()
    model.update_condensation(1.0)
    model.condense()
    out = model(ember.randn(2, 3, 32, 32))
    out.sum().backward()
    assert all(p.grad is not None and np.isfinite(p.grad.array).all() for p in model.parameters())


def test_condensing_before_the_last_stage_is_an_error():
    model = small_condensenet()
    model.update_condensation(0.2)
    with pytest.raises(RuntimeError, match="finish the condensing stages"):
        model.condense()


def test_group_lasso_is_the_sum_of_group_norms_and_differentiable():
    conv = LearnedGroupConv(4, 4, condense_factor=2, groups=2)
    w = np.arange(16, dtype=np.float32).reshape(4, 4)
    conv.weight.array[...] = w[:, :, None, None]
    expected = sum(np.sqrt(w[g::2, j] @ w[g::2, j]) for g in range(2) for j in range(4))
    loss = conv.group_lasso()
    assert float(loss.item()) == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert np.isfinite(conv.weight.grad.array).all()
    model = small_condensenet()
    assert float(model.group_lasso_loss().item()) > 0


def test_channel_shuffle_interleaves_the_groups():
    x = ember.arange(6, dtype=ember.float32).reshape(1, 6, 1, 1)
    assert channel_shuffle(x, 2).detach().numpy().ravel().tolist() == [0, 3, 1, 4, 2, 5]


def test_constructor_validates_its_arguments():
    with pytest.raises(ValueError, match="divisible by groups"):
        zoo.condensenet(input_size=32, stages=(2,), growth=(6,))
    with pytest.raises(ValueError, match="equally long"):
        zoo.condensenet(input_size=32, stages=(2, 2), growth=(8,))
    with pytest.raises(ValueError, match="divisible by condense_factor"):
        LearnedGroupConv(10, 8, condense_factor=4, groups=4)
