"""Whole modules in PyTorch's format: lamina.save(model) pickles a model by class reference, as
torch.save(model) does, and lamina.load rebuilds it (C++ layers from their constructor arguments,
then the saved tensors) only for classes passed in safe_globals. Files naming sizes their tensors
do not back, or carrying malformed module state, raise FormatError without allocating them."""
import io
import pickle

import numpy as np
import pytest

import lamina
import lamina.nn as nn
import lamina.nn.functional as F
from lamina.serialization import safe_globals


class TinyLM(nn.Module):
    def __init__(self, vocab=30, dim=8, tie=True):
        super().__init__()
        self.drop = nn.Dropout(0.25)
        self.encoder = nn.Embedding(vocab, dim)
        self.rnn = nn.GRU(dim, dim, 2, dropout=0.1, bidirectional=False)
        self.decoder = nn.Linear(dim, vocab)
        if tie:
            self.decoder.weight = self.encoder.weight
        self.register_buffer("scale", lamina.tensor([0.5]))
        self.kind = "GRU"

    def forward(self, x, h):
        out, h = self.rnn(self.drop(self.encoder(x)), h)
        return F.log_softmax(self.decoder(self.drop(out)) * self.scale, -1), h


CLASSES = [TinyLM, nn.Dropout, nn.Embedding, nn.GRU, nn.Linear]


def _roundtrip(obj, classes):
    buf = io.BytesIO()
    lamina.save(obj, buf)
    buf.seek(0)
    with safe_globals(classes):
        return lamina.load(buf)


def test_a_saved_model_loads_back_equal_and_shares_tied_weights():
    lamina.manual_seed(0)
    m = TinyLM()
    m.rnn.weight_hh_l1.requires_grad_(False)  # a frozen parameter stays frozen
    m.eval()
    rng_before = lamina.get_rng_state()
    m2 = _roundtrip(m, CLASSES)
    assert lamina.equal(rng_before, lamina.get_rng_state())  # loading draws no random numbers
    assert type(m2) is TinyLM and m2.kind == "GRU" and not m2.training and not m2.rnn.training
    assert m2.decoder.weight.data_ptr() == m2.encoder.weight.data_ptr()
    assert [k for k, _ in m2.named_parameters()] == [k for k, _ in m.named_parameters()]
    assert not m2.rnn.weight_hh_l1.requires_grad and m2.rnn.weight_ih_l0.requires_grad
    assert all(isinstance(p, nn.Parameter) for p in m2.parameters())
    x, h = lamina.randint(0, 30, (6, 3)), lamina.randn(2, 3, 8)
    a, ha = m(x, h)
    b, hb = m2(x, h)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(ha.numpy(), hb.numpy())
    # The loaded model trains: its parameters are leaves that get gradients.
    m2.train()
    m2(x, h)[0].sum().backward()
    assert m2.encoder.weight.grad is not None


def test_dtype_conversions_multihead_attention_and_inplace_settings_survive():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0).double()
    layer.norm1.eps = 1e-3
    layer.eval()
    classes = [nn.TransformerEncoderLayer, nn.MultiheadAttention, nn.Linear, nn.Dropout, nn.LayerNorm, F.relu]
    back = _roundtrip(layer, classes)
    assert back.self_attn.in_proj_weight.dtype == lamina.float64 and back.norm1.eps == 1e-3
    # out_proj belongs to the attention's C++ layer: the rebuilt one holds the saved weights.
    np.testing.assert_array_equal(back.self_attn.out_proj.weight.numpy(), layer.self_attn.out_proj.weight.numpy())
    x = lamina.randn(5, 2, 8, dtype=lamina.float64)
    np.testing.assert_array_equal(back(x).numpy(), layer(x).numpy())
    act = _roundtrip(nn.Sequential(nn.LeakyReLU(0.3, inplace=True), nn.ReflectionPad1d(2)),
                     [nn.Sequential, nn.LeakyReLU, nn.ReflectionPad1d])
    assert act[0].inplace and act[0].negative_slope == pytest.approx(0.3) and act[1].padding == (2, 2)


def test_loading_a_model_needs_its_classes_in_safe_globals():
    buf = io.BytesIO()
    lamina.save(TinyLM(), buf)
    buf.seek(0)
    with pytest.raises(lamina.FormatError, match=r"test_module_pickle\.TinyLM.*safe_globals"):
        lamina.load(buf)
    buf.seek(0)
    with pytest.raises(lamina.FormatError, match=r"lamina\.nn\.rnn\.GRU"):
        with safe_globals([TinyLM, nn.Dropout, nn.Embedding, nn.Linear]):
            lamina.load(buf)
    # add_safe_globals trusts process-wide until cleared.
    buf.seek(0)
    lamina.serialization.add_safe_globals(CLASSES)
    try:
        assert set(lamina.serialization.get_safe_globals()) >= set(CLASSES)
        assert type(lamina.load(buf)) is TinyLM
    finally:
        lamina.serialization.clear_safe_globals()
    assert lamina.serialization.get_safe_globals() == []
    with pytest.raises(lamina.ValueError):
        with safe_globals([42]):
            pass


def _save_with(module, **state_changes):
    """lamina.save(module) after replacing entries of what it pickles (a hostile writer)."""
    original = type(module).__getstate__

    def tampered(self):
        state = original(self)
        if self is module:
            for key, value in state_changes.items():
                if key.startswith("layer."):
                    state["_lamina_layer"][key[6:]] = value
                else:
                    state[key] = value
        return state
    type(module).__getstate__ = tampered
    try:
        buf = io.BytesIO()
        lamina.save(module, buf)
    finally:
        type(module).__getstate__ = original
    buf.seek(0)
    return buf


def test_sizes_the_file_does_not_back_fail_before_allocating():
    # A 4x4 Linear whose recorded constructor asks for 200000 x 200000 (160 GB): the rebuild may
    # allocate only a few times the bytes the file holds, so it stops at the first big buffer.
    buf = _save_with(nn.Linear(4, 4), **{"layer.init": ((200000, 200000), {})})
    before = lamina.memory_stats()["peak_allocated_bytes"]
    with safe_globals([nn.Linear]):
        with pytest.raises(lamina.FormatError, match="allocation budget"):
            lamina.load(buf)
    assert lamina.memory_stats()["peak_allocated_bytes"] - before < 64 << 20
    buf = _save_with(nn.Linear(4, 4), **{"layer.init": ((5, 4), {})})  # fits the budget, wrong shape
    with safe_globals([nn.Linear]):
        with pytest.raises(lamina.FormatError, match="saved shape"):
            lamina.load(buf)


@pytest.mark.parametrize("change", [
    {"_parameters": {"w": 3}},
    {"_modules": {"x": "not a module"}},
    {"training": "yes"},
    {"layer.init": ((4, 4), {"bias": print})},
    {"layer.parameters": [("weight", 1.0)]},
    {"layer.parameters": []},
    {"layer.settings": {"eps": [1]}},
    {"layer.init": ((-4, 4), {})},
    {"layer.init": ((4,), {"no_such_argument": 1})},
])
def test_malformed_module_state_raises_format_error(change):
    buf = _save_with(nn.Linear(4, 4), **change)
    with safe_globals([nn.Linear]):
        with pytest.raises(lamina.FormatError):
            lamina.load(buf)


def test_a_trusted_class_does_not_open_the_door_to_other_globals(tmp_path):
    class Evil:
        def __reduce__(self):
            import os
            return (os.system, (f"touch {tmp_path / 'pwned'}",))
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=2)
    pickler.dump({"model": Evil()})
    from test_torch_format import _archive
    with safe_globals(CLASSES):
        with pytest.raises(lamina.FormatError, match=r"posix\.system|os\.system"):
            lamina.load(io.BytesIO(_archive(buf.getvalue())))
    assert not (tmp_path / "pwned").exists()


def test_zero_d_tensors_stand_for_numbers_and_the_legacy_tensor_constructor():
    t = lamina.tensor(7)
    x = lamina.zeros(2, 3, dtype=lamina.int64)
    x.fill_(t)
    assert x.tolist() == [[7] * 3] * 2
    assert ["a", "b", "c", "d", "e", "f", "g", "h"][t] == "h"
    with pytest.raises(lamina.DTypeError, match="0-d"):
        x.fill_(lamina.ones(2))
    with pytest.raises(lamina.DTypeError, match="requires grad"):
        x.fill_(lamina.tensor(1.0, requires_grad=True))
    assert lamina.Tensor([[t]]).dtype == lamina.float32 and lamina.Tensor([[t]]).tolist() == [[7.0]]
    assert lamina.Tensor(2, 3).shape == (2, 3) and lamina.Tensor().shape == (0,)
    assert isinstance(lamina.Tensor([1.0]), lamina.Tensor)


def test_rng_state_roundtrip_and_errors():
    lamina.manual_seed(5)
    s = lamina.get_rng_state()
    a = lamina.randn(4)
    lamina.set_rng_state(s)
    np.testing.assert_array_equal(lamina.randn(4).numpy(), a.numpy())
    with pytest.raises(lamina.ValueError):
        lamina.set_rng_state(lamina.zeros(16))
