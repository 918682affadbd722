"""One table of op cases, shared by the float64 gradchecks and the float32 PyTorch parity tests.

Each case is written once against a library handle: ``fn(lib, F, *xs)`` where ``lib`` is ``ember``
or ``torch`` and ``F`` is its ``nn.functional``; the two share PyTorch's names, so the same lambda
runs on both. Inputs are described by shape and kind:

- ``n``: standard normal;
- ``p``: positive, uniform in [0.5, 2] (log, sqrt, division, powers with a tensor exponent);
- ``z``: away from zero, |x| in [0.3, 2] (kinks at 0: abs, relu, leaky relu, prelu, elu);
- ``u``: distinct values at least 0.1 apart (max, min, pooling, clamp: no ties, no value within
  finite-difference reach of a kink).

Constant arguments (indices, masks, conditions, random samples) are NumPy arrays made here with a
fixed seed and turned into a tensor of the library at call time with ``lib.tensor``.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Case:
    id: str
    fn: Callable
    inputs: tuple  # ((shape, kind), ...)
    parity: bool = True  # False where PyTorch has no equivalent call (e.g. negative-step slices)


def make_inputs(case: Case, dtype, rng: np.random.Generator | None = None) -> list[np.ndarray]:
    """Deterministic arrays for ``case`` (seeded by its id)."""
    rng = rng or np.random.default_rng(zlib.crc32(case.id.encode()))
    out = []
    for shape, kind in case.inputs:
        size = int(np.prod(shape))
        if kind == "n":
            a = rng.standard_normal(shape)
        elif kind == "p":
            a = rng.uniform(0.5, 2.0, shape)
        elif kind == "z":
            a = rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
        elif kind == "u":
            a = ((rng.permutation(size) - size / 2) * 0.13 + 0.017).reshape(shape)
        else:
            raise ValueError(f"unknown input kind {kind!r}")
        out.append(np.asarray(a, dtype=dtype))
    return out


def _c(rng_seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(rng_seed)


def _grid_mix(grids):
    """Every grid of a meshgrid in one output (each input then has a gradient to check)."""
    x, y, z = grids
    return x * y + z


def _assigned(a, b, index):
    """``y = 1.5·a; y[index] = b``: assignment into a tensor of the graph (recorded as a node)."""
    y = a * 1.5
    y[index] = b
    return y * y


def T(lib, array):
    """A constant (non-differentiable) tensor of the given library."""
    return lib.tensor(np.asarray(array))


# ----------------------------------------------------------------------------------------- elementwise

COND = _c(1).random((3, 4)) > 0.5
ELEMENTWISE = [
    Case("add", lambda lib, F, a, b: a + b, (((3, 4), "n"), ((3, 4), "n"))),
    Case("add_bcast_row", lambda lib, F, a, b: a + b, (((3, 4), "n"), ((4,), "n"))),
    Case("add_bcast_both", lambda lib, F, a, b: lib.add(a, b), (((2, 1, 4), "n"), ((3, 1), "n"))),
    Case("add_size1", lambda lib, F, a, b: a + b, (((1, 1), "n"), ((2, 3), "n"))),
    Case("add_same_tensor", lambda lib, F, a: a + a * a, (((3, 2), "n"),)),
    Case("radd_scalar", lambda lib, F, a: 2.5 + a, (((3, 4), "n"),)),
    Case("sub", lambda lib, F, a, b: a - b, (((3, 4), "n"), ((3, 1), "n"))),
    Case("rsub_scalar", lambda lib, F, a: 1.5 - a, (((4,), "n"),)),
    Case("mul", lambda lib, F, a, b: a * b, (((2, 3, 4), "n"), ((3, 1), "n"))),
    Case("div", lambda lib, F, a, b: a / b, (((3, 4), "n"), ((4,), "z"))),
    Case("rdiv_scalar", lambda lib, F, a: 2.0 / a, (((3, 4), "z"),)),
    Case("neg", lambda lib, F, a: -a, (((3, 4), "n"),)),
    Case("pow_scalar", lambda lib, F, a: a ** 2.5, (((3, 4), "p"),)),
    Case("pow_int", lambda lib, F, a: a ** 3, (((3, 4), "n"),)),
    Case("pow_negative", lambda lib, F, a: lib.pow(a, -1.5), (((3, 4), "p"),)),
    Case("pow_tensor", lambda lib, F, a, b: a ** b, (((3, 4), "p"), ((4,), "n"))),
    Case("rpow_scalar_base", lambda lib, F, a: 2.0 ** a, (((3, 4), "n"),)),
    Case("matmul_1d_1d", lambda lib, F, a, b: lib.matmul(a, b), (((5,), "n"), ((5,), "n"))),
    Case("matmul_2d_1d", lambda lib, F, a, b: lib.matmul(a, b), (((3, 5), "n"), ((5,), "n"))),
    Case("matmul_1d_2d", lambda lib, F, a, b: lib.matmul(a, b), (((5,), "n"), ((5, 2), "n"))),
    Case("matmul_2d", lambda lib, F, a, b: a @ b, (((3, 5), "n"), ((5, 2), "n"))),
    Case("matmul_batched", lambda lib, F, a, b: a @ b, (((2, 3, 4), "n"), ((2, 4, 2), "n"))),
    Case("matmul_batch_times_2d", lambda lib, F, a, b: a @ b, (((2, 3, 4), "n"), ((4, 2), "n"))),
    Case("matmul_bcast_batch", lambda lib, F, a, b: a @ b, (((2, 1, 2, 3), "n"), ((3, 3, 2), "n"))),
    Case("matmul_1d_batched", lambda lib, F, a, b: lib.matmul(a, b), (((3,), "n"), ((2, 3, 2), "n"))),
    Case("matmul_batched_1d", lambda lib, F, a, b: lib.matmul(a, b), (((2, 2, 3), "n"), ((3,), "n"))),
    Case("exp", lambda lib, F, a: lib.exp(a), (((3, 4), "n"),)),
    Case("log", lambda lib, F, a: lib.log(a), (((3, 4), "p"),)),
    Case("sqrt", lambda lib, F, a: lib.sqrt(a), (((3, 4), "p"),)),
    Case("abs", lambda lib, F, a: lib.abs(a), (((3, 4), "z"),)),
    Case("maximum", lambda lib, F, a, b: lib.maximum(a, b), (((3, 4), "u"), ((4,), "n"))),
    Case("minimum", lambda lib, F, a, b: lib.minimum(a, b), (((3, 1), "u"), ((3, 4), "n"))),
    Case("clamp_both", lambda lib, F, a: lib.clamp(a, min=-0.5, max=0.6), (((4, 5), "u"),)),
    Case("clamp_min", lambda lib, F, a: lib.clamp(a, min=-0.2), (((4, 5), "u"),)),
    Case("clamp_max", lambda lib, F, a: a.clamp(max=0.3), (((4, 5), "u"),)),
    Case("where", lambda lib, F, a, b: lib.where(T(lib, COND), a, b), (((3, 4), "n"), ((4,), "n"))),
    Case("where_scalar", lambda lib, F, a: lib.where(T(lib, COND), a, 0.0), (((3, 4), "n"),)),
    Case("sin", lambda lib, F, a: lib.sin(a * 2), (((3, 4), "n"),)),
    Case("cos", lambda lib, F, a: a.cos(), (((3, 4), "n"),)),
    Case("tan", lambda lib, F, a: lib.tan(a * 0.5), (((3, 4), "n"),)),
    Case("erf", lambda lib, F, a: lib.erf(a), (((3, 4), "n"),)),
    Case("log2", lambda lib, F, a: lib.log2(a), (((3, 4), "p"),)),
    Case("log10", lambda lib, F, a: a.log10(), (((3, 4), "p"),)),
    Case("reciprocal", lambda lib, F, a: lib.reciprocal(a), (((3, 4), "z"),)),
    Case("atan2", lambda lib, F, a, b: lib.atan2(a, b), (((3, 4), "n"), ((4,), "z"))),
    # rounding: the gradient is zero (the "+ a" keeps a non-trivial gradient to compare)
    Case("floor", lambda lib, F, a: lib.floor(a * 3) + a, (((3, 4), "n"),)),
    Case("ceil", lambda lib, F, a: a.ceil() * 1.0, (((3, 4), "n"),)),
    Case("round", lambda lib, F, a: lib.round(a * 3), (((3, 4), "n"),)),
    Case("round_decimals", lambda lib, F, a: lib.round(a * 3, decimals=1), (((3, 4), "n"),)),
    Case("trunc", lambda lib, F, a: lib.trunc(a * 3), (((3, 4), "n"),)),
    Case("frac", lambda lib, F, a: lib.frac(a * 3), (((3, 4), "n"),)),
    Case("clamp_min_fn", lambda lib, F, a: lib.clamp_min(a, 0.1), (((4, 5), "u"),)),
    Case("clamp_max_method", lambda lib, F, a: a.clamp_max(-0.2), (((4, 5), "u"),)),
    Case("lerp_scalar", lambda lib, F, a, b: lib.lerp(a, b, 0.3), (((3, 4), "n"), ((3, 4), "n"))),
    Case("lerp_tensor_weight", lambda lib, F, a, b, w: a.lerp(b, w), (((3, 4), "n"), ((4,), "n"), ((3, 1), "n"))),
    Case("outer", lambda lib, F, a, b: lib.outer(a, b), (((3,), "n"), ((4,), "n"))),
    Case("dot", lambda lib, F, a, b: lib.dot(a, b), (((5,), "n"), ((5,), "n"))),
    Case("einsum_matmul", lambda lib, F, a, b: lib.einsum("ij,jk->ik", a, b), (((3, 4), "n"), ((4, 2), "n"))),
    Case("einsum_implicit", lambda lib, F, a, b: lib.einsum("ij,jk", a, b), (((3, 4), "n"), ((4, 2), "n"))),
    Case("einsum_implicit_transpose", lambda lib, F, a: lib.einsum("ji", a), (((3, 4), "n"),)),
    Case("einsum_batched", lambda lib, F, a, b: lib.einsum("bij,bjk->bik", a, b),
         (((2, 3, 4), "n"), ((2, 4, 2), "n"))),
    Case("einsum_attention", lambda lib, F, q, k: lib.einsum("bhqd,bhkd->bhqk", q, k),
         (((2, 2, 3, 4), "n"), ((2, 2, 5, 4), "n"))),
    Case("einsum_three", lambda lib, F, a, b, c: lib.einsum("i,ij,jk->k", a, b, c),
         (((3,), "n"), ((3, 4), "n"), ((4, 2), "n"))),
    Case("einsum_sum_all", lambda lib, F, a: lib.einsum("ij->", a), (((3, 4), "n"),)),
    Case("einsum_label_in_one_operand", lambda lib, F, a, b: lib.einsum("ij,k->ik", a, b),
         (((3, 4), "n"), ((2,), "n"))),
    Case("einsum_ellipsis", lambda lib, F, a, b: lib.einsum("...ij,jk->...ik", a, b),
         (((2, 3, 4), "n"), ((4, 2), "n"))),
    Case("einsum_list_operands", lambda lib, F, a, b: lib.einsum("i,j->ij", [a, b]), (((3,), "n"), ((2,), "n"))),
]

# ----------------------------------------------------------------------------------------- reductions

# cumprod through zeros
ZEROS = np.array([[1.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0], [1.0, 1.0, 1.0, 0.0]], np.float32)

REDUCE = [
    Case("sum_all", lambda lib, F, a: a.sum(), (((3, 4), "n"),)),
    Case("sum_dim", lambda lib, F, a: a.sum(dim=1), (((2, 3, 4), "n"),)),
    Case("sum_dims_keepdim", lambda lib, F, a: lib.sum(a, dim=(0, 2), keepdim=True), (((2, 3, 4), "n"),)),
    Case("sum_negative_dim", lambda lib, F, a: a.sum(dim=-1), (((2, 1, 4), "n"),)),
    Case("mean_all", lambda lib, F, a: a.mean(), (((3, 4), "n"),)),
    Case("mean_dim_keepdim", lambda lib, F, a: a.mean(dim=0, keepdim=True), (((3, 4), "n"),)),
    Case("mean_dims", lambda lib, F, a: lib.mean(a, dim=(1, 2)), (((2, 3, 4), "n"),)),
    Case("max_all", lambda lib, F, a: a.max(), (((3, 4), "u"),)),
    Case("max_dim", lambda lib, F, a: a.max(dim=1).values, (((3, 4), "u"),)),
    Case("max_dim_keepdim", lambda lib, F, a: lib.max(a, dim=0, keepdim=True)[0], (((3, 4), "u"),)),
    Case("min_all", lambda lib, F, a: lib.min(a), (((3, 4), "u"),)),
    Case("min_dim", lambda lib, F, a: a.min(dim=-1).values, (((2, 3, 4), "u"),)),
    Case("amax_dims", lambda lib, F, a: lib.amax(a, dim=(0, 2)), (((2, 3, 4), "u"),)),
    Case("var_all", lambda lib, F, a: a.var(), (((3, 4), "n"),)),
    Case("var_dim_biased", lambda lib, F, a: a.var(dim=1, unbiased=False), (((3, 4), "n"),)),
    Case("var_dim_unbiased_keepdim", lambda lib, F, a: lib.var(a, dim=0, unbiased=True, keepdim=True),
         (((3, 4), "n"),)),
    Case("std_all", lambda lib, F, a: a.std(), (((3, 4), "n"),)),
    Case("std_dim_biased", lambda lib, F, a: lib.std(a, dim=(0, 2), unbiased=False), (((2, 3, 4), "n"),)),
    Case("logsumexp", lambda lib, F, a: lib.logsumexp(a, dim=1), (((3, 4), "n"),)),
    Case("logsumexp_keepdim", lambda lib, F, a: a.logsumexp(dim=0, keepdim=True), (((3, 4), "n"),)),
    Case("prod_all", lambda lib, F, a: a.prod(), (((2, 3), "p"),)),
    Case("prod_dim", lambda lib, F, a: lib.prod(a, dim=1), (((3, 4), "z"),)),
    Case("prod_dim_keepdim", lambda lib, F, a: a.prod(dim=0, keepdim=True), (((3, 4), "z"),)),
    Case("cumsum", lambda lib, F, a: lib.cumsum(a, dim=1), (((3, 4), "n"),)),
    Case("cumsum_negative_dim", lambda lib, F, a: a.cumsum(-3), (((2, 3, 4), "n"),)),
    Case("cumprod", lambda lib, F, a: lib.cumprod(a, 1), (((3, 4), "z"),)),
    Case("cumprod_with_zeros", lambda lib, F, a: (a * T(lib, ZEROS)).cumprod(dim=1), (((3, 4), "z"),)),
    Case("median_all", lambda lib, F, a: lib.median(a), (((3, 4), "u"),)),
    Case("median_dim", lambda lib, F, a: a.median(dim=1).values, (((3, 4), "u"),)),
    Case("median_dim_keepdim_even", lambda lib, F, a: lib.median(a, 0, keepdim=True)[0], (((4, 3), "u"),)),
    Case("var_mean", lambda lib, F, a: lib.var_mean(a, dim=1), (((3, 4), "n"),)),
    Case("std_mean", lambda lib, F, a: lib.std_mean(a, dim=(0, 1), keepdim=True), (((2, 3, 4), "n"),)),
    Case("aminmax", lambda lib, F, a: lib.aminmax(a, dim=1), (((3, 4), "u"),)),
    Case("aminmax_all", lambda lib, F, a: a.aminmax(), (((3, 4), "u"),)),
]

# ----------------------------------------------------------------------------------------- shapes and indexing

ROWS = np.array([0, 1, 1, 2, 0])
LABELS = np.array([3, 0, 0, 2, 3])  # (0, 3) and (1, 0) appear twice: the backward must add, not overwrite
MASK = _c(2).random((3, 4)) > 0.4
GATHER = _c(3).integers(0, 4, size=(3, 5))
SCATTER = np.array([[0, 3, 1], [2, 1, 0], [3, 0, 2]])  # no repeats within a row: overwriting scatter is then defined
SHAPE = [
    Case("reshape", lambda lib, F, a: a.reshape(4, -1), (((2, 3, 4), "n"),)),
    Case("view", lambda lib, F, a: a.view(6, 4) * 1.0, (((2, 3, 4), "n"),)),
    Case("transpose", lambda lib, F, a: lib.transpose(a, 0, 2), (((2, 3, 4), "n"),)),
    Case("permute", lambda lib, F, a: a.permute(2, 0, 1), (((2, 3, 4), "n"),)),
    Case("T_then_matmul", lambda lib, F, a, b: a.T @ b, (((3, 4), "n"), ((3, 2), "n"))),
    Case("flatten", lambda lib, F, a: a.flatten(1), (((2, 3, 4), "n"),)),
    Case("flatten_all", lambda lib, F, a: lib.flatten(a), (((2, 3, 4), "n"),)),
    Case("expand", lambda lib, F, a: a.expand(2, 3, 4), (((3, 1), "n"),)),
    Case("expand_minus_one", lambda lib, F, a: a.expand(-1, 5), (((3, 1), "n"),)),
    Case("squeeze", lambda lib, F, a: a.squeeze(1), (((3, 1, 4), "n"),)),
    Case("squeeze_all", lambda lib, F, a: a.squeeze(), (((1, 3, 1), "n"),)),
    Case("unsqueeze", lambda lib, F, a: a.unsqueeze(-1), (((3, 4), "n"),)),
    Case("cat", lambda lib, F, a, b, c: lib.cat([a, b, c], dim=1), (((2, 1), "n"), ((2, 3), "n"), ((2, 2), "n"))),
    Case("cat_dim0", lambda lib, F, a, b: lib.cat([a, b]), (((1, 3), "n"), ((2, 3), "n"))),
    Case("stack", lambda lib, F, a, b: lib.stack([a, b], dim=1), (((2, 3), "n"), ((2, 3), "n"))),
    Case("stack_last", lambda lib, F, a, b: lib.stack([a, b], dim=-1), (((2, 3), "n"), ((2, 3), "n"))),
    Case("split_size", lambda lib, F, a: lib.split(a, 2, dim=1), (((2, 5), "n"),)),
    Case("split_sections", lambda lib, F, a: a.split([1, 3], dim=1), (((2, 4), "n"),)),
    Case("chunk", lambda lib, F, a: lib.chunk(a, 3, dim=0), (((5, 2), "n"),)),
    Case("pad", lambda lib, F, a: F.pad(a, (1, 2, 0, 1)), (((2, 3, 4), "n"),)),
    Case("pad_value", lambda lib, F, a: F.pad(a, (2, 1), value=0.5), (((3, 4), "n"),)),
    Case("index_int", lambda lib, F, a: a[1], (((3, 4), "n"),)),
    Case("index_slice", lambda lib, F, a: a[:, 1:3], (((3, 4), "n"),)),
    Case("index_step_ellipsis", lambda lib, F, a: a[..., ::2], (((2, 3, 5), "n"),)),
    Case("index_none", lambda lib, F, a: a[:, None, 1], (((3, 4), "n"),)),
    Case("index_negative_step", lambda lib, F, a: a[::-1, 1:], (((3, 4), "n"),), parity=False),
    Case("index_rows_labels", lambda lib, F, a: a[T(lib, ROWS), T(lib, LABELS)], (((3, 4), "n"),)),
    Case("index_repeated", lambda lib, F, a: a[T(lib, [0, 2, 0, 0])], (((3, 4), "n"),)),
    Case("index_list", lambda lib, F, a: a[[2, 2, 1]], (((3, 4), "n"),)),
    Case("index_mask", lambda lib, F, a: a[T(lib, MASK)], (((3, 4), "n"),)),
    Case("index_mixed", lambda lib, F, a: a[1:, T(lib, [3, 3, 0])], (((3, 4), "n"),)),
    Case("gather", lambda lib, F, a: lib.gather(a, 1, T(lib, GATHER)), (((3, 4), "n"),)),
    Case("flip", lambda lib, F, a: lib.flip(a, (0, 2)), (((2, 3, 4), "n"),)),
    Case("repeat", lambda lib, F, a: a.repeat(2, 1, 3), (((3, 2), "n"),)),
    Case("index_select", lambda lib, F, a: a.index_select(1, T(lib, [3, 0, 3])), (((3, 4), "n"),)),
    Case("index_select_fn", lambda lib, F, a: lib.index_select(a, -3, T(lib, [1, 1])), (((2, 3, 4), "n"),)),
    Case("masked_fill", lambda lib, F, a: a.masked_fill(T(lib, MASK), -1.5), (((3, 4), "n"),)),
    Case("masked_fill_row_mask", lambda lib, F, a: lib.masked_fill(a, T(lib, MASK[0]), 0.0), (((3, 4), "n"),)),
    Case("unbind", lambda lib, F, a: a.unbind(1), (((2, 3), "n"),)),
    Case("narrow", lambda lib, F, a: a.narrow(1, 1, 2), (((3, 4), "n"),)),
    Case("narrow_negative_start", lambda lib, F, a: lib.narrow(a, 0, -2, 2), (((3, 4), "n"),)),
    Case("where_method", lambda lib, F, a, b: a.where(T(lib, MASK), b), (((3, 4), "n"), ((3, 4), "n"))),
    Case("sort", lambda lib, F, a: lib.sort(a).values, (((3, 4), "u"),)),
    Case("sort_descending_dim0", lambda lib, F, a: a.sort(dim=0, descending=True)[0], (((3, 4), "u"),)),
    Case("masked_select", lambda lib, F, a: lib.masked_select(a, T(lib, MASK)), (((3, 4), "n"),)),
    Case("masked_select_bcast", lambda lib, F, a: a.masked_select(T(lib, MASK)), (((4,), "n"),)),
    Case("scatter", lambda lib, F, a, s: a.scatter(1, T(lib, SCATTER), s), (((3, 4), "n"), ((3, 3), "n"))),
    # PyTorch's own backward fails when src is larger than index (it returns index's shape): gradcheck only
    Case("scatter_src_larger", lambda lib, F, a, s: lib.scatter(a, 0, T(lib, SCATTER[:2]), s),
         (((4, 3), "n"), ((3, 4), "n")), parity=False),
    Case("scatter_value", lambda lib, F, a: a.scatter(1, T(lib, SCATTER), 0.5), (((3, 4), "n"),)),
    Case("scatter_add", lambda lib, F, a, s: lib.scatter_add(a, 1, T(lib, GATHER), s), (((3, 4), "n"), ((3, 5), "n"))),
    Case("take", lambda lib, F, a: lib.take(a, T(lib, [[0, 11], [5, 5]])), (((3, 4), "n"),)),
    Case("tril", lambda lib, F, a: lib.tril(a), (((2, 3, 4), "n"),)),
    Case("triu_diagonal", lambda lib, F, a: a.triu(1), (((4, 3), "n"),)),
    Case("tril_negative_diagonal", lambda lib, F, a: a.tril(diagonal=-1), (((3, 4), "n"),)),
    Case("diag_of_vector", lambda lib, F, a: lib.diag(a), (((3,), "n"),)),
    Case("diag_of_vector_offset", lambda lib, F, a: lib.diag(a, -2), (((3,), "n"),)),
    Case("diag_of_matrix", lambda lib, F, a: a.diag(), (((3, 4), "n"),)),
    Case("diag_of_matrix_offset", lambda lib, F, a: lib.diag(a, 1), (((3, 4), "n"),)),
    Case("diag_of_matrix_negative_offset", lambda lib, F, a: lib.diag(a, -1), (((3, 4), "n"),)),
    Case("roll", lambda lib, F, a: lib.roll(a, 1, 0), (((3, 4), "n"),)),
    Case("roll_dims", lambda lib, F, a: a.roll((2, -1), (1, 2)), (((2, 3, 4), "n"),)),
    Case("roll_flat", lambda lib, F, a: lib.roll(a, 5), (((3, 4), "n"),)),
    Case("setitem_slice", lambda lib, F, a, b: _assigned(a, b, (slice(1, 3),)), (((4, 3), "n"), ((2, 3), "n"))),
    Case("setitem_broadcast", lambda lib, F, a, b: _assigned(a, b, (slice(None), 1)), (((4, 3), "n"), ((1,), "n"))),
    Case("setitem_rows", lambda lib, F, a, b: _assigned(a, b, ([0, 2],)), (((4, 3), "n"), ((2, 3), "n"))),
    Case("meshgrid_ij", lambda lib, F, a, b: lib.stack(lib.meshgrid(a, b, indexing="ij")) * 1.5,
         (((3,), "n"), ((4,), "n"))),
    Case("meshgrid_xy", lambda lib, F, a, b, c: _grid_mix(lib.meshgrid(a, b, c, indexing="xy")),
         (((3,), "n"), ((2,), "n"), ((4,), "n"))),
    Case("movedim", lambda lib, F, a: lib.movedim(a, 0, -1), (((2, 3, 4), "n"),)),
    Case("movedim_many", lambda lib, F, a: a.movedim((0, 1), (2, 0)), (((2, 3, 4), "n"),)),
    Case("moveaxis", lambda lib, F, a: lib.moveaxis(a, -1, 0), (((2, 3, 4), "n"),)),
    Case("repeat_interleave", lambda lib, F, a: a.repeat_interleave(2, dim=1), (((3, 4), "n"),)),
    Case("repeat_interleave_counts", lambda lib, F, a: lib.repeat_interleave(a, T(lib, [1, 0, 3]), dim=0),
         (((3, 4), "n"),)),
    Case("repeat_interleave_flat", lambda lib, F, a: lib.repeat_interleave(a, 2), (((2, 3), "n"),)),
]

# ----------------------------------------------------------------------------------------- activations

ACTIVATION = [
    Case("sigmoid", lambda lib, F, a: lib.sigmoid(a * 3), (((3, 4), "n"),)),
    Case("tanh", lambda lib, F, a: lib.tanh(a * 2), (((3, 4), "n"),)),
    Case("relu", lambda lib, F, a: lib.relu(a), (((3, 4), "z"),)),
    Case("relu_method", lambda lib, F, a: a.relu(), (((2, 3), "z"),)),
    Case("leaky_relu", lambda lib, F, a: F.leaky_relu(a), (((3, 4), "z"),)),
    Case("leaky_relu_02", lambda lib, F, a: F.leaky_relu(a, 0.2), (((3, 4), "z"),)),
    Case("prelu_shared", lambda lib, F, a, w: F.prelu(a, w * 0.25), (((2, 3, 4), "z"), ((1,), "p"))),
    Case("prelu_per_channel", lambda lib, F, a, w: F.prelu(a, w), (((2, 3, 2, 2), "z"), ((3,), "n"))),
    Case("elu", lambda lib, F, a: F.elu(a), (((3, 4), "z"),)),
    Case("elu_alpha", lambda lib, F, a: F.elu(a, alpha=0.5), (((3, 4), "z"),)),
    Case("selu", lambda lib, F, a: F.selu(a), (((3, 4), "z"),)),
    Case("gelu", lambda lib, F, a: F.gelu(a * 2), (((3, 4), "n"),)),
    Case("gelu_tanh", lambda lib, F, a: F.gelu(a * 2, approximate="tanh"), (((3, 4), "n"),)),
    Case("silu", lambda lib, F, a: F.silu(a * 2), (((3, 4), "n"),)),
    Case("softplus", lambda lib, F, a: F.softplus(a * 2), (((3, 4), "n"),)),
    Case("softplus_beta_threshold", lambda lib, F, a: F.softplus(a * 4, beta=2.0, threshold=3.0), (((3, 4), "u"),)),
    Case("softmax", lambda lib, F, a: F.softmax(a, dim=-1), (((3, 4), "n"),)),
    Case("softmax_dim0", lambda lib, F, a: lib.softmax(a * 3, dim=0), (((3, 4), "n"),)),
    Case("log_softmax", lambda lib, F, a: F.log_softmax(a, dim=1), (((2, 4, 3), "n"),)),
    Case("log_softmax_dim0", lambda lib, F, a: a.log_softmax(dim=0), (((3, 4), "n"),)),
]

# ----------------------------------------------------------------------------------------- convolution and pooling


def _conv(stride=1, padding=0, dilation=1, groups=1, bias=True):
    if bias:
        return lambda lib, F, x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation,
                                                groups=groups)
    return lambda lib, F, x, w: F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)


SAMPLES = _c(4).random((2, 2, 2)).astype(np.float32)  # fractional pooling: (N, C, 2)
CONV_POOL = [
    Case("conv", _conv(), (((2, 3, 5, 5), "n"), ((4, 3, 3, 3), "n"), ((4,), "n"))),
    Case("conv_no_bias", _conv(bias=False), (((1, 2, 4, 5), "n"), ((3, 2, 2, 3), "n"))),
    Case("conv_stride2_pad1", _conv(stride=2, padding=1), (((2, 2, 6, 5), "n"), ((3, 2, 3, 3), "n"), ((3,), "n"))),
    Case("conv_asym", _conv(stride=(2, 1), padding=(1, 2)), (((1, 2, 5, 4), "n"), ((2, 2, 3, 2), "n"), ((2,), "n"))),
    Case("conv_dilation", _conv(padding=2, dilation=2), (((1, 2, 5, 5), "n"), ((2, 2, 3, 3), "n"), ((2,), "n"))),
    Case("conv_groups", _conv(groups=2, padding=1), (((2, 4, 4, 4), "n"), ((6, 2, 3, 3), "n"), ((6,), "n"))),
    Case("conv_depthwise", _conv(groups=3, padding=1, stride=2),
         (((2, 3, 5, 5), "n"), ((3, 1, 3, 3), "n"), ((3,), "n"))),
    Case("conv_depthwise_multiplier", _conv(groups=2, bias=False), (((1, 2, 4, 4), "n"), ((4, 1, 2, 2), "n"))),
    Case("conv_all", _conv(stride=2, padding=1, dilation=2, groups=2),
         (((2, 4, 7, 6), "n"), ((4, 2, 2, 3), "n"), ((4,), "n"))),
    Case("conv_1x1", _conv(), (((2, 3, 3, 3), "n"), ((2, 3, 1, 1), "n"), ((2,), "n"))),
    Case("conv_same_odd", lambda lib, F, x, w: F.conv2d(x, w, padding="same"),
         (((1, 2, 4, 5), "n"), ((2, 2, 3, 3), "n"))),
    Case("conv_same_even", lambda lib, F, x, w: F.conv2d(x, w, padding="same", dilation=(1, 2)),
         (((1, 2, 4, 5), "n"), ((2, 2, 2, 2), "n"))),
    Case("max_pool", lambda lib, F, x: F.max_pool2d(x, 2), (((2, 2, 4, 4), "u"),)),
    Case("max_pool_overlap", lambda lib, F, x: F.max_pool2d(x, 3, stride=2), (((1, 2, 7, 7), "u"),)),
    Case("max_pool_pad", lambda lib, F, x: F.max_pool2d(x, 3, stride=2, padding=1), (((1, 2, 5, 6), "u"),)),
    Case("max_pool_dilation", lambda lib, F, x: F.max_pool2d(x, 2, stride=1, dilation=2), (((1, 2, 5, 5), "u"),)),
    Case("max_pool_ceil", lambda lib, F, x: F.max_pool2d(x, 2, stride=2, ceil_mode=True), (((1, 2, 5, 5), "u"),)),
    Case("max_pool_ceil_pad", lambda lib, F, x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
         (((1, 1, 6, 7), "u"),)),
    Case("max_pool_rect", lambda lib, F, x: F.max_pool2d(x, (2, 3), stride=(1, 2)), (((1, 2, 4, 7), "u"),)),
    Case("avg_pool", lambda lib, F, x: F.avg_pool2d(x, 2), (((2, 2, 4, 4), "n"),)),
    Case("avg_pool_overlap", lambda lib, F, x: F.avg_pool2d(x, 3, stride=2), (((1, 2, 7, 6), "n"),)),
    Case("avg_pool_pad_incl", lambda lib, F, x: F.avg_pool2d(x, 3, stride=2, padding=1), (((1, 2, 5, 5), "n"),)),
    Case("avg_pool_pad_excl", lambda lib, F, x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
         (((1, 2, 5, 5), "n"),)),
    Case("avg_pool_ceil_incl", lambda lib, F, x: F.avg_pool2d(x, 2, stride=2, padding=1, ceil_mode=True),
         (((1, 2, 5, 4), "n"),)),
    Case("avg_pool_ceil_excl", lambda lib, F, x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True,
                                                             count_include_pad=False), (((1, 1, 6, 6), "n"),)),
    Case("avg_pool_ceil_nopad", lambda lib, F, x: F.avg_pool2d(x, 2, ceil_mode=True), (((1, 2, 5, 3), "n"),)),
    Case("avg_pool_divisor", lambda lib, F, x: F.avg_pool2d(x, 2, padding=1, divisor_override=3),
         (((1, 2, 4, 4), "n"),)),
    Case("adaptive_even", lambda lib, F, x: F.adaptive_avg_pool2d(x, 2), (((2, 2, 4, 6), "n"),)),
    Case("adaptive_uneven", lambda lib, F, x: F.adaptive_avg_pool2d(x, (3, 4)), (((2, 2, 5, 7), "n"),)),
    Case("adaptive_global", lambda lib, F, x: F.adaptive_avg_pool2d(x, 1), (((2, 3, 3, 5), "n"),)),
    Case("adaptive_upsample", lambda lib, F, x: F.adaptive_avg_pool2d(x, (4, 5)), (((1, 2, 3, 3), "n"),)),
    Case("adaptive_none", lambda lib, F, x: F.adaptive_avg_pool2d(x, (None, 2)), (((1, 2, 3, 5), "n"),)),
    Case("fractional_max_pool", lambda lib, F, x: F.fractional_max_pool2d(
        x, 2, output_size=(4, 3), _random_samples=T(lib, SAMPLES)), (((2, 2, 6, 5), "u"),)),
    Case("fractional_max_pool_k3", lambda lib, F, x: F.fractional_max_pool2d(
        x, 3, output_size=(3, 4), _random_samples=T(lib, SAMPLES)), (((2, 2, 7, 7), "u"),)),
    Case("fractional_max_pool_ratio", lambda lib, F, x: F.fractional_max_pool2d(
        x, 2, output_ratio=(0.7, 0.7), _random_samples=T(lib, SAMPLES)), (((2, 2, 7, 6), "u"),)),
]

FAMILIES = {"elementwise": ELEMENTWISE, "reduce": REDUCE, "shape": SHAPE, "activation": ACTIVATION,
            "conv_pool": CONV_POOL}
