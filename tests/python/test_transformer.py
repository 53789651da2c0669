"""nn.Transformer, its encoder / decoder stacks and layers against PyTorch (Debian's python3-torch in
its own process): the same weights and inputs give the same outputs and gradients; state_dict keys
match, so checkpoints move between the two."""
import json
import subprocess

import numpy as np
import pytest

import lamina
from conftest import TORCH_PYTHON
import lamina.nn as nn

CASES = [
    "nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0)",
    "nn.TransformerEncoderLayer(8, 4, 12, dropout=0.0, activation='gelu', norm_first=True, batch_first=True)",
    "nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0), 2, norm=nn.LayerNorm(8))",
    "nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0)",
    "nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, norm_first=True), 2)",
    "nn.Transformer(8, 2, 2, 1, 16, dropout=0.0)",
    "nn.Transformer(8, 4, 1, 2, 16, dropout=0.0, batch_first=True, activation='gelu')",
]

CASE_CODE = r'''
import numpy as np

def run_case(torch, expr, arrays):
    nn = torch.nn
    m = eval(expr)
    m.double()
    m.load_state_dict({k[2:]: torch.tensor(v) for k, v in arrays.items() if k.startswith("p.")})
    m.train(False)
    kind = type(m).__name__
    batch_first = "batch_first=True" in expr
    src = torch.tensor(arrays["src"]).requires_grad_()
    tgt = torch.tensor(arrays["tgt"]).requires_grad_()
    steps_src, steps_tgt = (src.shape[1], tgt.shape[1]) if batch_first else (src.shape[0], tgt.shape[0])
    causal = nn.Transformer.generate_square_subsequent_mask(steps_tgt).double()
    pad = torch.tensor(arrays["pad"])
    if kind in ("TransformerEncoderLayer",):
        out = m(src, src_mask=nn.Transformer.generate_square_subsequent_mask(steps_src).double(),
                src_key_padding_mask=pad)
    elif kind == "TransformerEncoder":
        out = m(src, src_key_padding_mask=pad)
    elif kind in ("TransformerDecoderLayer", "TransformerDecoder"):
        out = m(tgt, src, tgt_mask=causal, memory_key_padding_mask=pad)
    else:
        out = m(src, tgt, tgt_mask=causal, src_key_padding_mask=pad, memory_key_padding_mask=pad)
    (out * torch.tensor(arrays["w"])).sum().backward()
    res = {"out": out.detach().numpy(), "src.grad": src.grad.numpy()}
    if tgt.grad is not None:
        res["tgt.grad"] = tgt.grad.numpy()
    for name, p in m.named_parameters():
        res["grad." + name] = p.grad.numpy()
    res["keys"] = np.array(sorted(m.state_dict().keys()))
    return res
'''

TORCH_DRIVER = r'''
import json, sys, numpy as np, torch
cases = json.load(open(sys.argv[1]))
arrays = np.load(sys.argv[2])
out = {}
for i, expr in enumerate(cases):
    mine = {k.split("/", 1)[1]: arrays[k] for k in arrays.files if k.startswith("%d/" % i)}
    for k, v in run_case(torch, expr, mine).items():
        out["%d/%s" % (i, k)] = v
np.savez(sys.argv[3], **out)
'''


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    if subprocess.run([TORCH_PYTHON, "-c", "import torch"], capture_output=True).returncode != 0:
        pytest.skip("PyTorch not importable under /usr/bin/python3")
    scope = {}
    exec(CASE_CODE, scope)
    rng = np.random.default_rng(21)
    all_arrays, mine = {}, []
    for i, expr in enumerate(CASES):
        model = eval(expr, {"nn": nn})
        model.double()
        arrays = {"p." + k: v.numpy() for k, v in model.state_dict().items()}
        batch_first = "batch_first=True" in expr
        src_shape, tgt_shape = ((3, 5, 8), (3, 4, 8)) if batch_first else ((5, 3, 8), (4, 3, 8))
        arrays["src"] = rng.standard_normal(src_shape)
        arrays["tgt"] = rng.standard_normal(tgt_shape)
        pad = np.zeros((3, 5), dtype=bool)
        pad[1, 3:] = True
        pad[2, 4] = True
        arrays["pad"] = pad
        probe = dict(arrays, w=1.0)
        arrays["w"] = rng.standard_normal(scope["run_case"](lamina, expr, probe)["out"].shape)
        mine.append(scope["run_case"](lamina, expr, arrays))
        all_arrays.update({f"{i}/{k}": v for k, v in arrays.items()})
    tmp = tmp_path_factory.mktemp("transformer")
    (tmp / "cases.json").write_text(json.dumps(CASES))
    np.savez(tmp / "in.npz", **all_arrays)
    out = subprocess.run([TORCH_PYTHON, "-c", CASE_CODE + TORCH_DRIVER, tmp / "cases.json", tmp / "in.npz",
                          tmp / "out.npz"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    ref = np.load(tmp / "out.npz")
    theirs = [{k.split("/", 1)[1]: ref[k] for k in ref.files if k.startswith(f"{i}/")} for i in range(len(CASES))]
    return mine, theirs


@pytest.mark.parametrize("index", range(len(CASES)), ids=CASES)
def test_matches_pytorch(compared, index):
    mine, theirs = compared[0][index], compared[1][index]
    assert sorted(mine) == sorted(theirs)
    np.testing.assert_array_equal(mine.pop("keys"), theirs["keys"])
    for key in mine:
        np.testing.assert_allclose(mine[key], theirs[key], rtol=1e-8, atol=1e-10, err_msg=key)


def test_layers_start_as_copies_and_train():
    lamina.manual_seed(0)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1), 3)
    sd = enc.state_dict()
    np.testing.assert_array_equal(sd["layers.0.linear1.weight"].numpy(), sd["layers.2.linear1.weight"].numpy())
    enc.layers[0].linear1.weight.data.mul_(2.0)  # independent copies, not one shared layer
    assert not np.array_equal(enc.layers[0].linear1.weight.numpy(), enc.layers[1].linear1.weight.numpy())
    head = nn.Linear(8, 1)
    opt = lamina.optim.Adam(list(enc.parameters()) + list(head.parameters()), lr=1e-2)
    x = lamina.randn(6, 4, 8)
    y = x.sum(-1, keepdim=True)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = ((head(enc(x)) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_mask_and_errors():
    m = nn.Transformer.generate_square_subsequent_mask(3)
    assert m.tolist() == [[0.0, float("-inf"), float("-inf")], [0.0, 0.0, float("-inf")], [0.0, 0.0, 0.0]]
    with pytest.raises(lamina.ConfigError):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(lamina.ConfigError):
        nn.TransformerEncoderLayer(8, 3)  # embed_dim not divisible by num_heads
    with pytest.raises(lamina.ConfigError):
        nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 0)
    t = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(lamina.ShapeError):
        t(lamina.randn(5, 3, 8), lamina.randn(4, 2, 8))
    with pytest.raises(lamina.ShapeError):
        t(lamina.randn(5, 3, 6), lamina.randn(4, 3, 6))
