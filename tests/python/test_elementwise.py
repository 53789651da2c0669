"""Elementwise ops against NumPy: dtypes, promotion, broadcasting, views, empty / 0-d, errors."""
import math

import numpy as np
import pytest

import lamina
from conftest import random_array, to_np

FLOATS = [lamina.float32, lamina.float64]
HALFS = [lamina.float16, lamina.bfloat16]
INTS = [lamina.uint8, lamina.int8, lamina.int32, lamina.int64]
NP = {lamina.float32: np.float32, lamina.float64: np.float64, lamina.float16: np.float16,
      lamina.uint8: np.uint8, lamina.int8: np.int8, lamina.int32: np.int32, lamina.int64: np.int64,
      lamina.bool: np.bool_}

UNARY_FLOAT = {
    "exp": np.exp, "expm1": np.expm1, "log": lambda a: np.log(np.abs(a) + 0.5), "sqrt": None, "sin": np.sin,
    "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "sinh": np.sinh, "cosh": np.cosh, "atan": np.arctan,
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)), "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc,
    "round": np.round, "neg": np.negative, "abs": np.abs, "sign": np.sign, "square": np.square,
    "relu": lambda a: np.maximum(a, 0), "reciprocal": None, "rsqrt": None, "log2": None, "log10": None,
    "log1p": None, "exp2": np.exp2, "asin": None, "acos": None, "erf": None,
    "silu": lambda a: a / (1 + np.exp(-a)), "softplus": lambda a: np.log1p(np.exp(a)),
}


def positive(a):
    return np.abs(a) + 0.5


DOMAIN = {
    "log": (positive, np.log), "sqrt": (positive, np.sqrt), "rsqrt": (positive, lambda a: 1 / np.sqrt(a)),
    "reciprocal": (positive, lambda a: 1 / a), "log2": (positive, np.log2), "log10": (positive, np.log10),
    "log1p": (positive, np.log1p), "asin": (lambda a: np.tanh(a) * 0.9, np.arcsin),
    "acos": (lambda a: np.tanh(a) * 0.9, np.arccos),
    "erf": (lambda a: a, np.vectorize(math.erf)),
}


@pytest.mark.parametrize("name", sorted(UNARY_FLOAT))
@pytest.mark.parametrize("dtype", FLOATS)
def test_unary_float(name, dtype, rng):
    prep, ref = DOMAIN.get(name, (lambda a: a, UNARY_FLOAT[name]))
    a = prep(random_array(rng, (5, 7), NP[dtype]))
    t = lamina.from_numpy(a)
    out = getattr(lamina, name)(t)
    assert out.dtype == dtype
    np.testing.assert_allclose(out.numpy(), ref(a.astype(np.float64)), rtol=2e-6 if dtype == lamina.float32 else 1e-12, atol=1e-6)
    # method, non-contiguous view, in-place
    v = t.T
    np.testing.assert_allclose(getattr(v, name)().numpy(), ref(a.T.astype(np.float64)), rtol=1e-5, atol=1e-6)
    c = t.clone()
    ver = c._version
    getattr(c, name + "_")()
    assert c._version == ver + 1
    np.testing.assert_allclose(c.numpy(), out.numpy())


@pytest.mark.parametrize("dtype", HALFS)
def test_unary_half(dtype, rng):
    a = random_array(rng, (4, 9), np.float32)
    t = lamina.from_numpy(a).to(dtype)
    ref = t.float().numpy()
    for name, fn in [("exp", np.exp), ("tanh", np.tanh), ("neg", np.negative), ("relu", lambda x: np.maximum(x, 0))]:
        out = getattr(t, name)()
        assert out.dtype == dtype
        np.testing.assert_allclose(out.float().numpy(), fn(ref), rtol=1e-2, atol=1e-2)


def test_unary_int_inputs(rng):
    a = random_array(rng, (6,), np.int32)
    t = lamina.from_numpy(a)
    assert lamina.exp(t).dtype == lamina.float32
    np.testing.assert_allclose(lamina.exp(t).numpy(), np.exp(a.astype(np.float64)), rtol=1e-6)
    assert lamina.neg(t).dtype == lamina.int32
    np.testing.assert_array_equal(lamina.abs(t).numpy(), np.abs(a))
    np.testing.assert_array_equal(lamina.floor(t).numpy(), a)
    with pytest.raises(lamina.DTypeError, match=r"\[exp_\]"):
        t.exp_()  # float result can't be stored in an int tensor
    np.testing.assert_array_equal(t.numpy(), a)


def test_gelu_and_predicates(rng):
    a = random_array(rng, (10,), np.float64)
    t = lamina.from_numpy(a)
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(lamina.gelu(t).numpy(), 0.5 * a * (1 + erf(a / math.sqrt(2))), rtol=1e-12)
    tanh_form = 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))
    np.testing.assert_allclose(lamina.gelu(t, approximate="tanh").numpy(), tanh_form, rtol=1e-12)
    with pytest.raises(lamina.ValueError, match=r"\[gelu\]"):
        lamina.gelu(t, approximate="fast")
    x = lamina.tensor([1.0, float("nan"), float("inf"), -float("inf")])
    assert x.isnan().tolist() == [False, True, False, False]
    assert x.isinf().tolist() == [False, False, True, True]
    assert x.isfinite().tolist() == [True, False, False, False]
    assert lamina.isnan(lamina.tensor([1, 2])).tolist() == [False, False]


BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "maximum": np.maximum, "minimum": np.minimum,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
    "ge": np.greater_equal,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("dtype", FLOATS + INTS)
def test_binary_same_dtype_broadcast(name, dtype, rng):
    a = random_array(rng, (3, 1, 5), NP[dtype])
    b = random_array(rng, (4, 1), NP[dtype])
    out = getattr(lamina, name)(lamina.from_numpy(a), lamina.from_numpy(b))
    ref = BINARY[name](a, b)
    assert out.shape == ref.shape
    np.testing.assert_array_equal(out.numpy(), ref)


@pytest.mark.parametrize("dtype", FLOATS)
def test_div_pow_remainder_floats(dtype, rng):
    a = random_array(rng, (4, 5), NP[dtype])
    b = random_array(rng, (5,), NP[dtype])
    b[b == 0] = 1.5
    ta, tb = lamina.from_numpy(a), lamina.from_numpy(b)
    np.testing.assert_allclose((ta / tb).numpy(), a / b, rtol=1e-6)
    np.testing.assert_allclose((ta // tb).numpy(), np.floor_divide(a, b), rtol=1e-6)
    np.testing.assert_allclose((ta % tb).numpy(), np.remainder(a, b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lamina.fmod(ta, tb).numpy(), np.fmod(a, b), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose((abs(ta) ** tb).numpy(), np.abs(a) ** b, rtol=1e-5)
    np.testing.assert_allclose(lamina.atan2(ta, tb).numpy(), np.arctan2(a, b), rtol=1e-6)


def test_integer_division_semantics(rng):
    a = random_array(rng, (50,), np.int64)
    b = random_array(rng, (50,), np.int64)
    b[b == 0] = 3
    ta, tb = lamina.from_numpy(a), lamina.from_numpy(b)
    np.testing.assert_array_equal((ta // tb).numpy(), a // b)
    np.testing.assert_array_equal((ta % tb).numpy(), a % b)
    np.testing.assert_array_equal(lamina.fmod(ta, tb).numpy(), np.fmod(a, b))
    np.testing.assert_array_equal(lamina.div(ta, tb, rounding_mode="trunc").numpy(), np.trunc(a / b).astype(np.int64))
    assert (ta / tb).dtype == lamina.float32
    with pytest.raises(lamina.ValueError, match=r"\[floor_divide\].*division by zero"):
        ta // lamina.zeros_like(tb)
    np.testing.assert_array_equal((ta ** 2).numpy(), a ** 2)
    assert (lamina.tensor([2], dtype=lamina.int32) ** 10).tolist() == [1024]


@pytest.mark.parametrize("name", ["floor_divide", "remainder", "fmod"])
@pytest.mark.parametrize("dtype", INTS)
def test_integer_division_by_zero_is_reported_by_the_kernel(name, dtype, rng):
    # Large enough that the CPU splits the loop over the pool: whichever part meets the zero, the
    # op raises, and the in-place form leaves its operand as it was.
    a = lamina.from_numpy(random_array(rng, (3, 40000), NP[dtype]))
    b_np = random_array(rng, (40000, 3), NP[dtype])
    b_np[b_np == 0] = 3
    b_np[39999, 1] = 0
    b = lamina.from_numpy(b_np).t()  # a non-contiguous divisor, the zero in its last column
    before = a.numpy().copy()
    with pytest.raises(lamina.ValueError, match=rf"\[{name}\].*integer division by zero"):
        getattr(lamina, name)(a, b)
    with pytest.raises(lamina.ValueError, match=rf"\[{name}_\].*integer division by zero"):
        getattr(a, name + "_")(b)
    np.testing.assert_array_equal(a.numpy(), before)
    with pytest.raises(lamina.ValueError, match=r"integer division by zero"):
        getattr(lamina, name)(a, 0)  # a broadcast 0-d divisor
    with pytest.raises(lamina.ValueError, match=r"integer division by zero"):
        getattr(a[:, ::7], name + "_")(lamina.zeros((1,), dtype=dtype))
    np.testing.assert_array_equal(a.numpy(), before)
    b_np[39999, 1] = 5
    ref = {"floor_divide": np.floor_divide, "remainder": np.remainder, "fmod": np.fmod}[name]
    got = getattr(lamina, name)(a, lamina.from_numpy(b_np).t())
    np.testing.assert_array_equal(got.numpy(), ref(before, b_np.T))
    empty = lamina.zeros((0,), dtype=dtype)
    assert getattr(lamina, name)(empty, empty).shape == (0,)  # nothing divided, nothing to report
    rows = lamina.zeros((0, 3), dtype=dtype)
    assert getattr(lamina, name)(rows, lamina.tensor([0, 1, 2], dtype=dtype)).shape == (0, 3)  # as PyTorch


@pytest.mark.parametrize("dtype", INTS)
def test_integer_pow_of_a_negative_exponent_is_reported_by_the_kernel(dtype, rng):
    base = lamina.from_numpy(np.clip(random_array(rng, (200000,), NP[dtype]), 0, 3).astype(NP[dtype]))
    exps = np.clip(random_array(rng, (200000,), NP[dtype]), 0, 4).astype(NP[dtype])
    before = base.numpy().copy()
    np.testing.assert_array_equal((base ** lamina.from_numpy(exps)).numpy(), before ** exps)
    if dtype == lamina.uint8:
        return  # no negative exponents to write
    exps[123456] = -1
    e = lamina.from_numpy(exps)
    with pytest.raises(lamina.ValueError, match=r"\[pow\].*negative integer powers"):
        base ** e
    with pytest.raises(lamina.ValueError, match=r"negative integer powers"):
        base.pow_(e)
    with pytest.raises(lamina.ValueError, match=r"negative integer powers"):
        base.pow_(-2)
    np.testing.assert_array_equal(base.numpy(), before)
    assert (lamina.tensor([2.0]) ** lamina.tensor([-1])).tolist() == [0.5]  # a float base is fine


def test_type_promotion_rules():
    i8 = lamina.tensor([1], dtype=lamina.int8)
    u8 = lamina.tensor([1], dtype=lamina.uint8)
    i32 = lamina.tensor([1], dtype=lamina.int32)
    f16 = lamina.tensor([1], dtype=lamina.float16)
    bf16 = lamina.tensor([1], dtype=lamina.bfloat16)
    f64 = lamina.tensor([1], dtype=lamina.float64)
    b = lamina.tensor([True])
    assert (i8 + i32).dtype == lamina.int32
    assert (u8 + i8).dtype == lamina.int32  # lamina has no int16
    assert (i32 + f16).dtype == lamina.float16
    assert (f16 + bf16).dtype == lamina.float32
    assert (b + b).dtype == lamina.bool
    assert (b + 1).dtype == lamina.int64
    assert (i8 + 1000).dtype == lamina.int8  # Python scalars are weak
    assert (i32 + 2.5).dtype == lamina.float32
    assert (f16 + 2.5).dtype == lamina.float16
    assert (i32 + f64[0]).dtype == lamina.float64  # 0-d float of a higher category wins
    assert (lamina.tensor([1.0]) + lamina.tensor(2.0, dtype=lamina.float64)).dtype == lamina.float32
    assert (f16 * lamina.tensor(3)).dtype == lamina.float16
    assert (b & b).dtype == lamina.bool
    assert (i8 == 1).dtype == lamina.bool


def test_scalar_operands_and_reflected(rng):
    a = random_array(rng, (3, 4), np.float32)
    t = lamina.from_numpy(a)
    np.testing.assert_allclose((2 - t).numpy(), 2 - a)
    np.testing.assert_allclose((2 / (t.abs() + 1)).numpy(), 2 / (np.abs(a) + 1), rtol=1e-6)
    np.testing.assert_allclose((3 * t + 1).numpy(), 3 * a + 1, rtol=1e-6)
    np.testing.assert_allclose((2 ** t).numpy(), 2.0 ** a, rtol=1e-5)
    np.testing.assert_allclose(lamina.add(t, t, alpha=2).numpy(), a + 2 * a, rtol=1e-6)
    np.testing.assert_allclose(lamina.sub(t, 1, alpha=0.5).numpy(), a - 0.5, rtol=1e-6)
    assert (t == t).all().item()
    assert t.__eq__(None) is NotImplemented
    assert (t == None) is False  # noqa: E711  (falls back to identity)


def test_bitwise_logical(rng):
    a = random_array(rng, (8,), np.int32)
    b = random_array(rng, (8,), np.int32)
    ta, tb = lamina.from_numpy(a), lamina.from_numpy(b)
    np.testing.assert_array_equal((ta & tb).numpy(), a & b)
    np.testing.assert_array_equal((ta | tb).numpy(), a | b)
    np.testing.assert_array_equal((ta ^ tb).numpy(), a ^ b)
    np.testing.assert_array_equal((~ta).numpy(), ~a)
    np.testing.assert_array_equal(lamina.logical_and(ta, tb).numpy(), np.logical_and(a, b))
    np.testing.assert_array_equal(lamina.logical_or(ta, 0).numpy(), np.logical_or(a, 0))
    np.testing.assert_array_equal(lamina.logical_xor(ta, tb).numpy(), np.logical_xor(a, b))
    np.testing.assert_array_equal(lamina.logical_not(ta).numpy(), np.logical_not(a))
    m = lamina.tensor([True, False])
    assert (~m).tolist() == [False, True]
    with pytest.raises(lamina.DTypeError, match=r"\[bitwise_and\].*float32"):
        lamina.ones(2) & lamina.ones(2)


def test_bool_arithmetic_errors():
    b = lamina.tensor([True, False])
    with pytest.raises(lamina.DTypeError, match=r"\[sub\]"):
        b - b
    with pytest.raises(lamina.DTypeError, match=r"\[neg\]"):
        -b


def test_where_clamp(rng):
    a = random_array(rng, (3, 4), np.float32)
    b = random_array(rng, (4,), np.float64)
    c = a > 0
    out = lamina.where(lamina.from_numpy(c), lamina.from_numpy(a), lamina.from_numpy(b))
    assert out.dtype == lamina.float64
    np.testing.assert_allclose(out.numpy(), np.where(c, a, b))
    np.testing.assert_allclose(lamina.where(lamina.from_numpy(c), lamina.from_numpy(a), 0.0).numpy(), np.where(c, a, 0))
    with pytest.raises(lamina.DTypeError, match=r"\[where\].*bool"):
        lamina.where(lamina.from_numpy(a), lamina.from_numpy(a), 0.0)
    t = lamina.from_numpy(a)
    np.testing.assert_allclose(t.clamp(-0.5, 0.5).numpy(), np.clip(a, -0.5, 0.5))
    np.testing.assert_allclose(t.clamp(min=0).numpy(), np.maximum(a, 0))
    np.testing.assert_allclose(lamina.clamp(t, max=0.1).numpy(), np.minimum(a, 0.1))
    lo = random_array(rng, (4,), np.float32) - 1
    np.testing.assert_allclose(lamina.clamp(t, lamina.from_numpy(lo)).numpy(), np.maximum(a, lo))
    with pytest.raises(lamina.ValueError, match=r"\[clamp\]"):
        t.clamp()
    i = lamina.tensor([-5, 0, 5])
    assert i.clamp(-1, 1).tolist() == [-1, 0, 1]
    assert i.clamp(-1, 1).dtype == lamina.int64
    n = lamina.tensor([float("nan"), 1.0])
    assert math.isnan(n.clamp(0, 0.5)[0].item())
    c2 = t.clone()
    c2.clamp_(0, 0.25)
    np.testing.assert_allclose(c2.numpy(), np.clip(a, 0, 0.25))


def test_inplace_semantics_and_failures(rng):
    a = random_array(rng, (2, 3), np.int64)
    t = lamina.from_numpy(a.copy())
    ver = t._version
    with pytest.raises(lamina.DTypeError, match=r"\[add_\].*float32.*int64"):
        t += 1.5
    with pytest.raises(lamina.ShapeError, match=r"\[mul_\]"):
        t *= lamina.ones(4, 2, 3, dtype=lamina.int64)
    np.testing.assert_array_equal(t.numpy(), a)
    assert t._version == ver
    t += 2
    np.testing.assert_array_equal(t.numpy(), a + 2)
    assert t._version == ver + 1
    # Expanded views cannot be written in place.
    e = lamina.ones(1, 3).expand(2, 3)
    with pytest.raises(lamina.ValueError, match=r"\[add_\].*share one memory location"):
        e.add_(1)
    # Overlapping in-place reads the old values (no read-after-write hazards).
    x = lamina.arange(6, dtype=lamina.float32)
    x[1:].add_(x[:-1])
    np.testing.assert_allclose(x.numpy(), [0, 1, 3, 5, 7, 9])


def test_noncontiguous_and_empty(rng):
    a = random_array(rng, (6, 8), np.float32)
    t = lamina.from_numpy(a)
    v = t.transpose(0, 1)[1:8:2]
    ref = a.T[1:8:2]
    np.testing.assert_allclose((v * 2 + v).numpy(), ref * 3, rtol=1e-6)
    e = lamina.zeros(0, 3)
    assert (e + 1).shape == (0, 3)
    assert (e + lamina.ones(3)).shape == (0, 3)
    assert lamina.exp(e).shape == (0, 3)
    z = lamina.tensor(2.5)
    assert (z * 2).shape == ()
    assert (z * 2).item() == 5.0
    assert (z + lamina.ones(2, 2)).shape == (2, 2)


def test_broadcast_error_message():
    with pytest.raises(lamina.ShapeError) as info:
        lamina.ones(2, 3) + lamina.ones(4)
    msg = str(info.value)
    assert msg.startswith("[add]") and "(2, 3)" in msg and "(4,)" in msg
    assert isinstance(info.value, ValueError)
    assert info.value.op == "add"


def test_scalar_backend_matches_simd(rng):
    a = random_array(rng, (1003,), np.float32)
    b = random_array(rng, (1003,), np.float32)
    ta, tb = lamina.from_numpy(a), lamina.from_numpy(b)
    simd = [(ta + tb).numpy(), lamina.exp(ta).numpy(), (ta * tb).numpy()]
    lamina.set_backend("cpu_scalar")
    try:
        assert lamina.get_backend() == "cpu_scalar"
        scalar = [(ta + tb).numpy(), lamina.exp(ta).numpy(), (ta * tb).numpy()]
    finally:
        lamina.set_backend("cpu_simd")
    for s, v in zip(simd, scalar):
        np.testing.assert_allclose(s, v, rtol=4e-7)
    with pytest.raises(lamina.ConfigError, match=r"\[set_backend\]"):
        lamina.set_backend("gpu_magic")


@pytest.mark.parametrize("dt", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", ["exp", "expm1", "log", "log1p", "tanh", "sigmoid", "silu", "gelu"])
def test_half_transcendentals_on_the_cpu_round_the_float32_result(name, dt, rng):
    # float16 / bfloat16 transcendentals on the CPU run through the float32 kernels: the value
    # is the float32 result rounded once, within half precision of float64, and gelu's
    # gradient takes the same route.
    dtype = getattr(lamina, dt)
    x32 = lamina.from_numpy(np.clip(rng.standard_normal((3, 1000)) * 3, -8, 8).astype(np.float32))  # exp fits f16
    if name in ("log", "log1p"):
        x32 = x32.abs()
    x = x32.to(dtype)
    fn = getattr(lamina.nn.functional, name) if name in ("silu", "gelu") else getattr(lamina, name)
    got = fn(x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got.to(lamina.float32).numpy(), fn(x.to(lamina.float32)).to(dtype).to(
        lamina.float32).numpy())
    ref = fn(x.to(lamina.float64)).numpy()
    eps = 2.0 ** -8 if dt == "bfloat16" else 2.0 ** -11
    np.testing.assert_allclose(got.to(lamina.float64).numpy(), ref, rtol=eps, atol=1e-6)
    if name == "gelu":
        xg = x.clone().requires_grad_(True)
        g = lamina.from_numpy(rng.standard_normal((3, 1000)).astype(np.float32)).to(dtype)
        fn(xg).backward(g)
        x64 = x.to(lamina.float64).requires_grad_(True)
        fn(x64).backward(g.to(lamina.float64))
        assert xg.grad.dtype == dtype
        np.testing.assert_allclose(xg.grad.to(lamina.float64).numpy(), x64.grad.numpy(), rtol=2 * eps, atol=1e-3)
