"""nn.RNN / LSTM / GRU, their cells and nn.utils.rnn against PyTorch (Debian's python3-torch in its
own process): the same weights, inputs and initial states give the same outputs, final states and
gradients. One piece of code runs every case under both libraries, so what is compared is exactly
what a PyTorch program would call."""
import json
import subprocess

import numpy as np
import pytest

import lamina
from conftest import TORCH_PYTHON
import lamina.nn as nn
from lamina.nn.utils.rnn import PackedSequence, pack_padded_sequence, pack_sequence, pad_packed_sequence, pad_sequence

# Runs one case with `torch` being either PyTorch or lamina; returns name -> numpy array.
CASE_CODE = r'''
import numpy as np

def run_case(torch, case, arrays):
    pack_padded_sequence = torch.nn.utils.rnn.pack_padded_sequence
    pad_packed_sequence = torch.nn.utils.rnn.pad_packed_sequence
    nn = torch.nn
    layer = getattr(nn, case["layer"])(**case["args"], dtype=torch.float64)
    layer.load_state_dict({k[2:]: torch.tensor(v) for k, v in arrays.items() if k.startswith("p.")})
    layer.train(False)
    x = torch.tensor(arrays["x"]).requires_grad_()
    state = [torch.tensor(arrays[k]).requires_grad_() for k in ("h0", "c0") if k in arrays]
    hx = None if not state else (tuple(state) if len(state) == 2 else state[0])
    is_cell = case["layer"].endswith("Cell")
    if is_cell:
        y = layer(x, hx)
        finals = list(y) if isinstance(y, tuple) else [y]
        out = finals[0]
    elif "lengths" in case:
        packed = pack_padded_sequence(x, case["lengths"], batch_first=case["args"].get("batch_first", False),
                                      enforce_sorted=case["sorted"])
        y, h = layer(packed, hx)
        out, lengths = pad_packed_sequence(y, batch_first=case["args"].get("batch_first", False))
        finals = list(h) if isinstance(h, tuple) else [h]
    else:
        out, h = layer(x, hx)
        finals = list(h) if isinstance(h, tuple) else [h]
    loss = (out * torch.tensor(arrays["w_out"])).sum()
    for i, f in enumerate(finals):
        loss = loss + (f * torch.tensor(arrays["w_final%d" % i])).sum()
    loss.backward()
    res = {"out": out.detach().numpy(), "x.grad": x.grad.numpy()}
    for i, f in enumerate(finals):
        res["final%d" % i] = f.detach().numpy()
    for name, s in zip(("h0", "c0"), state):
        res[name + ".grad"] = s.grad.numpy()
    for name, p in layer.named_parameters():
        res["grad." + name] = p.grad.numpy()
    if "lengths" in case:
        res["lengths"] = np.asarray(lengths.tolist())
    return res
'''

TORCH_DRIVER = r'''
import json, sys, numpy as np, torch
cases = json.load(open(sys.argv[1]))
arrays = np.load(sys.argv[2])
out = {}
for i, case in enumerate(cases):
    mine = {k.split("/", 1)[1]: arrays[k] for k in arrays.files if k.startswith("%d/" % i)}
    for k, v in run_case(torch, case, mine).items():
        out["%d/%s" % (i, k)] = v
np.savez(sys.argv[3], **out)
'''

CASES = [
    {"layer": "RNN", "args": {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True},
     "x": (5, 2, 3), "h0": (4, 2, 4)},
    {"layer": "RNN", "args": {"input_size": 3, "hidden_size": 4, "nonlinearity": "relu", "batch_first": True},
     "x": (2, 5, 3)},
    {"layer": "LSTM", "args": {"input_size": 3, "hidden_size": 5, "num_layers": 2, "bidirectional": True,
                               "batch_first": True}, "x": (3, 4, 3), "h0": (4, 3, 5), "c0": (4, 3, 5)},
    {"layer": "LSTM", "args": {"input_size": 3, "hidden_size": 4, "bias": False}, "x": (6, 3)},
    {"layer": "GRU", "args": {"input_size": 2, "hidden_size": 3, "num_layers": 3, "bidirectional": True},
     "x": (4, 3, 2), "h0": (6, 3, 3)},
    {"layer": "GRU", "args": {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bidirectional": True},
     "x": (6, 4, 3), "h0": (4, 4, 4), "lengths": [3, 6, 1, 4], "sorted": False},
    {"layer": "LSTM", "args": {"input_size": 3, "hidden_size": 4, "batch_first": True, "bidirectional": True},
     "x": (3, 5, 3), "lengths": [5, 5, 2], "sorted": True},
    {"layer": "RNN", "args": {"input_size": 2, "hidden_size": 3, "num_layers": 2}, "x": (4, 3, 2),
     "h0": (2, 3, 3), "lengths": [2, 4, 4], "sorted": False},
    {"layer": "RNNCell", "args": {"input_size": 3, "hidden_size": 4, "nonlinearity": "relu"}, "x": (2, 3),
     "h0": (2, 4)},
    {"layer": "LSTMCell", "args": {"input_size": 3, "hidden_size": 4}, "x": (2, 3), "h0": (2, 4), "c0": (2, 4)},
    {"layer": "GRUCell", "args": {"input_size": 3, "hidden_size": 4, "bias": False}, "x": (3,), "h0": (4,)},
    {"layer": "GRUCell", "args": {"input_size": 3, "hidden_size": 4}, "x": (5, 3)},
]


def _case_arrays(case, rng):
    """Weights from lamina's own initialization, random inputs and states, random loss weights."""
    layer = getattr(nn, case["layer"])(**case["args"], dtype=lamina.float64)
    arrays = {"p." + k: v.numpy() for k, v in layer.state_dict().items()}
    for key in ("x", "h0", "c0"):
        if key in case:
            arrays[key] = rng.standard_normal(case[key])
    if "lengths" in case:
        for b, n in enumerate(case["lengths"]):  # padding must not matter: fill it with large values
            pad = (slice(b, b + 1), slice(n, None)) if case["args"].get("batch_first") else (slice(n, None), b)
            arrays["x"][pad] = 1e3
    return arrays


def _loss_weights(arrays, result, rng):
    arrays["w_out"] = rng.standard_normal(result["out"].shape)
    for k in sorted(result):
        if k.startswith("final"):
            arrays["w_" + k] = rng.standard_normal(result[k].shape)


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """(lamina's results, PyTorch's results) per case."""
    probe = subprocess.run([TORCH_PYTHON, "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("PyTorch not importable under /usr/bin/python3")
    scope = {}
    exec(CASE_CODE, scope)
    rng = np.random.default_rng(7)
    all_arrays, mine = {}, []
    for i, case in enumerate(CASES):
        arrays = _case_arrays(case, rng)
        spec = {k: v for k, v in case.items() if k not in ("x", "h0", "c0")}
        _loss_weights(arrays, _shapes_only(scope, spec, arrays), rng)
        mine.append(scope["run_case"](lamina, spec, arrays))
        all_arrays.update({f"{i}/{k}": v for k, v in arrays.items()})
    tmp = tmp_path_factory.mktemp("rnn")
    (tmp / "cases.json").write_text(json.dumps([{k: v for k, v in c.items() if k not in ("x", "h0", "c0")}
                                                for c in CASES]))
    np.savez(tmp / "in.npz", **all_arrays)
    out = subprocess.run([TORCH_PYTHON, "-c", CASE_CODE + TORCH_DRIVER, tmp / "cases.json", tmp / "in.npz",
                          tmp / "out.npz"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    ref = np.load(tmp / "out.npz")
    theirs = [{k.split("/", 1)[1]: ref[k] for k in ref.files if k.startswith(f"{i}/")} for i in range(len(CASES))]
    return mine, theirs


def _shapes_only(scope, spec, arrays):
    """The result shapes of a case, from a forward with unit loss weights."""
    probe = dict(arrays)
    probe["w_out"] = 1.0
    for i in range(2):
        probe["w_final%d" % i] = 1.0
    return scope["run_case"](lamina, spec, probe)


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{c['layer']}-{i}" for i, c in enumerate(CASES)])
def test_matches_pytorch(compared, index):
    mine, theirs = compared[0][index], compared[1][index]
    assert sorted(mine) == sorted(theirs)
    for key in theirs:
        np.testing.assert_allclose(mine[key], theirs[key], rtol=1e-9, atol=1e-10, err_msg=key)


def test_state_dict_keys_and_shapes_match_pytorch():
    script = r"""
import json, torch.nn as nn
layers = [nn.LSTM(3, 5, 2, bidirectional=True), nn.GRU(2, 4, bias=False), nn.RNN(3, 4, 3), nn.LSTMCell(3, 2),
          nn.GRUCell(3, 2), nn.RNNCell(2, 3, bias=False)]
print(json.dumps([[(k, list(v.shape)) for k, v in m.state_dict().items()] + [repr(m)] for m in layers]))
"""
    out = subprocess.run([TORCH_PYTHON, "-c", script], capture_output=True, text=True, timeout=120)
    if out.returncode != 0 and "No module named 'torch'" in out.stderr:
        pytest.skip("PyTorch not importable under /usr/bin/python3")
    assert out.returncode == 0, out.stderr[-2000:]
    layers = [nn.LSTM(3, 5, 2, bidirectional=True), nn.GRU(2, 4, bias=False), nn.RNN(3, 4, 3), nn.LSTMCell(3, 2),
              nn.GRUCell(3, 2), nn.RNNCell(2, 3, bias=False)]
    mine = [[[k, list(v.shape)] for k, v in m.state_dict().items()] + [repr(m)] for m in layers]
    assert mine == json.loads(out.stdout)


def test_initialization_is_uniform_in_pytorchs_bound():
    lamina.manual_seed(0)
    layer = nn.LSTM(8, 25, num_layers=2)
    for name, p in layer.named_parameters():
        v = p.numpy()
        assert np.abs(v).max() <= 0.2 and np.abs(v).max() > 0.15, name
        assert abs(v.mean()) < 0.03, name


def test_dropout_between_layers_only_in_training():
    lamina.manual_seed(1)
    layer = nn.GRU(4, 6, num_layers=2, dropout=0.5)
    x = lamina.randn(5, 2, 4)
    a, _ = layer(x)
    b, _ = layer(x)
    assert not np.allclose(a.numpy(), b.numpy())
    layer.eval()
    c, _ = layer(x)
    d, _ = layer(x)
    np.testing.assert_array_equal(c.numpy(), d.numpy())


def test_trains_a_sequence_task():
    lamina.manual_seed(3)
    model = nn.LSTM(1, 16, batch_first=True)
    head = nn.Linear(16, 1)
    opt = lamina.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=0.02)
    t = np.linspace(0, 6, 21)
    rng = np.random.default_rng(0)
    phases = rng.uniform(0, 6, size=(16, 1))
    seq = np.sin(t[None, :] + phases).astype(np.float32)
    x, y = lamina.tensor(seq[:, :-1, None]), lamina.tensor(seq[:, 1:, None])
    losses = []
    for _ in range(60):
        opt.zero_grad()
        out, _ = model(x)
        loss = ((head(out) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.1 * losses[0]


def test_packing_round_trips_and_keeps_gradients():
    rng = np.random.default_rng(2)
    seqs = [lamina.tensor(rng.standard_normal((n, 3))).requires_grad_() for n in (2, 5, 3)]
    padded = pad_sequence(seqs, batch_first=True, padding_value=-1.0)
    assert padded.shape == (3, 5, 3)
    assert np.all(padded.numpy()[0, 2:] == -1.0)
    left = pad_sequence(seqs, padding_side="left")
    np.testing.assert_array_equal(left.numpy()[3:, 0], seqs[0].detach().numpy())
    packed = pack_sequence(seqs, enforce_sorted=False)
    assert isinstance(packed, PackedSequence)
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1, 1]
    assert packed.sorted_indices.tolist() == [1, 2, 0]
    assert packed.unsorted_indices.tolist() == [2, 0, 1]
    back, lengths = pad_packed_sequence(packed, batch_first=True, total_length=7)
    assert back.shape == (3, 7, 3) and lengths.tolist() == [2, 5, 3]
    for s, row, n in zip(seqs, back.numpy(), (2, 5, 3)):
        np.testing.assert_array_equal(row[:n], s.detach().numpy())
        assert np.all(row[n:] == 0)
    back.sum().backward()
    for s in seqs:
        np.testing.assert_array_equal(s.grad.numpy(), np.ones(s.shape))


def test_bad_input_raises_typed_errors():
    lstm = nn.LSTM(3, 4, num_layers=2)
    x = lamina.randn(5, 2, 3)
    with pytest.raises(lamina.ShapeError, match="LSTM"):
        lstm(lamina.randn(5, 2, 4))
    with pytest.raises(lamina.ShapeError, match="LSTM"):
        lstm(x, (lamina.zeros(1, 2, 4), lamina.zeros(2, 2, 4)))
    with pytest.raises(lamina.ValueError, match="tuple"):
        lstm(x, lamina.zeros(2, 2, 4))
    with pytest.raises(lamina.DTypeError):
        lstm(x.double())
    with pytest.raises(lamina.ShapeError):
        nn.GRU(3, 4)(lamina.randn(3))
    with pytest.raises(lamina.ConfigError):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(lamina.ConfigError):
        nn.LSTM(3, 0)
    with pytest.raises(lamina.ConfigError):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(lamina.ConfigError):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(lamina.ShapeError, match="GRUCell"):
        nn.GRUCell(3, 4)(lamina.randn(2, 3), lamina.randn(3, 4))
    with pytest.raises(lamina.ValueError, match="sorted"):
        pack_padded_sequence(x, [3, 5], enforce_sorted=True)
    with pytest.raises(lamina.ValueError, match="greater than 0"):
        pack_padded_sequence(x, [5, 0], enforce_sorted=False)
    with pytest.raises(lamina.ShapeError):
        pack_padded_sequence(x, [5, 6], enforce_sorted=False)
    with pytest.raises(lamina.ShapeError):
        pack_padded_sequence(x, [5, 4, 3])
    with pytest.raises(lamina.ValueError, match="total_length"):
        pad_packed_sequence(pack_padded_sequence(x, [5, 3]), total_length=4)
    with pytest.raises(lamina.ShapeError, match="non-increasing"):
        nn.GRU(3, 4).forward(PackedSequence(lamina.randn(4, 3), lamina.tensor([1, 3])))
