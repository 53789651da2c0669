"""CUDA reductions, scans, softmax / log_softmax, layer / RMS norm and cross-entropy against the
same ops on the CPU: every dtype the CPU registers, dims, keepdim, strided layouts, empty and 0-d
inputs, rows that are not multiples of 32, long rows (> 4096), special values, gradients, and
run-to-run determinism. Every test is skipped where no CUDA GPU is usable."""
import numpy as np
import pytest

import lamina
import lamina.nn as nn
import lamina.nn.functional as F

pytestmark = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")

ALL = [lamina.bool, lamina.uint8, lamina.int8, lamina.int32, lamina.int64,
       lamina.float16, lamina.bfloat16, lamina.float32, lamina.float64]
FLOATS = [lamina.float16, lamina.bfloat16, lamina.float32, lamina.float64]
INTEGERS = [lamina.uint8, lamina.int8, lamina.int32, lamina.int64]

LAYOUTS = {
    "contiguous": lambda t: t,
    "permuted": lambda t: t.permute(2, 0, 1),
    "stepped": lambda t: t[::2, ::-1, 1:],
    "expanded": lambda t: t[:, :1].expand(4, 6, 5),
}
DIMS = [None, 0, -1, (0, 2), [2, -3, 1], (-2,)]
# (rows, row length) shapes around the warp / block switches of the kernels.
SHAPES = [(1, 1), (3, 31), (5, 33), (7, 100), (2, 1025), (3, 4097), (1, 70000), (300, 17)]


def tol(dt):
    if dt in (lamina.float16, lamina.bfloat16):
        return dict(rtol=2e-2, atol=2e-2)
    if dt == lamina.float32:
        return dict(rtol=1e-4, atol=1e-5)
    return dict(rtol=1e-9, atol=1e-11)


def host(t):
    t = t.cpu()
    return (t.float() if t.dtype == lamina.bfloat16 else t).numpy()


def same(got, want, dt=None, **tolerance):
    """got (cuda) equals want (cpu): dtype, shape, values (exact for non-floats)."""
    assert got.device.type == "cuda"
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert tuple(got.shape) == tuple(want.shape), (tuple(got.shape), tuple(want.shape))
    g, w = host(got), host(want)
    if want.dtype in FLOATS:
        t = tolerance or tol(dt or want.dtype)
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), equal_nan=True, **t)
    else:
        np.testing.assert_array_equal(g, w)


def make(rng, shape, dt, low_ints=False):
    if dt == lamina.bool:
        return lamina.from_numpy(rng.random(shape) > 0.5)
    if dt in INTEGERS:
        lo, hi = (0, 3) if low_ints else ((1, 10) if dt == lamina.uint8 else (-9, 10))
        return lamina.from_numpy(rng.integers(lo, hi, size=shape).astype(np.int64)).to(dt)
    return lamina.from_numpy((rng.standard_normal(shape) * 2).astype(np.float32)).to(dt)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def leaf(t, dev):
    """A fresh leaf copy of t on dev that requires grad (t itself is left alone)."""
    return t.detach().to(dev).detach().requires_grad_()


# ---- reductions ----

@pytest.mark.parametrize("dt", ALL)
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean(rng, dt, layout, dims, keepdim):
    base = make(rng, (4, 6, 5), dt, low_ints=True)
    c, g = LAYOUTS[layout](base), LAYOUTS[layout](base.cuda())
    if dims is None:
        same(g.sum(), c.sum(), dt)
        if dt in FLOATS:
            same(g.mean(), c.mean(), dt)
        return
    d = dims if isinstance(dims, int) else tuple(dims)
    same(g.sum(d, keepdim=keepdim), c.sum(d, keepdim=keepdim), dt)
    same(g.sum(d, dtype=lamina.float64), c.sum(d, dtype=lamina.float64))
    if dt in FLOATS:
        same(g.mean(d, keepdim=keepdim), c.mean(d, keepdim=keepdim), dt)


@pytest.mark.parametrize("dt", ALL)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_prod_along_dim(rng, dt, dim):
    c = make(rng, (5, 7, 3), dt, low_ints=True)
    if dt in FLOATS:
        c = (c.float() * 0.3 + 1).to(dt)
    same(c.cuda().prod(dim), c.prod(dim), dt)


@pytest.mark.parametrize("dt", ALL)
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dims", DIMS)
def test_amax_amin(rng, dt, layout, dims):
    base = make(rng, (4, 6, 5), dt, low_ints=True)
    c, g = LAYOUTS[layout](base), LAYOUTS[layout](base.cuda())
    d = () if dims is None else (dims if isinstance(dims, int) else tuple(dims),)
    same(g.amax(*d), c.amax(*d))
    same(g.amin(*d, keepdim=True), c.amin(*d, keepdim=True))


@pytest.mark.parametrize("dt", ALL)
@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_indices(rng, dt, dim, keepdim):
    base = make(rng, (4, 33, 5), dt, low_ints=True)  # many ties: the first index must win
    for layout in ("contiguous", "permuted", "stepped"):
        c, g = LAYOUTS[layout](base), LAYOUTS[layout](base.cuda())
        for f in ("max", "min"):
            vc, ic = getattr(c, f)(dim, keepdim=keepdim)
            vg, ig = getattr(g, f)(dim, keepdim=keepdim)
            same(vg, vc)
            same(ig, ic)
        same(g.argmax(dim, keepdim=keepdim), c.argmax(dim, keepdim=keepdim))
        same(g.argmin(), c.argmin())


@pytest.mark.parametrize("dt", [lamina.float16, lamina.bfloat16, lamina.float32, lamina.float64])
def test_extremes_nan_and_inf(dt):
    a = np.array([[1.0, np.nan, 3.0, np.nan], [-np.inf, -np.inf, -np.inf, -np.inf], [2.0, np.inf, 2.0, 0.0]])
    c = lamina.from_numpy(a).to(dt)
    g = c.cuda()
    for f in ("max", "min"):
        vc, ic = getattr(c, f)(1)
        vg, ig = getattr(g, f)(1)
        same(vg, vc)
        same(ig, ic)
    same(g.logsumexp(1), c.logsumexp(1))
    same(g.amax(0), c.amax(0))


@pytest.mark.parametrize("rows,n", SHAPES)
@pytest.mark.parametrize("dt", FLOATS)
def test_row_and_column_reductions(rng, rows, n, dt):
    c = make(rng, (rows, n), dt)
    g = c.cuda()
    for dim in (0, 1):
        same(g.sum(dim), c.sum(dim), dt)
        same(g.amax(dim), c.amax(dim))
        same(g.logsumexp(dim), c.logsumexp(dim), dt)
        same(g.norm(dim=dim), c.norm(dim=dim), dt)
        if c.shape[dim] > 1:
            same(g.var(dim), c.var(dim), dt)
            same(g.std(dim, correction=0), c.std(dim, correction=0), dt)
        vc, ic = c.max(dim)
        vg, ig = g.max(dim)
        same(vg, vc)
        same(ig, ic)
    same(g.sum(), c.sum(), dt)
    same(g.mean(), c.mean(), dt)


def test_large_reductions_are_deterministic(rng):
    c = make(rng, (3_000_000,), lamina.float32)
    g = c.cuda()
    first = [host(g.sum()), host(g.mean()), host(g.var()), host(g.norm()), host(g.logsumexp(0))]
    for _ in range(3):
        again = [host(g.sum()), host(g.mean()), host(g.var()), host(g.norm()), host(g.logsumexp(0))]
        for a, b in zip(first, again):
            assert a.tobytes() == b.tobytes()
    same(g.sum(), c.sum(), rtol=1e-5, atol=1e-3)
    same(g.var(), c.var(), rtol=1e-5, atol=1e-6)
    m = make(rng, (4, 1000, 70), lamina.float32)
    for dims in ((0, 2), 1, None):
        a = m.cuda().sum(dims) if dims is not None else m.cuda().sum()
        b = m.cuda().sum(dims) if dims is not None else m.cuda().sum()
        assert host(a).tobytes() == host(b).tobytes()


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("p", [0, 1, 2, 3, 0.5, float("inf"), float("-inf")])
@pytest.mark.parametrize("dims", [None, 0, (1, 2)])
def test_norm(rng, dt, p, dims):
    base = make(rng, (4, 6, 5), dt)
    for layout in ("contiguous", "permuted", "stepped"):
        c, g = LAYOUTS[layout](base), LAYOUTS[layout](base.cuda())
        kw = {} if dims is None else dict(dim=dims)
        same(g.norm(p, **kw), c.norm(p, **kw), dt)


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("correction", [0, 1, 2])
@pytest.mark.parametrize("keepdim", [False, True])
def test_var_std(rng, dt, dims, correction, keepdim):
    base = make(rng, (4, 6, 5), dt)
    d = () if dims is None else (dims if isinstance(dims, int) else tuple(dims),)
    for layout in ("contiguous", "stepped", "expanded"):
        c, g = LAYOUTS[layout](base), LAYOUTS[layout](base.cuda())
        same(g.var(*d, correction=correction, keepdim=keepdim), c.var(*d, correction=correction, keepdim=keepdim), dt)
        same(g.std(*d, correction=correction, keepdim=keepdim), c.std(*d, correction=correction, keepdim=keepdim), dt)


@pytest.mark.parametrize("dt", ALL)
@pytest.mark.parametrize("dims", DIMS)
def test_all_any(rng, dt, dims):
    base = make(rng, (4, 6, 5), dt, low_ints=True)
    d = () if dims is None else (dims if isinstance(dims, int) else tuple(dims),)
    for layout in LAYOUTS:
        c, g = LAYOUTS[layout](base), LAYOUTS[layout](base.cuda())
        same(g.all(*d), c.all(*d))
        same(g.any(*d, keepdim=True), c.any(*d, keepdim=True))


@pytest.mark.parametrize("dt", ALL)
def test_empty_and_zero_d(dt):
    c = lamina.zeros(0, 3, dtype=dt)
    g = c.cuda()
    same(g.sum(0), c.sum(0))
    same(g.sum(1), c.sum(1))
    same(g.all(0), c.all(0))
    same(g.any(), c.any())
    same(g.amax(1), c.amax(1))
    s = lamina.ones((), dtype=dt)
    same(s.cuda().sum(), s.sum())
    same(s.cuda().amax(), s.amax())
    same(s.cuda().cumsum(0), s.cumsum(0))
    if dt in FLOATS:
        same(g.mean(0), c.mean(0))
        same(g.logsumexp(0), c.logsumexp(0))
        same(g.norm(dim=0), c.norm(dim=0))
        same(s.cuda().softmax(0), s.softmax(0))
        same(s.cuda().var(correction=0), s.var(correction=0))
        with pytest.raises(lamina.Error):
            g.amax()


# ---- scans ----

@pytest.mark.parametrize("dt", ALL)
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("n", [3, 64, 65, 1000, 5000])
def test_cumsum_cumprod(rng, dt, dim, n):
    c = make(rng, (3, n) if dim != 0 else (n, 3), dt, low_ints=True)
    if dt in FLOATS:
        c = (c.float() * 0.01 + 1).to(dt)
    for layout in (lambda t: t, lambda t: t.t().contiguous().t() if t.dim() == 2 else t, lambda t: t.flip(dim)):
        cc, gg = layout(c), layout(c.cuda())
        same(gg.cumsum(dim), cc.cumsum(dim), dt)
        same(gg.cumprod(dim), cc.cumprod(dim), dt, rtol=5e-2, atol=5e-2) if dt in (
            lamina.float16, lamina.bfloat16) else same(gg.cumprod(dim), cc.cumprod(dim), dt)


@pytest.mark.parametrize("with_zero", [False, True])
def test_cumsum_cumprod_gradients(rng, with_zero):
    a = rng.standard_normal((4, 9)) * 0.5 + 1
    if with_zero:
        a[1, 3] = 0.0
    for f in ("cumsum", "cumprod"):
        grads = []
        for dev in ("cpu", "cuda"):
            x = leaf(lamina.from_numpy(a), dev)
            getattr(x, f)(1).sum().backward()
            grads.append(x.grad)
        same(grads[1], grads[0])


# ---- softmax ----

@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("rows,n", SHAPES)
@pytest.mark.parametrize("log", [False, True])
def test_softmax_rows(rng, dt, rows, n, log):
    c = make(rng, (rows, n), dt)
    g = c.cuda()
    f = "log_softmax" if log else "softmax"
    for dim in (1, 0):
        same(getattr(g, f)(dim), getattr(c, f)(dim), dt)


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("layout", ["permuted", "stepped", "expanded"])
@pytest.mark.parametrize("dim", [0, 1, 2])
def test_softmax_strided(rng, dt, layout, dim):
    base = make(rng, (4, 6, 5), dt)
    c, g = LAYOUTS[layout](base), LAYOUTS[layout](base.cuda())
    same(g.softmax(dim), c.softmax(dim), dt)
    same(g.log_softmax(dim), c.log_softmax(dim), dt)
    same(F.softmax(g, dim, dtype=lamina.float64), F.softmax(c, dim, dtype=lamina.float64))


@pytest.mark.parametrize("dt", FLOATS)
def test_softmax_special_values(dt):
    a = np.array([[1.0, np.nan, 3.0], [-np.inf, -np.inf, -np.inf], [2.0, np.inf, 2.0], [1.0, -np.inf, 2.0]])
    c = lamina.from_numpy(a).to(dt)
    same(c.cuda().softmax(1), c.softmax(1))
    same(c.cuda().log_softmax(1), c.log_softmax(1))


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("rows,n", [(3, 31), (5, 33), (2, 1025), (2, 4097)])
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dim", [-1, 0])
def test_softmax_gradients(rng, dt, rows, n, log, dim):
    a = (rng.standard_normal((rows, n)) * 2).astype(np.float32)
    up = rng.standard_normal((rows, n)).astype(np.float32)
    grads = []
    for dev in ("cpu", "cuda"):
        x = leaf(lamina.from_numpy(a).to(dt), dev)
        y = x.log_softmax(dim) if log else x.softmax(dim)
        (y * lamina.from_numpy(up).to(dt).to(dev)).sum().backward()
        grads.append(x.grad)
    same(grads[1], grads[0], dt)


# ---- layer norm / RMS norm ----

@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("shape,nd", [((4, 7), 1), ((3, 5, 33), 1), ((2, 3, 4, 5), 2), ((5, 1100), 1),
                                      ((2, 4097), 1), ((0, 8), 1)])
@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm(rng, dt, shape, nd, affine):
    norm_shape = shape[-nd:]
    x = make(rng, shape, dt)
    w = make(rng, norm_shape, dt) if affine else None
    b = make(rng, norm_shape, dt) if affine else None
    outs, grads = [], []
    up = make(rng, shape, dt)
    for dev in ("cpu", "cuda"):
        xd = leaf(x, dev)
        wd = leaf(w, dev) if affine else None
        bd = leaf(b, dev) if affine else None
        y = F.layer_norm(xd, norm_shape, wd, bd, 1e-5)
        (y * up.to(dev)).sum().backward()
        outs.append(y)
        grads.append([xd.grad] + ([wd.grad, bd.grad] if affine else []))
    same(outs[1], outs[0], dt)
    for gg, gc in zip(grads[1], grads[0]):
        same(gg, gc, dt, **(dict(rtol=5e-2, atol=5e-2) if dt in (lamina.float16, lamina.bfloat16) else {}))


def test_layer_norm_transposed_input(rng):
    x = make(rng, (6, 40), lamina.float32).t()
    same(F.layer_norm(x.cuda(), (6,)), F.layer_norm(x, (6,)))


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("shape", [(4, 7), (3, 5, 33), (5, 1100), (2, 4097)])
@pytest.mark.parametrize("affine", [False, True])
def test_rms_norm(rng, dt, shape, affine):
    x = make(rng, shape, dt)
    w = make(rng, shape[-1:], dt) if affine else None
    up = make(rng, shape, dt)
    outs, grads = [], []
    for dev in ("cpu", "cuda"):
        xd = leaf(x, dev)
        wd = leaf(w, dev) if affine else None
        y = F.rms_norm(xd, shape[-1:], wd, 1e-6)
        (y * up.to(dev)).sum().backward()
        outs.append(y)
        grads.append([xd.grad] + ([wd.grad] if affine else []))
    same(outs[1], outs[0], dt)
    for gg, gc in zip(grads[1], grads[0]):
        same(gg, gc, dt, **(dict(rtol=5e-2, atol=5e-2) if dt in (lamina.float16, lamina.bfloat16) else {}))


# ---- cross-entropy ----

def ce_case(rng, n, c, dt, ignore=True):
    x = make(rng, (n, c), dt)
    t = rng.integers(0, c, size=n)
    if ignore and n > 2:
        t[1] = -100
    return x, lamina.from_numpy(t.astype(np.int64))


@pytest.mark.parametrize("dt", FLOATS)
@pytest.mark.parametrize("n,c", [(1, 1), (5, 3), (33, 10), (64, 1025), (4, 5000), (1, 70000)])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_module(rng, dt, n, c, reduction, weighted, smoothing):
    x, t = ce_case(rng, n, c, dt)
    w = lamina.from_numpy(rng.random(c) + 0.5).to(dt) if weighted else None
    up = make(rng, (n,) if reduction == "none" else (), dt)
    outs, grads = [], []
    for dev in ("cpu", "cuda"):
        loss_fn = nn.CrossEntropyLoss(weight=None if w is None else w.to(dev), reduction=reduction,
                                      label_smoothing=smoothing)
        xd = leaf(x, dev)
        loss = loss_fn(xd, t.to(dev))
        (loss * up.to(dev)).sum().backward()
        outs.append(loss)
        grads.append(xd.grad)
    loose = dict(rtol=5e-2, atol=5e-2) if dt in (lamina.float16, lamina.bfloat16) else {}
    same(outs[1], outs[0], dt, **loose)
    same(grads[1], grads[0], dt, **loose)


def test_cross_entropy_one_d_and_all_ignored(rng):
    x = make(rng, (7,), lamina.float32)
    t = lamina.tensor(3)
    for red in ("none", "sum", "mean"):
        loss_fn = nn.CrossEntropyLoss(reduction=red)
        same(loss_fn(x.cuda(), t.cuda()), loss_fn(x, t))
    xs = make(rng, (3, 4), lamina.float32)
    ts = lamina.tensor([-100, -100, -100])
    loss_fn = nn.CrossEntropyLoss()
    same(loss_fn(xs.cuda(), ts.cuda()), loss_fn(xs, ts))  # 0 / 0: NaN on both


def test_cross_entropy_out_of_range_target(rng):
    x = make(rng, (3, 4), lamina.float32).cuda()
    with pytest.raises(IndexError):
        nn.CrossEntropyLoss()(x, lamina.tensor([0, 4, 1]).cuda())


def test_cross_entropy_functional_and_soft_targets(rng):
    x, t = ce_case(rng, 9, 6, lamina.float32)
    for red in ("none", "mean"):
        same(F.cross_entropy(x.cuda(), t.cuda(), reduction=red, label_smoothing=0.2),
             F.cross_entropy(x, t, reduction=red, label_smoothing=0.2))
    p = x.softmax(1)
    same(F.cross_entropy(x.cuda(), p.cuda()), F.cross_entropy(x, p))
    x3 = make(rng, (2, 5, 3), lamina.float32)
    t3 = lamina.from_numpy(rng.integers(0, 5, size=(2, 3)).astype(np.int64))
    same(nn.CrossEntropyLoss()(x3.cuda(), t3.cuda()), nn.CrossEntropyLoss()(x3, t3))


def test_cross_entropy_double_backward(rng):
    x, t = ce_case(rng, 6, 5, lamina.float64)
    results = []
    for dev in ("cpu", "cuda"):
        xd = leaf(x, dev)
        loss = nn.CrossEntropyLoss(label_smoothing=0.1)(xd, t.to(dev))
        (g,) = lamina.autograd.grad(loss, [xd], create_graph=True)
        (g * g).sum().backward()
        results.append((g, xd.grad))
    same(results[1][0], results[0][0])
    same(results[1][1], results[0][1])
