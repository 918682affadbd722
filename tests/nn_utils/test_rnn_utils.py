"""ember.nn.utils.rnn — PackedSequence, pack/pad and their list forms — against torch.nn.utils.rnn: same values,
batch sizes, permutations and lengths, and the same gradients flowing back through every conversion."""
from __future__ import annotations

import numpy as np
import pytest

import ember
import ember.nn as nn
from ember.nn.utils import rnn as R
from ember.nn.utils.rnn import PackedSequence
from tests.helpers import assert_close


def _np(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _backward_both(torch, ye, yt, seed=50):
    w = _np(seed, *yt.shape)
    (ye * ember.tensor(w)).sum().backward()
    (yt * torch.from_numpy(w)).sum().backward()


def _same_packed(pe, pt):
    assert isinstance(pe, PackedSequence)
    assert_close(pe.data, pt.data, what="packed data")
    assert pe.batch_sizes.dtype == np.int64
    assert pe.batch_sizes.tolist() == pt.batch_sizes.tolist()
    for name in ("sorted_indices", "unsorted_indices"):
        a, b = getattr(pe, name), getattr(pt, name)
        assert (a is None) == (b is None), name
        if a is not None:
            assert a.tolist() == b.tolist(), name


def test_submodule_is_exposed():
    import ember.nn.utils.rnn as by_import

    assert nn.utils.rnn is by_import is R
    assert set(R.__all__) >= {"PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
                              "pack_sequence", "unpad_sequence", "unpack_sequence"}


# --------------------------------------------------------------------------- pad_sequence

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (2, 3)], ids=["1d", "3d"])
def test_pad_sequence(torch, batch_first, padding_side, trailing):
    arrays = [_np(i, n, *trailing) for i, n in enumerate((3, 5, 1, 4))]
    es = [ember.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ye = R.pad_sequence(es, batch_first=batch_first, padding_value=-2.5, padding_side=padding_side)
    yt = torch.nn.utils.rnn.pad_sequence(ts, batch_first=batch_first, padding_value=-2.5,
                                         padding_side=padding_side)
    assert_close(ye, yt)
    _backward_both(torch, ye, yt)
    for k, (a, b) in enumerate(zip(es, ts)):
        assert_close(a.grad, b.grad, what=f"grad of sequence {k}")


def test_pad_sequence_errors():
    with pytest.raises(ValueError, match="empty"):
        R.pad_sequence([])
    with pytest.raises(ValueError, match=r"\(3, 2\).*\(4, 5\)"):
        R.pad_sequence([ember.zeros(3, 2), ember.zeros(4, 5)])
    with pytest.raises(ValueError, match="padding_side"):
        R.pad_sequence([ember.zeros(3)], padding_side="middle")
    with pytest.raises(TypeError, match="not a Tensor"):
        R.pad_sequence([ember.zeros(3), [1.0, 2.0]])


# --------------------------------------------------------------------------- pack_padded / pad_packed

PACK_CASES = [
    ([5, 4, 4, 2, 1], True),     # sorted
    ([3, 5, 1, 5, 2], False),    # unsorted, with a tie
    ([2, 2, 2], False),          # all equal
    ([4], True),                 # a single sequence
]


@pytest.mark.parametrize("as_tensor", [False, True], ids=["list", "tensor"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", PACK_CASES, ids=lambda v: str(v))
def test_pack_padded_sequence(torch, lengths, enforce_sorted, batch_first, as_tensor):
    B, Tm = len(lengths), max(lengths) + 1  # one step more than needed: the extra is dropped
    x = _np(1, B, Tm, 3) if batch_first else _np(1, Tm, B, 3)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    le = ember.tensor(lengths) if as_tensor else lengths
    lt = torch.tensor(lengths) if as_tensor else lengths
    pe = R.pack_padded_sequence(xe, le, batch_first=batch_first, enforce_sorted=enforce_sorted)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, lt, batch_first=batch_first, enforce_sorted=enforce_sorted)
    _same_packed(pe, pt)
    _backward_both(torch, pe.data, pt.data)
    assert_close(xe.grad, xt.grad, what="grad of the padded input")


@pytest.mark.parametrize("total_length", [None, 7])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths,enforce_sorted", PACK_CASES, ids=lambda v: str(v))
def test_pad_packed_sequence(torch, lengths, enforce_sorted, batch_first, total_length):
    x = _np(2, max(lengths), len(lengths), 2)
    pe = R.pack_padded_sequence(ember.tensor(x), lengths, enforce_sorted=enforce_sorted)
    pt = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, enforce_sorted=enforce_sorted)
    de, dt = ember.tensor(pe.data.array, requires_grad=True), torch.tensor(pt.data.numpy(), requires_grad=True)
    pe, pt = PackedSequence(de, *pe[1:]), torch.nn.utils.rnn.PackedSequence(dt, *pt[1:])
    ye, len_e = R.pad_packed_sequence(pe, batch_first=batch_first, padding_value=9.0, total_length=total_length)
    yt, len_t = torch.nn.utils.rnn.pad_packed_sequence(pt, batch_first=batch_first, padding_value=9.0,
                                                        total_length=total_length)
    assert_close(ye, yt)
    assert len_e.dtype == np.int64 and len_e.tolist() == len_t.tolist() == lengths
    _backward_both(torch, ye, yt)
    assert_close(de.grad, dt.grad, what="grad of the packed data")


def test_round_trip_random_batches():
    """pad_packed(pack_padded(x)) gives x back wherever a sequence has a step, the padding value elsewhere."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        B = int(rng.integers(1, 6))
        lengths = rng.integers(1, 7, size=B)
        x = rng.standard_normal((int(lengths.max()), B, 2)).astype(np.float32)
        packed = R.pack_padded_sequence(ember.tensor(x), lengths, enforce_sorted=False)
        back, out_lengths = R.pad_packed_sequence(packed, padding_value=-1.0)
        assert out_lengths.tolist() == lengths.tolist()
        mask = (np.arange(x.shape[0])[:, None] < lengths[None, :])[:, :, None]
        np.testing.assert_array_equal(back.array, np.where(mask, x, -1.0))
        assert packed.data.shape[0] == lengths.sum()


def test_pack_and_pad_errors():
    x = ember.zeros(4, 3, 2)
    with pytest.raises(RuntimeError, match="enforce_sorted"):
        R.pack_padded_sequence(x, [2, 4, 1])
    with pytest.raises(RuntimeError, match="greater than 0"):
        R.pack_padded_sequence(x, [4, 2, 0])
    with pytest.raises(RuntimeError, match="batch_size=3"):
        R.pack_padded_sequence(x, [4, 2])
    with pytest.raises(RuntimeError, match="exceeds the 4 time steps"):
        R.pack_padded_sequence(x, [5, 2, 1])
    with pytest.raises(TypeError, match="integers"):
        R.pack_padded_sequence(x, [4.0, 2.5, 1.0])
    packed = R.pack_padded_sequence(x, [4, 2, 1])
    with pytest.raises(ValueError, match="total_length=3 and max sequence length being 4"):
        R.pad_packed_sequence(packed, total_length=3)
    with pytest.raises(TypeError, match="PackedSequence"):
        R.pad_packed_sequence(x)


# --------------------------------------------------------------------------- lists of sequences

@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_and_unpack_sequence(torch, enforce_sorted):
    sizes = (5, 3, 3, 1) if enforce_sorted else (2, 5, 1, 3)
    arrays = [_np(10 + i, n, 2) for i, n in enumerate(sizes)]
    es = [ember.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    pe = R.pack_sequence(es, enforce_sorted=enforce_sorted)
    pt = torch.nn.utils.rnn.pack_sequence(ts, enforce_sorted=enforce_sorted)
    _same_packed(pe, pt)
    ue, ut = R.unpack_sequence(pe), torch.nn.utils.rnn.unpack_sequence(pt)
    assert [tuple(u.shape) for u in ue] == [tuple(u.shape) for u in ut] == [(n, 2) for n in sizes]
    for k, (a, b) in enumerate(zip(ue, ut)):
        assert_close(a, b, what=f"sequence {k}")
    loss_e = sum((u * ember.tensor(_np(30 + k, *u.shape))).sum() for k, u in enumerate(ue))
    loss_t = sum((u * torch.from_numpy(_np(30 + k, *u.shape))).sum() for k, u in enumerate(ut))
    loss_e.backward()
    loss_t.backward()
    for k, (a, b) in enumerate(zip(es, ts)):
        assert_close(a.grad, b.grad, what=f"grad of sequence {k}")


@pytest.mark.parametrize("batch_first", [False, True])
def test_unpad_sequence(torch, batch_first):
    lengths = [3, 1, 4]
    x = _np(20, 3, 4, 2) if batch_first else _np(20, 4, 3, 2)
    xe = ember.tensor(x, requires_grad=True)
    ue = R.unpad_sequence(xe, ember.tensor(lengths), batch_first=batch_first)
    ut = torch.nn.utils.rnn.unpad_sequence(torch.tensor(x), torch.tensor(lengths), batch_first=batch_first)
    assert xe.shape == x.shape  # PyTorch transposes its input in place here; ember leaves it alone
    for a, b in zip(ue, ut):
        assert_close(a, b)
    sum(u.sum() for u in ue).backward()
    mask = np.arange(4)[:, None] < np.array(lengths)[None, :]
    expected = mask.T if batch_first else mask
    np.testing.assert_array_equal(xe.grad.array, np.broadcast_to(expected[..., None], x.shape).astype(np.float32))


# --------------------------------------------------------------------------- PackedSequence itself

def test_packed_sequence_is_a_named_tuple():
    data = ember.tensor(_np(40, 6, 2))
    p = PackedSequence(data, ember.tensor([3, 2, 1]), ember.tensor([2, 0, 1]))
    d, bs, s, u = p
    assert d is data and bs.tolist() == [3, 2, 1] and s.tolist() == [2, 0, 1]
    assert u.tolist() == [1, 2, 0]  # computed: the inverse permutation
    assert p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    assert repr(p).startswith("PackedSequence(data=")
    assert PackedSequence(data, [3, 2, 1]).batch_sizes.dtype == np.int64
    assert R.invert_permutation(None) is None
    assert R.invert_permutation(ember.tensor([1, 2, 0])).tolist() == [2, 0, 1]


def test_packed_sequence_conversions():
    p = R.pack_sequence([ember.tensor(_np(41, 3, 2)), ember.tensor(_np(42, 2, 2))])
    assert p.to(ember.float32) is p
    q = p.double()
    assert isinstance(q, PackedSequence) and q.data.dtype == np.float64
    assert q.batch_sizes is p.batch_sizes
    assert p.cpu() is p and not p.is_cuda
