"""EfficientNet's compound scaling reproduces the reference's B0-B3 table and parameter counts."""
from __future__ import annotations

import math

import pytest

import ember
import ember.models as zoo
from ember.models.efficientnet import ALPHA, BETA, GAMMA, VARIANT_PHI, compound_scaling, round_filters, round_repeats

# the reference's (width, depth, resolution, dropout) per variant
REFERENCE_TABLE = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
}
# trainable parameters at 1000 classes, matching torchvision's reference
REFERENCE_COUNTS = {"b0": 5_288_548, "b1": 7_794_184, "b2": 9_109_994, "b3": 12_233_232}


def test_compound_bases_satisfy_the_flops_constraint():
    # α·β²·γ² ≈ 2: each unit of φ about doubles the FLOPs
    assert ALPHA * BETA ** 2 * GAMMA ** 2 == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize("variant", sorted(REFERENCE_TABLE))
def test_scaling_table_matches_the_reference(variant):
    width, depth, resolution, dropout = REFERENCE_TABLE[variant]
    assert compound_scaling(VARIANT_PHI[variant]) == (width, depth, resolution)
    model = zoo.get(f"efficientnet_{variant}")
    assert (model.width_mult, model.depth_mult, model.resolution) == (width, depth, resolution)
    assert model.default_input_shape == (3, resolution, resolution)
    assert model.classifier[0].p == dropout


@pytest.mark.parametrize("variant", ["b1", "b2", "b3"])
def test_scaled_variant_parameter_counts_match_the_reference(variant):
    assert zoo.get(f"efficientnet_{variant}").num_parameters() == REFERENCE_COUNTS[variant]


def test_scaling_grows_monotonically_with_phi():
    rows = [compound_scaling(phi) for phi in (0, 0.5, 1, 2, 3)]
    for earlier, later in zip(rows, rows[1:]):
        assert all(b >= a for a, b in zip(earlier, later))


def test_round_filters_uses_multiples_of_8_and_never_drops_more_than_10_percent():
    assert round_filters(32, 1.0) == 32
    assert round_filters(112, 1.1) == 120      # 123.2 → 120
    assert round_filters(40, 1.2) == 48        # 48
    assert round_filters(16, 1.1) == 16        # 17.6 → 16
    for c in (16, 24, 40, 80, 112, 192, 320):
        for w in (1.0, 1.1, 1.2, 1.4, 2.0):
            r = round_filters(c, w)
            assert r % 8 == 0 and r >= 0.9 * c * w


def test_round_repeats_rounds_up():
    assert [round_repeats(n, 1.1) for n in (1, 2, 3, 4)] == [2, 3, 4, 5]
    assert round_repeats(3, 1.0) == 3
    assert round_repeats(4, 1.4) == math.ceil(5.6)


def test_depth_multiplier_sets_the_number_of_mbconv_blocks():
    from ember.models.efficientnet import B0_STAGES, MBConv
    for variant in ("b0", "b2"):
        model = zoo.get(f"efficientnet_{variant}", num_classes=10, input_size=32)
        blocks = sum(isinstance(m, MBConv) for m in model.modules())
        assert blocks == sum(round_repeats(s[-1], REFERENCE_TABLE[variant][1]) for s in B0_STAGES)


def test_stochastic_depth_rate_rises_linearly_over_the_residual_blocks():
    from ember.models.efficientnet import MBConv
    model = zoo.efficientnet_b0(num_classes=10, input_size=32, drop_path_rate=0.2)
    blocks = [m for m in model.modules() if isinstance(m, MBConv)]
    assert len(blocks) == 16
    for i, b in enumerate(blocks):  # block i of L = 16 drops its branch with probability 0.2·i/L
        if b.use_residual:
            assert b.drop_path.p == pytest.approx(0.2 * i / 16)
        else:
            assert isinstance(b.drop_path, ember.nn.Identity)


def test_mbconv_has_squeeze_excitation_and_silu():
    from ember.models.efficientnet import MBConv
    from ember.models.senet import SqueezeExcitation
    block = next(m for m in zoo.efficientnet_b0().modules() if isinstance(m, MBConv))
    kinds = {type(m).__name__ for m in block.modules()}
    assert "SiLU" in kinds and any(isinstance(m, SqueezeExcitation) for m in block.modules())


def test_phi_is_validated():
    with pytest.raises(ValueError, match="phi"):
        zoo.efficientnet(-1)
