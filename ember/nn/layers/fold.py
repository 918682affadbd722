"""Unfold and Fold layers: sliding blocks as columns (im2col) and columns back into an image (col2im)."""
from __future__ import annotations

from ember.nn.functional.fold import IntOrPair, fold, unfold
from ember.nn.layers._util import int_or_pair
from ember.nn.module import Module
from ember.tensor import Tensor

__all__ = ["Unfold", "Fold"]


class Unfold(Module):
    """(N, C, H, W) → (N, C·kh·kw, L): each block of the zero-padded input as a column (see F.unfold for the
    layout). No parameters; the geometry is checked here so a bad value fails when the layer is built."""

    def __init__(self, kernel_size: IntOrPair, dilation: IntOrPair = 1, padding: IntOrPair = 0,
                 stride: IntOrPair = 1):
        super().__init__()
        self.kernel_size = int_or_pair(kernel_size, "kernel_size", "Unfold")
        self.dilation = int_or_pair(dilation, "dilation", "Unfold")
        self.padding = int_or_pair(padding, "padding", "Unfold", allow_zero=True)
        self.stride = int_or_pair(stride, "stride", "Unfold")

    def forward(self, input: Tensor) -> Tensor:
        return unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Module):
    """(N, C·kh·kw, L) → (N, C, H, W) with (H, W) = ``output_size``: the columns summed back into the image,
    overlaps added (see F.fold). No parameters."""

    def __init__(self, output_size: IntOrPair, kernel_size: IntOrPair, dilation: IntOrPair = 1,
                 padding: IntOrPair = 0, stride: IntOrPair = 1):
        super().__init__()
        self.output_size = int_or_pair(output_size, "output_size", "Fold")
        self.kernel_size = int_or_pair(kernel_size, "kernel_size", "Fold")
        self.dilation = int_or_pair(dilation, "dilation", "Fold")
        self.padding = int_or_pair(padding, "padding", "Fold", allow_zero=True)
        self.stride = int_or_pair(stride, "stride", "Fold")

    def forward(self, input: Tensor) -> Tensor:
        return fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")
