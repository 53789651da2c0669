"""MultiheadAttention against PyTorch 1.13 (Debian's python3-torch, own process): same weights
(from PyTorch's state_dict), same outputs, attention weights and gradients, with masks."""

import numpy as np
import pytest

import lamina
from conftest import torch_reference
import lamina.nn as nn

TORCH = r"""
import json, sys, torch
d = json.loads(sys.stdin.read())
torch.manual_seed(0)
out = []
for c in d:
    m = torch.nn.MultiheadAttention(8, 2, batch_first=c["batch_first"]).double()
    q = torch.tensor(c["q"], dtype=torch.float64, requires_grad=True)
    kv = torch.tensor(c["kv"], dtype=torch.float64)
    kpm = torch.tensor(c["kpm"]) if c["kpm"] is not None else None
    am = torch.tensor(c["am"]) if c["am"] is not None else None
    o, w = m(q, kv, kv, key_padding_mask=kpm, attn_mask=am, average_attn_weights=c["avg"])
    (o * o).sum().backward()
    out.append({"sd": {k: v.tolist() for k, v in m.state_dict().items()}, "o": o.tolist(), "w": w.tolist(),
                "gq": q.grad.tolist(), "gw": m.in_proj_weight.grad.tolist()})
print(json.dumps(out))
"""


def test_multihead_attention_matches_pytorch():
    rng = np.random.default_rng(2)
    cases = [
        dict(batch_first=False, q=rng.normal(size=(4, 2, 8)).tolist(), kv=rng.normal(size=(5, 2, 8)).tolist(),
             kpm=[[False, False, True, False, True], [False] * 5], am=None, avg=True),
        dict(batch_first=True, q=rng.normal(size=(2, 4, 8)).tolist(), kv=rng.normal(size=(2, 4, 8)).tolist(),
             kpm=None, am=np.triu(np.ones((4, 4), bool), 1).tolist(), avg=False),
    ]
    reference = torch_reference(TORCH, cases)
    for c, ref in zip(cases, reference):
        m = nn.MultiheadAttention(8, 2, batch_first=c["batch_first"], dtype=lamina.float64)
        assert list(m.state_dict().keys()) == list(ref["sd"].keys())
        m.load_state_dict({k: lamina.tensor(v, dtype=lamina.float64) for k, v in ref["sd"].items()})
        q = lamina.tensor(c["q"], dtype=lamina.float64, requires_grad=True)
        kv = lamina.tensor(c["kv"], dtype=lamina.float64)
        kpm = lamina.tensor(c["kpm"]) if c["kpm"] is not None else None
        am = lamina.tensor(c["am"]) if c["am"] is not None else None
        o, w = m(q, kv, kv, key_padding_mask=kpm, attn_mask=am, average_attn_weights=c["avg"])
        (o * o).sum().backward()
        np.testing.assert_allclose(o.detach().numpy(), np.array(ref["o"]), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(w.detach().numpy(), np.array(ref["w"]), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(q.grad.numpy(), np.array(ref["gq"]), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.in_proj_weight.grad.numpy(), np.array(ref["gw"]), rtol=1e-9, atol=1e-12)


def test_multihead_attention_errors():
    with pytest.raises(lamina.ConfigError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(8, 2)
    with pytest.raises(lamina.ShapeError, match="embed_dim"):
        m(lamina.randn(3, 2, 6), lamina.randn(3, 2, 6), lamina.randn(3, 2, 6))
    with pytest.raises(lamina.ShapeError, match="key_padding_mask"):
        x = lamina.randn(3, 2, 8)
        m(x, x, x, key_padding_mask=lamina.zeros(2, 4, dtype=lamina.bool))
