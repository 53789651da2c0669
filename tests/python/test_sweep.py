"""A sweep over dtypes and layouts: every elementwise op on 0-d, empty, strided and broadcast
inputs of every dtype it supports, compared with NumPy (or with the documented error)."""
import numpy as np
import pytest

import lamina
from conftest import random_array

ALL = {lamina.bool: np.bool_, lamina.uint8: np.uint8, lamina.int8: np.int8, lamina.int32: np.int32,
       lamina.int64: np.int64, lamina.float16: np.float16, lamina.float32: np.float32, lamina.float64: np.float64}
LAYOUTS = {
    "0-d": lambda a: a[0, 0],
    "empty": lambda a: a[:0],
    "strided": lambda a: a.T[::2],
    "negative-step": lambda a: a[::-1, 1:],
}

UNARY_NP = {"neg": np.negative, "abs": np.abs, "exp": np.exp, "sin": np.sin, "tanh": np.tanh, "relu": lambda x: np.maximum(x, 0),
            "sqrt": lambda x: np.sqrt(np.abs(x)), "square": np.square, "sign": np.sign}


def np_of(t):
    return t.to(lamina.float64).numpy() if t.dtype == lamina.bfloat16 else t.numpy()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", list(ALL), ids=repr)
@pytest.mark.parametrize("name", sorted(UNARY_NP))
def test_unary_sweep(name, dt, layout, rng):
    base = random_array(rng, (6, 5), ALL[dt])
    arr = LAYOUTS[layout](base)
    t = LAYOUTS[layout](lamina.from_numpy(base))
    if name == "sqrt":
        arr = np.abs(arr) if dt != lamina.bool else arr
        t = t.abs() if dt not in (lamina.bool, lamina.uint8) else t
    fn = getattr(lamina, name)
    floats_only = name in ("exp", "sin", "tanh", "sqrt")
    if dt == lamina.bool and name in ("neg", "abs", "relu", "square", "sign"):
        with pytest.raises(lamina.DTypeError, match=rf"\[{name}\]"):
            fn(t)
        return
    out = fn(t)
    assert out.shape == np.shape(arr)
    ref = UNARY_NP[name](np.asarray(arr).astype(np.float64))
    if floats_only and not dt.is_floating_point:
        assert out.dtype == lamina.float32
    elif not floats_only:
        assert out.dtype == dt
        ref = UNARY_NP[name](np.asarray(arr)) if dt != lamina.float16 else ref
    tol = 2e-3 if dt == lamina.float16 else 2e-6
    np.testing.assert_allclose(np_of(out).astype(np.float64), np.asarray(ref, dtype=np.float64), rtol=tol, atol=tol)


BINARY_NP = {"add": np.add, "mul": np.multiply, "maximum": np.maximum, "lt": np.less, "eq": np.equal}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", list(ALL), ids=repr)
@pytest.mark.parametrize("name", sorted(BINARY_NP))
def test_binary_sweep(name, dt, layout, rng):
    base_a = random_array(rng, (6, 5), ALL[dt])
    base_b = random_array(rng, (6, 5), ALL[dt])
    a = LAYOUTS[layout](base_a)
    b = LAYOUTS[layout](base_b)
    ta = LAYOUTS[layout](lamina.from_numpy(base_a))
    tb = LAYOUTS[layout](lamina.from_numpy(base_b))
    out = getattr(lamina, name)(ta, tb)
    ref = BINARY_NP[name](np.asarray(a), np.asarray(b))
    if dt == lamina.bool and name == "add":
        ref = np.logical_or(a, b)
    assert out.shape == np.shape(ref)
    np.testing.assert_allclose(np_of(out).astype(np.float64), np.asarray(ref).astype(np.float64), rtol=1e-3)
    # broadcasting a row against the layout
    row = lamina.from_numpy(random_array(rng, (np.shape(a)[-1],) if np.ndim(a) else (), ALL[dt]))
    assert getattr(lamina, name)(ta, row).shape == np.broadcast_shapes(np.shape(a), tuple(row.shape))


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", [lamina.float32, lamina.float64, lamina.int32, lamina.int64, lamina.uint8, lamina.bool], ids=repr)
def test_reduction_sweep(dt, layout, rng):
    base = random_array(rng, (6, 5), ALL[dt])
    a = np.asarray(LAYOUTS[layout](base))
    t = LAYOUTS[layout](lamina.from_numpy(base))
    np.testing.assert_allclose(t.sum().item(), a.astype(np.float64).sum(), rtol=1e-5)
    assert t.any().item() == bool(a.any()) and t.all().item() == bool(a.all())
    if a.size:
        assert float(t.amax().item()) == pytest.approx(float(a.max()))
        assert t.argmax().item() == int(np.argmax(a))
    if a.ndim == 2:
        np.testing.assert_allclose(t.sum(1).numpy().astype(np.float64), a.astype(np.float64).sum(1), rtol=1e-5)
