"""Sequential's Linear + GELU as one op (addmm with the GELU on the GEMM's bands) against the two
ops written out in PyTorch 1.13 (own process): values, first and second derivatives, both GELU
forms, row and column splits of the product and several bands; the paths that fall back."""

import numpy as np
import pytest

import lamina
import lamina.nn as nn
from conftest import torch_reference

TORCH = r"""
import json, sys, torch
out = []
for c in json.loads(sys.stdin.read()):
    dt = getattr(torch, c["dtype"])
    x = torch.tensor(c["x"], dtype=dt, requires_grad=True)
    w = torch.tensor(c["w"], dtype=dt, requires_grad=True)
    b = torch.tensor(c["b"], dtype=dt, requires_grad=True)
    y = torch.nn.functional.gelu(torch.nn.functional.linear(x, w, b), approximate=c["approximate"])
    g = torch.cos(torch.arange(y.numel(), dtype=dt)).reshape(y.shape)
    grads = torch.autograd.grad(y, (x, w, b), g, create_graph=c["second"])
    entry = {"y": y.tolist(), "grads": [t.tolist() for t in grads]}
    if c["second"]:
        entry["second"] = [t.tolist() for t in torch.autograd.grad((grads[1] * grads[1]).sum(), (x, w, b))]
    out.append(entry)
print(json.dumps(out))
"""


def test_sequential_linear_gelu_matches_pytorch():
    rng = np.random.default_rng(8)
    cases = []
    # (rows, in, out): several bands of the product, a split by rows, a split by columns, 3-d input
    for shape, fan_out, approximate, dtype, second in (((1000, 32), 256, "none", "float32", False),
                                                      ((300, 64), 200, "tanh", "float32", False),
                                                      ((70, 64), 600, "none", "float32", False),
                                                      ((3, 5, 8), 6, "none", "float64", True),
                                                      ((4, 7), 5, "tanh", "float64", True)):
        cases.append({"x": rng.normal(size=shape).tolist(), "w": (rng.normal(size=(fan_out, shape[-1])) * 0.3).tolist(),
                      "b": rng.normal(size=fan_out).tolist(), "approximate": approximate, "dtype": dtype,
                      "second": second})
    ref = torch_reference(TORCH, cases)
    for c, r in zip(cases, ref):
        dt = getattr(lamina, c["dtype"])
        tol = dict(rtol=1e-4, atol=1e-4) if dt == lamina.float32 else dict(rtol=1e-10, atol=1e-11)
        lin = nn.Linear(len(c["w"][0]), len(c["w"]), dtype=dt)
        with lamina.no_grad():
            lin.weight.copy_(lamina.tensor(c["w"], dtype=dt))
            lin.bias.copy_(lamina.tensor(c["b"], dtype=dt))
        model = nn.Sequential(lin, nn.GELU(c["approximate"]))
        x = lamina.tensor(c["x"], dtype=dt, requires_grad=True)
        y = model(x)
        assert y.grad_fn.name() == "ViewBackward0" if x.dim() == 3 else y.grad_fn.name() == "AddmmGeluBackward0"
        g = lamina.cos(lamina.arange(y.numel(), dtype=dt)).reshape(y.shape)
        np.testing.assert_allclose(y.detach().numpy(), np.array(r["y"]), **tol)
        grads = lamina.autograd.grad(y, (x, lin.weight, lin.bias), g, create_graph=c["second"])
        for got, want in zip(grads, r["grads"]):
            np.testing.assert_allclose(got.detach().numpy(), np.array(want), **tol)
        if c["second"]:
            second = lamina.autograd.grad((grads[1] * grads[1]).sum(), (x, lin.weight, lin.bias))
            for got, want in zip(second, r["second"]):
                np.testing.assert_allclose(got.numpy(), np.array(want), rtol=1e-9, atol=1e-10)


def test_linear_gelu_fallbacks_equal_the_two_ops():
    rng = np.random.default_rng(9)
    x = lamina.tensor(rng.normal(size=(16, 12)).astype(np.float32))
    # without a bias, and on a 1-d input: the two ops
    lin = nn.Linear(12, 8, bias=False)
    np.testing.assert_array_equal(nn.Sequential(lin, nn.GELU())(x).detach().numpy(),
                                  lamina.nn.functional.gelu(lin(x)).detach().numpy())
    lin = nn.Linear(12, 8)
    np.testing.assert_array_equal(nn.Sequential(lin, nn.GELU())(x[0]).detach().numpy(),
                                  lamina.nn.functional.gelu(lin(x[0])).detach().numpy())
    # the fused forward gives the GELU kernel's own values on the product
    fused = nn.Sequential(lin, nn.GELU())(x).detach().numpy()
    np.testing.assert_array_equal(fused, lamina.nn.functional.gelu(lin(x)).detach().numpy())
    # under bfloat16 autocast: the product in bfloat16, as the two ops give
    with lamina.autocast(device_type="cpu", dtype=lamina.bfloat16):
        a = nn.Sequential(lin, nn.GELU())(x)
        b = lamina.nn.functional.gelu(lin(x))
    assert a.dtype == b.dtype == lamina.bfloat16
    np.testing.assert_array_equal(a.float().detach().numpy(), b.float().detach().numpy())
    # a subclass's forward runs as written
    class Shifted(nn.Linear):
        def forward(self, t):
            return super().forward(t) + 1.0
    s = Shifted(12, 8)
    np.testing.assert_array_equal(nn.Sequential(s, nn.GELU())(x).detach().numpy(),
                                  lamina.nn.functional.gelu(s(x)).detach().numpy())
    with pytest.raises(lamina.ShapeError):
        nn.Sequential(nn.Linear(5, 3), nn.GELU())(x)
