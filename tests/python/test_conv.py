"""conv2d and pooling against PyTorch 1.13 (Debian's python3-torch in its own process):
outputs and gradients for the same inputs."""

import numpy as np
import pytest

import lamina
from conftest import torch_reference

TORCH = r"""
import json, sys, torch
import torch.nn.functional as F
cases = json.loads(sys.stdin.read())
out = []
for c in cases:
    x = torch.tensor(c["x"], dtype=torch.float64, requires_grad=True)
    if c["op"] == "conv2d":
        w = torch.tensor(c["w"], dtype=torch.float64, requires_grad=True)
        b = torch.tensor(c["b"], dtype=torch.float64, requires_grad=True) if c["b"] is not None else None
        y = F.conv2d(x, w, b, stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=c["groups"])
    elif c["op"] == "conv_transpose2d":
        w = torch.tensor(c["w"], dtype=torch.float64, requires_grad=True)
        b = torch.tensor(c["b"], dtype=torch.float64, requires_grad=True) if c["b"] is not None else None
        y = F.conv_transpose2d(x, w, b, stride=c["stride"], padding=c["padding"], output_padding=c["op_"],
                               groups=c["groups"], dilation=c["dilation"])
    elif c["op"] == "conv1d":
        w = torch.tensor(c["w"], dtype=torch.float64, requires_grad=True)
        b = None
        y = F.conv1d(x, w, None, stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=c["groups"])
    elif c["op"] == "max_pool2d":
        y = F.max_pool2d(x, c["k"], c["stride"], c["padding"], c["dilation"])
    elif c["op"] == "avg_pool2d":
        y = F.avg_pool2d(x, c["k"], c["stride"], c["padding"], count_include_pad=c["cip"])
    else:
        y = F.adaptive_avg_pool2d(x, c["size"])
    g = torch.tensor(c["g_seed"], dtype=torch.float64).expand(*y.shape) if False else torch.cos(torch.arange(y.numel(), dtype=torch.float64)).reshape(y.shape)
    y.backward(g)
    r = {"y": y.tolist(), "gx": x.grad.tolist()}
    if c["op"] in ("conv2d", "conv_transpose2d", "conv1d"):
        r["gw"] = w.grad.tolist()
        r["gb"] = b.grad.tolist() if b is not None else None
    out.append(r)
print(json.dumps(out))
"""


def make_cases():
    rng = np.random.default_rng(11)
    r = lambda *s: rng.normal(size=s).tolist()  # noqa: E731
    cases = [
        dict(op="conv2d", x=r(2, 3, 9, 8), w=r(4, 3, 3, 3), b=r(4), stride=1, padding=1, dilation=1, groups=1),
        dict(op="conv2d", x=r(1, 4, 10, 7), w=r(6, 2, 3, 2), b=None, stride=[2, 1], padding=[1, 0], dilation=[1, 2],
             groups=2),
        dict(op="conv2d", x=r(2, 6, 6, 6), w=r(6, 1, 3, 3), b=r(6), stride=2, padding=1, dilation=1, groups=6),
        dict(op="conv_transpose2d", x=r(2, 4, 5, 6), w=r(4, 3, 3, 3), b=r(3), stride=2, padding=1, op_=1,
             dilation=1, groups=1),
        dict(op="conv_transpose2d", x=r(1, 4, 4, 5), w=r(4, 2, 2, 3), b=None, stride=[1, 2], padding=[0, 1],
             op_=[0, 1], dilation=[2, 1], groups=2),
        dict(op="conv1d", x=r(2, 4, 13), w=r(6, 2, 3), b=None, stride=2, padding=1, dilation=2, groups=2),
        dict(op="max_pool2d", x=r(2, 3, 9, 8), k=3, stride=2, padding=1, dilation=1),
        dict(op="max_pool2d", x=r(1, 2, 8, 8), k=2, stride=2, padding=0, dilation=1),
        dict(op="avg_pool2d", x=r(2, 3, 9, 8), k=3, stride=2, padding=1, cip=True),
        dict(op="avg_pool2d", x=r(2, 3, 9, 8), k=3, stride=2, padding=1, cip=False),
        dict(op="adaptive_avg_pool2d", x=r(2, 3, 9, 7), size=[4, 3]),
        dict(op="adaptive_avg_pool2d", x=r(2, 3, 8, 6), size=1),
    ]
    for c in cases:
        c["g_seed"] = 0
    return cases


def run_lamina(c):
    x = lamina.tensor(c["x"], dtype=lamina.float64, requires_grad=True)
    w = b = None
    if c["op"] == "conv_transpose2d":
        w = lamina.tensor(c["w"], dtype=lamina.float64, requires_grad=True)
        b = lamina.tensor(c["b"], dtype=lamina.float64, requires_grad=True) if c["b"] is not None else None
        y = lamina.conv_transpose2d(x, w, b, stride=c["stride"], padding=c["padding"], output_padding=c["op_"],
                                    groups=c["groups"], dilation=c["dilation"])
    elif c["op"] == "conv1d":
        w = lamina.tensor(c["w"], dtype=lamina.float64, requires_grad=True)
        y = lamina.conv1d(x, w, None, stride=c["stride"], padding=c["padding"], dilation=c["dilation"],
                          groups=c["groups"])
    elif c["op"] == "conv2d":
        w = lamina.tensor(c["w"], dtype=lamina.float64, requires_grad=True)
        b = lamina.tensor(c["b"], dtype=lamina.float64, requires_grad=True) if c["b"] is not None else None
        y = lamina.conv2d(x, w, b, stride=c["stride"], padding=c["padding"], dilation=c["dilation"], groups=c["groups"])
    elif c["op"] == "max_pool2d":
        y = lamina.max_pool2d(x, c["k"], c["stride"], c["padding"], c["dilation"])
    elif c["op"] == "avg_pool2d":
        y = lamina.avg_pool2d(x, c["k"], c["stride"], c["padding"], count_include_pad=c["cip"])
    else:
        y = lamina.adaptive_avg_pool2d(x, c["size"])
    g = lamina.cos(lamina.arange(y.numel(), dtype=lamina.float64)).reshape(y.shape)
    y.backward(g)
    return y, x, w, b


def test_conv_and_pooling_match_pytorch():
    cases = make_cases()
    reference = torch_reference(TORCH, cases)
    refs = reference
    for c, ref in zip(cases, refs):
        y, x, w, b = run_lamina(c)
        np.testing.assert_allclose(y.numpy(), np.array(ref["y"]), rtol=1e-10, atol=1e-12, err_msg=c["op"])
        np.testing.assert_allclose(x.grad.numpy(), np.array(ref["gx"]), rtol=1e-10, atol=1e-12, err_msg=c["op"])
        if w is not None:
            np.testing.assert_allclose(w.grad.numpy(), np.array(ref["gw"]), rtol=1e-10, atol=1e-12)
            if b is not None:
                np.testing.assert_allclose(b.grad.numpy(), np.array(ref["gb"]), rtol=1e-10, atol=1e-12)


def test_float32_conv_and_errors():
    x = lamina.randn(2, 3, 16, 16)
    w = lamina.randn(8, 3, 3, 3)
    y = lamina.conv2d(x, w, padding=1)
    ref = lamina.conv2d(x.to(lamina.float64), w.to(lamina.float64), padding=1)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-4, atol=1e-4)
    with pytest.raises(lamina.ShapeError, match=r"\[conv2d\]"):
        lamina.conv2d(lamina.randn(3, 16, 16), w)
    with pytest.raises(lamina.ConfigError, match="stride"):
        lamina.conv2d(x, w, stride=0)
    with pytest.raises(lamina.ConfigError, match="divisible by groups"):
        lamina.conv2d(x, lamina.randn(8, 1, 3, 3), groups=2)
    with pytest.raises(lamina.ConfigError, match="kernel size"):
        lamina.max_pool2d(x, 0)


BN_TORCH = r"""
import json, sys, torch
import torch.nn.functional as F
d = json.loads(sys.stdin.read())
x = torch.tensor(d["x"], dtype=torch.float64, requires_grad=True)
w = torch.tensor(d["w"], dtype=torch.float64, requires_grad=True)
b = torch.tensor(d["b"], dtype=torch.float64, requires_grad=True)
rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
y = F.batch_norm(x, rm, rv, w, b, training=True, momentum=0.2, eps=1e-4)
(y * torch.cos(torch.arange(y.numel(), dtype=torch.float64)).reshape(y.shape)).sum().backward()
e = F.batch_norm(x.detach(), rm, rv, w.detach(), b.detach(), training=False)
print(json.dumps({"y": y.tolist(), "gx": x.grad.tolist(), "gw": w.grad.tolist(), "gb": b.grad.tolist(),
                  "rm": rm.tolist(), "rv": rv.tolist(), "e": e.tolist()}))
"""


def test_batch_norm_matches_pytorch():
    rng = np.random.default_rng(3)
    d = {"x": rng.normal(size=(4, 3, 5)).tolist(), "w": rng.normal(size=3).tolist(), "b": rng.normal(size=3).tolist()}
    reference = torch_reference(BN_TORCH, d)
    ref = reference
    x, w, b = (lamina.tensor(d[k], dtype=lamina.float64, requires_grad=True) for k in ("x", "w", "b"))
    rm, rv = lamina.zeros(3, dtype=lamina.float64), lamina.ones(3, dtype=lamina.float64)
    y = lamina.batch_norm(x, rm, rv, w, b, training=True, momentum=0.2, eps=1e-4)
    (y * lamina.cos(lamina.arange(y.numel(), dtype=lamina.float64)).reshape(y.shape)).sum().backward()
    with lamina.no_grad():
        e = lamina.batch_norm(x, rm, rv, w, b, training=False)
    for name, got in (("y", y), ("gx", x.grad), ("gw", w.grad), ("gb", b.grad), ("rm", rm), ("rv", rv), ("e", e)):
        np.testing.assert_allclose(got.detach().numpy(), np.array(ref[name]), rtol=1e-9, atol=1e-12, err_msg=name)
