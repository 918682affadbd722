"""Recurrent layers (RNN, LSTM, GRU and their cells) against PyTorch: torch's state_dict loaded into ember (keys
must match exactly), same inputs and initial states, then outputs, final states, the input's and initial states'
gradients and every parameter's gradient within float32 tolerance. Also packed sequences, dropout between
layers, float64 gradient checks of the scans' hand-written backward, argument checks, and the graph size."""
from __future__ import annotations

import math

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.diagnose import gradcheck
from ember.nn.utils import rnn as rnn_utils
from tests.helpers import assert_close

H, I, T, B = 8, 5, 5, 3  # hidden size, input size, sequence length, batch

# torch notes that its oneDNN kernels lack projections and falls back to its reference implementation: fine here
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections:UserWarning")


def _np(seed, *shape, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _twins(torch, name, *args, **kw):
    """An ember module holding the weights of a freshly initialised torch one (loaded through state_dict)."""
    torch.manual_seed(0)  # the same torch weights on every run
    tm = getattr(torch.nn, name)(*args, **kw)
    em = getattr(nn, name)(*args, **kw)
    sd = {k: v.detach().numpy() for k, v in tm.state_dict().items()}
    assert list(em.state_dict()) == list(sd), "parameter names or order differ from PyTorch's"
    em.load_state_dict(sd)
    return em, tm


def _leaf(torch, arr):
    return ember.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)


def _flat(value):
    """The tensors of a module's result, in order: output (or its packed data) and the final state(s)."""
    if isinstance(value, (tuple, list)):
        if type(value).__name__ == "PackedSequence":
            return [value.data]
        return [t for v in value for t in _flat(v)]
    return [value]


def _compare(em, tm, torch, ye, yt, leaves, what):
    """Compare every result tensor, backpropagate the same random weighting of all of them, compare the
    gradients of the given (ember, torch) leaves and of every parameter."""
    outs_e, outs_t = _flat(ye), _flat(yt)
    assert len(outs_e) == len(outs_t)
    loss_e = loss_t = 0
    for k, (a, b) in enumerate(zip(outs_e, outs_t)):
        assert_close(a, b, what=f"{what}: result {k}")
        w = _np(100 + k, *b.shape)
        loss_e = loss_e + (a * ember.tensor(w)).sum()
        loss_t = loss_t + (b * torch.from_numpy(w)).sum()
    loss_e.backward()
    loss_t.backward()
    for k, (a, b) in enumerate(leaves):
        assert a.grad is not None, f"{what}: no gradient reached input {k}"
        assert_close(a.grad, b.grad, what=f"{what}: grad of input {k}")
    tparams = dict(tm.named_parameters())
    for name, p in em.named_parameters():
        assert p.grad is not None, f"{what}: no gradient reached {name}"
        assert_close(p.grad, tparams[name].grad, what=f"{what}: grad of {name}")


def _states(torch, mode, n, batch, hidden, real, seed=7, unbatched=False):
    """Random initial states (ember, torch) of the shapes the layer expects, with their leaves."""
    lead = (n,) if unbatched else (n, batch)
    h = _leaf(torch, _np(seed, *lead, real))
    if mode != "LSTM":
        return h[0], h[1], [h]
    c = _leaf(torch, _np(seed + 1, *lead, hidden))
    return (h[0], c[0]), (h[1], c[1]), [h, c]


# --------------------------------------------------------------------------- full layers, padded input

LAYER_CASES = [
    ("RNN", {}),
    ("RNN", dict(nonlinearity="relu", num_layers=2)),
    ("RNN", dict(bidirectional=True, batch_first=True)),
    ("LSTM", {}),
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(proj_size=3, num_layers=2, bidirectional=True)),
    ("LSTM", dict(proj_size=4, batch_first=True, bias=False)),
    ("GRU", {}),
    ("GRU", dict(num_layers=2, bidirectional=True, batch_first=True)),
    ("GRU", dict(num_layers=2, bias=False)),
]


@pytest.mark.parametrize("given_hx", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("name,kw", LAYER_CASES, ids=lambda v: str(v))
def test_layer_parity(torch, name, kw, given_hx):
    em, tm = _twins(torch, name, I, H, **kw)
    n = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    x = _np(1, B, T, I) if kw.get("batch_first") else _np(1, T, B, I)
    xe, xt = _leaf(torch, x)
    leaves = [(xe, xt)]
    if given_hx:
        he, ht, more = _states(torch, name, n, B, H, kw.get("proj_size") or H)
        leaves += more
        ye, yt = em(xe, he), tm(xt, ht)
    else:
        ye, yt = em(xe), tm(xt)
    P = kw.get("proj_size") or H
    out_shape = x.shape[:2] + (P * (2 if kw.get("bidirectional") else 1),)
    assert ye[0].shape == out_shape
    _compare(em, tm, torch, ye, yt, leaves, f"{name}{kw}")


@pytest.mark.parametrize("given_hx", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_unbatched_input(torch, name, given_hx):
    em, tm = _twins(torch, name, I, H, num_layers=2, bidirectional=True)
    xe, xt = _leaf(torch, _np(2, T, I))
    leaves = [(xe, xt)]
    if given_hx:
        he, ht, more = _states(torch, name, 4, None, H, H, unbatched=True)
        leaves += more
        ye, yt = em(xe, he), tm(xt, ht)
    else:
        ye, yt = em(xe), tm(xt)
    assert ye[0].shape == (T, 2 * H)
    assert all(h.shape == (4, H) for h in _flat(ye[1]))
    _compare(em, tm, torch, ye, yt, leaves, f"unbatched {name}")


def test_lstm_state_is_h_and_c_pair_and_carries_over(torch):
    """Feeding (h_n, c_n) back in continues the sequence: two halves equal one run over the whole."""
    em, _ = _twins(torch, "LSTM", I, H, num_layers=2)
    x = ember.tensor(_np(3, 2 * T, B, I))
    whole, (h, c) = em(x)
    first, state = em(x[:T])
    second, (h2, c2) = em(x[T:], state)
    assert isinstance(state, tuple) and len(state) == 2
    assert_close(ember.cat([first, second]), whole)
    assert_close(h2, h)
    assert_close(c2, c)


# --------------------------------------------------------------------------- packed sequences

PACKED_CASES = [
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("LSTM", dict(num_layers=2, bidirectional=True, proj_size=3)),
    ("GRU", dict(num_layers=2, bidirectional=True)),
    ("RNN", dict(bidirectional=True, nonlinearity="relu")),
    ("RNN", dict(num_layers=2, batch_first=True)),  # batch_first does not apply to a packed input
]


@pytest.mark.parametrize("given_hx", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("name,kw", PACKED_CASES, ids=lambda v: str(v))
def test_packed_unsorted_lengths(torch, name, kw, given_hx):
    """Unsorted lengths (enforce_sorted=False): the packed output, and h_n taken at each sequence's own last
    step (the reverse direction starting there), in the original batch order; gradients reach the padded input
    and the initial states through pack_padded_sequence."""
    em, tm = _twins(torch, name, I, H, **kw)
    lengths = [3, 5, 1, 5, 2]
    batch = len(lengths)
    xe, xt = _leaf(torch, _np(4, T, batch, I))
    pe = rnn_utils.pack_padded_sequence(xe, lengths, enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, enforce_sorted=False)
    leaves = [(xe, xt)]
    if given_hx:
        n = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
        he, ht, more = _states(torch, name, n, batch, H, kw.get("proj_size") or H)
        leaves += more
        ye, yt = em(pe, he), tm(pt, ht)
    else:
        ye, yt = em(pe), tm(pt)
    out = ye[0]
    assert isinstance(out, rnn_utils.PackedSequence)
    assert out.batch_sizes.tolist() == yt[0].batch_sizes.tolist()
    assert out.sorted_indices.tolist() == yt[0].sorted_indices.tolist()
    assert out.unsorted_indices.tolist() == yt[0].unsorted_indices.tolist()
    padded_e, len_e = rnn_utils.pad_packed_sequence(out)
    padded_t, len_t = torch.nn.utils.rnn.pad_packed_sequence(yt[0])
    assert len_e.tolist() == len_t.tolist() == lengths
    assert_close(padded_e, padded_t, what="padded output")
    _compare(em, tm, torch, ye, yt, leaves, f"packed {name}{kw}")


def test_packed_sorted_lstm_matches_per_sequence_runs(torch):
    """enforce_sorted=True (no permutation), checked against torch and against running each sequence alone:
    padding must not leak into any sequence's output or final state."""
    em, tm = _twins(torch, "LSTM", I, H, bidirectional=True)
    lengths = [5, 4, 4, 2]
    x = _np(5, T, len(lengths), I)
    xe, xt = _leaf(torch, x)
    pe = rnn_utils.pack_padded_sequence(xe, lengths)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths)
    assert pe.sorted_indices is None and pe.unsorted_indices is None
    ye, yt = em(pe), tm(pt)
    _compare(em, tm, torch, ye, yt, [(xe, xt)], "sorted packed LSTM")
    with ember.no_grad():
        padded, _ = rnn_utils.pad_packed_sequence(em(pe)[0])
        h_n, c_n = em(pe)[1]
        for b, n in enumerate(lengths):
            alone, (h1, c1) = em(ember.tensor(x[:n, b]))
            assert_close(padded[:n, b], alone, what=f"sequence {b} output")
            assert_close(h_n[:, b], h1, what=f"sequence {b} h_n")
            assert_close(c_n[:, b], c1, what=f"sequence {b} c_n")
            assert np.all(padded.array[n:, b] == 0)


# --------------------------------------------------------------------------- cells

CELL_CASES = [
    ("RNNCell", {}),
    ("RNNCell", dict(nonlinearity="relu")),
    ("RNNCell", dict(bias=False)),
    ("LSTMCell", {}),
    ("LSTMCell", dict(bias=False)),
    ("GRUCell", {}),
    ("GRUCell", dict(bias=False)),
]


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("given_hx", [False, True], ids=["no_hx", "hx"])
@pytest.mark.parametrize("name,kw", CELL_CASES, ids=lambda v: str(v))
def test_cell_parity(torch, name, kw, given_hx, batched):
    em, tm = _twins(torch, name, I, H, **kw)
    lead = (B,) if batched else ()
    xe, xt = _leaf(torch, _np(6, *lead, I))
    leaves = [(xe, xt)]
    if given_hx:
        he, ht = _leaf(torch, _np(7, *lead, H))
        leaves.append((he, ht))
        if name == "LSTMCell":
            ce, ct = _leaf(torch, _np(8, *lead, H))
            leaves.append((ce, ct))
            he, ht = (he, ce), (ht, ct)
        ye, yt = em(xe, he), tm(xt, ht)
    else:
        ye, yt = em(xe), tm(xt)
    for y in _flat(ye):
        assert y.shape == lead + (H,)
    _compare(em, tm, torch, ye, yt, leaves, f"{name}{kw}")


def test_cell_loop_matches_layer(torch):
    """An LSTMCell stepped by hand over a sequence computes what an LSTM layer with the same weights does."""
    cell = nn.LSTMCell(I, H)
    layer = nn.LSTM(I, H)
    layer.load_state_dict({f"{k}_l0": v for k, v in cell.state_dict().items()})
    x = ember.tensor(_np(9, T, B, I))
    state = None
    outs = []
    for t in range(T):
        state = cell(x[t], state)
        outs.append(state[0])
    out, (h, c) = layer(x)
    assert_close(ember.stack(outs), out)
    assert_close(state[0], h[0])
    assert_close(state[1], c[0])


# --------------------------------------------------------------------------- float64 gradient checks

def _gradcheck_module(module, fn, *inputs):
    module.double()
    params = list(module.parameters())
    gradcheck(lambda *args: fn(*args[:len(inputs)]), *inputs, *params, atol=1e-6, rtol=1e-4)


def test_gradcheck_lstm_step():
    cell = nn.LSTMCell(3, 4)
    x, h, c = (ember.tensor(_np(s, 2, n, dtype=np.float64), requires_grad=True) for s, n in ((1, 3), (2, 4), (3, 4)))
    _gradcheck_module(cell, lambda x, h, c: cell(x, (h, c)), x, h, c)


def test_gradcheck_gru_step():
    cell = nn.GRUCell(3, 4)
    x, h = (ember.tensor(_np(s, 2, n, dtype=np.float64), requires_grad=True) for s, n in ((1, 3), (2, 4)))
    _gradcheck_module(cell, lambda x, h: cell(x, h), x, h)


@pytest.mark.parametrize("name,kw", [("LSTM", dict(proj_size=2)), ("GRU", {}), ("RNN", {})])
def test_gradcheck_packed_bidirectional_scan(name, kw):
    """The whole backward through time, masking included: a bidirectional layer over a packed batch."""
    layer = getattr(nn, name)(3, 4, bidirectional=True, **kw)
    x = ember.tensor(_np(1, 4, 3, 3, dtype=np.float64), requires_grad=True)
    h0 = ember.tensor(_np(2, 2, 3, kw.get("proj_size", 4), dtype=np.float64), requires_grad=True)
    extra = [ember.tensor(_np(3, 2, 3, 4, dtype=np.float64), requires_grad=True)] if name == "LSTM" else []

    def run(x, h0, *c0):
        packed = rnn_utils.pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)
        out, state = layer(packed, (h0, c0[0]) if c0 else h0)
        return (out.data,) + tuple(_flat(state))

    _gradcheck_module(layer, run, x, h0, *extra)


# --------------------------------------------------------------------------- dropout between layers

def test_dropout_between_layers_only_while_training(torch):
    em, tm = _twins(torch, "GRU", I, H, num_layers=2, dropout=0.5)
    x = ember.tensor(_np(10, T, B, I))
    em.eval()
    tm.eval()
    a, b = em(x)[0], em(x)[0]
    assert_close(a, b)
    assert_close(a, tm(torch.from_numpy(x.array))[0], what="eval output")
    em.train()
    c, d = em(x)[0], em(x)[0]
    assert not np.allclose(c.array, d.array), "two training passes drew the same dropout mask"
    assert not np.allclose(c.array, a.array), "dropout had no effect in training"


def test_dropout_one_cuts_the_stack_in_training_only():
    """p = 1 zeros everything between the layers: in training the output no longer depends on the input
    (only the second layer's biases drive it); in evaluation it does. The last layer's output is not dropped."""
    layer = nn.LSTM(I, H, num_layers=2, dropout=1.0)
    x1, x2 = ember.tensor(_np(11, T, B, I)), ember.tensor(_np(12, T, B, I))
    out1, out2 = layer(x1)[0], layer(x2)[0]
    assert_close(out1, out2)
    assert np.abs(out1.array).max() > 0, "the last layer's output was dropped too"
    layer.eval()
    assert not np.allclose(layer(x1)[0].array, layer(x2)[0].array)


def test_dropout_with_one_layer_warns_and_does_nothing():
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        layer = nn.RNN(I, H, dropout=1.0)
    x = ember.tensor(_np(13, T, B, I))
    train_out = layer(x)[0]
    assert_close(train_out, layer.eval()(x)[0])


# --------------------------------------------------------------------------- construction and API

@pytest.mark.parametrize("name,args,kw", [
    ("RNN", (I, H), {}),
    ("RNN", (I, H, 2), dict(nonlinearity="relu", bias=False, batch_first=True, dropout=0.25, bidirectional=True)),
    ("LSTM", (I, H, 3), dict(proj_size=2, bidirectional=True)),
    ("GRU", (I, H), dict(batch_first=True)),
    ("RNNCell", (I, H), dict(nonlinearity="relu", bias=False)),
    ("LSTMCell", (I, H), {}),
    ("GRUCell", (I, H), dict(bias=False)),
], ids=lambda v: str(v))
def test_names_shapes_repr_like_torch(torch, name, args, kw):
    em, tm = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert [(k, tuple(p.shape)) for k, p in em.named_parameters()] == \
        [(k, tuple(p.shape)) for k, p in tm.named_parameters()]
    assert repr(em) == repr(tm)
    if not name.endswith("Cell"):
        assert [[tuple(p.shape) for p in ws] for ws in em.all_weights] == \
            [[tuple(p.shape) for p in ws] for ws in tm.all_weights]
        assert em._flat_weights_names == tm._flat_weights_names
        assert em.flatten_parameters() is None


@pytest.mark.parametrize("name", ["LSTM", "GRUCell"])
def test_init_is_uniform_within_one_over_sqrt_hidden(name):
    hidden = 64
    layer = getattr(nn, name)(16, hidden)
    bound = 1 / math.sqrt(hidden)
    values = np.concatenate([p.array.ravel() for p in layer.parameters()])
    assert np.abs(values).max() <= bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.05 * bound  # U(−a, a) has std a/√3
    ember.manual_seed(3)
    again = getattr(nn, name)(16, hidden)
    ember.manual_seed(3)
    same = getattr(nn, name)(16, hidden)
    assert all(np.array_equal(p.array, q.array) for p, q in zip(again.parameters(), same.parameters()))


def test_dtype_argument_and_double():
    layer = nn.GRU(I, H, dtype=ember.float64)
    assert all(p.dtype == np.float64 for p in layer.parameters())
    out, h = layer(ember.tensor(_np(14, T, B, I, dtype=np.float64)))
    assert out.dtype == h.dtype == np.float64
    cell = nn.LSTMCell(I, H).double()
    h, c = cell(ember.tensor(_np(15, B, I, dtype=np.float64)))
    assert h.dtype == c.dtype == np.float64


def test_graph_does_not_grow_with_sequence_length():
    """A time step adds no graph node: the recurrence of a layer and direction is one node (a scan)."""
    layer = nn.LSTM(I, H, num_layers=2, bidirectional=True)

    def count(steps):
        x = ember.tensor(_np(16, steps, B, I), requires_grad=True)
        out, (h, c) = layer(x)
        seen, stack = set(), [(out.sum() + h.sum() + c.sum()).grad_fn]
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend(n for n, _ in node.next_functions)
        return len(seen)

    assert count(3) == count(40)


# --------------------------------------------------------------------------- argument checks

@pytest.mark.parametrize("make,match", [
    (lambda: nn.RNN(I, H, nonlinearity="sigmoid"), "nonlinearity"),
    (lambda: nn.RNNCell(I, H, nonlinearity="gelu"), "nonlinearity"),
    (lambda: nn.LSTM(I, H, proj_size=H), "proj_size"),
    (lambda: nn.LSTM(I, H, proj_size=-1), "proj_size"),
    (lambda: nn.GRU(I, 0), "hidden_size"),
    (lambda: nn.LSTM(0, H), "input_size"),
    (lambda: nn.RNN(I, H, num_layers=0), "num_layers"),
    (lambda: nn.GRU(I, H, num_layers=2, dropout=1.5), "dropout"),
    (lambda: nn.LSTMCell(I, H, dtype=ember.int64), "floating"),
], ids=range(9))
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bool_flags_must_be_bools():
    with pytest.raises(TypeError, match="batch_first"):
        nn.LSTM(I, H, batch_first=1)
    with pytest.raises(TypeError, match="bias"):
        nn.GRUCell(I, H, bias="yes")


def test_bad_forward_arguments():
    lstm = nn.LSTM(I, H, num_layers=2)
    x = ember.tensor(_np(17, T, B, I))
    with pytest.raises(ValueError, match="2D or 3D"):
        lstm(ember.tensor(_np(17, 1, T, B, I)))
    with pytest.raises(RuntimeError, match=r"Expected 5, got 4"):
        lstm(ember.tensor(_np(17, T, B, 4)))
    with pytest.raises(ValueError, match="dtype"):
        lstm(ember.tensor(_np(17, T, B, I, dtype=np.float64)))
    good = ember.zeros(2, B, H)
    with pytest.raises(RuntimeError, match=r"hidden\[0\] size \(2, 3, 8\), got \[1, 3, 8\]"):
        lstm(x, (ember.zeros(1, B, H), good))
    with pytest.raises(RuntimeError, match=r"hidden\[1\] size \(2, 3, 8\), got \[2, 4, 8\]"):
        lstm(x, (good, ember.zeros(2, B + 1, H)))
    with pytest.raises(RuntimeError, match="should also be 3-D"):
        lstm(x, (ember.zeros(2, H), ember.zeros(2, H)))
    with pytest.raises(TypeError, match="pair"):
        lstm(x, good)
    gru = nn.GRU(I, H)
    with pytest.raises(RuntimeError, match="should also be 2-D"):
        gru(x[:, 0], ember.zeros(1, B, H))
    with pytest.raises(RuntimeError, match=r"hidden size \(1, 3, 8\), got \[1, 3, 4\]"):
        gru(x, ember.zeros(1, B, 4))
    cell = nn.GRUCell(I, H)
    with pytest.raises(ValueError, match="1D or 2D"):
        cell(x)
    with pytest.raises(RuntimeError, match="needs"):
        cell(x[0], ember.zeros(B + 1, H))
