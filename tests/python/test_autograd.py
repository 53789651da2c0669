"""Autograd from Python: the PyTorch-style API, grad mode, gradcheck over ops, and gradients
of a composite function checked against PyTorch (Debian's python3-torch, own process)."""

import numpy as np
import pytest

import lamina
from conftest import torch_reference


def leaf(*shape, lo=-1.0, hi=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return lamina.tensor(rng.uniform(lo, hi, size=shape), dtype=lamina.float64, requires_grad=True)


def test_requires_grad_backward_and_accumulation():
    x = lamina.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert x.is_leaf and x.requires_grad and x.grad is None and x.grad_fn is None
    y = (x * x).sum()
    assert not y.is_leaf and y.grad_fn.name() == "SumBackward1"
    assert repr(y).endswith("grad_fn=<SumBackward1>)")
    assert repr(x).endswith("requires_grad=True)")
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 7.0, 9.0])
    x.grad = None
    assert x.grad is None


def test_errors_are_typed():
    x = lamina.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(lamina.ValueError, match="scalar outputs"):
        (x * 2).backward()
    y = (x.exp()).sum()
    y.backward()
    with pytest.raises(lamina.ValueError, match="second time"):
        y.backward()
    with pytest.raises(lamina.ValueError, match="leaf"):
        x.add_(1.0)
    with pytest.raises(lamina.DTypeError):
        lamina.tensor([1, 2]).requires_grad_()
    with pytest.raises(lamina.ShapeError):
        x.grad = lamina.zeros(3, dtype=lamina.float32)
    a = x * 1.0
    b = a.exp()
    b.mul_(2.0)
    with pytest.raises(lamina.ValueError, match="modified by an in-place operation"):
        b.sum().backward()


def test_no_grad_enable_grad_and_detach():
    x = lamina.tensor([1.0, 2.0], requires_grad=True)
    with lamina.no_grad():
        assert not (x * 2).requires_grad
        assert not lamina.is_grad_enabled()
        with lamina.enable_grad():
            assert (x * 2).requires_grad
    assert lamina.is_grad_enabled()

    @lamina.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    d = x.detach()
    assert not d.requires_grad and d.data_ptr() == x.data_ptr()
    with lamina.set_grad_enabled(False):
        assert not (x + 1).requires_grad
    assert lamina.is_grad_enabled()


def test_autograd_grad_hooks_retain_grad_and_create_graph():
    x = lamina.tensor([0.5, -1.5, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = (h ** 2).sum()
    (gx,) = lamina.autograd.grad(y, [x], retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), 8 * x.numpy())
    assert x.grad is None
    y.backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * h.numpy())
    assert len(seen) == 2
    # second derivative through create_graph
    z = (x ** 3).sum()
    (g1,) = lamina.autograd.grad(z, [x], create_graph=True)
    (g2,) = lamina.autograd.grad(g1.sum(), [x])
    np.testing.assert_allclose(g2.numpy(), 6 * x.numpy(), rtol=1e-6)
    unused = lamina.tensor([1.0], requires_grad=True)
    with pytest.raises(lamina.ValueError, match="allow_unused"):
        lamina.autograd.grad((x * 2).sum(), [x, unused])
    g = lamina.autograd.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert g[1] is None


CASES = {
    "broadcast mul/div": (lambda a, b: (a * b / (b * b + 1.0)).sum(), [(3, 4), (4,)]),
    "tanh sigmoid gelu": (lambda a: (a.tanh() + lamina.sigmoid(a) * lamina.gelu(a)).sum(), [(5,)]),
    "gelu tanh form, relu": (lambda a: (lamina.nn.functional.gelu(a, approximate="tanh") * lamina.relu(a + 0.3)).sum(), [(6,)]),
    "softmax log_softmax": (lambda a: (lamina.softmax(a, -1) * lamina.log_softmax(a, 0)).sum(), [(3, 4)]),
    "reductions over dims": (lambda a: a.sum(1).prod() + a.mean(0, keepdim=True).sum() + a.amax(1).sum(), [(3, 4)]),
    "var std logsumexp": (lambda a: a.var(1).sum() + a.std() + lamina.logsumexp(a, 0).sum(), [(3, 4)]),
    "indexing": (lambda a: a[1:, ::2].sum() + a[lamina.tensor([0, 2, 0])].sum() + a[a > 0].sum(), [(3, 4)]),
    "views": (lambda a: a.t().reshape(2, 6).permute(1, 0).unsqueeze(0).expand(2, 6, 2).sum(), [(3, 4)]),
    "matmul": (lambda a, b: (a @ b).relu().sum(), [(2, 3, 4), (4, 5)]),
    "cat stack": (lambda a, b: lamina.cat([a, b.reshape(1, 4)], 0).sum(0).pow(2).sum(), [(3, 4), (4,)]),
    "where clamp": (lambda a: lamina.where(a > 0, a, a * a).clamp(-0.5, 0.5).sum(), [(6,)]),
    "gather": (lambda a: lamina.gather(a, 1, lamina.tensor([[0, 3], [2, 2], [1, 0]])).sum(), [(3, 4)]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck(name):
    fn, shapes = CASES[name]
    inputs = [leaf(*s, seed=i) for i, s in enumerate(shapes)]
    assert lamina.autograd.gradcheck(fn, inputs)


def test_gradcheck_reports_a_wrong_gradient():
    x = leaf(3)

    def wrong(a):
        b = a * 1.0
        if b.requires_grad:  # gradcheck also calls it under no_grad for the differences
            b.register_hook(lambda g: g * 2)  # doubles the gradient: no longer the derivative
        return (b * b).sum()

    with pytest.raises(lamina.ValueError, match="Jacobian mismatch"):
        lamina.autograd.gradcheck(wrong, [x])


TORCH_SCRIPT = r"""
import json, sys, torch
d = json.loads(sys.stdin.read())
x = torch.tensor(d["x"], dtype=torch.float32, requires_grad=True)
w1 = torch.tensor(d["w1"], requires_grad=True); b1 = torch.tensor(d["b1"], requires_grad=True)
w2 = torch.tensor(d["w2"], requires_grad=True)
h = torch.nn.functional.gelu(x @ w1.t() + b1)
logits = h @ w2.t()
loss = -torch.log_softmax(logits, 1)[torch.arange(4), torch.tensor(d["y"])].mean() + 0.01 * (w1 ** 2).sum()
loss.backward()
print(json.dumps({"loss": loss.item(), "w1": w1.grad.tolist(), "b1": b1.grad.tolist(), "w2": w2.grad.tolist(),
                  "x": x.grad.tolist()}))
"""


def test_mlp_gradients_match_pytorch():
    rng = np.random.default_rng(7)
    data = {"x": rng.normal(size=(4, 5)).tolist(), "w1": (rng.normal(size=(6, 5)) * 0.5).tolist(),
            "b1": rng.normal(size=6).tolist(), "w2": (rng.normal(size=(3, 6)) * 0.5).tolist(), "y": [0, 2, 1, 2]}
    reference = torch_reference(TORCH_SCRIPT, data)
    ref = reference
    x = lamina.tensor(data["x"], requires_grad=True)
    w1, b1, w2 = (lamina.tensor(data[k], requires_grad=True) for k in ("w1", "b1", "w2"))
    h = lamina.gelu(x @ w1.t() + b1)
    logits = h @ w2.t()
    loss = -lamina.log_softmax(logits, 1)[lamina.arange(4), lamina.tensor(data["y"])].mean() + 0.01 * (w1 ** 2).sum()
    loss.backward()
    np.testing.assert_allclose(loss.item(), ref["loss"], rtol=1e-5)
    for name, t in (("w1", w1), ("b1", b1), ("w2", w2), ("x", x)):
        np.testing.assert_allclose(t.grad.numpy(), np.array(ref[name]), rtol=1e-4, atol=1e-6)


def test_graph_is_freed_over_many_steps():
    w = lamina.randn(64, 64, requires_grad=True)
    x = lamina.randn(32, 64)
    for _ in range(50):  # warm up the allocator's cache
        ((x @ w).tanh().sum()).backward()
    before = lamina.memory_stats()["allocated_bytes"]
    for _ in range(10_000):
        w.grad = None
        loss = (x @ w).tanh().pow(2).mean()
        loss.backward()
    after = lamina.memory_stats()["allocated_bytes"]
    assert after <= before + 64 * 64 * 4, (before, after)


SECOND_ORDER_TORCH = r"""
import json, sys, torch
x0 = json.loads(sys.stdin.read())
out = {}
for name in ("tanh", "sigmoid", "exp", "softmax", "log_softmax", "sqrt"):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    f = {"softmax": lambda t: torch.softmax(t, -1), "log_softmax": lambda t: torch.log_softmax(t, -1)}.get(
        name, getattr(torch, name))
    y = f(x.abs() + 0.1 if name == "sqrt" else x)
    (g,) = torch.autograd.grad((y * y * torch.arange(1.0, 1 + y.numel(), dtype=torch.float64).reshape(y.shape)).sum(),
                               (x,), create_graph=True)
    (g * g).sum().backward()
    out[name] = [g.tolist(), x.grad.tolist()]
print(json.dumps(out))
"""


def test_second_derivatives_through_ops_that_save_their_output_match_pytorch():
    # tanh / sigmoid / exp / softmax keep their output for backward; under create_graph the
    # saved output must stay connected to its node, or second derivatives lose a term.
    x0 = np.random.default_rng(2).normal(size=(2, 5)).tolist()
    ref = torch_reference(SECOND_ORDER_TORCH, x0)
    fns = {"tanh": lamina.tanh, "sigmoid": lamina.sigmoid, "exp": lamina.exp, "sqrt": lamina.sqrt,
           "softmax": lambda t: lamina.softmax(t, -1), "log_softmax": lambda t: lamina.log_softmax(t, -1)}
    for name, f in fns.items():
        x = lamina.tensor(x0, dtype=lamina.float64, requires_grad=True)
        y = f(x.abs() + 0.1 if name == "sqrt" else x)
        weights = lamina.arange(1.0, 1 + y.numel(), dtype=lamina.float64).reshape(y.shape)
        (g,) = lamina.autograd.grad((y * y * weights).sum(), (x,), create_graph=True)
        (g * g).sum().backward()
        np.testing.assert_allclose(g.detach().numpy(), np.array(ref[name][0]), rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(x.grad.numpy(), np.array(ref[name][1]), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("backend", ["cpu_simd", "cpu_scalar"])
def test_fused_activation_gradients_follow_the_formulas(backend):
    # relu / gelu / tanh-gelu backward run as one fused kernel (SIMD for gelu in float32 and
    # float64); checked against the closed forms in float64, including the tails and 0.
    import math
    xs = np.concatenate([np.linspace(-30, 30, 6001), [0.0, 1e-4, -1e-4, 1e-3, -1e-3, 0.0010001]])
    phi = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in xs])
    pdf = np.exp(-xs * xs / 2) / math.sqrt(2 * math.pi)
    k = math.sqrt(2 / math.pi)
    th = np.tanh(k * (xs + 0.044715 * xs ** 3))
    want = {"gelu": phi + xs * pdf, "relu": (xs > 0).astype(float),
            "tanh": 0.5 * (1 + th) + 0.5 * xs * (1 - th * th) * k * (1 + 3 * 0.044715 * xs * xs)}
    previous = lamina.get_backend()
    lamina.set_backend(backend)
    try:
        for dtype, tol in ((lamina.float32, 3e-7), (lamina.float64, 1e-15)):
            for name, f in (("gelu", lamina.nn.functional.gelu), ("relu", lamina.relu),
                            ("tanh", lambda t: lamina.nn.functional.gelu(t, approximate="tanh"))):
                x = lamina.tensor(xs, dtype=dtype, requires_grad=True)
                f(x).backward(lamina.ones(len(xs), dtype=dtype))
                # float32's tanh form cancels in 0.5 (1 + tanh(u)) near u = -3, as in PyTorch
                atol = (1e-6 if dtype == lamina.float32 else 1e-13) if name == "tanh" else tol
                np.testing.assert_allclose(x.grad.numpy().astype(np.float64), want[name], rtol=tol * 4, atol=atol,
                                           err_msg=f"{name} {dtype}")
    finally:
        lamina.set_backend(previous)


def test_leaf_gradients_never_alias_each_other_or_the_caller():
    # .grad takes over a gradient nothing else holds (no copy) but copies shared ones.
    a = lamina.randn(3, requires_grad=True)
    b = lamina.randn(3, requires_grad=True)
    (a + b).sum().backward()  # add's backward hands the same gradient to both leaves
    a.grad.mul_(5.0)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    g = lamina.ones(3) * 2.0
    c = lamina.randn(3, requires_grad=True)
    c.backward(g)
    c.grad.add_(1.0)
    assert g.tolist() == [2.0, 2.0, 2.0]
    w = lamina.randn(4, 3, requires_grad=True)
    x = lamina.randn(5, 4)
    (x @ w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.repeat(x.numpy().sum(0)[:, None], 3, 1), rtol=1e-5)


def test_slice_gradients_join_in_place_without_touching_other_tensors():
    # Slices, selects, split and unbind of one tensor: after the first, each slice's gradient
    # is added into the pending gradient in place. Overlapping slices, strided slices, a
    # retained intermediate gradient, a caller's seed that must stay unchanged, and
    # create_graph (which takes the ordinary path) all give the numpy gradients.
    rng = np.random.default_rng(3)
    xv = rng.standard_normal((6, 8))
    x = lamina.tensor(xv, requires_grad=True)
    y = x * 2.0
    y.retain_grad()
    a, b, c = y.split([2, 3, 3], dim=1)
    rows = y.unbind(0)
    w = [rng.standard_normal(t.shape) for t in (a, b, c, y[:, 1:5], y[::2, ::3], rows[4])]
    parts = [a, b, c, y[:, 1:5], y[::2, ::3], rows[4]]
    loss = sum(((p * lamina.tensor(wi)).sum() for p, wi in zip(parts, w)), lamina.tensor(0.0))
    loss.backward()
    want = np.zeros((6, 8))
    want[:, :2] += w[0]
    want[:, 2:5] += w[1]
    want[:, 5:] += w[2]
    want[:, 1:5] += w[3]
    want[::2, ::3] += w[4]
    want[4] += w[5]
    np.testing.assert_allclose(y.grad.numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * want, rtol=1e-12)

    z = lamina.tensor(xv, requires_grad=True).clone()
    seed = lamina.tensor(np.ones((6, 8)))
    g0 = lamina.tensor(rng.standard_normal(8))
    leafz = z.grad_fn.next_functions[0][0]
    assert leafz is not None
    (gz,) = lamina.autograd.grad([z, z[0], z[1]], [z], [seed, g0, g0])
    expect = np.ones((6, 8))
    expect[0] += g0.numpy()
    expect[1] += g0.numpy()
    np.testing.assert_allclose(gz.numpy(), expect, rtol=1e-12)
    np.testing.assert_array_equal(seed.numpy(), np.ones((6, 8)))

    x2 = lamina.tensor(xv, requires_grad=True)
    q, r = x2.chunk(2, dim=0)
    (g,) = lamina.autograd.grad([(q * q).sum() + (r * r * r).sum()], [x2], create_graph=True)
    np.testing.assert_allclose(g.numpy(), np.concatenate([2 * xv[:3], 3 * xv[3:] ** 2]), rtol=1e-12)
    (gg,) = lamina.autograd.grad([g.sum()], [x2])
    np.testing.assert_allclose(gg.numpy(), np.concatenate([np.full((3, 8), 2.0), 6 * xv[3:]]), rtol=1e-12)
