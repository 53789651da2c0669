"""Reductions, scans, softmax and sorting against NumPy: every dtype, dims (none / int / list,
negative), keepdim, non-contiguous layouts, empty and 0-d inputs, special values and every error."""
import math

import numpy as np
import pytest

import lamina

ALL = [lamina.bool, lamina.uint8, lamina.int8, lamina.int32, lamina.int64,
       lamina.float16, lamina.bfloat16, lamina.float32, lamina.float64]
FLOATS = [lamina.float16, lamina.bfloat16, lamina.float32, lamina.float64]
INTEGERS = [lamina.uint8, lamina.int8, lamina.int32, lamina.int64]
NP_OF = {lamina.bool: np.bool_, lamina.uint8: np.uint8, lamina.int8: np.int8, lamina.int32: np.int32,
         lamina.int64: np.int64, lamina.float16: np.float16, lamina.float32: np.float32, lamina.float64: np.float64}

# Layouts applied alike to the NumPy reference and to the lamina tensor (base shape (4, 6, 5)).
LAYOUTS = {
    "contiguous": (lambda a: a, lambda t: t),
    "permuted": (lambda a: a.transpose(2, 0, 1), lambda t: t.permute(2, 0, 1)),
    "stepped": (lambda a: a[::2, ::-1, 1:], lambda t: t[::2, ::-1, 1:]),
    "expanded": (lambda a: np.broadcast_to(a[:, :1], (4, 6, 5)), lambda t: t[:, :1].expand(4, 6, 5)),
}
DIMS = [None, 0, -1, (0, 2), [2, -3, 1], (-2,)]


def is_float(dt):
    return dt in FLOATS


def tol(dt):
    if dt in (lamina.float16, lamina.bfloat16):
        return dict(rtol=2e-2, atol=5e-2)
    if dt == lamina.float32:
        return dict(rtol=2e-5, atol=1e-5)
    return dict(rtol=1e-10, atol=1e-10)


def np_of(t):
    """A lamina tensor's values as NumPy (bfloat16 widened to float32)."""
    return t.float().numpy() if t.dtype == lamina.bfloat16 else t.numpy()


def make(rng, shape, dt, low_ints=False):
    """A random lamina tensor of dtype dt and the exact NumPy reference of its values (floats as
    float64). low_ints picks integers in [0, 3) so zeros and ties are common."""
    if dt == lamina.bool:
        a = rng.random(shape) > 0.5
        return lamina.from_numpy(a), a
    if dt in INTEGERS:
        lo, hi = (0, 3) if low_ints else ((1, 10) if dt == lamina.uint8 else (-9, 10))
        a = rng.integers(lo, hi, size=shape).astype(NP_OF[dt])
        return lamina.from_numpy(a), a
    base = (rng.standard_normal(shape) * 2).astype(np.float32)
    t = lamina.from_numpy(base).to(dt)
    return t, np_of(t).astype(np.float64)


def axis_of(dims):
    if dims is None or isinstance(dims, int):
        return dims
    return tuple(dims)


def layouts(rng, dt, layout, low_ints=False):
    t, a = make(rng, (4, 6, 5), dt, low_ints)
    to_np, to_l = LAYOUTS[layout]
    return to_l(t), to_np(a)


def check(out, ref, dt_out, **tolerance):
    assert out.dtype == dt_out, (out.dtype, dt_out)
    assert tuple(out.shape) == np.shape(ref), (tuple(out.shape), np.shape(ref))
    got = np_of(out)
    if dt_out in FLOATS:
        np.testing.assert_allclose(got.astype(np.float64), np.asarray(ref, dtype=np.float64), equal_nan=True, **tolerance)
    else:
        np.testing.assert_array_equal(got, np.asarray(ref))


# ---------------------------------------------------------------------------------------------
# sum / mean / prod


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dims", DIMS, ids=str)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", ALL, ids=repr)
def test_sum_mean_prod(dt, layout, dims, keepdim, rng):
    t, a = layouts(rng, dt, layout)
    ax = axis_of(dims)
    out_dt = dt if is_float(dt) else lamina.int64
    ref_in = a if is_float(dt) else a.astype(np.int64)
    check(t.sum(dims, keepdim), ref_in.sum(axis=ax, keepdims=keepdim), out_dt, **tol(dt))
    check(lamina.sum(t, dim=dims, keepdim=keepdim), ref_in.sum(axis=ax, keepdims=keepdim), out_dt, **tol(dt))
    if is_float(dt):
        check(t.mean(dims, keepdim), a.mean(axis=ax, keepdims=keepdim), dt, **tol(dt))
    else:
        with pytest.raises(lamina.DTypeError, match=r"\[mean\]"):
            t.mean(dims, keepdim)
        check(t.mean(dims, keepdim, dtype=lamina.float64), a.astype(np.float64).mean(axis=ax, keepdims=keepdim),
              lamina.float64, **tol(lamina.float64))
    small = t if dt in (lamina.bool, lamina.uint8) else (t / 4 if is_float(dt) else t.remainder(2) + 1)
    small_ref = np_of(small).astype(np.float64 if is_float(dt) else np.int64)
    prod_tol = dict(rtol=5e-2, atol=1e-3) if dt in (lamina.float16, lamina.bfloat16) else tol(dt)
    check(small.prod(dims, keepdim), small_ref.prod(axis=ax, keepdims=keepdim), out_dt, **prod_tol)


@pytest.mark.parametrize("dt", ALL, ids=repr)
def test_sum_dtype_argument(dt, rng):
    t, a = make(rng, (5, 7), dt)
    r = t.sum(1, dtype=lamina.float64)
    check(r, a.astype(np.float64).sum(1), lamina.float64)
    r = t.sum(dtype=lamina.int32)
    assert r.dtype == lamina.int32 and r.item() == int(a.astype(np.float64).astype(np.int32).astype(np.int64).sum())
    p = lamina.prod(t[:, :3], 0, dtype=lamina.float32)
    check(p, a[:, :3].astype(np.float64).prod(0), lamina.float32, rtol=1e-4, atol=1e-4)


def test_integer_sums_wrap_like_numpy(rng):
    a = np.full((4,), 100, dtype=np.int8)
    assert lamina.from_numpy(a).sum(dtype=lamina.int8).item() == np.sum(a, dtype=np.int8)  # 400 wraps to -112
    big = rng.integers(2**40, 2**41, size=(64,)).astype(np.int64)
    assert lamina.from_numpy(big).prod().item() == int(np.prod(big))  # wraps modulo 2**64 in both
    u = rng.integers(200, 256, size=(50,)).astype(np.uint8)
    assert lamina.from_numpy(u).sum().item() == int(u.astype(np.int64).sum())  # no uint8 overflow


def test_empty_and_zero_dim_sums():
    e = lamina.zeros(0, 3)
    assert e.sum().item() == 0 and e.sum(0).tolist() == [0, 0, 0] and e.sum(1).shape == (0,)
    assert e.prod().item() == 1 and e.prod(0).tolist() == [1, 1, 1]
    assert math.isnan(e.mean().item()) and all(math.isnan(v) for v in e.mean(0).tolist())
    assert e.sum(0, keepdim=True).shape == (1, 3)
    assert lamina.zeros(0, dtype=lamina.int32).sum().dtype == lamina.int64
    s = lamina.tensor(4.5)
    for r in (s.sum(), s.sum(0), s.sum(-1), s.sum((0,)), s.sum(0, keepdim=True), s.mean(0), s.prod(-1)):
        assert r.shape == () and r.item() == 4.5
    assert lamina.tensor(True).sum(0, keepdim=True).item() == 1
    assert lamina.ones(2, 3).sum(()).item() == 6 and lamina.ones(2, 3).sum([]).item() == 6  # () means all dims


def test_sum_is_accurate_and_layout_independent(rng):
    # Pairwise summation: a naive float32 running sum of 2**20 copies of 0.1 is off by ~1%.
    n = 1 << 20
    x = lamina.full((n,), 0.1)
    assert abs(x.sum().item() - n * np.float32(0.1)) < 1e-5 * n * 0.1
    assert abs(x.mean().item() - np.float32(0.1)) < 1e-6
    # The same logical values reduced from different layouts give the same bits.
    a = rng.standard_normal((1000, 37)).astype(np.float32)
    t = lamina.from_numpy(a)
    tt = lamina.from_numpy(np.ascontiguousarray(a.T)).T  # same values, transposed memory
    for dims in (0, 1, None, (0, 1)):
        assert np.array_equal(t.sum(dims).numpy(), tt.sum(dims).numpy()), dims
        assert np.array_equal(t.var(dims).numpy(), tt.var(dims).numpy()), dims
        assert np.array_equal(t.norm(dim=dims).numpy(), tt.norm(dim=dims).numpy()), dims
    assert np.array_equal(t[::3].sum(0).numpy(), t[::3].contiguous().sum(0).numpy())
    np.testing.assert_allclose(t.sum(0).numpy(), a.astype(np.float64).sum(0), rtol=1e-5, atol=1e-4)
    # Repeated runs are bit-identical.
    assert np.array_equal(t.sum(0).numpy(), t.sum(0).numpy())


def test_half_precision_accumulates_in_float():
    x = lamina.full((4096,), 1.0, dtype=lamina.float16)
    assert x.sum().item() == 4096.0  # a float16 accumulator would stop at 2048
    assert x.mean().item() == 1.0
    b = lamina.full((4096,), 1.0, dtype=lamina.bfloat16)
    assert b.sum().item() == 4096.0  # a bfloat16 accumulator would stop at 256


# ---------------------------------------------------------------------------------------------
# max / min / amax / amin / argmax / argmin


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", ALL, ids=repr)
def test_extremes(dt, layout, keepdim, rng):
    t, a = layouts(rng, dt, layout, low_ints=True)  # many ties: the first index must win
    for dims in DIMS:
        ax = axis_of(dims)
        check(t.amax(dims, keepdim), a.max(axis=ax, keepdims=keepdim), dt, rtol=0, atol=0)
        check(lamina.amin(t, dims, keepdim), a.min(axis=ax, keepdims=keepdim), dt, rtol=0, atol=0)
    for d in (0, 1, -1):
        r = t.max(d, keepdim)
        values, indices = r
        assert r.values is not None and r.indices is not None
        check(values, a.max(axis=d, keepdims=keepdim), dt, rtol=0, atol=0)
        check(indices, np.expand_dims(a.argmax(axis=d), d) if keepdim else a.argmax(axis=d), lamina.int64)
        r = lamina.min(t, dim=d, keepdim=keepdim)
        check(r.values, a.min(axis=d, keepdims=keepdim), dt, rtol=0, atol=0)
        check(r.indices, np.expand_dims(a.argmin(axis=d), d) if keepdim else a.argmin(axis=d), lamina.int64)
        check(t.argmax(d, keepdim), np.expand_dims(a.argmax(axis=d), d) if keepdim else a.argmax(axis=d), lamina.int64)
        check(lamina.argmin(t, d), a.argmin(axis=d), lamina.int64)
    check(t.max(), a.max(), dt, rtol=0, atol=0)
    check(t.min(), a.min(), dt, rtol=0, atol=0)
    assert t.argmax().item() == a.argmax() and t.argmin().item() == a.argmin()
    assert t.argmax(keepdim=True).shape == (1, 1, 1)


def test_extremes_propagate_nan_and_keep_infinities():
    x = lamina.tensor([[1.0, float("nan"), 3.0, float("nan")], [-float("inf"), -float("inf"), -float("inf"), -float("inf")]])
    assert math.isnan(x.max().item()) and math.isnan(x.min().item())
    v, i = x.max(1)
    assert math.isnan(v.tolist()[0]) and v.tolist()[1] == -float("inf") and i.tolist() == [1, 0]
    assert x.argmin(1).tolist() == [1, 0]
    assert math.isnan(x.amax(1).tolist()[0]) and x.amin(1).tolist()[1] == -float("inf")
    assert lamina.tensor([float("inf"), 1.0]).amin().item() == 1.0
    assert lamina.tensor([True, False]).amax().item() is True
    big = lamina.arange(100000).float()
    assert big.argmax().item() == 99999 and big.flip(0).argmax().item() == 0


def test_extremes_on_empty_and_zero_dim():
    s = lamina.tensor(-2.5)
    assert s.max().item() == -2.5 and s.max(0).values.item() == -2.5 and s.max(-1).indices.item() == 0
    assert s.argmax().item() == 0 and s.argmin(0, keepdim=True).shape == () and s.amax(0).item() == -2.5
    e = lamina.zeros(2, 0)
    assert e.amax(0).shape == (0,) and e.max(0).values.shape == (0,) and e.argmax(0).shape == (0,)
    with pytest.raises(lamina.ValueError, match=r"\[max\].*dim"):
        e.max()
    with pytest.raises(lamina.ValueError, match=r"\[min\]"):
        lamina.zeros(0).min()
    with pytest.raises(lamina.ValueError, match=r"\[amax\]"):
        e.amax()
    with pytest.raises(lamina.ValueError, match=r"\[argmax\]"):
        e.argmax()
    with pytest.raises(IndexError, match=r"\[max\] expected reduction dim 1 to have non-zero size"):
        e.max(1)
    with pytest.raises(lamina.IndexError, match=r"\[amin\].*non-zero size"):
        e.amin((0, 1))
    with pytest.raises(IndexError, match=r"\[argmin\].*non-zero size"):
        e.argmin(-1)


def test_max_elementwise_form(rng):
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4,))
    ta, tb = lamina.from_numpy(a), lamina.from_numpy(b)
    np.testing.assert_array_equal(lamina.max(ta, tb).numpy(), np.maximum(a, b))
    np.testing.assert_array_equal(ta.min(tb).numpy(), np.minimum(a, b))


# ---------------------------------------------------------------------------------------------
# var / std / logsumexp / norm


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy warns where correction >= n (inf / nan)
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", FLOATS, ids=repr)
def test_var_std(dt, layout, rng):
    t, a = layouts(rng, dt, layout)
    for dims in DIMS:
        ax = axis_of(dims)
        for keepdim in (False, True):
            check(t.var(dims, keepdim=keepdim), a.var(axis=ax, ddof=1, keepdims=keepdim), dt, **tol(dt))
            check(t.std(dims, keepdim=keepdim), a.std(axis=ax, ddof=1, keepdims=keepdim), dt, **tol(dt))
        check(lamina.var(t, dims, correction=0), a.var(axis=ax), dt, **tol(dt))
        check(t.std(dims, correction=2), a.std(axis=ax, ddof=2), dt, **tol(dt))
        check(t.var(dims, unbiased=False), a.var(axis=ax), dt, **tol(dt))
        check(lamina.std(t, dims, True, True), a.std(axis=ax, ddof=1, keepdims=True), dt, **tol(dt))
    check(t.var(False), a.var(), dt, **tol(dt))  # x.var(unbiased) as the only positional
    check(t.std(True), a.std(ddof=1), dt, **tol(dt))


def test_var_std_edge_cases():
    one = lamina.tensor([3.0])
    assert math.isnan(one.var().item()) and one.var(correction=0).item() == 0.0
    assert math.isnan(lamina.zeros(0).var().item()) and math.isnan(lamina.zeros(0).std().item())
    assert lamina.tensor([1.0, 2.0]).var(correction=3).item() == float("inf")  # divisor max(n - c, 0)
    assert math.isnan(lamina.tensor([1.0, 1.0]).var(correction=3).item())
    assert math.isnan(lamina.tensor(5.0).var().item()) and lamina.tensor(5.0).std(correction=0).item() == 0
    assert lamina.from_numpy(np.array([1e8 + 1, 1e8 + 2, 1e8 + 3])).var().item() == 1.0  # two-pass in double: no cancellation
    assert lamina.zeros(3, 0).var(1).shape == (3,)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", ALL, ids=repr)
def test_logsumexp(dt, layout, rng):
    t, a = layouts(rng, dt, layout)
    out_dt = dt if is_float(dt) else lamina.float32
    for dims in DIMS[1:]:
        ax = axis_of(dims)
        for keepdim in (False, True):
            ref = np.log(np.exp(a.astype(np.float64)).sum(axis=ax, keepdims=keepdim))
            check(t.logsumexp(dims, keepdim), ref, out_dt, **tol(out_dt))
            check(lamina.logsumexp(t, dim=dims, keepdim=keepdim), ref, out_dt, **tol(out_dt))


def test_logsumexp_special_values():
    big = lamina.tensor([1000.0, 1000.0])
    assert big.logsumexp(0).item() == pytest.approx(1000 + math.log(2))
    assert lamina.tensor([-float("inf")] * 2).logsumexp(0).item() == -float("inf")
    assert lamina.tensor([float("inf"), 1.0]).logsumexp(0).item() == float("inf")
    assert math.isnan(lamina.tensor([float("nan"), 1.0]).logsumexp(0).item())
    assert lamina.zeros(0).logsumexp(0).item() == -float("inf")
    assert lamina.tensor(2.0).logsumexp(0).item() == 2.0


def norm_ref(a, p, ax, keepdim):
    a = np.abs(a.astype(np.float64))
    if p == math.inf:
        return a.max(axis=ax, keepdims=keepdim)
    if p == -math.inf:
        return a.min(axis=ax, keepdims=keepdim)
    if p == 0:
        return (a != 0).sum(axis=ax, keepdims=keepdim).astype(np.float64)
    with np.errstate(divide="ignore"):
        return (a ** p).sum(axis=ax, keepdims=keepdim) ** (1.0 / p)


@pytest.mark.parametrize("p", [2, "fro", 1, math.inf, -math.inf, 0, 3, 0.5, -1])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", FLOATS, ids=repr)
def test_norm(dt, layout, p, rng):
    t, a = layouts(rng, dt, layout)
    pn = 2 if p == "fro" else p
    for dims in DIMS:
        ax = axis_of(dims)
        for keepdim in (False, True):
            check(t.norm(p, dims, keepdim), norm_ref(a, pn, ax, keepdim), dt, **tol(dt))
    check(lamina.norm(t, p=p), norm_ref(a, pn, None, False), dt, **tol(dt))


def test_norm_forms_and_special_values(rng):
    a = rng.standard_normal((3, 4))
    t = lamina.from_numpy(a)
    assert t.norm().item() == pytest.approx(np.linalg.norm(a))
    assert t.norm(dim=1).tolist() == pytest.approx(np.linalg.norm(a, axis=1).tolist())
    i = lamina.tensor([3, 4])
    assert i.norm(dtype=lamina.float64).item() == 5.0 and i.norm(dtype=lamina.float64).dtype == lamina.float64
    assert lamina.tensor([0.0, 3.0]).norm(-1).item() == 0.0  # |0|^-1 = inf, inf^-1 = 0
    assert math.isnan(lamina.tensor([float("nan"), 1.0]).norm(math.inf).item())
    assert math.isnan(lamina.tensor([float("nan"), 1.0]).norm().item())
    assert lamina.tensor([float("nan"), 0.0]).norm(0).item() == 1.0  # NaN counts as nonzero
    assert lamina.zeros(0).norm().item() == 0.0 and lamina.zeros(0).norm(1).item() == 0.0
    assert lamina.zeros(0, 3).norm(math.inf, dim=1).shape == (0,)  # nothing reduced over an empty dim
    assert lamina.tensor(-5.0).norm(dim=0).item() == 5.0


# ---------------------------------------------------------------------------------------------
# all / any


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", ALL, ids=repr)
def test_all_any(dt, layout, rng):
    t, a = layouts(rng, dt, layout, low_ints=True)
    if is_float(dt):  # put zeros in
        t = t * (t.abs() > 1)
        a = np_of(t).astype(np.float64)
    for dims in DIMS:
        ax = axis_of(dims)
        for keepdim in (False, True):
            check(t.all(dims, keepdim), a.all(axis=ax, keepdims=keepdim), lamina.bool)
            check(lamina.any(t, dims, keepdim), a.any(axis=ax, keepdims=keepdim), lamina.bool)


def test_all_any_special_cases():
    e = lamina.zeros(0, 2)
    assert e.all().item() is True and e.any().item() is False and e.all(0).tolist() == [True, True]
    assert lamina.tensor([float("nan")]).all().item() is True  # NaN is nonzero
    assert lamina.tensor(0).any().item() is False and lamina.tensor(3).all(0).item() is True


# ---------------------------------------------------------------------------------------------
# cumsum / cumprod


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", ALL, ids=repr)
def test_cumsum_cumprod(dt, layout, rng):
    t, a = layouts(rng, dt, layout, low_ints=True)
    out_dt = dt if is_float(dt) else lamina.int64
    ref_in = a if is_float(dt) else a.astype(np.int64)
    for d in (0, 1, 2, -1, -3):
        check(t.cumsum(d), ref_in.cumsum(axis=d), out_dt, **tol(dt))
        check(lamina.cumsum(t, dim=d), ref_in.cumsum(axis=d), out_dt, **tol(dt))
        small = t / 2 if is_float(dt) else t
        small_ref = np_of(small).astype(np.float64) if is_float(dt) else ref_in
        check(small.cumprod(d), small_ref.cumprod(axis=d), out_dt, **tol(dt))
    check(t.cumsum(1, dtype=lamina.float64), a.astype(np.float64).cumsum(1), lamina.float64)
    r = t.cumsum(0, dtype=lamina.int32)
    assert r.dtype == lamina.int32
    np.testing.assert_array_equal(r.numpy(), a.astype(np.float64).astype(np.int32).astype(np.int64).cumsum(0))


def test_cumulative_special_cases():
    assert lamina.tensor(5.0).cumsum(0).item() == 5.0 and lamina.tensor(2).cumprod(-1).shape == ()
    assert lamina.zeros(0, 3).cumsum(1).shape == (0, 3) and lamina.zeros(3, 0).cumprod(0).shape == (3, 0)
    assert lamina.tensor([True, True, False]).cumsum(0).tolist() == [1, 2, 2]
    x = lamina.tensor([1.0, float("nan"), 2.0])
    r = x.cumsum(0).tolist()
    assert r[0] == 1.0 and math.isnan(r[1]) and math.isnan(r[2])


# ---------------------------------------------------------------------------------------------
# softmax / log_softmax


def softmax_ref(a, d):
    e = np.exp(a - a.max(axis=d, keepdims=True))
    return e / e.sum(axis=d, keepdims=True)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", FLOATS, ids=repr)
def test_softmax_log_softmax(dt, layout, rng):
    t, a = layouts(rng, dt, layout)
    t, a = t * 4, a * 4  # a wide range of exponents
    a = np_of(t).astype(np.float64)
    tolerance = dict(rtol=2e-2, atol=5e-3) if dt in (lamina.float16, lamina.bfloat16) else tol(dt)
    for d in (0, 1, 2, -1, -2):
        ref = softmax_ref(a, d)
        check(t.softmax(d), ref, dt, **tolerance)
        check(lamina.softmax(t, dim=d), ref, dt, **tolerance)
        log_tol = dict(rtol=2e-2, atol=5e-2) if dt in (lamina.float16, lamina.bfloat16) else tolerance
        check(lamina.log_softmax(t, d), np.log(ref), dt, **log_tol)
        check(t.log_softmax(d, dtype=lamina.float64), np.log(ref), lamina.float64, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dt", INTEGERS + [lamina.bool], ids=repr)
def test_softmax_of_integers_needs_dtype(dt, rng):
    t, a = make(rng, (3, 4), dt)
    with pytest.raises(lamina.DTypeError, match=r"\[softmax\]"):
        t.softmax(1)
    with pytest.raises(lamina.DTypeError, match=r"\[log_softmax\]"):
        lamina.log_softmax(t, 0)
    check(t.softmax(1, dtype=lamina.float64), softmax_ref(a.astype(np.float64), 1), lamina.float64)
    check(lamina.log_softmax(t, 0, lamina.float32), np.log(softmax_ref(a.astype(np.float64), 0)), lamina.float32,
          rtol=1e-5, atol=1e-5)


def test_softmax_special_values():
    x = lamina.tensor([1000.0, 1000.0, -1000.0])
    assert x.softmax(0).tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert x.log_softmax(0).tolist()[0] == pytest.approx(math.log(0.5), abs=1e-6)
    assert all(math.isnan(v) for v in lamina.tensor([-float("inf")] * 3).softmax(0).tolist())
    assert all(math.isnan(v) for v in lamina.tensor([float("inf"), 1.0]).log_softmax(0).tolist())
    assert all(math.isnan(v) for v in lamina.tensor([float("nan"), 1.0]).softmax(0).tolist())
    assert lamina.tensor([-float("inf"), 0.0]).softmax(0).tolist() == [0.0, 1.0]
    assert lamina.tensor(3.0).softmax(0).item() == 1.0 and lamina.tensor(3.0).log_softmax(-1).item() == 0.0
    assert lamina.zeros(0, 4).softmax(1).shape == (0, 4) and lamina.zeros(4, 0).log_softmax(1).shape == (4, 0)
    with pytest.raises(lamina.DTypeError, match=r"\[softmax\].*int32"):
        lamina.ones(3).softmax(0, dtype=lamina.int32)


# ---------------------------------------------------------------------------------------------
# sort / argsort / topk


def sort_ref(a, axis, descending):
    """Stable order along axis with NaN as the largest value."""
    a = np.moveaxis(np.asarray(a, dtype=np.float64), axis, -1)
    order = np.empty(a.shape, dtype=np.int64)
    for idx in np.ndindex(*a.shape[:-1]):
        row = a[idx]
        key = (lambda j: (not math.isnan(row[j]), -row[j] if not math.isnan(row[j]) else 0)) if descending else \
              (lambda j: (math.isnan(row[j]), row[j] if not math.isnan(row[j]) else 0))
        order[idx] = sorted(range(row.shape[0]), key=key)
    return np.moveaxis(order, -1, axis)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", ALL, ids=repr)
def test_sort_argsort(dt, layout, descending, rng):
    t, a = layouts(rng, dt, layout, low_ints=True)  # ties everywhere: stability matters
    for d in (0, 1, 2, -1):
        order = sort_ref(a, d, descending)
        values, indices = t.sort(d, descending)
        check(indices, order, lamina.int64)
        check(values, np.take_along_axis(a, order, d), dt, rtol=0, atol=0)
        r = lamina.sort(t, dim=d, descending=descending, stable=True)
        check(r.indices, order, lamina.int64)
        check(t.argsort(d, descending), order, lamina.int64)
        check(lamina.argsort(t, dim=d, descending=descending), order, lamina.int64)
    check(t.sort().indices, sort_ref(a, -1, False), lamina.int64)


@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dt", ALL, ids=repr)
def test_topk(dt, layout, largest, rng):
    t, a = layouts(rng, dt, layout, low_ints=True)
    for d in (0, 1, -1):
        n = t.shape[d]
        order = sort_ref(a, d, largest)
        for k in sorted({0, 1, 2, n}):
            values, indices = t.topk(k, d, largest)
            first = np.take(order, range(k), axis=d)
            check(values, np.take_along_axis(a, first, d), dt, rtol=0, atol=0)
            check(indices, first, lamina.int64)
        r = lamina.topk(t, 2, dim=d, largest=largest, sorted=False)
        check(r.values, np.take_along_axis(a, np.take(order, range(2), axis=d), d), dt, rtol=0, atol=0)


def test_sort_topk_nan_and_special_cases(rng):
    x = lamina.tensor([3.0, float("nan"), 1.0, float("nan"), -float("inf")])
    assert x.sort().indices.tolist() == [4, 2, 0, 1, 3]
    assert x.sort(descending=True).indices.tolist() == [1, 3, 0, 2, 4]
    assert x.topk(2).indices.tolist() == [1, 3] and x.topk(2, largest=False).indices.tolist() == [4, 2]
    z = lamina.tensor([0.0, -0.0, 0.0])  # -0.0 == 0.0: ties keep their order
    assert z.sort().indices.tolist() == [0, 1, 2] and z.sort(descending=True).indices.tolist() == [0, 1, 2]
    s = lamina.tensor(7.0)
    assert s.sort().values.item() == 7.0 and s.sort(0).indices.item() == 0 and s.argsort().shape == ()
    assert s.topk(1).values.item() == 7.0 and s.topk(1).indices.shape == ()
    e = lamina.zeros(3, 0)
    assert e.sort(1).values.shape == (3, 0) and e.sort(0).indices.shape == (3, 0)
    assert e.topk(0).values.shape == (3, 0) and e.topk(2, dim=0).indices.shape == (2, 0)
    big = rng.standard_normal(5000)
    t = lamina.from_numpy(big)
    np.testing.assert_array_equal(t.topk(7).values.numpy(), np.sort(big)[::-1][:7])
    np.testing.assert_array_equal(t.sort().values.numpy(), np.sort(big))


# ---------------------------------------------------------------------------------------------
# errors: class and "[op]" in the message


@pytest.mark.parametrize("op", ["sum", "mean", "prod", "amax", "amin", "all", "any", "var", "std", "logsumexp", "norm"])
def test_dim_errors(op):
    t = lamina.ones(2, 3)
    f = getattr(t, op)
    with pytest.raises(lamina.IndexError, match=rf"\[{op}\].*out of range"):
        f(dim=2) if op != "norm" else f(2, 2)
    with pytest.raises(IndexError, match=rf"\[{op}\]"):
        f(dim=(0, -3)) if op != "norm" else f(2, (0, -3))
    with pytest.raises(lamina.ValueError, match=rf"\[{op}\].*multiple times"):
        f(dim=(1, -1)) if op != "norm" else f(2, (1, -1))
    with pytest.raises(lamina.DTypeError, match=rf"\[{op}\]"):
        f(dim=[0, 1.5]) if op != "norm" else f(2, [0, 1.5])
    with pytest.raises(lamina.ValueError, match=rf"\[{op}\].*multiple times"):
        getattr(lamina.tensor(1.0), op)(dim=(0, -1)) if op != "norm" else lamina.tensor(1.0).norm(2, (0, -1))


@pytest.mark.parametrize("op", ["max", "min", "argmax", "argmin", "cumsum", "cumprod", "softmax", "log_softmax",
                                "sort", "argsort"])
def test_single_dim_errors(op):
    t = lamina.ones(2, 3)
    with pytest.raises(lamina.IndexError, match=rf"\[{op}\].*out of range"):
        getattr(t, op)(2)
    with pytest.raises(IndexError, match=rf"\[{op}\]"):
        getattr(lamina, op)(t, -3)
    with pytest.raises(IndexError, match=rf"\[{op}\]"):
        getattr(lamina.tensor(1.0), op)(1)


@pytest.mark.parametrize("dt", INTEGERS + [lamina.bool], ids=repr)
def test_floating_only_errors(dt, rng):
    t, _ = make(rng, (2, 3), dt)
    for op in ("var", "std"):
        with pytest.raises(lamina.DTypeError, match=rf"\[{op}\].*floating"):
            getattr(t, op)()
    with pytest.raises(lamina.DTypeError, match=r"\[norm\].*floating"):
        t.norm()
    with pytest.raises(TypeError, match=r"\[mean\].*floating"):
        lamina.mean(t, 0)
    with pytest.raises(lamina.DTypeError, match=r"\[mean\].*dtype=int64"):
        t.mean(dtype=lamina.int64)


def test_argument_errors():
    t = lamina.ones(2, 3)
    with pytest.raises(lamina.ValueError, match=r"\[norm\].*'nuc'"):
        t.norm(p="nuc")
    with pytest.raises(lamina.DTypeError, match=r"\[norm\]"):
        t.norm(p=True)
    with pytest.raises(lamina.ValueError, match=r"\[norm\].*nan"):
        t.norm(p=float("nan"))
    with pytest.raises(lamina.ValueError, match=r"\[norm\].*empty"):
        lamina.zeros(0).norm(math.inf)
    with pytest.raises(lamina.ValueError, match=r"\[norm\].*empty"):
        lamina.zeros(2, 0).norm(-1, dim=1)
    with pytest.raises(lamina.ValueError, match=r"\[var\].*not both"):
        t.var(unbiased=True, correction=0)
    with pytest.raises(lamina.DTypeError, match=r"\[sum\]"):
        t.sum("0")
    with pytest.raises(lamina.DTypeError, match=r"\[max\]"):
        t.max(1.5)
    with pytest.raises(lamina.IndexError, match=r"\[topk\].*out of range"):
        t.topk(4)
    with pytest.raises(lamina.IndexError, match=r"\[topk\]"):
        t.topk(-1)
    with pytest.raises(IndexError, match=r"\[topk\]"):
        lamina.topk(t, 3, dim=0)
    with pytest.raises(lamina.IndexError, match=r"\[topk\]"):
        lamina.tensor(1.0).topk(2)
    with pytest.raises(lamina.IndexError, match=r"\[topk\].*out of range"):
        t.topk(1, dim=2)
    with pytest.raises(TypeError):
        t.logsumexp()  # dim is required, as in PyTorch
    with pytest.raises(TypeError):
        t.softmax()


def test_results_are_new_tensors(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    t = lamina.from_numpy(a)
    version = t._version
    for r in (t.sum(0), t.softmax(1), t.cumsum(1), t.sort(1).values, t.amax(1), t.topk(2).values):
        assert r.data_ptr() != t.data_ptr()
    np.testing.assert_array_equal(t.numpy(), a)  # inputs are never written
    assert t._version == version
    assert t.sort(0).values.is_contiguous() and t.topk(2, dim=0).indices.is_contiguous()


def test_python_argument_forms(rng):
    a = rng.standard_normal((3, 4)).astype(np.float32)
    t = lamina.from_numpy(a)
    np.testing.assert_allclose(t.sum(np.int64(1)).numpy(), a.sum(1), rtol=1e-6)  # NumPy integers as dims
    np.testing.assert_allclose(lamina.mean(t, [np.int32(0), -1]).item(), a.mean(), rtol=1e-6)
    assert t.max(np.int64(0)).indices.tolist() == a.argmax(0).tolist()
    r = lamina.max(t, 1, True)  # torch.max(x, dim, keepdim) positionally
    assert r.values.shape == (3, 1) and r[1].shape == (3, 1) and len(r) == 2 and isinstance(r, tuple)
    v, i = lamina.topk(input=t, k=2, dim=0, largest=False, sorted=True)
    np.testing.assert_array_equal(v.numpy(), np.sort(a, 0)[:2])
    assert lamina.sum(input=t, dim=None, keepdim=True, dtype=lamina.float64).dtype == lamina.float64
    np.testing.assert_allclose(t.std(dim=0, correction=0, keepdim=True).numpy(), a.std(0, keepdims=True), rtol=1e-5)
    np.testing.assert_allclose(lamina.norm(t, "fro", (0, 1)).item(), np.linalg.norm(a), rtol=1e-6)
    assert t.argsort(dim=0, descending=True, stable=True).tolist() == np.argsort(-a, 0, kind="stable").tolist()
    assert t.softmax(dim=-1, dtype=lamina.float64).dtype == lamina.float64
