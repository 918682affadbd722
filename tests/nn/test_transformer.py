"""Transformer layers: PyTorch's module names and state_dict keys, parity with torch (weights loaded from torch's
state_dict, same inputs and masks; outputs and the gradients of the inputs and of every parameter, in eval mode
with dropout and in train mode with dropout=0), the is_causal detection, argument checks, and a small ViT that
runs as PyTorch code and trains."""
from __future__ import annotations

import copy

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from tests.helpers import assert_close
from tests.nn.util import randn

# PyTorch deprecates (but still accepts) a bool padding mask next to a float attention mask, and warns about its
# nested-tensor fast path; both are beside the point here
pytestmark = [pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
              pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")]

D, H, FF = 16, 2, 24  # d_model, nhead, dim_feedforward: small, nhead even (PyTorch's fast-path condition)
N, L, T = 3, 5, 4  # batch, source length, target length


# --------------------------------------------------------------------------- helpers

def _load_from_torch(emod, tmod) -> None:
    """Torch's weights into ember (arrays), after checking the two state_dicts name the same tensors in order."""
    tsd = tmod.state_dict()
    assert list(emod.state_dict()) == list(tsd), "state_dict keys differ from PyTorch's"
    emod.load_state_dict({k: v.detach().numpy().copy() for k, v in tsd.items()})


def _pair_modules(torch, name, *args, mode="train", **kw):
    """The same layer in ember and torch, torch's weights in both; dropout 0 for 'train', kept for 'eval'."""
    if mode == "train":
        kw.setdefault("dropout", 0.0)
    ekw, tkw = dict(kw), dict(kw)
    act = kw.get("activation")
    if act == "gelu-module":
        ekw["activation"], tkw["activation"] = nn.GELU(), torch.nn.GELU()
    elif act == "relu-function":
        ekw["activation"], tkw["activation"] = F.relu, torch.nn.functional.relu
    tmod = getattr(torch.nn, name)(*args, **tkw)
    emod = getattr(nn, name)(*args, **ekw)
    _load_from_torch(emod, tmod)
    if mode == "eval":
        tmod.eval()
        emod.eval()
    else:
        tmod.train()
        emod.train()
    return emod, tmod


def _seq(batch_first: bool, n: int, length: int, seed: int) -> np.ndarray:
    return randn(n, length, D, seed=seed) if batch_first else randn(length, n, D, seed=seed)


def _padding(n: int, length: int, seed: int) -> np.ndarray:
    """Bool (n, length), True = padded; padding at the end and never the first position, so every query keeps a
    visible key even under a causal mask."""
    lengths = np.random.default_rng(seed).integers(1, length + 1, n)
    lengths[0] = length - 1  # at least one sequence is padded
    return np.arange(length)[None, :] >= lengths[:, None]


def _both(torch, value):
    """The same mask for ember and torch (None stays None)."""
    if value is None:
        return None, None
    return ember.tensor(value), torch.tensor(value)


def _causal(torch, size):
    em = nn.Transformer.generate_square_subsequent_mask(size)
    tm = torch.nn.Transformer.generate_square_subsequent_mask(size)
    assert_close(em, tm, what="square subsequent mask")
    return em, tm


def _check(torch, emod, tmod, inputs, ekw, tkw, what, rtol=1e-4, atol=1e-5):
    """Forward both on the same inputs, backward the same upstream gradient, compare output, every input's
    gradient and every parameter's gradient."""
    xe = [ember.tensor(x, requires_grad=True) for x in inputs]
    xt = [torch.tensor(x, requires_grad=True) for x in inputs]
    ye, yt = emod(*xe, **ekw), tmod(*xt, **tkw)
    assert_close(ye, yt, rtol, atol, what=f"{what}: output")
    up = randn(*ye.shape, seed=99)
    ye.backward(ember.tensor(up))
    yt.backward(torch.from_numpy(up))
    for i, (a, b) in enumerate(zip(xe, xt)):
        assert_close(a.grad, b.grad, rtol, atol, what=f"{what}: grad of input {i}")
    tparams = dict(tmod.named_parameters())
    eparams = dict(emod.named_parameters())
    assert list(eparams) == list(tparams), f"{what}: parameter names differ from PyTorch's"
    for name, p in eparams.items():
        assert p.grad is not None, f"{what}: no gradient reached {name}"
        assert_close(p.grad, tparams[name].grad, rtol, atol, what=f"{what}: grad of {name}")
    return ye, yt


# --------------------------------------------------------------------------- TransformerEncoderLayer

ENC_MASKS = ["none", "causal", "padding", "causal+padding", "bool-attn+float-padding"]


def _encoder_masks(torch, kind, batch_first):
    """(ember kwargs, torch kwargs) for an encoder layer's forward."""
    e, t = {}, {}
    if "causal" in kind:
        e["src_mask"], t["src_mask"] = _causal(torch, L)
        e["is_causal"] = t["is_causal"] = True
    if kind == "padding" or kind == "causal+padding":
        e["src_key_padding_mask"], t["src_key_padding_mask"] = _both(torch, _padding(N, L, seed=7))
    if kind == "bool-attn+float-padding":
        attn = np.random.default_rng(3).random((L, L)) < 0.3
        np.fill_diagonal(attn, False)  # True hides; every query keeps itself
        e["src_mask"], t["src_mask"] = _both(torch, attn)
        pad = np.where(_padding(N, L, seed=8), -np.inf, randn(N, L, seed=9) * 0.5).astype(np.float32)
        e["src_key_padding_mask"], t["src_key_padding_mask"] = _both(torch, pad)
    return e, t


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ENC_MASKS)
def test_encoder_layer_parity(torch, masks, batch_first, norm_first, activation, mode):
    emod, tmod = _pair_modules(torch, "TransformerEncoderLayer", D, H, FF, activation=activation,
                               batch_first=batch_first, norm_first=norm_first, mode=mode)
    ekw, tkw = _encoder_masks(torch, masks, batch_first)
    _check(torch, emod, tmod, [_seq(batch_first, N, L, seed=1)], ekw, tkw,
           what=f"encoder layer {masks} bf={batch_first} nf={norm_first} {activation} {mode}")


@pytest.mark.parametrize("activation", ["gelu-module", "relu-function"])
def test_encoder_layer_callable_activation_and_unbatched(torch, activation):
    emod, tmod = _pair_modules(torch, "TransformerEncoderLayer", D, H, FF, activation=activation, norm_first=True)
    _check(torch, emod, tmod, [randn(L, D, seed=2)], {}, {}, what=f"unbatched, activation {activation}")
    ekw, tkw = _encoder_masks(torch, "causal", False)
    _check(torch, emod, tmod, [randn(L, D, seed=3)], ekw, tkw, what=f"unbatched causal, activation {activation}")


def test_encoder_layer_bias_false(torch):
    emod, tmod = _pair_modules(torch, "TransformerEncoderLayer", D, H, FF, bias=False, batch_first=True)
    assert "linear1.bias" not in emod.state_dict() and "norm1.bias" not in emod.state_dict()
    _check(torch, emod, tmod, [_seq(True, N, L, seed=4)], {}, {}, what="bias=False")


def test_encoder_layer_matches_torch_inference_fast_path(torch):
    """PyTorch evaluates a batch_first layer in eval mode without gradients by a fused kernel: same function."""
    emod, tmod = _pair_modules(torch, "TransformerEncoderLayer", D, H, FF, batch_first=True, mode="eval")
    x = _seq(True, N, L, seed=5)
    pad = _padding(N, L, seed=6)
    with torch.no_grad():
        yt = tmod(torch.tensor(x), src_key_padding_mask=torch.tensor(pad))
    with ember.no_grad():
        ye = emod(ember.tensor(x), src_key_padding_mask=ember.tensor(pad))
    keep = ~pad  # the fused kernel may leave padded query positions different; only real tokens matter
    assert_close(ye.numpy()[keep], yt.numpy()[keep], what="fast path")


# --------------------------------------------------------------------------- TransformerEncoder

@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("norm_first,final_norm", [(False, False), (True, True)])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "causal-detected", "causal+padding"])
def test_encoder_parity(torch, masks, batch_first, norm_first, final_norm, mode):
    kw = dict(activation="gelu", batch_first=batch_first, norm_first=norm_first)
    if mode == "train":
        kw["dropout"] = 0.0
    tlayer = torch.nn.TransformerEncoderLayer(D, H, FF, **kw)
    elayer = nn.TransformerEncoderLayer(D, H, FF, **kw)
    tmod = torch.nn.TransformerEncoder(tlayer, 2, norm=torch.nn.LayerNorm(D) if final_norm else None,
                                       enable_nested_tensor=False)
    emod = nn.TransformerEncoder(elayer, 2, norm=nn.LayerNorm(D) if final_norm else None)
    _load_from_torch(emod, tmod)
    emod.train(mode == "train")
    tmod.train(mode == "train")
    e, t = {}, {}
    if masks.startswith("causal"):
        e["mask"], t["mask"] = _causal(torch, L)  # is_causal=None: detected as causal by both
    if "padding" in masks:
        e["src_key_padding_mask"], t["src_key_padding_mask"] = _both(torch, _padding(N, L, seed=7))
    _check(torch, emod, tmod, [_seq(batch_first, N, L, seed=1)], e, t,
           what=f"encoder {masks} bf={batch_first} nf={norm_first} {mode}")


def test_encoder_matches_torch_nested_tensor_path_on_real_tokens(torch):
    """PyTorch's eval/no-grad path packs the padded batch into a nested tensor and returns zeros at padded
    positions; the real tokens must agree."""
    tmod = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, H, FF, batch_first=True), 2)
    emod = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, FF, batch_first=True), 2)
    _load_from_torch(emod, tmod)
    tmod.eval()
    emod.eval()
    x, pad = _seq(True, N, L, seed=2), _padding(N, L, seed=3)
    with torch.no_grad():
        yt = tmod(torch.tensor(x), src_key_padding_mask=torch.tensor(pad)).numpy()
    with ember.no_grad():
        ye = emod(ember.tensor(x), src_key_padding_mask=ember.tensor(pad)).numpy()
    assert_close(ye[~pad], yt[~pad], what="real tokens")


def test_encoder_layers_are_independent_deep_copies():
    layer = nn.TransformerEncoderLayer(D, H, FF)
    enc = nn.TransformerEncoder(layer, 3)
    assert isinstance(enc.layers, nn.ModuleList) and len(enc.layers) == 3
    params = [dict(m.named_parameters()) for m in (layer, *enc.layers)]
    for name, p in params[0].items():
        objects = {id(ps[name]) for ps in params}
        assert len(objects) == 4, f"{name} is shared between copies"
        for ps in params[1:]:  # copies start equal to the template
            np.testing.assert_array_equal(ps[name].detach().numpy(), p.detach().numpy())
    enc.layers[0].linear1.weight.array[...] = 0.0
    assert np.abs(enc.layers[1].linear1.weight.detach().numpy()).sum() > 0
    assert np.abs(layer.linear1.weight.detach().numpy()).sum() > 0
    # a copied layer keeps its configuration and stays trainable
    clone = copy.deepcopy(layer)
    assert clone.activation is F.relu and clone.linear1.weight.requires_grad


# --------------------------------------------------------------------------- TransformerDecoderLayer / Decoder

DEC_MASKS = ["none", "causal", "causal+padding", "bool-tgt+float-memory"]


def _decoder_masks(torch, kind):
    e, t = {}, {}
    if "causal" in kind:
        e["tgt_mask"], t["tgt_mask"] = _causal(torch, T)
    if kind == "causal+padding":
        e["tgt_key_padding_mask"], t["tgt_key_padding_mask"] = _both(torch, _padding(N, T, seed=11))
        e["memory_key_padding_mask"], t["memory_key_padding_mask"] = _both(torch, _padding(N, L, seed=12))
    if kind == "bool-tgt+float-memory":
        e["tgt_mask"], t["tgt_mask"] = _both(torch, np.triu(np.ones((T, T), bool), 1))
        e["memory_mask"], t["memory_mask"] = _both(torch, randn(T, L, seed=13))
    return e, t


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", DEC_MASKS)
def test_decoder_layer_parity(torch, masks, batch_first, norm_first, activation, mode):
    emod, tmod = _pair_modules(torch, "TransformerDecoderLayer", D, H, FF, activation=activation,
                               batch_first=batch_first, norm_first=norm_first, mode=mode)
    ekw, tkw = _decoder_masks(torch, masks)
    if masks == "causal":
        ekw["tgt_is_causal"] = tkw["tgt_is_causal"] = True
    inputs = [_seq(batch_first, N, T, seed=1), _seq(batch_first, N, L, seed=2)]
    _check(torch, emod, tmod, inputs, ekw, tkw,
           what=f"decoder layer {masks} bf={batch_first} nf={norm_first} {activation} {mode}")


def test_decoder_layer_unbatched(torch):
    emod, tmod = _pair_modules(torch, "TransformerDecoderLayer", D, H, FF, activation="gelu-module")
    ekw, tkw = _decoder_masks(torch, "causal")
    _check(torch, emod, tmod, [randn(T, D, seed=1), randn(L, D, seed=2)], ekw, tkw, what="unbatched decoder layer")


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "causal+padding", "bool-tgt+float-memory"])
def test_decoder_parity(torch, masks, batch_first, norm_first, mode):
    kw = dict(batch_first=batch_first, norm_first=norm_first)
    if mode == "train":
        kw["dropout"] = 0.0
    tmod = torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(D, H, FF, **kw), 2, torch.nn.LayerNorm(D))
    emod = nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, FF, **kw), 2, nn.LayerNorm(D))
    _load_from_torch(emod, tmod)
    emod.train(mode == "train")
    tmod.train(mode == "train")
    ekw, tkw = _decoder_masks(torch, masks)
    inputs = [_seq(batch_first, N, T, seed=3), _seq(batch_first, N, L, seed=4)]
    _check(torch, emod, tmod, inputs, ekw, tkw, what=f"decoder {masks} bf={batch_first} nf={norm_first} {mode}")


# --------------------------------------------------------------------------- Transformer

@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("norm_first,activation", [(False, "relu"), (True, "gelu")])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("masks", ["none", "all"])
def test_transformer_parity(torch, masks, batch_first, norm_first, activation, mode):
    emod, tmod = _pair_modules(torch, "Transformer", D, H, 2, 2, FF, activation=activation, batch_first=batch_first,
                               norm_first=norm_first, mode=mode)
    ekw, tkw = {}, {}
    if masks == "all":
        ekw["tgt_mask"], tkw["tgt_mask"] = _causal(torch, T)
        for key, length, seed in (("src_key_padding_mask", L, 5), ("tgt_key_padding_mask", T, 6),
                                  ("memory_key_padding_mask", L, 5)):
            ekw[key], tkw[key] = _both(torch, _padding(N, length, seed))
    inputs = [_seq(batch_first, N, L, seed=1), _seq(batch_first, N, T, seed=2)]
    _check(torch, emod, tmod, inputs, ekw, tkw, what=f"transformer {masks} bf={batch_first} nf={norm_first} {mode}")


def test_transformer_state_dict_keys_and_defaults(torch):
    t = torch.nn.Transformer(D, H, 2, 1, FF)
    e = nn.Transformer(D, H, 2, 1, FF)
    assert list(e.state_dict()) == list(t.state_dict())
    assert {k: tuple(v.shape) for k, v in e.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in t.state_dict().items()}
    for key in ("encoder.layers.1.self_attn.in_proj_weight", "encoder.norm.weight", "decoder.layers.0.norm3.bias",
                "decoder.layers.0.multihead_attn.out_proj.weight", "decoder.norm.bias"):
        assert key in e.state_dict()
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    # Xavier-uniform re-initialisation of every matrix: U(±√(6/(fan_in + fan_out)))
    w = e.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6.0 / (D + FF))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert e.d_model == D and e.nhead == H and e.batch_first is False


def test_default_construction_matches_torch_shapes(torch):
    e, t = nn.TransformerEncoderLayer(32, 4), torch.nn.TransformerEncoderLayer(32, 4)
    assert {k: tuple(v.shape) for k, v in e.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in t.state_dict().items()}  # dim_feedforward=2048 by default
    assert e.dropout.p == 0.1 and e.self_attn.dropout == 0.1 and e.norm1.eps == 1e-5
    assert e.activation is F.relu and e.activation_relu_or_gelu == 1 and e.norm_first is False
    assert nn.TransformerEncoderLayer(8, 2, activation="gelu").activation_relu_or_gelu == 2


def test_transformer_custom_halves():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(D, H, FF, dropout=0.0), 1)
    model = nn.Transformer(D, H, dim_feedforward=FF, custom_encoder=enc, num_decoder_layers=1, dropout=0.0)
    assert model.encoder is enc and len(model.decoder.layers) == 1
    out = model(ember.randn(L, N, D), ember.randn(T, N, D))
    assert tuple(out.shape) == (T, N, D)


def test_transformer_shape_errors():
    model = nn.Transformer(D, H, 1, 1, FF)
    with pytest.raises(RuntimeError, match="batch number"):
        model(ember.randn(L, N, D), ember.randn(T, N + 1, D))
    with pytest.raises(RuntimeError, match="d_model"):
        model(ember.randn(L, N, D), ember.randn(T, N, D + 2))


def test_generate_square_subsequent_mask(torch):
    for sz in (0, 1, 4):
        m = nn.Transformer.generate_square_subsequent_mask(sz)
        assert m.dtype == np.float32 and tuple(m.shape) == (sz, sz)
        np.testing.assert_array_equal(m.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(sz).numpy())
    m = nn.Transformer.generate_square_subsequent_mask(3, dtype=ember.float64)
    assert m.dtype == np.float64 and m.numpy()[0, 1] == -np.inf and m.numpy()[1, 0] == 0.0
    with pytest.raises(ValueError, match="sz"):
        nn.Transformer.generate_square_subsequent_mask(-1)


# --------------------------------------------------------------------------- is_causal hint

class _Recorder(nn.Module):
    """A custom stacked layer (no self_attn) that records the is_causal hint it receives."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        self.seen.append(is_causal)
        return src


def test_encoder_detects_causal_mask_like_torch():
    enc = nn.TransformerEncoder(_Recorder(), 2)
    x = ember.randn(L, N, D)
    causal = nn.Transformer.generate_square_subsequent_mask(L)
    enc(x, mask=causal)
    enc(x, mask=ember.tensor(np.triu(np.ones((L, L), bool), 1)))  # a bool mask is canonicalised to −inf first
    enc(x, mask=causal, is_causal=False)  # an explicit hint wins
    enc(x, mask=ember.zeros(L, L))
    enc(x)
    assert [layer.seen for layer in enc.layers] == [[True, True, False, False, False]] * 2


def test_decoder_detects_causal_mask():
    class DecRecorder(nn.Module):
        def __init__(self):
            super().__init__()
            self.seen = []

        def forward(self, tgt, memory, tgt_is_causal=False, **kw):
            self.seen.append(tgt_is_causal)
            return tgt

    dec = nn.TransformerDecoder(DecRecorder(), 1)
    tgt, mem = ember.randn(T, N, D), ember.randn(L, N, D)  # sequence-first: the recorder has no self_attn
    dec(tgt, mem, tgt_mask=nn.Transformer.generate_square_subsequent_mask(T))
    dec(tgt, mem, tgt_mask=ember.tensor(np.triu(np.ones((T, T), bool), 1)))  # not canonicalised: not detected
    dec(tgt, mem, tgt_mask=nn.Transformer.generate_square_subsequent_mask(T + 1)[:T, :T])
    assert dec.layers[0].seen == [True, False, True]


def test_is_causal_without_mask_is_an_error():
    layer = nn.TransformerEncoderLayer(D, H, FF)
    with pytest.raises(RuntimeError, match="attn_mask"):
        layer(ember.randn(L, N, D), is_causal=True)


# --------------------------------------------------------------------------- argument checks

@pytest.mark.parametrize("cls", ["TransformerEncoderLayer", "TransformerDecoderLayer"])
@pytest.mark.parametrize("kwargs,error,match", [
    (dict(d_model=15, nhead=2), ValueError, r"d_model \(15\) must be divisible by nhead \(2\)"),
    (dict(d_model=0, nhead=2), ValueError, "d_model must be a positive integer, got 0"),
    (dict(d_model=16, nhead=2.0), ValueError, "nhead must be a positive integer, got 2.0"),
    (dict(d_model=16, nhead=2, dim_feedforward=0), ValueError, "dim_feedforward"),
    (dict(d_model=16, nhead=2, dropout=1.5), ValueError, "dropout must be a probability .* got 1.5"),
    (dict(d_model=16, nhead=2, layer_norm_eps=-1e-5), ValueError, "layer_norm_eps"),
    (dict(d_model=16, nhead=2, activation="tanh"), ValueError, "not 'tanh'"),
    (dict(d_model=16, nhead=2, activation=3), TypeError, "activation must be .* got int"),
    (dict(d_model=16, nhead=2, device="cuda"), RuntimeError, "CPU only"),
])
def test_layer_argument_errors(cls, kwargs, error, match):
    with pytest.raises(error, match=match) as info:
        getattr(nn, cls)(**kwargs)
    if error is not RuntimeError:
        assert cls in str(info.value)


def test_stack_argument_errors():
    layer = nn.TransformerEncoderLayer(D, H, FF)
    with pytest.raises(ValueError, match="num_layers must be a positive integer, got 0"):
        nn.TransformerEncoder(layer, 0)
    with pytest.raises(TypeError, match="encoder_layer must be a Module"):
        nn.TransformerEncoder(lambda x: x, 2)
    with pytest.raises(TypeError, match="norm must be a Module"):
        nn.TransformerDecoder(nn.TransformerDecoderLayer(D, H, FF), 1, norm="layer")
    with pytest.raises(ValueError, match="num_decoder_layers"):
        nn.Transformer(D, H, 1, -2, FF)
    with pytest.raises(TypeError, match="custom_encoder"):
        nn.Transformer(D, H, custom_encoder=object())


def test_masks_of_wrong_dtype_are_refused():
    layer = nn.TransformerEncoderLayer(D, H, FF)
    with pytest.raises(RuntimeError, match="bool or floating-point"):
        layer(ember.randn(L, N, D), src_key_padding_mask=ember.tensor(np.zeros((N, L), np.int64)))


def test_reprs_name_the_configuration():
    text = repr(nn.Transformer(D, H, 1, 1, FF, norm_first=True, activation="gelu"))
    assert "d_model=16, nhead=2, batch_first=False" in text and "num_layers=1" in text
    assert "activation=gelu, batch_first=False, norm_first=True" in text


# --------------------------------------------------------------------------- a small Vision Transformer

def _vit_class(lib):
    """A ViT written as PyTorch code against ``lib`` (torch or ember): patches by a strided Conv2d, a class
    token, learned positional embeddings, a pre-norm TransformerEncoder and a linear head on the class token."""
    class ViT(lib.nn.Module):
        def __init__(self, image=16, patch=4, channels=3, classes=5, dim=D, depth=2, heads=H):
            super().__init__()
            self.patch_embed = lib.nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)
            self.cls_token = lib.nn.Parameter(lib.zeros(1, 1, dim))
            self.pos_embed = lib.nn.Parameter(lib.randn(1, (image // patch) ** 2 + 1, dim) * 0.02)
            layer = lib.nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=0.0,
                                                   activation="gelu", batch_first=True, norm_first=True)
            self.encoder = lib.nn.TransformerEncoder(layer, depth, norm=lib.nn.LayerNorm(dim),
                                                     enable_nested_tensor=False)
            self.head = lib.nn.Linear(dim, classes)

        def forward(self, x):
            x = self.patch_embed(x).flatten(2).transpose(1, 2)  # (N, patches, dim)
            x = lib.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
            return self.head(self.encoder(x)[:, 0])
    return ViT


def test_vit_parity_with_torch(torch):
    tmod, emod = _vit_class(torch)(), _vit_class(ember)()
    _load_from_torch(emod, tmod)
    _check(torch, emod, tmod, [randn(4, 3, 16, 16, seed=1)], {}, {}, what="ViT")


def test_vit_trains():
    model = _vit_class(ember)()
    opt = ember.optim.Adam(model.parameters(), lr=3e-3)
    x = ember.tensor(randn(16, 3, 16, 16, seed=2))
    y = ember.tensor(np.random.default_rng(3).integers(0, 5, 16))
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0], f"loss did not go down: {losses}"
