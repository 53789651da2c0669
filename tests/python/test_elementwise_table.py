"""Every row of the elementwise op table (lamina/kernels/elementwise_table.h), read from the
extension: each public op against NumPy on random, strided, broadcast, empty and 0-d inputs of
every dtype its row claims, its result dtype, its in-place form, its gradient against float64
finite differences where the row has one, and its dtype errors. A row without a NumPy reference
here fails the test, so a new op cannot land untested."""
import math

import numpy as np
import pytest

import lamina
from conftest import random_array

ROWS = {row[0]: row for row in lamina._lamina._elementwise_table()}
PUBLIC = {name: row for name, row in ROWS.items() if row[5] in ("Plain", "Extra")}

DTYPES = {"FLOAT": [lamina.float16, lamina.bfloat16, lamina.float32, lamina.float64],
          "INT": [lamina.uint8, lamina.int8, lamina.int32, lamina.int64]}
DTYPES["NUMERIC"] = DTYPES["INT"] + DTYPES["FLOAT"]
DTYPES["ALL"] = [lamina.bool] + DTYPES["NUMERIC"]
DTYPES["BOOL"] = [lamina.bool]
NP = {lamina.bool: np.bool_, lamina.uint8: np.uint8, lamina.int8: np.int8, lamina.int32: np.int32,
      lamina.int64: np.int64, lamina.float16: np.float16, lamina.bfloat16: np.float32,
      lamina.float32: np.float32, lamina.float64: np.float64}


def _gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf, otypes=[np.float64])(x / math.sqrt(2)))


def _softplus(x):
    return np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))


def _floor_divide(a, b):
    return np.floor_divide(a, b)


# NumPy references and the input domain of each public op ("pos": > 0, "unit": (-1, 1),
# "nonzero": a divisor without zeros, "small": small exponents).
UNARY = {
    "neg": (np.negative, None), "abs": (np.abs, None), "sign": (np.sign, None), "square": (np.square, None),
    "exp": (np.exp, None), "exp2": (np.exp2, None), "expm1": (np.expm1, None), "log": (np.log, "pos"),
    "log2": (np.log2, "pos"), "log10": (np.log10, "pos"), "log1p": (np.log1p, "pos"), "sqrt": (np.sqrt, "pos"),
    "rsqrt": (lambda x: 1 / np.sqrt(x), "pos"), "reciprocal": (np.reciprocal, "nonzero"), "sin": (np.sin, None),
    "cos": (np.cos, None), "tan": (np.tan, "unit"), "asin": (np.arcsin, "unit"), "acos": (np.arccos, "unit"),
    "atan": (np.arctan, None), "sinh": (np.sinh, None), "cosh": (np.cosh, None), "tanh": (np.tanh, None),
    "erf": (np.vectorize(math.erf, otypes=[np.float64]), None), "sigmoid": (lambda x: 1 / (1 + np.exp(-x)), None),
    "relu": (lambda x: np.maximum(x, 0), None), "silu": (lambda x: x / (1 + np.exp(-x)), None),
    "softplus": (_softplus, None), "floor": (np.floor, None), "ceil": (np.ceil, None), "trunc": (np.trunc, None),
    "round": (np.round, None), "bitwise_not": (np.invert, None),
    "selu": (lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0))), None),
    "mish": (lambda x: x * np.tanh(_softplus(x)), None),
    "hardswish": (lambda x: x * np.clip(x + 3, 0, 6) / 6, None),
    "hardsigmoid": (lambda x: np.clip(x + 3, 0, 6) / 6, None),
}
BINARY = {
    "add": (np.add, None), "sub": (np.subtract, None), "mul": (np.multiply, None), "div": (np.divide, "nonzero"),
    "floor_divide": (_floor_divide, "nonzero"), "remainder": (np.remainder, "nonzero"),
    "fmod": (np.fmod, "nonzero"), "pow": (np.power, "small"), "maximum": (np.maximum, None),
    "minimum": (np.minimum, None), "atan2": (np.arctan2, None), "hypot": (np.hypot, None),
    "logaddexp": (np.logaddexp, None), "copysign": (np.copysign, None), "bitwise_and": (np.bitwise_and, None),
    "bitwise_or": (np.bitwise_or, None), "bitwise_xor": (np.bitwise_xor, None),
    "logical_and": (np.logical_and, None), "logical_or": (np.logical_or, None),
    "logical_xor": (np.logical_xor, None), "eq": (np.equal, None), "ne": (np.not_equal, None),
    "lt": (np.less, None), "le": (np.less_equal, None), "gt": (np.greater, None), "ge": (np.greater_equal, None),
}
LAYOUTS = {
    "contiguous": lambda a: a,
    "0-d": lambda a: a[1, 2],
    "empty": lambda a: a[:0],
    "strided": lambda a: a.T[::2],
    "negative-step": lambda a: a[::-1, 1:],
}


def test_every_public_row_has_a_reference():
    referenced = set(UNARY) | set(BINARY)
    assert set(PUBLIC) - referenced == set(), "add a NumPy reference for the new table rows"
    assert referenced - set(PUBLIC) == set(), "a reference names an op the table does not have"
    for name in UNARY:
        assert PUBLIC[name][1] == 1
    for name in BINARY:
        assert PUBLIC[name][1] == 2


SIMD = {name: row[7] for name, row in ROWS.items() if row[7] != "NoSimd"}


def _gelu_backward(g, x):
    """gelu_backward (an internal row) as gelu's gradient, which runs it."""
    x = x.clone().requires_grad_(True)
    lamina.gelu(x).backward(g)
    return x.grad


def test_simd_rows_name_vector_kernels():
    assert {"add", "mul", "exp", "relu"} <= set(SIMD)
    for name, column in SIMD.items():
        assert column.startswith("Simd(") and column.endswith(")"), (name, column)
        assert "FLOAT" in ROWS[name][3] or ROWS[name][3] in ("NUMERIC", "ALL"), name


@pytest.mark.parametrize("layout", ["contiguous", "strided", "negative-step"])
@pytest.mark.parametrize("name", sorted(SIMD))
def test_simd_row_matches_its_scalar_kernel(name, layout, rng):
    # The vector kernel a Simd(K) row registers for float32 / float64 against the row's scalar
    # functor (set_backend("cpu_scalar")): the same op, within the vector math's few ulps.
    domain = (UNARY.get(name) or BINARY.get(name) or (None, None))[1]
    arity = ROWS[name][1]
    for dt in (lamina.float32, lamina.float64):
        args = [_input(rng, dt, domain if k == arity - 1 else None, layout)[0] for k in range(arity)]
        fn = getattr(lamina, name) if name != "gelu_backward" else _gelu_backward
        fast = fn(*args).numpy()
        lamina.set_backend("cpu_scalar")
        try:
            slow = fn(*args).numpy()
        finally:
            lamina.set_backend("cpu_simd")
        # Relative to the values' scale (inputs are O(1)): near gelu's and silu's tails the two
        # formulas lose different low bits to cancellation.
        tol = 2e-6 if dt == lamina.float32 else 1e-13
        np.testing.assert_allclose(fast, slow, rtol=tol, atol=tol, err_msg=f"{name} {dt} {layout}")


def _domain(arr, domain, dt):
    if domain is None or dt == lamina.bool:
        return arr
    if domain == "pos":
        return (np.abs(arr) + 1).astype(arr.dtype)
    if domain == "unit":
        return (np.tanh(arr.astype(np.float64)) * 0.9).astype(arr.dtype) if arr.dtype.kind == "f" else np.sign(arr)
    if domain == "nonzero":
        return np.where(arr == 0, arr.dtype.type(3), arr)
    if domain == "small":
        return np.clip(arr, 0, 3) if arr.dtype.kind in "iu" else np.clip(arr, -3, 3)
    raise AssertionError(domain)


def _result_dtype(kind, dt):
    if kind in ("Compare", "Predicate", "Logical"):
        return lamina.bool
    if kind == "Float" and not dt.is_floating_point:
        return lamina.float32
    return dt


def _tolerance(dt):
    return {lamina.float16: 3e-3, lamina.bfloat16: 2e-2}.get(dt, 2e-6)


def _compare(out, ref, dt):
    got = (out.float() if out.dtype == lamina.bfloat16 else out).numpy().astype(np.float64)
    want = np.asarray(ref).astype(np.float64)
    tol = _tolerance(dt)
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


def _input(rng, dt, domain, layout):
    base = _domain(random_array(rng, (6, 5), NP[dt]), domain, dt)
    t = lamina.from_numpy(base).to(dt) if dt == lamina.bfloat16 else lamina.from_numpy(base)
    ref = (t.float().numpy() if dt == lamina.bfloat16 else base)
    return LAYOUTS[layout](t), LAYOUTS[layout](ref)


def _claimed(name):
    """The input dtypes the row's op accepts: its kernel dtypes, integers too where they compute in
    float32 or pass through, bool where the row has a bool functor, anything for logical ops."""
    _, _, kind, types, _, _, bool_fn, _ = PUBLIC[name]
    dts = list(DTYPES[types])
    if kind in ("Float", "Round"):
        dts = list(DTYPES["NUMERIC"])
    if kind == "Logical":
        dts = list(DTYPES["ALL"])
    if bool_fn != "NoFn" and lamina.bool not in dts:
        dts = [lamina.bool] + dts
    return dts


def _np(t):
    return (t.float() if t.dtype == lamina.bfloat16 else t).numpy()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_row(name, layout, rng):
    ref_fn, domain = UNARY[name]
    kind = PUBLIC[name][2]
    for dt in _claimed(name):
        x, arr = _input(rng, dt, domain, layout)
        out = getattr(lamina, name)(x)
        assert out.shape == tuple(np.shape(arr)), (name, dt)
        assert out.dtype == _result_dtype(kind, dt), (name, dt, out.dtype)
        work = np.asarray(arr) if not (kind == "Float" and not dt.is_floating_point) else np.asarray(arr, np.float32)
        if dt.is_floating_point and dt != lamina.float64:
            work = np.asarray(work, np.float64)
        _compare(out, ref_fn(work), out.dtype if out.dtype.is_floating_point else dt)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_row(name, layout, rng):
    ref_fn, domain = BINARY[name]
    kind = PUBLIC[name][2]
    for dt in _claimed(name):
        a, arr_a = _input(rng, dt, None if name != "pow" else "small", layout)
        b, arr_b = _input(rng, dt, domain, layout)
        if name == "pow" and not dt.is_floating_point:
            arr_a = np.asarray(arr_a)
        out = getattr(lamina, name)(a, b)
        assert out.dtype == _result_dtype(kind, dt), (name, dt, out.dtype)
        wa, wb = np.asarray(arr_a), np.asarray(arr_b)
        if (dt.is_floating_point and dt != lamina.float64) or (kind == "Float" and not dt.is_floating_point):
            wa, wb = wa.astype(np.float64), wb.astype(np.float64)
        _compare(out, ref_fn(wa, wb), out.dtype if out.dtype.is_floating_point else dt)
        # Broadcasting against one column, and the method form.
        col = b[..., :1] if b.dim() else b
        np.testing.assert_array_equal(_np(getattr(a, name)(col)), _np(getattr(lamina, name)(a, col)))
        ref = ref_fn(wa, wb[..., :1] if wb.ndim else wb)
        _compare(getattr(lamina, name)(a, col), ref, out.dtype if out.dtype.is_floating_point else dt)


@pytest.mark.parametrize("name", sorted(set(UNARY) | set(BINARY)))
def test_in_place_form_matches(name, rng):
    row = PUBLIC[name]
    dt = lamina.float64 if "FLOAT" in row[3] or row[3] in ("NUMERIC", "ALL") else lamina.int32
    if row[3] == "BOOL" or row[2] in ("Compare", "Logical"):
        return  # a bool result cannot be written into a float64 tensor: covered by the dtype errors
    domain = (UNARY.get(name) or BINARY.get(name))[1]
    x = lamina.from_numpy(_domain(random_array(rng, (4, 3), NP[dt]), domain if row[1] == 1 else None, dt))
    args = [] if row[1] == 1 else [lamina.from_numpy(_domain(random_array(rng, (3,), NP[dt]), domain, dt))]
    if name == "pow" and dt == lamina.int32:
        args = [lamina.tensor([1, 2, 0], dtype=lamina.int32)]
    want = getattr(lamina, name)(x, *args)
    y = x.clone()
    assert getattr(y, name + "_")(*args) is y
    np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-12)


GRAD_DOMAIN = {"log": "pos", "log2": "pos", "log10": "pos", "log1p": "pos", "sqrt": "pos", "rsqrt": "pos",
               "reciprocal": "nonzero", "asin": "unit", "acos": "unit", "tan": "unit"}


@pytest.mark.parametrize("name", sorted(n for n, r in PUBLIC.items() if r[4] == "Grad"))
def test_gradient_matches_finite_differences(name, rng):
    row = PUBLIC[name]
    if name in ("floor", "ceil", "trunc", "round", "sign", "floor_divide"):
        return  # piecewise constant: zero gradient, checked in test_autograd
    def leaf(shape, domain):
        arr = _domain(rng.standard_normal(shape) * 1.5, domain, lamina.float64)
        if name in ("maximum", "minimum", "abs", "relu", "remainder", "fmod", "copysign"):
            arr = arr + np.sign(arr) * 0.2  # away from the kinks
        return lamina.from_numpy(arr).requires_grad_()
    if row[1] == 1:
        inputs = [leaf((3, 4), GRAD_DOMAIN.get(name))]
        fn = lambda x: getattr(lamina, name)(x).sum()  # noqa: E731
    else:
        domain = BINARY[name][1]
        a = leaf((3, 4), "pos" if name == "pow" else None)
        b = leaf((4,), domain)
        b = lamina.from_numpy(b.detach().numpy() + np.sign(b.detach().numpy()) * 0.5).requires_grad_()
        if name in ("remainder", "fmod"):
            b = lamina.from_numpy(np.abs(b.detach().numpy()) + 2.0).requires_grad_()
        inputs = [a, b]
        fn = lambda x, y: getattr(lamina, name)(x, y).sum()  # noqa: E731
    assert lamina.autograd.gradcheck(fn, inputs)


@pytest.mark.parametrize("name", ["hypot", "logaddexp", "copysign"])
def test_new_ops_special_values_match_numpy(name):
    vals = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan, 1e30, -1e-30], dtype=np.float64)
    a, b = np.meshgrid(vals, vals)
    out = getattr(lamina, name)(lamina.from_numpy(a.copy()), lamina.from_numpy(b.copy())).numpy()
    ref = getattr(np, name)(a, b)
    np.testing.assert_array_equal(np.signbit(out[~np.isnan(ref)]), np.signbit(ref[~np.isnan(ref)]))
    np.testing.assert_allclose(out, ref, rtol=1e-15, equal_nan=True)


@pytest.mark.parametrize("name", ["hypot", "logaddexp", "copysign"])
def test_new_ops_scalars_errors_and_int_promotion(name):
    x = lamina.tensor([[1, -2, 3]])
    out = getattr(lamina, name)(x, 2.0)
    assert out.dtype == lamina.float32
    np.testing.assert_allclose(out.numpy(), getattr(np, name)(x.numpy().astype(np.float32), np.float32(2.0)),
                               rtol=1e-6)
    with pytest.raises(lamina.ShapeError, match=rf"\[{name}\]"):
        getattr(lamina, name)(lamina.ones(2, 3), lamina.ones(4))
    y = lamina.tensor([1, 2])
    with pytest.raises(lamina.DTypeError, match=rf"\[{name}_\]"):
        getattr(y, name + "_")(lamina.tensor([1.0, 2.0]))  # a float result into an int tensor
    assert y.tolist() == [1, 2]  # left as it was
