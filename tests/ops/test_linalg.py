"""ember.linalg: float64 gradchecks and float32 PyTorch parity (values and gradients) for the norms, inv, det, solve
and svdvals; PyTorch's gradient conventions at the kinks; the errors (same exception types as torch.linalg)."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from ember import linalg as LA
from ember.diagnose import gradcheck
from tests.helpers import assert_close


def _distinct(shape, seed=0):
    """|values| distinct and at least 0.1 apart, away from 0, random signs: no ties and no kinks in reach."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    return ((0.3 + 0.1 * rng.permutation(size)) * rng.choice([-1.0, 1.0], size)).reshape(shape)


def _well_conditioned(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) + 3 * np.eye(shape[-1])


def _normal(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# each case: (id, fn(lib_linalg, *tensors), [input arrays as float64])
CASES = []
for _ord in [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, np.inf, -np.inf, -1.0, -0.5]:
    for _dim, _keep in [(None, False), (1, False), ((0, 2), True), ((-1,), False)]:
        CASES.append((f"vector_norm-{_ord}-{_dim}-{_keep}",
                      lambda la, x, o=_ord, d=_dim, k=_keep: la.vector_norm(x, o, d, k), [_distinct((2, 3, 4))]))
for _ord in ["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]:
    CASES.append((f"matrix_norm-{_ord}", lambda la, x, o=_ord: la.matrix_norm(x, o), [_normal((2, 3, 4), 1)]))
    CASES.append((f"matrix_norm-{_ord}-dim20-keepdim",
                  lambda la, x, o=_ord: la.matrix_norm(x, o, dim=(2, 0), keepdim=True), [_normal((2, 3, 4), 2)]))
    CASES.append((f"matrix_norm-{_ord}-dim10", lambda la, x, o=_ord: la.matrix_norm(x, o, dim=[1, 0]),
                  [_normal((4, 3, 2), 3)]))
CASES += [
    ("norm-default", lambda la, x: la.norm(x), [_normal((2, 3, 4))]),
    ("norm-keepdim", lambda la, x: la.norm(x, keepdim=True), [_normal((2, 3))]),
    ("norm-vector-ord", lambda la, x: la.norm(x, 3), [_normal((5,))]),
    ("norm-matrix-ord", lambda la, x: la.norm(x, -np.inf), [_normal((3, 4))]),
    ("norm-matrix-nuc", lambda la, x: la.norm(x, "nuc"), [_normal((3, 4))]),
    ("norm-dim-int", lambda la, x: la.norm(x, 1, dim=1), [_distinct((3, 4))]),
    ("norm-dim-pair-default-ord", lambda la, x: la.norm(x, dim=(0, 2)), [_normal((2, 3, 4))]),
    ("norm-dim-pair-ord", lambda la, x: la.norm(x, 2, dim=(0, 2)), [_normal((2, 3, 4))]),
    ("inv", lambda la, a: la.inv(a), [_well_conditioned((3, 3))]),
    ("inv-batched", lambda la, a: la.inv(a), [_well_conditioned((2, 2, 4, 4), 1)]),
    ("det", lambda la, a: la.det(a), [_normal((3, 3), 2)]),
    ("det-batched", lambda la, a: la.det(a), [_normal((2, 4, 4), 3)]),
    ("det-1x1", lambda la, a: la.det(a), [np.array([[1.7]])]),
    ("solve-matrix", lambda la, a, b: la.solve(a, b), [_well_conditioned((3, 3)), _normal((3, 2))]),
    ("solve-vector", lambda la, a, b: la.solve(a, b), [_well_conditioned((3, 3)), _normal((3,))]),
    ("solve-batched-vector", lambda la, a, b: la.solve(a, b), [_well_conditioned((2, 3, 3)), _normal((2, 3))]),
    ("solve-vector-broadcast", lambda la, a, b: la.solve(a, b), [_well_conditioned((2, 3, 3)), _normal((3,))]),
    ("solve-broadcast", lambda la, a, b: la.solve(a, b), [_well_conditioned((3, 3)), _normal((4, 3, 2))]),
    ("solve-broadcast-both", lambda la, a, b: la.solve(a, b),
     [_well_conditioned((2, 1, 3, 3)), _normal((3, 3, 1))]),
    ("solve-right", lambda la, a, b: la.solve(a, b, left=False), [_well_conditioned((2, 3, 3)), _normal((2, 4, 3))]),
    ("svdvals-wide", lambda la, a: la.svdvals(a), [_normal((2, 3, 5))]),
    ("svdvals-tall", lambda la, a: la.svdvals(a), [_normal((4, 2), 1)]),
    ("svdvals-square", lambda la, a: la.svdvals(a), [_normal((3, 3), 2)]),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck(case):
    _, fn, arrays = case
    xs = [ember.tensor(a, dtype=ember.float64, requires_grad=True) for a in arrays]
    if case[0].startswith("vector_norm-0.0"):  # ord 0: the count has gradient 0
        fn(LA, *xs).sum().backward()
        assert np.all(xs[0].grad.numpy() == 0)
        return
    gradcheck(lambda *t: fn(LA, *t), *xs)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_parity(case, torch):
    _, fn, arrays = case
    arrays = [a.astype(np.float32) for a in arrays]
    es = [ember.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    oe, ot = fn(LA, *es), fn(torch.linalg, *ts)
    assert oe.dtype == np.float32
    assert_close(oe, ot, rtol=2e-4, atol=2e-5, what=f"{case[0]} value")
    v = np.random.default_rng(7).standard_normal(tuple(ot.shape)).astype(np.float32)
    (oe * ember.tensor(v)).sum().backward()
    (ot * torch.tensor(v)).sum().backward()
    for i, (xe, xt) in enumerate(zip(es, ts)):
        expected = np.zeros(xe.shape, np.float32) if xt.grad is None else xt.grad
        assert xe.grad.dtype == np.float32
        assert_close(xe.grad, expected, rtol=2e-4, atol=2e-5, what=f"{case[0]} gradient of input {i}")


# ----------------------------------------------------------------------------- norm conventions


@pytest.mark.parametrize("ord", [2.0, 1.0, 1.5, 3.0, np.inf, 0.5, -1.0, -np.inf])
def test_vector_norm_kinks_match_torch(torch, ord):
    """Zero entries, a zero row and tied maxima: the subgradients PyTorch picks (0 at the zero vector, 0 for a
    zero entry when ord < 1, ties sharing for ±inf), never nan."""
    a = np.array([[0.0, 0.0, 0.0], [0.0, 2.0, -1.0], [3.0, -3.0, 1.0], [1.0, 1.0, -1.0]], np.float32)
    e = ember.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    oe, ot = LA.vector_norm(e, ord, dim=1), torch.linalg.vector_norm(t, ord, dim=1)
    assert_close(oe, ot, what=f"ord {ord} value")
    oe.backward(ember.ones(4))
    ot.backward(torch.ones(4))
    assert np.all(np.isfinite(e.grad.numpy()))
    assert_close(e.grad, t.grad, what=f"ord {ord} gradient")


def test_vector_norm_values_and_options():
    x = ember.tensor([[3.0, -4.0], [0.0, 0.0]])
    assert LA.vector_norm(x).item() == pytest.approx(5.0)
    assert LA.vector_norm(x, dim=1).tolist() == [5.0, 0.0]
    assert LA.vector_norm(x, 0, dim=1).tolist() == [2.0, 0.0]
    assert LA.vector_norm(x, np.inf).item() == 4.0 and LA.vector_norm(x, -np.inf).item() == 0.0
    assert LA.vector_norm(x, dim=[]).item() == pytest.approx(5.0)  # [] means every dimension, as in PyTorch
    assert LA.vector_norm(x, keepdim=True).shape == (1, 1)
    assert LA.vector_norm(x, dtype=ember.float64).dtype == np.float64
    assert LA.vector_norm(ember.tensor(-3.0)).item() == 3.0
    assert LA.vector_norm(ember.zeros(0)).item() == 0.0
    assert LA.vector_norm(ember.zeros(2, 0), np.inf, dim=0).shape == (0,)


def test_matrix_norm_values():
    a = np.array([[1.0, -2.0], [3.0, 4.0]])
    A = ember.tensor(a, dtype=ember.float64)
    for ord in ["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]:
        assert LA.matrix_norm(A, ord).item() == pytest.approx(np.linalg.norm(a, ord)), ord
    assert LA.norm(A, 2).item() == pytest.approx(np.linalg.norm(a, 2))
    assert LA.matrix_norm(ember.ones(2, 3, 4), dim=(2, 0), keepdim=True).shape == (1, 3, 1)


def test_det_of_singular_matrices_has_the_adjugate_gradient(torch):
    """A singular A: ∂det/∂A = adj(A)ᵀ (PyTorch's create_graph=True result; its plain backward gives 0)."""
    for a in ([[1.0, 2.0], [2.0, 4.0]], [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]],
              [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 2.0, 3.0]]):
        a = np.array(a)
        x = ember.tensor(a, dtype=ember.float64, requires_grad=True)
        gradcheck(LA.det, x)
        e = ember.tensor(a, dtype=ember.float32, requires_grad=True)
        LA.det(e).backward()
        t = torch.tensor(a, dtype=torch.float32, requires_grad=True)
        (g,) = torch.autograd.grad(torch.linalg.det(t), t, create_graph=True)
        assert_close(e.grad, g, rtol=1e-4, atol=1e-4, what="det gradient at a singular matrix")
    x = ember.tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    LA.det(x).backward()
    np.testing.assert_allclose(x.grad.numpy(), [[4.0, -2.0], [-2.0, 1.0]], rtol=1e-5)


def test_det_and_inv_values():
    a = _normal((3, 4, 4), 9)
    np.testing.assert_allclose(LA.det(ember.tensor(a)).numpy(), np.linalg.det(a), rtol=1e-10)
    np.testing.assert_allclose(LA.inv(ember.tensor(a)).numpy() @ a, np.broadcast_to(np.eye(4), a.shape), atol=1e-9)
    assert LA.det(ember.zeros(0, 0)).item() == 1.0 and LA.inv(ember.zeros(0, 0)).shape == (0, 0)


def test_solve_values_and_shapes():
    a, b = _well_conditioned((2, 3, 3)), _normal((2, 3, 4))
    x = LA.solve(ember.tensor(a), ember.tensor(b))
    np.testing.assert_allclose(a @ x.numpy(), b, atol=1e-10)
    y = LA.solve(ember.tensor(a), ember.tensor(_normal((4, 3))), left=False)
    np.testing.assert_allclose(y.numpy() @ a, np.broadcast_to(_normal((4, 3)), (2, 4, 3)), atol=1e-10)
    assert LA.solve(ember.tensor(a), ember.tensor(b[:, :, 0])).shape == (2, 3)  # vector case: B of A's shape[:-1]


def test_svdvals_values():
    a = _normal((2, 3, 5))
    np.testing.assert_allclose(LA.svdvals(ember.tensor(a)).numpy(), np.linalg.svd(a, compute_uv=False), rtol=1e-12)
    assert LA.svdvals(ember.zeros(0, 3)).shape == (0,)


def test_the_namespace_loads():
    import importlib

    assert importlib.import_module("ember").linalg is LA
    assert ember.linalg.norm is LA.norm
    assert issubclass(LA.LinAlgError, RuntimeError)


# ----------------------------------------------------------------------------- errors

SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]], np.float32)
BATCH_SINGULAR = np.stack([np.eye(2, dtype=np.float32), SINGULAR])

ERRORS = [
    ("vector_norm-int", lambda L, la: la.vector_norm(L.tensor([1, 2])), RuntimeError, "floating point"),
    ("vector_norm-str-ord", lambda L, la: la.vector_norm(L.ones(2, 2), "fro"), TypeError, "ord"),
    ("vector_norm-dup-dim", lambda L, la: la.vector_norm(L.ones(2, 2), dim=(0, 0)), RuntimeError,
     "dim 0 appears multiple times"),
    ("vector_norm-dim-range", lambda L, la: la.vector_norm(L.ones(2, 2), 2, 5), IndexError, "out of range"),
    ("vector_norm-empty-inf", lambda L, la: la.vector_norm(L.zeros(0), float("inf")), RuntimeError,
     "cannot compute the inf norm on an empty tensor"),
    ("vector_norm-empty-dim", lambda L, la: la.vector_norm(L.zeros(2, 0), -1, dim=1), RuntimeError,
     "on the dimension 1"),
    ("vector_norm-int-dtype", lambda L, la: la.vector_norm(L.ones(2), dtype=L.int64), RuntimeError,
     "dtype should be floating point"),
    ("matrix_norm-1d", lambda L, la: la.matrix_norm(L.ones(3)), RuntimeError, "at least 2 dimensions"),
    ("matrix_norm-ord", lambda L, la: la.matrix_norm(L.ones(3, 3), 3), RuntimeError, "Order 3 not supported"),
    ("matrix_norm-ord-str", lambda L, la: la.matrix_norm(L.ones(3, 3), "foo"), RuntimeError,
     "Order foo not supported"),
    ("matrix_norm-same-dims", lambda L, la: la.matrix_norm(L.ones(3, 3), dim=(0, 0)), RuntimeError,
     "dims must be different"),
    ("matrix_norm-dim-int", lambda L, la: la.matrix_norm(L.ones(3, 3), dim=0), TypeError, "dim"),
    ("matrix_norm-dim-len", lambda L, la: la.matrix_norm(L.ones(3, 3), dim=(0,)), RuntimeError, "2-tuple"),
    ("matrix_norm-dim-range", lambda L, la: la.matrix_norm(L.ones(3, 3), dim=(0, 5)), IndexError, "out of range"),
    ("matrix_norm-int", lambda L, la: la.matrix_norm(L.ones(3, 3, dtype=L.int64)), RuntimeError, "floating point"),
    ("norm-3d-ord", lambda L, la: la.norm(L.ones(2, 3, 4), 2), RuntimeError, "must be 1D or 2D. Got 3D"),
    ("norm-3-dims", lambda L, la: la.norm(L.ones(2, 3, 4), dim=(0, 1, 2)), RuntimeError, "of length 1 or 2"),
    ("norm-fro-1d", lambda L, la: la.norm(L.ones(3), "fro"), RuntimeError, "at least 2 dimensions"),
    ("norm-fro-one-dim", lambda L, la: la.norm(L.ones(3, 3), "fro", dim=0), RuntimeError, "2-tuple"),
    ("inv-rect", lambda L, la: la.inv(L.ones(2, 3)), RuntimeError, "square matrices, but they are 2 by 3"),
    ("inv-1d", lambda L, la: la.inv(L.ones(3)), RuntimeError, "at least 2 dimensions"),
    ("inv-int", lambda L, la: la.inv(L.ones(2, 2, dtype=L.int64)), RuntimeError, "floating point"),
    ("inv-singular", lambda L, la: la.inv(L.tensor(SINGULAR)), RuntimeError, "diagonal element 2 is zero"),
    ("inv-singular-batch", lambda L, la: la.inv(L.tensor(BATCH_SINGULAR)), RuntimeError, r"\(Batch element 1\)"),
    ("det-rect", lambda L, la: la.det(L.ones(2, 3)), RuntimeError, "square matrices"),
    ("det-1d", lambda L, la: la.det(L.ones(3)), RuntimeError, "at least 2 dimensions"),
    ("solve-singular", lambda L, la: la.solve(L.tensor(SINGULAR), L.ones(2)), RuntimeError,
     "input matrix is singular"),
    ("solve-singular-batch", lambda L, la: la.solve(L.tensor(BATCH_SINGULAR), L.ones(2, 2)), RuntimeError,
     r"\(Batch element 1\)"),
    ("solve-shapes", lambda L, la: la.solve(L.eye(2), L.ones(3)), RuntimeError,
     r"Incompatible shapes of A and B for the equation AX = B \(2x2 and 3x1\)"),
    ("solve-shapes-matrix", lambda L, la: la.solve(L.ones(4, 2, 2), L.ones(3, 1, 2)), RuntimeError,
     r"\(2x2 and 1x2\)"),
    ("solve-shapes-right", lambda L, la: la.solve(L.eye(2), L.ones(2, 3), left=False), RuntimeError,
     r"XA = B \(2x2 and 2x3\)"),
    ("solve-dtypes", lambda L, la: la.solve(L.eye(2), L.ones(2, dtype=L.float64)), RuntimeError, "same dtype"),
    ("solve-rect", lambda L, la: la.solve(L.ones(2, 3), L.ones(2)), RuntimeError, "square matrices"),
    ("svdvals-1d", lambda L, la: la.svdvals(L.ones(5)), RuntimeError, "at least 2 dimensions"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors(case):
    _, fn, exc, match = case
    with pytest.raises(exc, match=match):
        fn(ember, LA)


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_are_torchs(case, torch):
    _, fn, exc, _ = case
    with pytest.raises(exc):
        fn(torch, torch.linalg)


def test_singular_messages_are_torchs(torch):
    for A in (SINGULAR, BATCH_SINGULAR):
        with pytest.raises(RuntimeError) as ours:
            LA.inv(ember.tensor(A))
        with pytest.raises(RuntimeError) as theirs:
            torch.linalg.inv(torch.tensor(A))
        assert str(ours.value) == str(theirs.value)
        assert isinstance(ours.value, LA.LinAlgError)


def test_half_precision_is_refused_by_the_factorisations():
    with pytest.raises(RuntimeError, match="float16 is not supported"):
        LA.inv(ember.eye(2, dtype=ember.float16))
    assert LA.vector_norm(ember.ones(4, dtype=ember.float16)).dtype == np.float16
