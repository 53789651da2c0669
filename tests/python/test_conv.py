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


BN_CASES_TORCH = r"""
import json, sys, torch
import torch.nn.functional as F
out = []
for c in json.loads(sys.stdin.read()):
    dt = getattr(torch, c["dtype"])
    x = torch.tensor(c["x"], dtype=dt)
    if c["transpose"]:
        x = x.transpose(2, 3)
    x.requires_grad_(True)
    w = torch.tensor(c["w"], dtype=dt, requires_grad=True) if c["affine"] else None
    b = torch.tensor(c["b"], dtype=dt, requires_grad=True) if c["affine"] else None
    rm, rv = torch.tensor(c["rm"], dtype=dt), torch.tensor(c["rv"], dtype=dt)
    y = F.batch_norm(x, rm, rv, w, b, training=c["training"], momentum=0.1, eps=1e-5)
    g = torch.tensor(c["g"], dtype=dt).reshape(y.shape)
    inputs = [x] + ([w, b] if c["affine"] else [])
    grads = torch.autograd.grad(y, inputs, g, create_graph=True)
    # second order: d/d(inputs) of sum(grad_x * h)
    h = torch.cos(torch.arange(x.numel(), dtype=dt)).reshape(x.shape)
    second = torch.autograd.grad((grads[0] * h).sum(), inputs, allow_unused=True)
    out.append({"y": y.detach().tolist(), "grads": [t.detach().tolist() for t in grads],
                "second": [None if t is None else t.tolist() for t in second], "rm": rm.tolist(), "rv": rv.tolist()})
print(json.dumps(out))
"""


def test_batch_norm_fused_kernel_cases_match_pytorch():
    # The fused kernel's paths: training and evaluation, 4-d and 2-d inputs, with and without
    # weight and bias, a transposed (non-contiguous) input, float32 and float64; first and second
    # derivatives (the second through the composite formulation under create_graph).
    rng = np.random.default_rng(11)
    cases = []
    for shape, training, affine, transpose, dtype in (((5, 4, 6, 7), True, True, False, "float32"),
                                                      ((5, 4, 6, 7), False, True, True, "float32"),
                                                      ((16, 3), True, False, False, "float64"),
                                                      ((3, 2, 4, 5), True, True, True, "float64"),
                                                      ((6, 3), False, False, False, "float64")):
        c = shape[1]
        x = rng.normal(2.0, 3.0, size=shape)
        cases.append({"x": x.tolist(), "g": rng.normal(size=shape).tolist(), "w": rng.uniform(0.5, 1.5, c).tolist(),
                      "b": rng.normal(size=c).tolist(), "rm": rng.normal(size=c).tolist(),
                      "rv": rng.uniform(0.5, 2, c).tolist(), "training": training, "affine": affine,
                      "transpose": transpose, "dtype": dtype})
    ref = torch_reference(BN_CASES_TORCH, cases)
    for c, r in zip(cases, ref):
        dt = getattr(lamina, c["dtype"])
        tol = dict(rtol=2e-5, atol=2e-5) if c["dtype"] == "float32" else dict(rtol=1e-9, atol=1e-10)
        x = lamina.tensor(c["x"], dtype=dt)
        if c["transpose"]:
            x = x.transpose(2, 3)
            assert not x.is_contiguous()
        x.requires_grad_(True)
        w = lamina.tensor(c["w"], dtype=dt, requires_grad=True) if c["affine"] else None
        b = lamina.tensor(c["b"], dtype=dt, requires_grad=True) if c["affine"] else None
        rm, rv = lamina.tensor(c["rm"], dtype=dt), lamina.tensor(c["rv"], dtype=dt)
        y = lamina.nn.functional.batch_norm(x, rm, rv, w, b, training=c["training"], momentum=0.1, eps=1e-5)
        assert y.grad_fn.name() == "NativeBatchNormBackward0"
        g = lamina.tensor(c["g"], dtype=dt).reshape(y.shape)
        inputs = [x] + ([w, b] if c["affine"] else [])
        first = lamina.autograd.grad(y, inputs, g)
        y = lamina.nn.functional.batch_norm(x, lamina.tensor(c["rm"], dtype=dt), lamina.tensor(c["rv"], dtype=dt), w,
                                            b, training=c["training"], momentum=0.1, eps=1e-5)
        grads = lamina.autograd.grad(y, inputs, g, create_graph=True)
        h = lamina.cos(lamina.arange(x.numel(), dtype=dt)).reshape(x.shape)
        # (evaluation without weight: grad_x = g rstd is constant, so there is no second derivative)
        constant = not c["training"] and not c["affine"]
        second = [None] if constant else lamina.autograd.grad((grads[0] * h).sum(), inputs, allow_unused=True)
        np.testing.assert_allclose(y.detach().numpy(), np.array(r["y"]), **tol, err_msg=str(c["x"][:0]))
        np.testing.assert_allclose(rm.numpy(), np.array(r["rm"]), **tol)
        np.testing.assert_allclose(rv.numpy(), np.array(r["rv"]), **tol)
        for got, composite, want in zip(first, grads, r["grads"]):
            np.testing.assert_allclose(got.numpy(), np.array(want), **tol)
            np.testing.assert_allclose(composite.detach().numpy(), np.array(want), **tol)
        for got, want in zip(second, r["second"]):
            if want is None:
                assert got is None or np.abs(got.numpy()).max() < 1e-6
            else:
                np.testing.assert_allclose(got.numpy(), np.array(want), rtol=5e-5 if dt == lamina.float32 else 1e-8,
                                           atol=5e-5 if dt == lamina.float32 else 1e-9)


def test_batch_norm_edge_inputs():
    x = lamina.randn(0, 3, 4, 4, requires_grad=True)  # empty batch in evaluation
    w = lamina.rand(3, requires_grad=True)
    y = lamina.nn.functional.batch_norm(x, lamina.zeros(3), lamina.ones(3), w, None, training=False)
    y.sum().backward()
    assert y.shape == (0, 3, 4, 4) and x.grad.shape == (0, 3, 4, 4)
    assert w.grad.tolist() == [0.0, 0.0, 0.0]
    # a weight of another dtype takes the composite path with the same values
    x = lamina.randn(4, 3, 5, dtype=lamina.float64)
    wf = lamina.rand(3) + 0.5
    a = lamina.nn.functional.batch_norm(x, None, None, wf, None, training=True)
    bb = lamina.nn.functional.batch_norm(x, None, None, wf.to(lamina.float64), None, training=True)
    np.testing.assert_allclose(a.numpy(), bb.numpy(), rtol=1e-6)
    # bfloat16 inputs normalize with float32 statistics
    xb = (lamina.randn(8, 4, 6, 6) * 2 + 1).to(lamina.bfloat16)
    yb = lamina.nn.functional.batch_norm(xb, None, None, training=True)
    assert yb.dtype == lamina.bfloat16
    ref = lamina.nn.functional.batch_norm(xb.float(), None, None, training=True)
    np.testing.assert_allclose(yb.float().numpy(), ref.numpy(), atol=0.05)
    with pytest.raises(lamina.ValueError, match="more than 1 value"):
        lamina.nn.functional.batch_norm(lamina.randn(1, 3), None, None, training=True)
    rm = lamina.zeros(3)
    with pytest.raises(lamina.ShapeError):
        lamina.nn.functional.batch_norm(lamina.randn(4, 3), rm, lamina.ones(4), training=True)
    assert rm.tolist() == [0.0, 0.0, 0.0]


TORCH_POOL_EDGES = r"""
import json, math, sys, torch
import torch.nn.functional as F
cases = json.loads(sys.stdin.read())
out = []
for c in cases:
    x = torch.tensor([[float(v) for v in row] for row in c["x"]], dtype=torch.float64).reshape(c["shape"])
    x.requires_grad_(True)
    y = F.max_pool2d(x, c["k"], c["stride"], c["padding"], c["dilation"])
    g = torch.cos(torch.arange(y.numel(), dtype=torch.float64)).reshape(y.shape)
    y.backward(g)
    out.append({"y": [str(v) for v in y.flatten().tolist()], "gx": x.grad.flatten().tolist()})
print(json.dumps(out))
"""


def test_max_pool2d_ties_nan_and_window_paths_match_pytorch():
    # The 2x2/stride-2 fast path (ties: small integers; a NaN plane falls back to the general
    # loop), and the general loop with padding and dilation.
    rng = np.random.default_rng(5)
    ties = rng.integers(0, 3, size=(2, 3, 6, 8)).astype(np.float64)
    with_nan = rng.normal(size=(1, 2, 6, 6))
    with_nan[0, 1, 2, 3] = np.nan
    odd = rng.normal(size=(2, 2, 7, 9))
    cases = [dict(x=ties, k=2, stride=2, padding=0, dilation=1),
             dict(x=with_nan, k=2, stride=2, padding=0, dilation=1),
             dict(x=odd, k=2, stride=2, padding=1, dilation=1),
             dict(x=odd, k=3, stride=1, padding=1, dilation=2)]
    payload = [dict(c, x=[[str(v)] for v in c["x"].ravel()], shape=list(c["x"].shape)) for c in cases]
    refs = torch_reference(TORCH_POOL_EDGES, payload)
    for c, ref in zip(cases, refs):
        for dtype, tol in ((lamina.float64, 1e-12), (lamina.float32, 1e-6)):
            x = lamina.tensor(c["x"], dtype=dtype, requires_grad=True)
            y = lamina.max_pool2d(x, c["k"], c["stride"], c["padding"], c["dilation"])
            y.backward(lamina.cos(lamina.arange(y.numel(), dtype=dtype)).reshape(y.shape))
            want = np.array([float(v) for v in ref["y"]])
            np.testing.assert_allclose(y.numpy().astype(np.float64).ravel(), want, rtol=tol, atol=tol)
            np.testing.assert_allclose(x.grad.numpy().astype(np.float64).ravel(), np.array(ref["gx"]), rtol=tol,
                                       atol=tol)


TORCH_DOUBLE_BACKWARD = r"""
import json, sys, torch
import torch.nn.functional as F
c = json.loads(sys.stdin.read())
x = torch.tensor(c["x"], dtype=torch.float64, requires_grad=True)
w = torch.tensor(c["w"], dtype=torch.float64, requires_grad=True)
y = F.max_pool2d(torch.tanh(F.conv2d(x, w, stride=c["stride"], padding=1)), 2)
gx, gw = torch.autograd.grad((y * y).sum(), (x, w), create_graph=True)
((gx * gx).sum() + (gw * gw).sum()).backward()
print(json.dumps({"gx": gx.tolist(), "gw": gw.tolist(), "ggx": x.grad.tolist(), "ggw": w.grad.tolist()}))
"""


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_and_max_pool_double_backward_match_pytorch(stride):
    # create_graph runs the differentiable backward formulations (not the fused kernels).
    rng = np.random.default_rng(stride)
    c = dict(x=rng.normal(size=(2, 3, 8, 8)).tolist(), w=rng.normal(size=(4, 3, 3, 3)).tolist(), stride=stride)
    ref = torch_reference(TORCH_DOUBLE_BACKWARD, c)
    x = lamina.tensor(c["x"], dtype=lamina.float64, requires_grad=True)
    w = lamina.tensor(c["w"], dtype=lamina.float64, requires_grad=True)
    y = lamina.max_pool2d(lamina.tanh(lamina.conv2d(x, w, stride=stride, padding=1)), 2)
    gx, gw = lamina.autograd.grad((y * y).sum(), (x, w), create_graph=True)
    ((gx * gx).sum() + (gw * gw).sum()).backward()
    for got, key in ((gx, "gx"), (gw, "gw"), (x.grad, "ggx"), (w.grad, "ggw")):
        np.testing.assert_allclose(got.detach().numpy(), np.array(ref[key]), rtol=1e-9, atol=1e-11, err_msg=key)


def test_conv2d_input_without_grad_gives_weight_grad_only():
    rng = np.random.default_rng(3)
    x = lamina.tensor(rng.normal(size=(2, 3, 6, 6)), dtype=lamina.float64)
    w = lamina.tensor(rng.normal(size=(4, 3, 3, 3)), dtype=lamina.float64, requires_grad=True)
    lamina.conv2d(x, w, padding=1).sum().backward()
    assert x.grad is None
    # d sum / d w[o, c, i, j] = sum over images and positions of the window element.
    xp = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)))
    want = np.stack([xp[:, :, i:i + 6, j:j + 6].sum(axis=(0, 2, 3)) for i in range(3) for j in range(3)], -1)
    np.testing.assert_allclose(w.grad.numpy(), np.broadcast_to(want.reshape(1, 3, 3, 3), (4, 3, 3, 3)), rtol=1e-12)


def test_functional_forms_match_the_top_level_ops():
    import lamina.nn.functional as F
    rng = np.random.default_rng(4)
    x = lamina.tensor(rng.normal(size=(2, 3, 8, 8)), dtype=lamina.float64)
    w = lamina.tensor(rng.normal(size=(4, 3, 3, 3)), dtype=lamina.float64)
    b = lamina.tensor(rng.normal(size=(4,)), dtype=lamina.float64)
    pairs = [(F.conv2d(x, w, b, stride=2, padding=1), lamina.conv2d(x, w, b, 2, 1)),
             (F.conv_transpose2d(x, lamina.tensor(rng.normal(size=(3, 2, 3, 3)), dtype=lamina.float64),
                                 stride=2).shape, (2, 2, 17, 17)),
             (F.max_pool2d(x, 3, 2, 1), lamina.max_pool2d(x, 3, 2, 1)),
             (F.avg_pool2d(x, 2), lamina.avg_pool2d(x, 2)),
             (F.adaptive_avg_pool2d(x, (2, 3)), lamina.adaptive_avg_pool2d(x, (2, 3))),
             (F.conv1d(x[:, :, 0], w[:, :, 0]), lamina.conv1d(x[:, :, 0], w[:, :, 0]))]
    for got, want in pairs:
        if isinstance(want, tuple):
            assert tuple(got) == want
        else:
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    y = F.batch_norm(x, None, None, training=True)
    np.testing.assert_allclose(y.numpy().mean(axis=(0, 2, 3)), 0, atol=1e-12)
    assert F.pad(x, (1, 2)).shape == (2, 3, 8, 11)
    assert F.one_hot(lamina.tensor([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
    with pytest.raises(lamina.ConfigError, match="ceil_mode"):
        F.max_pool2d(x, 2, ceil_mode=True)
    with pytest.raises(lamina.ConfigError, match="divisor_override"):
        F.avg_pool2d(x, 2, divisor_override=3)


def test_conv2d_without_graph_runs_large_batches_in_slices_with_the_same_result():
    # no_grad forward of a batch whose window matrices exceed the slice budget (16 MiB).
    rng = np.random.default_rng(6)
    x = lamina.tensor(rng.normal(size=(300, 8, 20, 20)), dtype=lamina.float32)
    w = lamina.tensor(rng.normal(size=(5, 8, 3, 3)), dtype=lamina.float32)
    b = lamina.tensor(rng.normal(size=(5,)), dtype=lamina.float32)
    with lamina.no_grad():
        whole = lamina.conv2d(x, w, b, padding=1)
    parts = lamina.cat([lamina.conv2d(x[i:i + 50], w, b, padding=1) for i in range(0, 300, 50)])
    np.testing.assert_array_equal(whole.numpy(), parts.numpy())


# float32 on the CPU runs through oneDNN where the build has it (float64 stays on im2col + GEMM):
# forward, input and weight gradients against the float64 result, over the geometry oneDNN is
# told about (strides, padding whose right side floor division trims, dilation, groups).
@pytest.mark.parametrize("shape,kernel,stride,padding,dilation,groups", [
    ((2, 3, 9, 8), (4, 3, 3, 3), 1, 1, 1, 1),
    ((2, 4, 10, 7), (6, 2, 3, 2), (2, 1), (1, 0), (1, 2), 2),
    ((2, 6, 6, 6), (6, 1, 3, 3), 2, 1, 1, 6),
    ((3, 8, 7, 7), (16, 8, 1, 1), 1, 0, 1, 1),
    ((2, 3, 10, 11), (5, 3, 3, 3), 2, 1, 1, 1),        # (10 + 2 - 3) // 2 + 1: the last row unused
    ((1, 32, 14, 14), (64, 32, 3, 3), 1, 1, 1, 1),
    ((4, 1, 28, 28), (32, 1, 3, 3), 1, 1, 1, 1),
])
def test_float32_conv_forward_and_backward_match_float64(shape, kernel, stride, padding, dilation, groups):
    rng = np.random.default_rng(5)
    x64 = rng.standard_normal(shape)
    w64 = rng.standard_normal(kernel) * 0.3
    b64 = rng.standard_normal(kernel[0])
    results = {}
    for dt in (lamina.float32, lamina.float64):
        x = lamina.tensor(x64, dtype=dt, requires_grad=True)
        w = lamina.tensor(w64, dtype=dt, requires_grad=True)
        b = lamina.tensor(b64, dtype=dt, requires_grad=True)
        y = lamina.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        g = lamina.cos(lamina.arange(y.numel(), dtype=dt)).reshape(y.shape)
        y.backward(g)
        results[str(dt)] = [t.numpy().astype(np.float64) for t in (y, x.grad, w.grad, b.grad)]
    for got, want, name in zip(results["lamina.float32"], results["lamina.float64"], ("y", "dx", "dw", "db")):
        scale = max(1.0, float(np.abs(want).max()))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * scale, err_msg=name)


def test_float32_conv_on_a_non_contiguous_input_and_without_grad():
    x = lamina.randn(2, 9, 9, 3).permute(0, 3, 1, 2)  # NHWC storage viewed as NCHW
    w = lamina.randn(5, 3, 3, 3)
    with lamina.no_grad():
        y = lamina.conv2d(x, w, padding=1)
    ref = lamina.conv2d(x.to(lamina.float64), w.to(lamina.float64), padding=1)
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-4, atol=1e-4)


def test_the_library_switch_gives_the_im2col_path_the_same_answer(tmp_path):
    code = """
import numpy as np, lamina
lamina.manual_seed(0)
x = lamina.randn(2, 4, 12, 12, requires_grad=True)
w = lamina.randn(6, 4, 3, 3, requires_grad=True)
y = lamina.conv2d(x, w, stride=2, padding=1)
(y * y).sum().backward()
np.savez(__import__("sys").argv[1], y=y.detach().numpy(), gx=x.grad.numpy(), gw=w.grad.numpy())
"""
    import os
    import subprocess
    import sys
    runs = {}
    for switch in ("1", "0"):
        out = tmp_path / f"conv_{switch}.npz"
        env = dict(os.environ, LAMINA_ONEDNN=switch, LAMINA_FORCE_CPU="1")
        subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=env)
        runs[switch] = np.load(out)
    for key in ("y", "gx", "gw"):
        np.testing.assert_allclose(runs["1"][key], runs["0"][key], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("stride,padding,groups", [(1, 1, 1), (2, 0, 1), (1, 2, 2)])
def test_bfloat16_conv_accumulates_in_float32(stride, padding, groups):
    # bfloat16 convolutions (oneDNN where the build has it, autocast's path) round once at the
    # end: values and both gradients within bfloat16's rounding of the float64 result of the
    # same rounded inputs, never the error a bf16 accumulator over C*kh*kw terms would give.
    lamina.manual_seed(3)
    x = lamina.randn(4, 8, 12, 12).to(lamina.bfloat16).requires_grad_(True)
    w = lamina.randn(6, 8 // groups, 3, 3).to(lamina.bfloat16).requires_grad_(True)
    b = lamina.randn(6).to(lamina.bfloat16).requires_grad_(True)
    y = lamina.conv2d(x, w, b, stride=stride, padding=padding, groups=groups)
    assert y.dtype == lamina.bfloat16
    g = lamina.randn(*y.shape).to(lamina.bfloat16)
    (y * g).sum().backward()
    x64, w64, b64 = (t.detach().to(lamina.float64).requires_grad_(True) for t in (x, w, b))
    y64 = lamina.conv2d(x64, w64, b64, stride=stride, padding=padding, groups=groups)
    (y64 * g.to(lamina.float64)).sum().backward()
    for got, want in ((y, y64), (x.grad, x64.grad), (w.grad, w64.grad), (b.grad, b64.grad)):
        assert got.dtype == lamina.bfloat16
        scale = float(want.abs().max())
        np.testing.assert_allclose(got.to(lamina.float64).detach().numpy(), want.detach().numpy(), rtol=8e-3,
                                   atol=8e-3 * scale)


@pytest.mark.parametrize("bias", [True, False])
def test_sequential_conv_relu_runs_fused_and_matches_float64(bias):
    # nn.Sequential runs Conv2d + ReLU as one op (on the CPU the ReLU and the bias run inside
    # the oneDNN primitive, the bias gradient in its weights pass): values and every gradient
    # against the same layers in float64 (im2col path, separate relu), with the gradient of
    # the bias alone (weight frozen), of the input alone, and a subclass left unfused.
    rng = np.random.default_rng(11)
    layers = [lamina.nn.Conv2d(3, 8, 3, padding=1, bias=bias), lamina.nn.ReLU(), lamina.nn.MaxPool2d(2),
              lamina.nn.Conv2d(8, 5, 3, stride=2, bias=bias), lamina.nn.ReLU(inplace=True)]
    seq = lamina.nn.Sequential(*layers)
    x64 = rng.standard_normal((2, 3, 12, 12))
    g64 = rng.standard_normal((2, 5, 2, 2))
    x = lamina.tensor(x64, dtype=lamina.float32, requires_grad=True)
    y = seq(x)
    assert y.grad_fn.name() == "ConvolutionReluBackward0"
    params = list(seq.parameters())
    grads = lamina.autograd.grad([y], [x] + params, [lamina.tensor(g64, dtype=lamina.float32)])

    xr = lamina.tensor(x64, requires_grad=True)
    ps = [p.detach().to(lamina.float64).requires_grad_(True) for p in params]
    it = iter(ps)

    def conv(h, stride, padding):
        w = next(it)
        b = next(it) if bias else None
        return lamina.conv2d(h, w, b, stride=stride, padding=padding)
    h = lamina.relu(conv(xr, 1, 1))
    h = lamina.nn.functional.max_pool2d(h, 2)
    yr = lamina.relu(conv(h, 2, 0))
    want = lamina.autograd.grad([yr], [xr] + ps, [lamina.tensor(g64)])
    np.testing.assert_allclose(y.detach().numpy(), yr.detach().numpy(), rtol=1e-4, atol=1e-4)
    for got, ref in zip(grads, want):
        scale = max(1.0, float(ref.abs().max()))
        np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-4, atol=1e-4 * scale)

    if bias:  # the bias alone (the weights pass does not run): its gradient by the sum
        layers[3].weight.requires_grad_(False)
        (gb,) = lamina.autograd.grad([seq(x)], [layers[3].bias], [lamina.tensor(g64, dtype=lamina.float32)])
        np.testing.assert_allclose(gb.numpy(), grads[4].numpy(), rtol=1e-5, atol=1e-5)
        layers[3].weight.requires_grad_(True)

    class MyConv(lamina.nn.Conv2d):
        pass
    unfused = lamina.nn.Sequential(MyConv(3, 4, 3), lamina.nn.ReLU())
    assert unfused(x).grad_fn.name() == "ReluBackward0"


def test_conv_relu_under_bfloat16_autocast_and_without_grad():
    # Under CPU autocast the fused op runs in bfloat16 (oneDNN's bf16 primitive with the ReLU
    # post-op); without a graph it records nothing; both agree with the unfused layers.
    lamina.manual_seed(2)
    seq = lamina.nn.Sequential(lamina.nn.Conv2d(4, 6, 3, padding=1), lamina.nn.ReLU())
    x = lamina.randn(2, 4, 10, 10)
    with lamina.autocast(device_type="cpu", dtype=lamina.bfloat16):
        y = seq(x)
        y2 = lamina.relu(seq[0](x))
    assert y.dtype == lamina.bfloat16
    np.testing.assert_array_equal(y.to(lamina.float32).detach().numpy(), y2.to(lamina.float32).detach().numpy())
    with lamina.no_grad():
        z = seq(x)
    assert z.grad_fn is None and (z.numpy() >= 0).all()
    np.testing.assert_allclose(z.numpy(), lamina.relu(seq[0](x)).detach().numpy(), rtol=1e-6, atol=1e-6)
