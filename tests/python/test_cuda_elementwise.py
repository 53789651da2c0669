"""Elementwise ops on the GPU against the same ops on the CPU: every unary, binary, comparison,
bitwise and logical op, where, clamp, casts between all dtypes, fills; contiguous sizes that are
not multiples of the vector width, broadcast scalars, misaligned and transposed views, broadcast
rows, 0-d, empty and large tensors. Skipped without a usable GPU (run with LAMINA_FORCE_CPU=0 on
a GPU machine)."""
import numpy as np
import pytest

import lamina

pytestmark = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")

FLOAT = [lamina.float16, lamina.bfloat16, lamina.float32, lamina.float64]
INT = [lamina.uint8, lamina.int8, lamina.int32, lamina.int64]
NUMERIC = INT + FLOAT
ALL = [lamina.bool] + NUMERIC

UNARY = {name: FLOAT for name in
         "exp exp2 expm1 log log2 log10 log1p sqrt rsqrt reciprocal sin cos tan asin acos atan sinh cosh tanh "
         "erf sigmoid floor ceil trunc round isnan isinf isfinite".split()}
UNARY.update({name: NUMERIC for name in "neg abs sign square relu".split()})
UNARY["bitwise_not"] = INT + [lamina.bool]
UNARY["logical_not"] = ALL
BINARY = {name: NUMERIC for name in "add sub mul floor_divide remainder fmod pow maximum minimum".split()}
BINARY.update({"div": FLOAT, "atan2": FLOAT})
BINARY.update({name: INT + [lamina.bool] for name in "bitwise_and bitwise_or bitwise_xor".split()})
BINARY.update({name: ALL for name in "logical_and logical_or logical_xor eq ne lt le gt ge".split()})

TOLERANCE = {lamina.float16: 2e-3, lamina.bfloat16: 1e-2, lamina.float32: 1e-5, lamina.float64: 1e-12}


def random(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype == lamina.bool:
        values = rng.random(shape) > 0.5
    elif dtype in INT:
        values = rng.integers(1 if dtype == lamina.uint8 else -9, 10, size=shape)
    else:
        values = rng.uniform(-3, 3, size=shape)
    return lamina.tensor(values).to(dtype)


def layouts(dtype, arity, seed):
    """(name, [inputs on the CPU]) for each layout; inputs broadcast against each other."""
    yield "contiguous", [random((1027,), dtype, seed + k) for k in range(arity)]
    yield "scalar", [random((517,), dtype, seed)] + [random((), dtype, seed + k) for k in range(1, arity)]
    yield "misaligned", [random((301,), dtype, seed + k)[1:] for k in range(arity)]
    yield "transposed", [random((17, 13), dtype, seed + k).t() for k in range(arity)]
    yield "rows", [random((9, 33), dtype, seed)] + [random((1, 33), dtype, seed + k) for k in range(1, arity)]
    yield "zero-dim", [random((), dtype, seed + k) for k in range(arity)]
    yield "empty", [random((0, 5), dtype, seed + k) for k in range(arity)]
    yield "large", [random((3, 1 << 20), dtype, seed + k) for k in range(arity)]


def assert_same(gpu, cpu, what):
    assert gpu.device.type == "cuda", what
    got = gpu.cpu()
    assert got.dtype == cpu.dtype and tuple(got.shape) == tuple(cpu.shape), what
    a, b = got.to(lamina.float64).numpy(), cpu.to(lamina.float64).numpy()
    tol = TOLERANCE.get(cpu.dtype, 0.0)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, equal_nan=True, err_msg=what)


def run_both(fn, inputs, what):
    try:
        cpu = fn(*inputs)
    except lamina.Error as e:  # the GPU raises the same error type
        with pytest.raises(type(e)):
            fn(*[t.cuda() for t in inputs])
        return
    assert_same(fn(*[t.cuda() for t in inputs]), cpu, what)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_match_cpu(name):
    fn = getattr(lamina, name)
    for dtype in UNARY[name]:
        for layout, inputs in layouts(dtype, 1, seed=hash(name) % 1000):
            run_both(fn, inputs, f"{name} {dtype} {layout}")


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_match_cpu(name):
    fn = getattr(lamina, name)
    for dtype in BINARY[name]:
        for layout, inputs in layouts(dtype, 2, seed=hash(name) % 1000):
            run_both(fn, inputs, f"{name} {dtype} {layout}")


@pytest.mark.parametrize("name", ["floor_divide", "remainder", "fmod"])
@pytest.mark.parametrize("dtype", INT)
def test_integer_division_by_zero_raises_and_writes_nothing(name, dtype):
    a = random((40,), dtype, 1).cuda()
    b = random((40,), dtype, 2)
    b[7] = 0
    before = a.cpu().numpy().copy()
    with pytest.raises(lamina.ValueError, match=f"{name}.*integer division by zero"):
        getattr(lamina, name)(a, b.cuda())
    with pytest.raises(lamina.ValueError, match="integer division by zero"):
        getattr(a, name + "_")(b.cuda())
    np.testing.assert_array_equal(a.cpu().numpy(), before)
    b[7] = 1
    assert_same(getattr(lamina, name)(a, b.cuda()), getattr(lamina, name)(a.cpu(), b), f"{name} {dtype}")


@pytest.mark.parametrize("dtype", NUMERIC)
def test_python_scalars_and_promotion(dtype):
    x = random((257,), dtype, 3)
    for fn in (lambda t: t + 2, lambda t: t * 2.5, lambda t: 3 - t, lambda t: t / 2, lambda t: t > 1):
        assert_same(fn(x.cuda()), fn(x), f"scalar op {dtype}")
    y = random((257,), lamina.float32, 4)
    assert_same(x.cuda() + y.cuda(), x + y, f"mixed {dtype} + float32")


@pytest.mark.parametrize("dtype", ALL)
def test_where_and_clamp(dtype):
    for layout, (a, b, c) in layouts(dtype, 3, seed=7):
        cond = random(tuple(a.shape), lamina.bool, 8)
        run_both(lambda c_, a_, b_: lamina.where(c_, a_, b_), [cond, a, b], f"where {dtype} {layout}")
        if dtype != lamina.bool:
            run_both(lambda x, lo, hi: lamina.clamp(x, lo, hi), [a, b, c], f"clamp {dtype} {layout}")


@pytest.mark.parametrize("src", ALL)
@pytest.mark.parametrize("dst", ALL)
def test_casts_between_all_dtypes(src, dst):
    x = random((3, 1031), src, 11)
    assert_same(x.cuda().to(dst), x.to(dst), f"{src} -> {dst}")
    assert_same(x.t().cuda().contiguous(), x.t().contiguous(), f"{src} transposed copy")
    if src in FLOAT:
        special = lamina.tensor([float("nan"), float("inf"), -float("inf"), 3e9, -3e9, 0.5]).to(src)
        assert_same(special.cuda().to(dst), special.to(dst), f"special {src} -> {dst}")


@pytest.mark.parametrize("dtype", ALL)
def test_fill_and_creation(dtype):
    for shape in [(), (0,), (1027,), (31, 33)]:
        assert_same(lamina.zeros(shape, dtype=dtype, device="cuda"), lamina.zeros(shape, dtype=dtype), "zeros")
        assert_same(lamina.ones(shape, dtype=dtype, device="cuda"), lamina.ones(shape, dtype=dtype), "ones")
        assert_same(lamina.full(shape, 1, dtype=dtype, device="cuda"), lamina.full(shape, 1, dtype=dtype), "full")
    x = random((40, 50), dtype, 5).cuda()
    x[:, 3:7] = 0  # strided fill
    ref = random((40, 50), dtype, 5)
    ref[:, 3:7] = 0
    assert_same(x, ref, "strided fill")


def test_in_place_and_views_write_through():
    x = random((64, 64), lamina.float32, 1)
    g = x.cuda()
    g[::2].mul_(3)
    g.t()[5].add_(1)
    x[::2].mul_(3)
    x.t()[5].add_(1)
    assert_same(g, x, "in-place through views")


def test_elementwise_gradients_match_cpu():
    for name in ["exp", "tanh", "sigmoid", "relu", "gelu", "silu", "sqrt", "log1p"]:
        x = random((129,), lamina.float32, 2).abs() + 0.1
        xc = x.clone().requires_grad_(True)
        xg = x.cuda().requires_grad_(True)
        getattr(lamina, name)(xc).sum().backward()
        getattr(lamina, name)(xg).sum().backward()
        assert_same(xg.grad, xc.grad, f"{name} gradient")
