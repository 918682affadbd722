"""diff, rot90, the stacks, tile, cross, kron, block_diag, cartesian_prod, combinations, tensordot, the addmm
family, mv, trace, adjoint/H/mH/mT and Tensor.unfold: float64 gradchecks, float32 parity with PyTorch (values,
dtypes, shapes and input gradients, contiguous and strided inputs), dtypes of integer and bool inputs, PyTorch's
error cases, and the special cases (beta=0 ignoring NaN, the deprecated default dim of cross, unfold as a view)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from tests.helpers import assert_close
from tests.ops.cases import Case
from tests.ops.harness import check_gradients, check_parity


def _cases(name, fn, *specs):
    """One Case per input spec: (suffix, shapes, kwargs); shapes are standard-normal inputs."""
    out = []
    for suffix, shapes, kwargs in specs:
        out.append(Case(f"{name}_{suffix}", (lambda kw: lambda lib, F, *xs: fn(lib, *xs, **kw))(kwargs),
                        tuple((s, "n") for s in shapes)))
    return out


CASES = [
    *_cases("diff", lambda lib, a, **kw: lib.diff(a, **kw),
            ("1d", [(6,)], {}),
            ("n2_dim0", [(5, 3)], {"n": 2, "dim": 0}),
            ("n3_neg_dim", [(2, 6, 3)], {"n": 3, "dim": -2}),
            ("n0", [(3, 4)], {"n": 0}),
            ("n_past_length", [(2, 3)], {"n": 4})),
    *_cases("diff_prepend_append", lambda lib, a, p, q, **kw: lib.diff(a, prepend=p, append=q, **kw),
            ("n1", [(3, 4), (3, 2), (3, 1)], {"dim": 1}),
            ("n2_dim0", [(3, 4), (1, 4), (2, 4)], {"n": 2, "dim": 0})),
    Case("diff_prepend_only", lambda lib, F, a, p: lib.diff(a, n=2, prepend=p), (((4,), "n"), ((2,), "n"))),
    Case("diff_append_method", lambda lib, F, a, q: a.diff(append=q, dim=0), (((3, 2), "n"), ((1, 2), "n"))),
    *_cases("rot90", lambda lib, a, **kw: lib.rot90(a, **kw),
            ("default", [(3, 4)], {}),
            ("k2", [(3, 4)], {"k": 2}),
            ("k3", [(3, 4)], {"k": 3}),
            ("k0", [(3, 4)], {"k": 0}),
            ("k5", [(3, 4)], {"k": 5}),
            ("k_minus1", [(3, 4)], {"k": -1}),
            ("k_minus3_dims_10", [(3, 4)], {"k": -3, "dims": (1, 0)}),
            ("3d_dims_02", [(2, 3, 4)], {"k": 1, "dims": [0, 2]}),
            ("3d_neg_dims", [(2, 3, 4)], {"k": -2, "dims": (-1, -2)})),
    Case("rot90_method", lambda lib, F, a: a.rot90(1, [1, 0]), (((2, 5), "n"),)),
    *_cases("hstack", lambda lib, *xs: lib.hstack(xs),
            ("1d", [(3,), (2,)], {}),
            ("0d_1d", [(), (3,), ()], {}),
            ("2d", [(2, 3), (2, 1)], {}),
            ("3d", [(2, 1, 3), (2, 2, 3)], {})),
    *_cases("vstack", lambda lib, *xs: lib.vstack(list(xs)),
            ("0d", [(), ()], {}),
            ("1d", [(3,), (3,)], {}),
            ("1d_2d", [(3,), (2, 3)], {}),
            ("3d", [(1, 2, 3), (2, 2, 3)], {})),
    Case("row_stack", lambda lib, F, a, b: lib.row_stack((a, b)), (((4,), "n"), ((2, 4), "n"))),
    *_cases("dstack", lambda lib, *xs: lib.dstack(xs),
            ("0d", [(), ()], {}),
            ("1d", [(3,), (3,)], {}),
            ("mixed", [(3,), (1, 3), (1, 3, 2)], {}),
            ("2d", [(2, 3), (2, 3)], {})),
    *_cases("column_stack", lambda lib, *xs: lib.column_stack(xs),
            ("1d_2d", [(3,), (3, 2), (3,)], {}),
            ("0d", [(), ()], {}),
            ("3d", [(2, 3, 4), (2, 1, 4)], {})),
    *_cases("tile", lambda lib, a, **kw: lib.tile(a, **kw),
            ("fewer_dims", [(2, 3)], {"dims": (2,)}),
            ("more_dims", [(2, 3)], {"dims": (2, 1, 2)}),
            ("same_dims", [(2, 3)], {"dims": [3, 2]}),
            ("ones", [(2, 3)], {"dims": (1, 1)}),
            ("0d", [()], {"dims": (3,)}),
            ("0d_empty_dims", [()], {"dims": ()}),
            ("zero", [(2, 3)], {"dims": (0, 2)})),
    Case("tile_method_varargs", lambda lib, F, a: a.tile(2, 1, 3), (((2, 3), "n"),)),
    Case("tile_method_tuple", lambda lib, F, a: a.tile((2, 2)), (((3,), "n"),)),
    *_cases("cross", lambda lib, a, b, **kw: lib.cross(a, b, **kw),
            ("last", [(4, 3), (4, 3)], {"dim": 1}),
            ("dim0", [(3, 5), (3, 5)], {"dim": 0}),
            ("neg_dim_bcast", [(4, 1, 3), (1, 5, 3)], {"dim": -1}),
            ("bcast_one", [(4, 3), (1, 3)], {"dim": -1}),
            ("1d", [(3,), (3,)], {"dim": 0})),
    Case("cross_method", lambda lib, F, a, b: a.cross(b, dim=-1), (((2, 3), "n"), ((2, 3), "n"))),
    *_cases("kron", lambda lib, a, b: lib.kron(a, b),
            ("2d_1d", [(2, 3), (4,)], {}),
            ("1d_1d", [(2,), (3,)], {}),
            ("0d_1d", [(), (3,)], {}),
            ("0d_0d", [(), ()], {}),
            ("3d_2d", [(2, 1, 3), (2, 2)], {}),
            ("2d_2d", [(2, 3), (3, 2)], {})),
    Case("kron_method", lambda lib, F, a, b: a.kron(b), (((2, 2), "n"), ((1, 3), "n"))),
    *_cases("block_diag", lambda lib, *xs: lib.block_diag(*xs),
            ("mixed", [(), (2,), (2, 3)], {}),
            ("2d", [(2, 2), (3, 1), (1, 4)], {}),
            ("one", [(2, 3)], {}),
            ("empty_blocks", [(0, 3), (2, 0), (1, 1)], {})),
    *_cases("cartesian_prod", lambda lib, *xs: lib.cartesian_prod(*xs),
            ("two", [(3,), (2,)], {}),
            ("three", [(2,), (3,), (2,)], {}),
            ("one", [(4,)], {})),
    *_cases("combinations", lambda lib, a, **kw: lib.combinations(a, **kw),
            ("r2", [(4,)], {}),
            ("r1", [(4,)], {"r": 1}),
            ("r3", [(5,)], {"r": 3}),
            ("r2_replacement", [(4,)], {"with_replacement": True}),
            ("r3_replacement", [(3,)], {"r": 3, "with_replacement": True}),
            ("r_past_length", [(3,)], {"r": 4})),
    *_cases("tensordot", lambda lib, a, b, **kw: lib.tensordot(a, b, **kw),
            ("default", [(2, 3, 4), (3, 4, 5)], {}),
            ("dims0", [(2, 3), (4,)], {"dims": 0}),
            ("dims1", [(2, 3), (3, 4)], {"dims": 1}),
            ("dims3", [(2, 3, 4), (2, 3, 4)], {"dims": 3}),
            ("lists", [(2, 3, 4), (3, 4, 5)], {"dims": ([1], [0])}),
            ("lists_reordered", [(2, 3, 4), (5, 4, 2)], {"dims": ([2, 0], [1, 2])}),
            ("list_of_lists", [(2, 3, 4), (4, 3)], {"dims": [[1, 2], [1, 0]]}),
            ("neg_dims", [(2, 3, 4), (4, 3)], {"dims": ([-1], [0])}),
            ("size1_contracted", [(2, 1), (4, 3)], {"dims": ([1], [1])}),
            ("size1_contracted_other", [(2, 3), (4, 1)], {"dims": ([1], [1])}),
            ("0d", [(), ()], {"dims": 0})),
    *_cases("addmm", lambda lib, i, m1, m2, **kw: lib.addmm(i, m1, m2, **kw),
            ("bias_row", [(4,), (2, 3), (3, 4)], {}),
            ("bias_col", [(2, 1), (2, 3), (3, 4)], {}),
            ("bias_0d", [(), (2, 3), (3, 4)], {}),
            ("full_alpha_beta", [(2, 4), (2, 3), (3, 4)], {"beta": 0.5, "alpha": -2.0}),
            ("beta0", [(2, 4), (2, 3), (3, 4)], {"beta": 0}),
            ("int_coefficients", [(1,), (2, 3), (3, 4)], {"beta": 2, "alpha": 3})),
    Case("addmm_method", lambda lib, F, i, m1, m2: i.addmm(m1, m2, alpha=0.5), (((3, 2), "n"), ((3, 4), "n"),
                                                                              ((4, 2), "n"))),
    *_cases("addmv", lambda lib, i, m, v, **kw: lib.addmv(i, m, v, **kw),
            ("plain", [(2,), (2, 3), (3,)], {}),
            ("bias_1", [(1,), (2, 3), (3,)], {"beta": 0.5}),
            ("bias_0d", [(), (2, 3), (3,)], {"alpha": 3.0}),
            ("beta0", [(2,), (2, 3), (3,)], {"beta": 0.0})),
    *_cases("addbmm", lambda lib, i, b1, b2, **kw: lib.addbmm(i, b1, b2, **kw),
            ("plain", [(2, 4), (5, 2, 3), (5, 3, 4)], {}),
            ("bias_row", [(4,), (3, 2, 3), (3, 3, 4)], {"beta": 2.0, "alpha": 0.5}),
            ("beta0", [(2, 4), (3, 2, 3), (3, 3, 4)], {"beta": 0})),
    *_cases("baddbmm", lambda lib, i, b1, b2, **kw: lib.baddbmm(i, b1, b2, **kw),
            ("plain", [(5, 2, 4), (5, 2, 3), (5, 3, 4)], {}),
            ("bias_bcast", [(5, 1, 4), (5, 2, 3), (5, 3, 4)], {"alpha": 2.0}),
            ("bias_2d", [(2, 4), (3, 2, 3), (3, 3, 4)], {"beta": -1.0}),
            ("beta0", [(2, 4), (3, 2, 3), (3, 3, 4)], {"beta": 0})),
    Case("baddbmm_method", lambda lib, F, i, b1, b2: i.baddbmm(b1, b2), (((2, 2, 2), "n"), ((2, 2, 3), "n"),
                                                                         ((2, 3, 2), "n"))),
    Case("mv", lambda lib, F, m, v: lib.mv(m, v), (((3, 4), "n"), ((4,), "n"))),
    Case("mv_method", lambda lib, F, m, v: m.mv(v), (((1, 2), "n"), ((2,), "n"))),
    *_cases("trace", lambda lib, a: lib.trace(a),
            ("square", [(3, 3)], {}),
            ("wide", [(2, 4)], {}),
            ("tall", [(4, 2)], {}),
            ("empty", [(0, 3)], {})),
    Case("trace_method", lambda lib, F, a: a.trace(), (((3, 3), "n"),)),
    Case("adjoint_2d", lambda lib, F, a: a.adjoint(), (((2, 3), "n"),)),
    Case("adjoint_3d", lambda lib, F, a: lib.adjoint(a), (((2, 3, 4), "n"),)),
    Case("H", lambda lib, F, a: a.H, (((2, 3), "n"),)),
    Case("mH_2d", lambda lib, F, a: a.mH, (((2, 3), "n"),)),
    Case("mH_4d", lambda lib, F, a: a.mH * 1.0, (((2, 1, 3, 4), "n"),)),
    Case("mT_3d", lambda lib, F, a: a.mT, (((2, 3, 4), "n"),)),
    Case("T_2d", lambda lib, F, a: a.T, (((2, 3), "n"),)),
    *_cases("unfold", lambda lib, a, **kw: a.unfold(**kw),
            ("overlap", [(10,)], {"dimension": 0, "size": 3, "step": 2}),
            ("step1", [(6,)], {"dimension": 0, "size": 2, "step": 1}),
            ("exact_tiling", [(9,)], {"dimension": 0, "size": 3, "step": 3}),
            ("gaps", [(10,)], {"dimension": 0, "size": 3, "step": 5}),
            ("one_window", [(7,)], {"dimension": 0, "size": 7, "step": 1}),
            ("size_over_windows", [(5,)], {"dimension": 0, "size": 4, "step": 1}),
            ("size0", [(4,)], {"dimension": 0, "size": 0, "step": 2}),
            ("3d_middle", [(2, 7, 3)], {"dimension": 1, "size": 3, "step": 2}),
            ("3d_neg_dim", [(2, 3, 8)], {"dimension": -1, "size": 5, "step": 1}),
            ("3d_first", [(6, 2, 3)], {"dimension": 0, "size": 2, "step": 2}),
            ("0d", [()], {"dimension": 0, "size": 1, "step": 1})),
    Case("unfold_twice", lambda lib, F, a: a.unfold(0, 3, 1).unfold(1, 2, 2), (((6, 5), "n"),)),
]


def _differentiable(case: Case) -> bool:
    """Cases gradcheck can take: no empty input (it refuses them) and an output with elements."""
    if any(0 in shape for shape, _ in case.inputs):
        return False
    return not any(s in case.id for s in ("size0", "r_past_length", "n_past_length", "tile_zero"))


@pytest.mark.parametrize("case", [c for c in CASES if _differentiable(c)], ids=lambda c: c.id)
def test_gradcheck(case):
    check_gradients(case)


@pytest.mark.parametrize("case", [c for c in CASES if c.id.startswith("unfold")], ids=lambda c: c.id)
def test_gradcheck_strided_input(case):
    if _differentiable(case):
        check_gradients(case, noncontig=True)


@pytest.mark.parametrize("noncontig", [False, True], ids=["contiguous", "strided"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_parity(case, noncontig, torch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # PyTorch's .T deprecation on non-2-D tensors
        check_parity(case, torch, noncontig)


# ----------------------------------------------------------------------------- dtypes (values against PyTorch)


def _both(torch, array):
    return ember.tensor(array), torch.tensor(array)


def _same(out_e, out_t, what):
    assert str(out_e.dtype) == str(out_t.dtype).replace("torch.", ""), f"{what}: {out_e.dtype} vs {out_t.dtype}"
    assert tuple(out_e.shape) == tuple(out_t.shape), what
    np.testing.assert_array_equal(out_e.numpy(), out_t.numpy(), err_msg=what)


INT = np.array([[3, -1, 4], [1, 5, -9], [2, 6, 5]], dtype=np.int64)
DTYPE_CALLS = {
    "diff_int64": lambda lib, x: lib.diff(x, n=2),
    "diff_uint8_wraps": lambda lib, x: lib.diff(x.abs().to(lib.uint8), dim=0),
    "diff_int32": lambda lib, x: lib.diff(x.int()),
    "diff_bool_xor": lambda lib, x: lib.diff(x > 1),
    "diff_bool_n2": lambda lib, x: lib.diff(x > 1, n=2, dim=0),
    "diff_int_prepend_float": lambda lib, x: lib.diff(x.int(), prepend=lib.ones(3, 1)),
    "diff_float_prepend_double": lambda lib, x: lib.diff(x.float(), prepend=lib.zeros(3, 1, dtype=lib.float64)),
    "rot90_int": lambda lib, x: lib.rot90(x, 3),
    "hstack_promote": lambda lib, x: lib.hstack([x.float(), x]),
    "vstack_bool": lambda lib, x: lib.vstack([x > 0, x[0] > 2]),
    "dstack_int": lambda lib, x: lib.dstack([x, x.int()]),
    "column_stack_mixed": lambda lib, x: lib.column_stack([x[0], x.double()]),
    "tile_int": lambda lib, x: lib.tile(x, (2,)),
    "cross_int": lambda lib, x: lib.cross(x, x.flip(0), dim=0),
    "kron_int_float": lambda lib, x: lib.kron(x, lib.ones(2)),
    "kron_bool": lambda lib, x: lib.kron(x > 0, x[:2, :2] > 2),
    "block_diag_promote": lambda lib, x: lib.block_diag(x, lib.ones(2), lib.tensor(2.5, dtype=lib.float64)),
    "block_diag_bool": lambda lib, x: lib.block_diag(x > 0, lib.tensor(True)),
    "block_diag_none": lambda lib, x: lib.block_diag(),
    "cartesian_prod_int": lambda lib, x: lib.cartesian_prod(x[0], x[1], x[2, :2]),
    "combinations_int": lambda lib, x: lib.combinations(x[0], 2),
    "combinations_r0": lambda lib, x: lib.combinations(x[0].int(), 0),
    "combinations_empty": lambda lib, x: lib.combinations(x[0, :0], 2),
    "tensordot_int": lambda lib, x: lib.tensordot(x, x, dims=([0], [1])),
    "mv_int": lambda lib, x: lib.mv(x, x[0]),
    "addmm_int": lambda lib, x: lib.addmm(x[0], x, x),
    "addmm_int_truncates": lambda lib, x: lib.addmm(x, x, x, beta=0.5, alpha=1.5),
    "addbmm_int": lambda lib, x: lib.addbmm(x, x[None], x[None], alpha=2),
    "trace_int64": lambda lib, x: lib.trace(x),
    "trace_int32": lambda lib, x: lib.trace(x.int()),
    "trace_uint8": lambda lib, x: lib.trace(x.abs().to(lib.uint8)),
    "trace_float64": lambda lib, x: lib.trace(x.double()),
    "unfold_bool": lambda lib, x: (x > 0).unfold(1, 2, 1),
    "unfold_int_0d": lambda lib, x: x[0, 0].unfold(0, 0, 1),
    "adjoint_int": lambda lib, x: x.adjoint(),
}


@pytest.mark.parametrize("name", list(DTYPE_CALLS))
def test_dtypes_match_pytorch(name, torch):
    xe, xt = _both(torch, INT)
    _same(DTYPE_CALLS[name](ember, xe), DTYPE_CALLS[name](torch, xt), name)


# ----------------------------------------------------------------------------- special cases


@pytest.mark.parametrize("fn, shapes", [
    ("addmm", [(4,), (2, 3), (3, 4)]),
    ("addmv", [(2,), (2, 3), (3,)]),
    ("addbmm", [(2, 1), (3, 2, 3), (3, 3, 4)]),
    ("baddbmm", [(3, 2, 4), (3, 2, 3), (3, 3, 4)]),
])
@pytest.mark.parametrize("beta", [0, 0.0])
def test_beta_zero_ignores_nan_and_inf(fn, shapes, beta, torch):
    rng = np.random.default_rng(0)
    bias = np.full(shapes[0], np.nan, np.float32)
    bias.flat[0] = np.inf
    mats = [rng.standard_normal(s).astype(np.float32) for s in shapes[1:]]
    es = [ember.tensor(a, requires_grad=True) for a in (bias, *mats)]
    ts = [torch.tensor(a, requires_grad=True) for a in (bias, *mats)]
    oe, ot = getattr(ember, fn)(*es, beta=beta, alpha=2.0), getattr(torch, fn)(*ts, beta=beta, alpha=2.0)
    assert not np.isnan(oe.detach().numpy()).any()
    assert_close(oe, ot, what=f"{fn} beta={beta}")
    oe.sum().backward()
    ot.sum().backward()
    for e, t in zip(es, ts):
        assert_close(e.grad, t.grad, what=f"{fn} gradient")
    np.testing.assert_array_equal(es[0].grad.numpy(), np.zeros(shapes[0], np.float32))
    # without a gradient to give, the input is skipped: same values
    plain = getattr(ember, fn)(ember.tensor(bias), *[ember.tensor(m) for m in mats], beta=beta, alpha=2.0)
    np.testing.assert_array_equal(plain.numpy(), oe.detach().numpy())


def test_beta_nan_propagates(torch):
    args = [np.ones((2, 2), np.float32), np.ones((2, 3), np.float32), np.ones((3, 2), np.float32)]
    oe = ember.addmm(*map(ember.tensor, args), beta=float("nan"))
    ot = torch.addmm(*map(torch.tensor, args), beta=float("nan"))
    assert np.isnan(oe.numpy()).all() and torch.isnan(ot).all()


def test_cross_default_dim_is_first_of_size_3(torch):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 3)).astype(np.float32), rng.standard_normal((3, 3)).astype(np.float32)
    with pytest.warns(UserWarning, match="dim"):
        oe = ember.cross(ember.tensor(a), ember.tensor(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ot = torch.cross(torch.tensor(a), torch.tensor(b))
    assert_close(oe, ot, what="cross dim=None")
    np.testing.assert_allclose(oe.numpy(), np.cross(a, b, axis=0), rtol=1e-5, atol=1e-6)  # dim 0, not the last
    with pytest.warns(UserWarning):
        out = ember.cross(ember.ones(2, 3, 4), ember.ones(2, 3, 4))
    assert out.shape == (2, 3, 4)


def test_cross_against_numpy():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    out = ember.cross(ember.tensor(a), ember.tensor(b), dim=1)
    np.testing.assert_allclose(out.numpy(), np.cross(a, b), rtol=1e-12, atol=1e-12)


def test_kron_and_tensordot_against_numpy():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3, 2)), rng.standard_normal((3, 1, 4))
    np.testing.assert_allclose(ember.kron(ember.tensor(a), ember.tensor(b)).numpy(), np.kron(a, b), rtol=1e-12)
    c = rng.standard_normal((4, 3, 2))
    np.testing.assert_allclose(ember.tensordot(ember.tensor(a), ember.tensor(c), dims=([0, 1], [2, 1])).numpy(),
                               np.tensordot(a, c, axes=([0, 1], [2, 1])), rtol=1e-12)


def test_tensordot_dims_as_tensor(torch):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((2, 3, 4)).astype(np.float32), rng.standard_normal((3, 4, 5)).astype(np.float32)
    for dims in (2, [[1, 2], [0, 1]]):
        de, dt = ember.tensor(dims), torch.tensor(dims)
        assert_close(ember.tensordot(ember.tensor(a), ember.tensor(b), dims=de),
                     torch.tensordot(torch.tensor(a), torch.tensor(b), dims=dt), what="tensordot tensor dims")


def test_cartesian_prod_single_tensor_is_returned():
    x = ember.arange(3.0)
    assert ember.cartesian_prod(x) is x


def test_combinations_order_matches_itertools():
    import itertools

    x = ember.arange(6)
    for r in (1, 2, 3, 4):
        for rep in (False, True):
            gen = itertools.combinations_with_replacement if rep else itertools.combinations
            expected = np.array(list(gen(range(6), r)), dtype=np.int64).reshape(-1, r)
            np.testing.assert_array_equal(ember.combinations(x, r, rep).numpy(), expected)


def test_combinations_gradient_counts_occurrences():
    x = ember.ones(5, dtype=ember.float64, requires_grad=True)
    ember.combinations(x, 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(5, 6.0))  # each entry is in C(4, 2) = 6 triples


def test_unfold_is_a_strided_view_and_windows_add_gradients():
    base = np.arange(10.0)
    x = ember.tensor(base, requires_grad=True)
    w = x.unfold(0, 4, 2)
    assert w.shape == (4, 4)
    assert np.shares_memory(w.array, x.array)
    np.testing.assert_array_equal(w.detach().numpy(), np.lib.stride_tricks.sliding_window_view(base, 4)[::2])
    w.sum().backward()
    # how many windows cover each position: starts 0, 2, 4, 6, each 4 long
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 2, 2, 2, 2, 2, 2, 1, 1])


def test_unfold_skipped_positions_get_zero_gradient():
    x = ember.ones(11, requires_grad=True)
    x.unfold(0, 2, 4).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0])


def test_rot90_four_turns_is_identity_and_inverse():
    x = ember.randn(3, 4, 2)
    np.testing.assert_array_equal(ember.rot90(ember.rot90(x, 3, (0, 2)), 1, (0, 2)).numpy(), x.numpy())
    np.testing.assert_array_equal(ember.rot90(x, 4).numpy(), x.numpy())
    np.testing.assert_array_equal(ember.rot90(x, -1).numpy(), np.rot90(x.numpy(), -1))


def test_zero_dim_adjoint_warns_and_is_identity(torch):
    x = ember.tensor(2.5)
    for get in (lambda t: t.adjoint(), lambda t: t.H, lambda t: t.mH):
        with pytest.warns(UserWarning, match="0-D"):
            out = get(x)
        assert out.shape == () and out.item() == 2.5 and out is not x


def test_tensor_methods_installed():
    for name in ("diff", "rot90", "tile", "cross", "kron", "addmm", "addmv", "addbmm", "baddbmm", "mv", "trace",
                 "adjoint", "unfold", "H", "mH", "mT", "T"):
        assert hasattr(ember.Tensor, name), name
    assert ember.row_stack is ember.vstack


# ----------------------------------------------------------------------------- errors (PyTorch's exception types)

M = np.ones((2, 3), np.float32)
ERRORS = {
    "diff_0d": (lambda lib, x: lib.diff(x[0, 0]), "one-dimensional"),
    "diff_negative_n": (lambda lib, x: lib.diff(x, n=-1), "-1"),
    "diff_dim": (lambda lib, x: lib.diff(x, dim=2), "2"),
    "diff_prepend_ndim": (lambda lib, x: lib.diff(x, prepend=x[0, 0]), r"\(\)"),
    "diff_prepend_shape": (lambda lib, x: lib.diff(x, prepend=lib.zeros(3, 1)), r"\(3, 1\)"),
    "rot90_one_dim": (lambda lib, x: lib.rot90(x, 1, (0,)), "dims = 1"),
    "rot90_same_dims": (lambda lib, x: lib.rot90(x, 1, (1, 1)), "different"),
    "rot90_1d": (lambda lib, x: lib.rot90(x[0]), "total dims = 1"),
    "rot90_dim_range": (lambda lib, x: lib.rot90(x, 1, (0, 5)), "5"),
    "hstack_empty": (lambda lib, x: lib.hstack([]), "non-empty"),
    "hstack_tensor": (lambda lib, x: lib.hstack(x), "tuple of Tensors"),
    "vstack_shapes": (lambda lib, x: lib.vstack([x, lib.ones(2, 2)]), r"\(2, 2\)"),
    "column_stack_element": (lambda lib, x: lib.column_stack([x, 3]), "element 1"),
    "tile_int": (lambda lib, x: lib.tile(x, 2), "tuple of ints"),
    "tile_negative": (lambda lib, x: lib.tile(x, (-1, 2)), "-1"),
    "cross_no_3": (lambda lib, x: lib.cross(lib.ones(2, 4), lib.ones(2, 4)), "size 3"),
    "cross_dim_not_3": (lambda lib, x: lib.cross(x, x, dim=0), "length 3"),
    "cross_ndim": (lambda lib, x: lib.cross(x, x[0], dim=-1), "number of dimensions"),
    "cross_dtype": (lambda lib, x: lib.cross(x, x.double(), dim=1), "dtype|Double"),
    "cross_bool": (lambda lib, x: lib.cross(x > 0, x > 0, dim=1), "bool|Bool"),
    "block_diag_3d": (lambda lib, x: lib.block_diag(x[None]), "3 dimensions"),
    "block_diag_list": (lambda lib, x: lib.block_diag([x]), "element 0"),
    "cartesian_prod_2d": (lambda lib, x: lib.cartesian_prod(x, x[0]), r"\[?\(?2, 3"),
    "cartesian_prod_0d": (lambda lib, x: lib.cartesian_prod(x[0, 0], x[0]), r"\[\]|\(\)"),
    "cartesian_prod_dtypes": (lambda lib, x: lib.cartesian_prod(x[0], x[0].double()), "dtype"),
    "cartesian_prod_none": (lambda lib, x: lib.cartesian_prod(), "non-empty"),
    "combinations_2d": (lambda lib, x: lib.combinations(x), r"\[?\(?2, 3"),
    "combinations_negative": (lambda lib, x: lib.combinations(x[0], -1), "-1"),
    "tensordot_negative": (lambda lib, x: lib.tensordot(x, x, dims=-1), "dims=-1"),
    "tensordot_too_many": (lambda lib, x: lib.tensordot(x, x, dims=3), "dims=3"),
    "tensordot_mismatch": (lambda lib, x: lib.tensordot(x, x, dims=([1], [0])), "size 3 in dim 1"),
    "tensordot_lengths": (lambda lib, x: lib.tensordot(x, x, dims=([0, 1], [0])), "same length"),
    "tensordot_repeated": (lambda lib, x: lib.tensordot(x, x, dims=([0, 0], [0, 0])), "multiple times"),
    "tensordot_float_dims": (lambda lib, x: lib.tensordot(x, x, dims=2.0), "dims=2.0"),
    "tensordot_int_pair": (lambda lib, x: lib.tensordot(x, x, dims=(1, 1)), "tuple of ints"),
    "tensordot_dim_range": (lambda lib, x: lib.tensordot(x, x, dims=([5], [0])), "5"),
    "tensordot_dtypes": (lambda lib, x: lib.tensordot(x, x.double(), dims=([0], [0])), "dtype"),
    "addmm_vector": (lambda lib, x: lib.addmm(x, x[0], x.T), "matrix"),
    "addmm_shapes": (lambda lib, x: lib.addmm(x, x, x), r"2x3 and 2x3"),
    "addmm_bias_shape": (lambda lib, x: lib.addmm(lib.ones(3), x, x.T), r"\(3,\)"),
    "addmm_bias_ndim": (lambda lib, x: lib.addmm(lib.ones(3, 2, 2), x, x.T), r"\(3, 2, 2\)"),
    "addmm_dtypes": (lambda lib, x: lib.addmm(x.double(), x, x.T), "dtype|Double"),
    "addmv_2d_input": (lambda lib, x: lib.addmv(lib.ones(2, 1), x, x[0]), r"\(2, 1\)"),
    "addmv_vec_2d": (lambda lib, x: lib.addmv(lib.ones(2), x, x.T), "expected"),
    "addmv_size": (lambda lib, x: lib.addmv(lib.ones(2), x, lib.ones(4)), "mismatch"),
    "addmv_bias_size": (lambda lib, x: lib.addmv(lib.ones(3), x, x[0]), r"\(3,\)"),
    # PyTorch's addbmm fails on the missing dimension (IndexError) before its 3-D check; ember says it plainly
    "addbmm_2d": (lambda lib, x: lib.addbmm(lib.ones(2, 2), x, x.T), "3-D", RuntimeError),
    "addbmm_batches": (lambda lib, x: lib.addbmm(lib.ones(2, 2), lib.ones(5, 2, 3), lib.ones(4, 3, 2)), "5 and 4"),
    "addbmm_inner": (lambda lib, x: lib.addbmm(lib.ones(2, 2), lib.ones(1, 2, 3), lib.ones(1, 4, 2)), "2x3"),
    "baddbmm_bias": (lambda lib, x: lib.baddbmm(lib.ones(5, 2, 3), lib.ones(5, 2, 3), lib.ones(5, 3, 4)),
                     r"\(5, 2, 3\)"),
    "baddbmm_batch_bcast": (lambda lib, x: lib.baddbmm(lib.ones(5, 2, 4), lib.ones(5, 2, 3), lib.ones(1, 3, 4)),
                            "5 and 1"),
    "mv_1d": (lambda lib, x: lib.mv(x[0], x[0]), "expected"),
    "mv_size": (lambda lib, x: lib.mv(x, lib.ones(4)), "mismatch"),
    "mv_dtypes": (lambda lib, x: lib.mv(x, x[0].double()), "dtype|Double"),
    "trace_1d": (lambda lib, x: lib.trace(x[0]), "dim 1"),
    "trace_bool": (lambda lib, x: lib.trace(x > 0), "bool|Bool"),
    "adjoint_1d": (lambda lib, x: x[0].adjoint(), "1-D"),
    "H_3d": (lambda lib, x: x[None].H, "3-D"),
    "H_1d": (lambda lib, x: x[0].H, "1-D"),
    "mH_1d": (lambda lib, x: x[0].mH, "1-D"),
    "unfold_too_big": (lambda lib, x: x.unfold(1, 4, 1), "size is 4"),
    "unfold_negative_size": (lambda lib, x: x.unfold(1, -1, 1), "-1"),
    "unfold_zero_step": (lambda lib, x: x.unfold(1, 2, 0), "step is 0"),
    "unfold_negative_step": (lambda lib, x: x.unfold(1, 2, -1), "step is -1"),
    "unfold_dim_range": (lambda lib, x: x.unfold(2, 1, 1), "2"),
    "unfold_0d_too_big": (lambda lib, x: x[0, 0].unfold(0, 2, 1), "size is 2"),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_pytorch(name, torch):
    call, match, *ours = ERRORS[name]
    with pytest.raises(Exception) as caught_t, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        call(torch, torch.tensor(M))
    expected = ours[0] if ours else type(caught_t.value)
    with pytest.raises(expected, match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        call(ember, ember.tensor(M))
