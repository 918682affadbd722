"""CondenseNet (Huang, Liu, van der Maaten & Weinberger 2018): a DenseNet made cheap with *learned*
group convolutions.

A group convolution splits the channels into G groups that are convolved independently (G times
fewer weights and multiply-accumulates), but a fixed split cuts every filter off from most of its
inputs. CondenseNet lets training choose which inputs each group keeps. The 1×1 convolution of every
dense layer is a ``LearnedGroupConv``: its output filters are split into G groups (filter j belongs to
group j mod G, which also shuffles the groups for the 3×3 group convolution that follows), and during
the first half of training, at C − 1 evenly spaced *condensing stages*, each group drops the 1/C of its
input channels whose weights matter least (smallest L1 norm over the group's filters; a group-lasso
penalty, ``group_lasso_loss``, pushes whole groups of weights towards zero beforehand). After the last
stage every group reads exactly in/C of the input channels, and ``condense()`` rewrites each layer as
a gather of the kept channels followed by an ordinary group convolution with G groups — the same
function with C times fewer weights in those layers.

Dense layer: LearnedGroupConv 1×1 (BN → ReLU → masked conv, to 4·k channels) → BN → ReLU → 3×3 group
conv (G groups, k channels), concatenated to its input. Unlike DenseNet the growth rate k doubles from
block to block and transitions are only 2×2 average pooling. ImageNet form: 3×3 stride-2 stem with
2·k₀ channels, blocks of 4-6-8-10-8 layers with k = 8-16-32-64-128; CIFAR form (small inputs): stride-1
stem, blocks of 14-14-14 layers with k = 8-16-32. Final BN → ReLU → global average pooling → linear.
The parameter count is given by ``condensenet_num_parameters``.
"""
from __future__ import annotations

import numpy as np

import ember
from ember import nn
from ember.models._common import check_common, check_int, check_probability, init_conv_bn_, is_small
from ember.models.registry import register_model
from ember.models.summary import SummaryMixin
from ember.nn import functional as F

IMAGENET_STAGES, IMAGENET_GROWTH = (4, 6, 8, 10, 8), (8, 16, 32, 64, 128)
CIFAR_STAGES, CIFAR_GROWTH = (14, 14, 14), (8, 16, 32)


def channel_shuffle(x, groups: int):
    """Interleave the channels of ``groups`` equal groups: channel i·(C/g) + k moves to k·g + i."""
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class LearnedGroupConv(nn.Module):
    """BN → ReLU → (dropout) → 1×1 convolution whose weight is multiplied by a 0/1 ``mask`` buffer.

    Output filter j belongs to group j mod G. ``condense_step()`` zeroes, in every group, the mask of
    the in/C still-active input channels with the smallest summed |weight| over that group's filters;
    after C − 1 steps each group keeps in/C channels (``fully_condensed``)."""

    def __init__(self, in_channels: int, out_channels: int, condense_factor: int = 4, groups: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        in_channels, out_channels = check_int("in_channels", in_channels), check_int("out_channels", out_channels)
        self.condense_factor, self.groups = check_int("condense_factor", condense_factor), check_int("groups", groups)
        if in_channels % condense_factor:
            raise ValueError(f"in_channels ({in_channels}) must be divisible by condense_factor ({condense_factor})")
        if out_channels % groups:
            raise ValueError(f"out_channels ({out_channels}) must be divisible by groups ({groups})")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(check_probability("dropout", dropout)) if dropout > 0 else nn.Identity()
        self.weight = nn.Parameter(ember.empty(out_channels, in_channels, 1, 1))
        self.register_buffer("mask", ember.ones(out_channels, in_channels, 1, 1))

    @property
    def group_mask(self) -> np.ndarray:
        """(G, in) booleans: which input channels each group still reads."""
        return self.mask.array[:, :, 0, 0].reshape(-1, self.groups, self.in_channels)[0].astype(bool)

    @property
    def stage(self) -> int:
        """How many condensing stages have been applied (0 … C − 1)."""
        dropped = self.in_channels - int(self.group_mask[0].sum())
        return dropped // (self.in_channels // self.condense_factor)

    @property
    def fully_condensed(self) -> bool:
        return self.stage >= self.condense_factor - 1

    def condense_step(self) -> None:
        """One condensing stage: every group drops in/C more input channels, the least important ones."""
        if self.fully_condensed:
            raise RuntimeError(f"this layer is fully condensed already (C − 1 = {self.condense_factor - 1} stages)")
        delta = self.in_channels // self.condense_factor
        w = np.abs(self.weight.array[:, :, 0, 0] * self.mask.array[:, :, 0, 0])
        importance = w.reshape(-1, self.groups, self.in_channels).sum(axis=0)  # (G, in): filters j ≡ g (mod G)
        mask = self.mask.array.reshape(-1, self.groups, self.in_channels).copy()
        for g in range(self.groups):
            score = np.where(self.group_mask[g], importance[g], np.inf)  # dropped channels are never re-chosen
            drop = np.argsort(score, kind="stable")[:delta]
            mask[:, g, drop] = 0.0
        self.mask.array[...] = mask.reshape(self.mask.shape)

    def group_lasso(self):
        """Σ over groups and input channels of the L2 norm of that group's weights on that channel."""
        w = (self.weight * self.mask).reshape(-1, self.groups, self.in_channels)
        return ((w * w).sum(0).clamp(min=1e-12)).sqrt().sum()

    def macs(self, output) -> int:
        """Multiply-accumulates per example of the weights still in use."""
        return int(output.shape[2] * output.shape[3] * self.mask.array.sum())

    def forward(self, x):
        return F.conv2d(self.dropout(self.relu(self.norm(x))), self.weight * self.mask)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, condense_factor={self.condense_factor}, "
                f"groups={self.groups}, stage={self.stage}")


class CondensedConv(nn.Module):
    """The inference form of a fully condensed ``LearnedGroupConv``: gather the G·in/C kept input
    channels (group by group) → BN → ReLU → 1×1 group convolution (G groups) → channel shuffle back to
    the original filter order."""

    def __init__(self, learned: LearnedGroupConv):
        super().__init__()
        if not learned.fully_condensed:
            raise RuntimeError(f"cannot condense a LearnedGroupConv at stage {learned.stage} of "
                               f"{learned.condense_factor - 1}; finish the condensing stages first")
        g, out = learned.groups, learned.out_channels
        keep = learned.in_channels // learned.condense_factor
        per_group = [np.flatnonzero(learned.group_mask[i])[:keep] for i in range(g)]
        index = np.concatenate(per_group)
        self.groups = g
        self.register_buffer("index", ember.tensor(index.astype(np.int64)))
        self.norm = nn.BatchNorm2d(len(index), eps=learned.norm.eps, momentum=learned.norm.momentum)
        for name in ("weight", "bias"):
            getattr(self.norm, name).array[...] = getattr(learned.norm, name).array[index]
        for name in ("running_mean", "running_var"):
            getattr(self.norm, name).array[...] = getattr(learned.norm, name).array[index]
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(len(index), out, 1, groups=g, bias=False)
        w = learned.weight.array[:, :, 0, 0]
        new = np.empty((out, keep), dtype=w.dtype)
        d = out // g
        for i in range(g):  # group i's filters are i, i+G, i+2G, ...; they become outputs i·d … i·d + d − 1
            new[i * d:(i + 1) * d] = w[i::g][:, per_group[i]]
        self.conv.weight.array[...] = new[:, :, None, None]

    def forward(self, x):
        return channel_shuffle(self.conv(self.relu(self.norm(x[:, self.index]))), self.groups)


class CondenseLayer(nn.Module):
    """LearnedGroupConv 1×1 (→ bottleneck·k) → BN → ReLU → 3×3 group conv (→ k); returns cat(x, new)."""

    def __init__(self, in_channels: int, growth_rate: int, bottleneck: int, condense_factor: int, groups: int,
                 dropout: float):
        super().__init__()
        inner = bottleneck * growth_rate
        self.conv1 = LearnedGroupConv(in_channels, inner, condense_factor, groups, dropout)
        self.conv2 = nn.Sequential(nn.BatchNorm2d(inner), nn.ReLU(),
                                   nn.Conv2d(inner, growth_rate, 3, padding=1, groups=groups, bias=False))

    def forward(self, x):
        return ember.cat([x, self.conv2(self.conv1(x))], dim=1)


class CondenseNet(SummaryMixin, nn.Module):
    """Training form with learned group convolutions; ``update_condensation(progress)`` applies the
    condensing stages due at a fraction ``progress`` of training (stage s of C − 1 at progress
    s/(2(C − 1)), all done by half-way), ``condense()`` converts to the inference form.
    Initialisation as the reference: He normal (fan-out) convolutions, BN γ=1 β=0, zero linear bias."""

    def __init__(self, stages, growth, num_classes: int = 1000, in_channels: int = 3, input_size: int = 224,
                 condense_factor: int = 4, groups: int = 4, bottleneck: int = 4, dropout: float = 0.0):
        super().__init__()
        num_classes, in_channels, input_size = check_common(num_classes, in_channels, input_size, min_size=8)
        if not isinstance(stages, (list, tuple)) or not isinstance(growth, (list, tuple)) or \
                len(stages) != len(growth) or not stages:
            raise ValueError(f"stages and growth must be equally long lists (layers and growth rate per block), "
                             f"got {stages!r} and {growth!r}")
        self.condense_factor, self.groups = check_int("condense_factor", condense_factor), check_int("groups", groups)
        bottleneck = check_int("bottleneck", bottleneck)
        for i, k in enumerate(growth):
            if check_int(f"growth[{i}]", k) % groups:
                raise ValueError(f"every growth rate must be divisible by groups ({groups}), got {k}")
            if k % condense_factor:
                raise ValueError(f"every growth rate must be divisible by condense_factor ({condense_factor}), got {k}")
        c = 2 * growth[0]
        layers = [nn.Conv2d(in_channels, c, 3, stride=1 if is_small(input_size) else 2, padding=1, bias=False)]
        for i, (n, k) in enumerate(zip(stages, growth)):
            if i > 0:
                layers.append(nn.AvgPool2d(2, stride=2))  # transition: pooling only
            for _ in range(check_int(f"stages[{i}]", n)):
                layers.append(CondenseLayer(c, k, bottleneck, condense_factor, groups, dropout))
                c += k
        layers += [nn.BatchNorm2d(c), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)
        self.default_input_shape = (in_channels, input_size, input_size)
        self.condensed = False
        init_conv_bn_(self, linear=lambda m: nn.init.zeros_(m.bias), conv_types=(LearnedGroupConv,))

    def learned_group_convs(self) -> list[LearnedGroupConv]:
        return [m for m in self.modules() if isinstance(m, LearnedGroupConv)]

    def update_condensation(self, progress: float) -> int:
        """Apply the condensing stages due at ``progress`` ∈ [0, 1] of training; returns the stage reached."""
        if self.condensed:
            raise RuntimeError("this CondenseNet has been converted by condense() already")
        if not 0.0 <= progress <= 1.0:
            raise ValueError(f"progress must be in [0, 1], got {progress!r}")
        last = self.condense_factor - 1
        target = min(last, int(progress * 2 * last))
        for m in self.learned_group_convs():
            while m.stage < target:
                m.condense_step()
        return target

    def group_lasso_loss(self):
        """The group-lasso penalty over all learned group convolutions (add λ·this to the loss)."""
        terms = [m.group_lasso() for m in self.learned_group_convs()]
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        return total

    def condense(self) -> "CondenseNet":
        """Replace every (fully condensed) LearnedGroupConv by its gather + group-conv form, in place."""
        if self.condensed:
            return self
        layers = [m for m in self.modules() if isinstance(m, CondenseLayer)]
        for layer in layers:
            layer.add_module("conv1", CondensedConv(layer.conv1).train(layer.training))
        self.condensed = True
        return self

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def condensenet_num_parameters(stages, growth, num_classes: int = 1000, in_channels: int = 3, groups: int = 4,
                               condense_factor: int = 4, bottleneck: int = 4, condensed: bool = False) -> int:
    """The formula. Stem 9·in·2k₀. A dense layer with c inputs and growth k: BN 2c, 1×1 conv c·bk
    (c/C·bk once condensed, where its BN also covers G·c/C gathered channels: 2·G·c/C), BN 2·bk, 3×3 group
    conv 9·bk·k/G. Final BN 2c, linear c·classes + classes."""
    c = 2 * growth[0]
    total = 9 * in_channels * c
    for n, k in zip(stages, growth):
        for _ in range(n):
            bk = bottleneck * k
            if condensed:
                total += 2 * groups * c // condense_factor + c // condense_factor * bk
            else:
                total += 2 * c + c * bk
            total += 2 * bk + 9 * bk * k // groups
            c += k
    return total + 2 * c + c * num_classes + num_classes


@register_model
def condensenet(num_classes: int = 1000, in_channels: int = 3, input_size: int = 224, stages=None, growth=None,
                condense_factor: int = 4, groups: int = 4, dropout: float = 0.0) -> CondenseNet:
    """CondenseNet (dense blocks with learned group convolutions, C = G = 4); CIFAR form for small inputs."""
    small = is_small(check_int("input_size", input_size))
    stages = stages if stages is not None else (CIFAR_STAGES if small else IMAGENET_STAGES)
    growth = growth if growth is not None else (CIFAR_GROWTH if small else IMAGENET_GROWTH)
    return CondenseNet(stages, growth, num_classes, in_channels, input_size, condense_factor, groups, 4, dropout)
