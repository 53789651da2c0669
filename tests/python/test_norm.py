"""The fused layer_norm against PyTorch 1.13 (own process) and float64 finite differences:
values and gradients for many rows (several backward chunks), without affine parameters,
with create_graph, in float16, and its errors."""

import numpy as np
import pytest

import lamina
import lamina.nn.functional as F
from conftest import torch_reference

TORCH = r"""
import json, sys, torch
c = json.loads(sys.stdin.read())
x = torch.tensor(c["x"], dtype=torch.float64, requires_grad=True)
w = torch.tensor(c["w"], dtype=torch.float64, requires_grad=True)
b = torch.tensor(c["b"], dtype=torch.float64, requires_grad=True)
y = torch.nn.functional.layer_norm(x, c["shape"], w, b, 1e-5)
g = torch.cos(torch.arange(y.numel(), dtype=torch.float64)).reshape(y.shape)
gx, gw, gb = torch.autograd.grad(y, (x, w, b), g, create_graph=True)
((gx * gx).sum() + (gw * gw).sum()).backward()
print(json.dumps({"y": y.tolist(), "gx": gx.tolist(), "gw": gw.tolist(), "gb": gb.tolist(),
                  "ggx": x.grad.tolist(), "ggw": w.grad.tolist()}))
"""


@pytest.mark.parametrize("rows,shape", [(70, [6]), (3, [4, 5])])
def test_layer_norm_matches_pytorch_including_double_backward(rows, shape):
    rng = np.random.default_rng(rows)
    c = dict(x=(rng.normal(size=[rows] + shape) * 3 + 1).tolist(), w=rng.normal(size=shape).tolist(),
             b=rng.normal(size=shape).tolist(), shape=shape)
    ref = torch_reference(TORCH, c)
    x = lamina.tensor(c["x"], dtype=lamina.float64, requires_grad=True)
    w = lamina.tensor(c["w"], dtype=lamina.float64, requires_grad=True)
    b = lamina.tensor(c["b"], dtype=lamina.float64, requires_grad=True)
    y = F.layer_norm(x, shape, w, b, 1e-5)
    g = lamina.cos(lamina.arange(y.numel(), dtype=lamina.float64)).reshape(y.shape)
    y.backward(g, retain_graph=True)  # the fused kernel's backward
    np.testing.assert_allclose(y.detach().numpy(), np.array(ref["y"]), rtol=1e-12, atol=1e-12)
    for got, key in ((x.grad, "gx"), (w.grad, "gw"), (b.grad, "gb")):
        np.testing.assert_allclose(got.numpy(), np.array(ref[key]), rtol=1e-10, atol=1e-11, err_msg=key)
    x.grad = w.grad = b.grad = None
    gx, gw, gb = lamina.autograd.grad(y, (x, w, b), g, create_graph=True)  # the composite backward
    ((gx * gx).sum() + (gw * gw).sum()).backward()
    for got, key in ((gx, "gx"), (gw, "gw"), (gb, "gb"), (x.grad, "ggx"), (w.grad, "ggw")):
        np.testing.assert_allclose(got.detach().numpy(), np.array(ref[key]), rtol=1e-9, atol=1e-10, err_msg=key)


def test_layer_norm_gradcheck_without_affine_and_on_a_strided_view():
    rng = np.random.default_rng(1)
    x = lamina.tensor(rng.normal(size=(5, 8)), dtype=lamina.float64, requires_grad=True)
    assert lamina.autograd.gradcheck(lambda t: F.layer_norm(t.t(), [5]), (x,))  # a strided (8, 5) view
    w = lamina.tensor(rng.normal(size=(5,)), dtype=lamina.float64, requires_grad=True)
    assert lamina.autograd.gradcheck(lambda t, v: F.layer_norm(t.t(), [5], weight=v), (x, w))
    b = lamina.tensor(rng.normal(size=(5,)), dtype=lamina.float64, requires_grad=True)
    assert lamina.autograd.gradcheck(lambda t, v: F.layer_norm(t.t(), [5], bias=v), (x, b))


def test_layer_norm_float32_and_float16_follow_float64():
    rng = np.random.default_rng(2)
    x64 = rng.normal(size=(40, 33)) * 2 + 0.5
    w64, b64 = rng.normal(size=33), rng.normal(size=33)
    want = (x64 - x64.mean(1, keepdims=True)) / np.sqrt(x64.var(1, keepdims=True) + 1e-5) * w64 + b64
    for dtype, tol in ((lamina.float32, 1e-5), (lamina.float16, 2e-2)):
        y = F.layer_norm(lamina.tensor(x64, dtype=dtype), [33], lamina.tensor(w64, dtype=dtype),
                         lamina.tensor(b64, dtype=dtype))
        assert y.dtype == dtype
        np.testing.assert_allclose(y.to(lamina.float64).numpy(), want, rtol=tol, atol=tol * 4)


def test_layer_norm_empty_and_errors():
    x = lamina.zeros(0, 4, requires_grad=True)
    y = F.layer_norm(x, [4], lamina.ones(4, requires_grad=True), lamina.zeros(4, requires_grad=True))
    assert y.shape == (0, 4)
    y.sum().backward()
    assert x.grad.shape == (0, 4)
    with pytest.raises(lamina.ShapeError):
        F.layer_norm(lamina.ones(2, 3), [4])
    with pytest.raises(lamina.ShapeError):
        F.layer_norm(lamina.ones(2, 4), [4], weight=lamina.ones(3))
    with pytest.raises(lamina.DTypeError):
        F.layer_norm(lamina.ones(2, 4, dtype=lamina.int64), [4])


ADD_LN_TORCH = r"""
import json, sys, torch
c = json.loads(sys.stdin.read())
x = torch.tensor(c["x"], dtype=torch.float64, requires_grad=True)
r = torch.tensor(c["r"], dtype=torch.float64, requires_grad=True)
w = torch.tensor(c["w"], dtype=torch.float64, requires_grad=True)
b = torch.tensor(c["b"], dtype=torch.float64, requires_grad=True)
s = x + r
y = torch.nn.functional.layer_norm(s, c["shape"], w, b, 1e-5)
gs = torch.sin(torch.arange(s.numel(), dtype=torch.float64)).reshape(s.shape)
gy = torch.cos(torch.arange(y.numel(), dtype=torch.float64)).reshape(y.shape)
grads = torch.autograd.grad((s, y), (x, r, w, b), (gs, gy), create_graph=True)
(grads[0] * grads[0]).sum().backward()
print(json.dumps({"s": s.tolist(), "y": y.tolist(), "grads": [t.tolist() for t in grads],
                  "ggx": x.grad.tolist(), "ggr": r.grad.tolist(), "ggw": w.grad.tolist()}))
"""


@pytest.mark.parametrize("rows,shape", [(70, [6]), (3, [4, 5])])
def test_add_layer_norm_equals_add_then_layer_norm_in_pytorch(rows, shape):
    # The fused residual step: both results and the gradients through both (the sum goes on
    # down the residual stream, the normalized rows into the next sublayer), twice over.
    rng = np.random.default_rng(rows + 1)
    c = dict(x=(rng.normal(size=[rows] + shape) * 3 + 1).tolist(), r=rng.normal(size=[rows] + shape).tolist(),
             w=rng.normal(size=shape).tolist(), b=rng.normal(size=shape).tolist(), shape=shape)
    ref = torch_reference(ADD_LN_TORCH, c)
    x, r, w, b = (lamina.tensor(c[k], dtype=lamina.float64, requires_grad=True) for k in "xrwb")
    s, y = F.add_layer_norm(x, r, shape, w, b, 1e-5)
    assert y.grad_fn.name() == "NativeLayerNormBackward0" and s.grad_fn.name() == "AddBackward0"
    gs = lamina.sin(lamina.arange(s.numel(), dtype=lamina.float64)).reshape(s.shape)
    gy = lamina.cos(lamina.arange(y.numel(), dtype=lamina.float64)).reshape(y.shape)
    np.testing.assert_allclose(s.detach().numpy(), np.array(ref["s"]), rtol=1e-15)
    np.testing.assert_allclose(y.detach().numpy(), np.array(ref["y"]), rtol=1e-12, atol=1e-12)
    fused = lamina.autograd.grad((s, y), (x, r, w, b), (gs, gy), retain_graph=True)
    for got, want in zip(fused, ref["grads"]):
        np.testing.assert_allclose(got.numpy(), np.array(want), rtol=1e-10, atol=1e-11)
    grads = lamina.autograd.grad((s, y), (x, r, w, b), (gs, gy), create_graph=True)
    (grads[0] * grads[0]).sum().backward()
    for got, key in ((x.grad, "ggx"), (r.grad, "ggr"), (w.grad, "ggw")):
        np.testing.assert_allclose(got.numpy(), np.array(ref[key]), rtol=1e-9, atol=1e-10, err_msg=key)


def test_add_layer_norm_float32_strided_and_errors():
    rng = np.random.default_rng(4)
    x = lamina.tensor(rng.normal(size=(64, 48)).astype(np.float32))
    r = lamina.tensor(rng.normal(size=(48, 64)).astype(np.float32)).t()  # a transposed residual
    ln = lamina.nn.LayerNorm(48)
    s, y = F.add_layer_norm(x, r, [48], ln.weight, ln.bias)
    np.testing.assert_array_equal(s.numpy(), (x + r).numpy())
    np.testing.assert_allclose(y.detach().numpy(), ln(x + r).detach().numpy(), rtol=1e-6, atol=1e-6)
    with pytest.raises(lamina.ShapeError, match="residual"):
        F.add_layer_norm(x, r[:3], [48])
    with pytest.raises(lamina.DTypeError, match="residual"):
        F.add_layer_norm(x, r.double(), [48])
    with pytest.raises(lamina.ShapeError):
        F.add_layer_norm(x, r, [47])
