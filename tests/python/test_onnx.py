"""lamina.onnx.export: every exported model passes onnx.checker (full check) and ONNX Runtime's
outputs match lamina's within float32 tolerance; unsupported ops raise NotImplementedError
naming the op; the model's training flags and every patched attribute are restored."""
import importlib.util
import os

import numpy as np
import pytest

import lamina
import lamina.nn as nn
import lamina.nn.functional as F
import lamina.onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "examples")


def _example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_lamina(model, inputs):
    was = model.training
    model.eval()
    with lamina.no_grad():
        out = model(*inputs)
    model.train(was)
    return out if isinstance(out, (tuple, list)) else (out,)


def _run_ort(path, inputs):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: t.numpy() for i, t in zip(sess.get_inputs(), inputs)}
    return sess.run(None, feeds)


def _fresh_like(t):
    if t.is_floating_point():
        return lamina.randn(*t.shape, dtype=t.dtype)
    if t.dtype == lamina.bool:
        return lamina.rand(*t.shape) < 0.3
    lo, hi = int(t.min().item()), int(t.max().item())
    return lamina.randint(lo, hi + 1, tuple(t.shape), dtype=t.dtype)


def check_export(model, example, tmp_path, rtol=1e-4, atol=1e-5, other_inputs=(), **kwargs):
    """Exports, checks the file with onnx.checker, and compares ONNX Runtime with lamina on the
    example and on each input tuple in other_inputs (other batch sizes with dynamic_axes)."""
    path = tmp_path / "model.onnx"
    inputs = example if isinstance(example, tuple) else (example,)
    proto = lamina.onnx.export(model, example, str(path), **kwargs)
    assert isinstance(proto, onnx.ModelProto)
    onnx.checker.check_model(str(path), full_check=True)
    # A fresh input of the same shape as well: a value that escaped tracing would have been
    # exported as a constant and would match only on the example.
    for ins in (inputs, tuple(_fresh_like(t) for t in inputs)) + tuple(other_inputs):
        want = _run_lamina(model, ins)
        got = _run_ort(path, ins)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == tuple(w.shape)
            np.testing.assert_allclose(g, w.numpy(), rtol=rtol, atol=atol)
    return proto


def _ops(proto):
    return {n.op_type for n in proto.graph.node}


def _train_bn(model, shape, steps=3):
    """A few training-mode passes so BatchNorm's running statistics are not the initial 0 / 1."""
    model.train()
    with lamina.no_grad():
        for _ in range(steps):
            model(lamina.randn(*shape) * 2.0 + 0.5)


# ---- models -----------------------------------------------------------------------------------

def test_mlp(tmp_path):
    lamina.manual_seed(0)
    model = _example("fashion_mnist").make_model("mlp")
    proto = check_export(model, lamina.randn(4, 1, 28, 28), tmp_path)
    assert {"Flatten", "MatMul", "Add", "Relu"} <= _ops(proto)
    assert len(proto.graph.initializer) == 6


def test_fashion_mnist_cnn(tmp_path):
    lamina.manual_seed(1)
    model = _example("fashion_mnist").make_model("cnn")
    _train_bn(model, (8, 1, 28, 28))
    proto = check_export(model, lamina.randn(3, 1, 28, 28), tmp_path)
    assert {"Conv", "BatchNormalization", "Relu", "MaxPool", "Flatten", "MatMul"} <= _ops(proto)


def test_dynamic_batch(tmp_path):
    lamina.manual_seed(2)
    model = _example("fashion_mnist").make_model("cnn")
    _train_bn(model, (8, 1, 28, 28))
    proto = check_export(model, lamina.randn(3, 1, 28, 28), tmp_path,
                         dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                         other_inputs=[(lamina.randn(7, 1, 28, 28),), (lamina.randn(1, 1, 28, 28),)])
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"

    class Reshaper(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(12, 6)

        def forward(self, x):
            b = x.shape[0]
            return self.fc(x.reshape(b, 12)).view(b, 2, 3).transpose(1, 2).expand(b, 3, 2) * 2.0

    check_export(Reshaper(), lamina.randn(4, 3, 4), tmp_path, dynamic_axes={"input": [0], "output": [0]},
                 other_inputs=[(lamina.randn(9, 3, 4),)])


class _Classifier(nn.Module):
    """LayerNorm, both GELUs, Dropout, softmax / log_softmax."""

    def __init__(self):
        super().__init__()
        self.ln = nn.LayerNorm(16)
        self.fc1 = nn.Linear(16, 32)
        self.act = nn.GELU()
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(32, 8)
        self.ln2 = nn.LayerNorm(8, elementwise_affine=False)

    def forward(self, x):
        h = self.drop(self.act(self.fc1(self.ln(x))))
        h = F.dropout(F.gelu(h, approximate="tanh"), 0.5, self.training)
        logits = self.ln2(self.fc2(h))
        return F.softmax(logits, dim=-1), F.log_softmax(logits, dim=1)


def test_layernorm_gelu_dropout_softmax(tmp_path):
    lamina.manual_seed(3)
    model = _Classifier()
    proto = check_export(model, lamina.randn(5, 16), tmp_path, output_names=["probs", "logp"])
    assert [o.name for o in proto.graph.output] == ["probs", "logp"]
    assert {"LayerNormalization", "Erf", "Tanh", "Softmax", "LogSoftmax"} <= _ops(proto)
    assert "Dropout" not in _ops(proto)


def test_gelu_opset20(tmp_path):
    lamina.manual_seed(3)
    proto = check_export(_Classifier(), lamina.randn(5, 16), tmp_path, opset_version=20)
    assert "Gelu" in _ops(proto)


class _Bag(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 12, padding_idx=0)
        self.fc = nn.Linear(12, 3)

    def forward(self, idx):
        return self.fc(self.emb(idx).mean(dim=1))


def test_embedding_int64_input(tmp_path):
    lamina.manual_seed(4)
    idx = lamina.randint(0, 50, (4, 7))
    assert idx.dtype == lamina.int64
    proto = check_export(_Bag(), idx, tmp_path)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert "Gather" in _ops(proto)


class _Ops(nn.Module):
    """reshape / transpose / matmul / elementwise / indexing / reductions written in forward."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(lamina.randn(4, 6))
        self.register_buffer("offset", lamina.linspace(-1.0, 1.0, 6))

    def forward(self, x, y):
        b = x.shape[0]
        h = lamina.matmul(x, self.w) + self.offset          # (b, 3, 6)
        h = h.reshape(b, 3, 2, 3).transpose(1, 2).permute(0, 1, 3, 2).contiguous().view(b, -1)  # (b, 18)
        a = (h - 0.5) * 3.0 / 2.0 + 1.0
        a = a ** 2 + (-a) + 2 ** (a * 0.1) - 1 / (a.abs() + 1)
        p = a.abs() + 0.1
        e = lamina.exp(-p) + p.log() + p.sqrt() + lamina.tanh(a) + p.rsqrt() + a.sigmoid() + p.pow(0.5)
        e = e + lamina.log1p(p) + lamina.expm1(-p) + lamina.square(a * 0.1) + F.silu(a) + F.relu(a) + a.neg()
        e = e.clamp(-50.0, 50.0) + lamina.maximum(a, e) - lamina.minimum(a, 1.0)
        e = lamina.where(a > 0, e, -e).masked_fill(a < -2.0, 0.25)
        s = e[:, 1:13:2].unsqueeze(1)                       # (b, 1, 6)
        t = lamina.cat([s, s * 2], dim=1).squeeze()         # (b, 2, 6)
        u = lamina.stack([t.sum(dim=-1), t.mean(dim=2), t.amax(dim=-1)], dim=1)  # (b, 3, 2)
        m, _ = t.max(dim=1)
        v = (y @ y.T)[..., None, :2] + u[:, :1].sum(dim=(1, 2), keepdim=True) / 10
        q0, q1 = t.unbind(1)
        return F.softmax(u, dim=1) + m[:, None, :2], v, q0 * q1 + t.flatten(1)[:, :6], (x > 0.5).sum(dim=-1)


def test_elementwise_shape_reduction_ops(tmp_path):
    lamina.manual_seed(5)
    model = _Ops()
    check_export(model, (lamina.randn(3, 3, 4), lamina.randn(3, 5)), tmp_path, input_names=["x", "y"], atol=1e-4)


class _MoreOps(nn.Module):
    """Indexing, splitting, casts, in-place ops, index ops and arg reductions."""

    def forward(self, x, idx):
        a = x[:, ::-1] + x[:, [0, 2, 1, 3]] + x[:, -2::-2].narrow(1, 0, 1) + x[1, None, :, -1:]
        b = x.T.mT.transpose(0, 1).swapaxes(1, 2).swapaxes(2, 1)  # (2, 4, 4)
        p, q = b.split(2, dim=1)
        c0, c1 = b.chunk(2, dim=-1)
        h = a * 1.0
        h += b
        h.relu_()
        h.mul_(0.5)
        r = lamina.tril(h[0]) + h[1].triu(1) + h.select(0, -1)
        g = x.gather(2, idx) + x.index_select(2, idx[0, :3, 0])
        z = lamina.ones_like(x) * 2
        m = x.movedim(0, -1).repeat(1, 2, 1)
        lse = x.logsumexp(dim=-1) + x.argmax(dim=1).to(lamina.float32) + x.argmin().float()
        i = (x * 10).long()
        return (r, g + z[..., :3], m, lse, p.sum(1) + q.sum(1), c0 - c1, i, x.expand(2, *x.shape).sum(0),
                x.unsqueeze(0).squeeze(0).flatten(), lamina.cat([x, x], -1)[..., 1:7:3], (x >= 0) | (x < -1))


@pytest.mark.parametrize("opset", [13, 18])
def test_other_opsets(tmp_path, opset):
    """Reductions take axes as an attribute before opset 18 and as an input from 18."""
    lamina.manual_seed(14)
    proto = check_export(_Ops(), (lamina.randn(3, 3, 4), lamina.randn(3, 5)), tmp_path, opset_version=opset,
                         atol=1e-4)
    assert proto.opset_import[0].version == opset


def test_float64_model(tmp_path):
    lamina.manual_seed(15)
    model = nn.Sequential(nn.Linear(6, 8, dtype=lamina.float64), nn.GELU(approximate="tanh"),
                          nn.LayerNorm(8, dtype=lamina.float64), nn.Linear(8, 2, dtype=lamina.float64))
    proto = check_export(model, lamina.randn(3, 6, dtype=lamina.float64), tmp_path, rtol=1e-10, atol=1e-12)
    assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_more_ops(tmp_path):
    lamina.manual_seed(13)
    x = lamina.randn(2, 4, 4)
    idx = lamina.randint(0, 4, (2, 4, 3))
    check_export(_MoreOps(), (x, idx), tmp_path)


def test_more_layers(tmp_path):
    lamina.manual_seed(6)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv1d(3, 4, 3, stride=2, padding=1)
            self.bn1 = nn.BatchNorm1d(4, eps=1e-3)
            self.c2 = nn.Conv2d(2, 4, (3, 5), stride=(1, 2), padding=(1, 2), dilation=1, groups=2, bias=False)
            self.pool = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
            self.pool2 = nn.AvgPool2d(2)
            self.mp = nn.MaxPool2d(3, 1, 1)
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.ap = nn.AdaptiveAvgPool2d((2, 2))
            self.acts = nn.Sequential(nn.SiLU(), nn.Tanh(), nn.Identity(), nn.Sigmoid())
            self.heads = nn.ModuleList([nn.Linear(4, 5), nn.Linear(4, 5)])
            self.bn = nn.BatchNorm1d(5)
            self.out = nn.LogSoftmax(dim=1)
            self.sm = nn.Softmax(dim=-1)

        def forward(self, seq, img):
            a = self.bn1(self.c1(seq)).mean(dim=-1)                       # (b, 4)
            f = self.mp(self.c2(img))                                     # (b, 4, 8, 8)
            g = self.gap(self.pool(f)).flatten(1) + self.ap(self.pool2(f)).mean(dim=(2, 3))
            h = self.acts(a + g)
            h = self.heads[0](h) + self.heads[1](h)
            return self.out(self.bn(h)), self.sm(h)

    model = Net()
    _train_bn(model.bn1, (6, 4, 5))
    _train_bn(model.bn, (6, 5))
    proto = check_export(model, (lamina.randn(2, 3, 10), lamina.randn(2, 2, 8, 16)), tmp_path)
    assert {"AveragePool", "GlobalAveragePool", "MaxPool", "BatchNormalization"} <= _ops(proto)
    avg = [n for n in proto.graph.node if n.op_type == "AveragePool"]
    assert {onnx.helper.get_attribute_value(a) for n in avg for a in n.attribute if a.name == "count_include_pad"} \
        == {0, 1}


@pytest.mark.parametrize("layers", [1, 2])
def test_char_gpt(tmp_path, layers):
    char_gpt = _example("char_gpt")
    lamina.manual_seed(7)
    model = char_gpt.CharGPT(30, context=16, width=32, layers=layers, heads=4)
    idx = lamina.randint(0, 30, (2, 12))
    proto = check_export(model, idx, tmp_path, atol=1e-4)
    assert {"MatMul", "Softmax", "Where", "LayerNormalization", "Gather", "Transpose"} <= _ops(proto)


def test_char_gpt_multihead_attention(tmp_path):
    char_gpt = _example("char_gpt")
    lamina.manual_seed(11)
    model = char_gpt.CharGPT(30, context=16, width=32, layers=2, heads=4, mha=True)
    proto = check_export(model, lamina.randint(0, 30, (2, 12)), tmp_path, atol=1e-4,
                         dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                         other_inputs=[(lamina.randint(0, 30, (3, 12)),)])
    assert {"MatMul", "Softmax", "Where"} <= _ops(proto)


@pytest.mark.parametrize("batch_first", [True, False])
def test_multihead_attention_weights_and_padding(tmp_path, batch_first):
    lamina.manual_seed(12)

    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(16, 2, batch_first=batch_first)

        def forward(self, q, kv, pad):
            out, w = self.mha(q, kv, kv, key_padding_mask=pad)
            return out, w

    pad = lamina.zeros(3, 6, dtype=lamina.bool)
    pad[:, 4:] = True
    q, kv = (lamina.randn(3, 5, 16), lamina.randn(3, 6, 16)) if batch_first else \
        (lamina.randn(5, 3, 16), lamina.randn(6, 3, 16))
    check_export(Attn(), (q, kv, pad), tmp_path, atol=1e-4)


def test_char_gpt_dynamic_batch(tmp_path):
    char_gpt = _example("char_gpt")
    lamina.manual_seed(8)
    model = char_gpt.CharGPT(30, context=16, width=32, layers=2, heads=4)
    check_export(model, lamina.randint(0, 30, (2, 12)), tmp_path, atol=1e-4,
                 dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                 other_inputs=[(lamina.randint(0, 30, (5, 12)),)])


# ---- errors and restoration ------------------------------------------------------------------

class _Cumsum(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x).cumsum(1)


def _patched_targets():
    from lamina.nn.module import Module
    T = lamina.Tensor
    return [(T, "cumsum"), (T, "__add__"), (T, "__getitem__"), (T, "reshape"), (T, "T"), (lamina, "matmul"),
            (lamina._lamina, "matmul"), (lamina._lamina._nn.functional, "linear"), (Module, "__call__")]


def _snapshot():
    return [(o, n, o.__dict__[n] if isinstance(o, type) else getattr(o, n)) for o, n in _patched_targets()]


def test_unsupported_op_raises_and_restores(tmp_path):
    lamina.manual_seed(9)
    before = _snapshot()
    model = _Cumsum()
    with pytest.raises(lamina.NotImplementedError, match="op 'cumsum' is not supported"):
        lamina.onnx.export(model, lamina.randn(2, 4), str(tmp_path / "m.onnx"))
    assert issubclass(lamina.NotImplementedError, NotImplementedError)
    for (o, n, v), (_, _, w) in zip(before, _snapshot()):
        assert v is w, f"{n} was not restored"
    # lamina works normally afterwards
    x = lamina.ones(2, 2)
    assert (x + x).tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert lamina.matmul(x, x).tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert x.cumsum(1).tolist() == [[1.0, 2.0], [1.0, 2.0]]
    assert model(x[:, :1].expand(2, 4)).shape == (2, 4)
    assert not os.path.exists(tmp_path / "m.onnx")


def test_unsupported_operator_and_module(tmp_path):
    class Mod(nn.Module):
        def forward(self, x):
            return x % 2.0

    with pytest.raises(NotImplementedError, match="'__mod__'"):
        lamina.onnx.export(Mod(), lamina.randn(2, 3), str(tmp_path / "m.onnx"))
    with pytest.raises(NotImplementedError, match="'GroupNorm'"):
        lamina.onnx.export(nn.Sequential(nn.GroupNorm(2, 4)), lamina.randn(2, 4, 3), str(tmp_path / "m.onnx"))

    class Item(nn.Module):
        def forward(self, x):
            return x * x.sum().item()

    with pytest.raises(NotImplementedError, match="'item'"):
        lamina.onnx.export(Item(), lamina.randn(2, 3), str(tmp_path / "m.onnx"))


def test_training_mode_restored(tmp_path):
    lamina.manual_seed(10)
    model = _Classifier()
    model.train()
    model.ln2.eval()  # a mixed state is restored per module
    lamina.onnx.export(model, lamina.randn(3, 16), str(tmp_path / "t.onnx"))
    assert model.training and model.drop.training and model.fc1.training and not model.ln2.training
    model.eval()
    lamina.onnx.export(model, lamina.randn(3, 16), str(tmp_path / "e.onnx"))
    assert not model.training and not model.drop.training
    model.train()
    with pytest.raises(NotImplementedError):
        lamina.onnx.export(_Cumsum(), lamina.randn(2, 4), str(tmp_path / "m.onnx"))
    c = _Cumsum()
    c.train()
    with pytest.raises(NotImplementedError):
        lamina.onnx.export(c, lamina.randn(2, 4), str(tmp_path / "m.onnx"))
    assert c.training and c.fc.training


def test_constant_output_rejected(tmp_path):
    class Const(nn.Module):
        def forward(self, x):
            return lamina.ones(2)

    with pytest.raises(NotImplementedError, match="does not depend on the input"):
        lamina.onnx.export(Const(), lamina.randn(2), str(tmp_path / "m.onnx"))


def test_supported_lists():
    ops = lamina.onnx.supported_ops()
    assert {"matmul", "softmax", "reshape", "__getitem__", "masked_fill", "linear", "layer_norm"} <= set(ops)
    assert {"Linear", "Conv2d", "BatchNorm2d", "LayerNorm", "Embedding", "GELU", "Dropout"} <= \
        set(lamina.onnx.supported_modules())


@pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")
def test_a_model_on_the_gpu_exports_like_on_the_cpu(tmp_path):
    lamina.manual_seed(5)
    model = _example("fashion_mnist").make_model("cnn")
    _train_bn(model, (8, 1, 28, 28))
    x = lamina.randn(3, 1, 28, 28)
    cpu_proto = lamina.onnx.export(model, x, str(tmp_path / "cpu.onnx"))
    model.cuda()
    gpu_proto = lamina.onnx.export(model, x.cuda(), str(tmp_path / "gpu.onnx"))
    assert [n.op_type for n in gpu_proto.graph.node] == [n.op_type for n in cpu_proto.graph.node]
    for a, b in zip(cpu_proto.graph.initializer, gpu_proto.graph.initializer):
        assert a.name == b.name and a.raw_data == b.raw_data
    np.testing.assert_allclose(_run_ort(tmp_path / "gpu.onnx", (x,))[0], _run_ort(tmp_path / "cpu.onnx", (x,))[0])


class _TableOps(nn.Module):
    """The elementwise ops added through the op table's recipe: hypot, logaddexp, copysign."""

    def forward(self, x, y):
        return lamina.hypot(x, y), lamina.logaddexp(x * 30, y), lamina.copysign(x, y) + x.copysign(-0.0), x.hypot(2.0)


def test_table_ops_hypot_logaddexp_copysign(tmp_path):
    lamina.manual_seed(21)
    proto = check_export(_TableOps(), (lamina.randn(3, 4), lamina.randn(4)), tmp_path)
    assert {"Sqrt", "Exp", "Log", "Where"} <= _ops(proto)


# ---- recurrent layers ---------------------------------------------------------------------------

def _flat(v):
    return [x for e in v for x in _flat(e)] if isinstance(v, (tuple, list)) else [v]


class _Call(lamina.nn.Module):
    """A user module around a layer, so the layer is exported as a leaf."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, *args):
        return self.layer(*args)


def _check_nested(model, args, tmp_path):
    """Export with nested inputs / outputs (torch.onnx.export flattens both), checked by
    onnx.checker and ONNX Runtime against lamina on the example and on fresh values."""
    path = tmp_path / "rnn.onnx"
    proto = lamina.onnx.export(model, args, str(path))
    onnx.checker.check_model(str(path), full_check=True)
    model.eval()
    flat_in = _flat(args)
    for ins in (flat_in, [_fresh_like(t) for t in flat_in]):
        it = iter(ins)
        structured = tuple(type(a)(next(it) for _ in a) if isinstance(a, tuple) else next(it) for a in args)
        with lamina.no_grad():
            want = _flat(model(*structured))
        got = _run_ort(path, ins)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert g.shape == tuple(w.shape)
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-5)
    return proto


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("layers,bidirectional,batch_first,bias,state", [
    (1, False, False, True, False), (2, True, False, True, True), (2, False, True, False, True),
    (1, True, True, True, False), (3, True, False, True, True)])
def test_recurrent_layers(tmp_path, kind, layers, bidirectional, batch_first, bias, state):
    lamina.manual_seed(3)
    layer = getattr(lamina.nn, kind)(3, 5, layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional)
    x = lamina.randn(2, 4, 3) if batch_first else lamina.randn(4, 2, 3)
    args = (x,)
    if state:
        h = lamina.randn(layers * (2 if bidirectional else 1), 2, 5)
        args = (x, (h, lamina.randn(*h.shape)) if kind == "LSTM" else h)
    proto = _check_nested(_Call(layer), args, tmp_path)
    assert [n.op_type for n in proto.graph.node].count(kind) == layers


def test_recurrent_variants_relu_unbatched_and_cells(tmp_path):
    lamina.manual_seed(4)
    _check_nested(_Call(lamina.nn.RNN(3, 4, 2, nonlinearity="relu")), (lamina.randn(5, 2, 3),), tmp_path)
    _check_nested(_Call(lamina.nn.LSTM(3, 4, 2)), (lamina.randn(5, 3), (lamina.randn(2, 4), lamina.randn(2, 4))),
                  tmp_path)
    for cell in (lamina.nn.RNNCell(3, 4), lamina.nn.GRUCell(3, 4), lamina.nn.LSTMCell(3, 4)):
        h = lamina.randn(2, 4)
        state = (h, lamina.randn(2, 4)) if isinstance(cell, lamina.nn.LSTMCell) else h
        _check_nested(_Call(cell), (lamina.randn(2, 3),), tmp_path)
        _check_nested(_Call(cell), (lamina.randn(2, 3), state), tmp_path)


def test_recurrent_layer_on_packed_input_is_refused(tmp_path):
    from lamina.nn.utils.rnn import pack_padded_sequence

    class Packed(lamina.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = lamina.nn.GRU(3, 4)

        def forward(self, x):
            return self.rnn(pack_padded_sequence(x, [4, 2]))[1]
    with pytest.raises(lamina.NotImplementedError):
        lamina.onnx.export(Packed(), lamina.randn(4, 2, 3), str(tmp_path / "p.onnx"))
