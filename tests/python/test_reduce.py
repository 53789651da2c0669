"""Reductions, scans, softmax and sorting against NumPy."""
import numpy as np
import pytest

import lamina
from conftest import random_array

FLOATS = [(lamina.float32, np.float32), (lamina.float64, np.float64)]
INTS = [(lamina.int32, np.int32), (lamina.int64, np.int64), (lamina.uint8, np.uint8), (lamina.int8, np.int8)]
DIMS = [None, 0, 1, -1, (0, 2), (1, -1)]


@pytest.mark.parametrize("dims", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dt,npdt", FLOATS)
def test_float_reductions(dims, keepdim, dt, npdt, rng):
    a = random_array(rng, (3, 4, 5), npdt)
    t = lamina.from_numpy(a)
    ax = dims if not isinstance(dims, tuple) else tuple(dims)
    tol = dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(t.sum(dims, keepdim).numpy(), a.sum(axis=ax, keepdims=keepdim), **tol)
    np.testing.assert_allclose(t.mean(dims, keepdim).numpy(), a.mean(axis=ax, keepdims=keepdim), **tol)
    np.testing.assert_allclose(t.amax(dims, keepdim).numpy(), a.max(axis=ax, keepdims=keepdim))
    np.testing.assert_allclose(t.amin(dims, keepdim).numpy(), a.min(axis=ax, keepdims=keepdim))
    np.testing.assert_allclose(t.var(dims, keepdim=keepdim).numpy(), a.var(axis=ax, ddof=1, keepdims=keepdim), **tol)
    np.testing.assert_allclose(t.std(dims, correction=0, keepdim=keepdim).numpy(), a.std(axis=ax, keepdims=keepdim), **tol)
    lse = np.log(np.exp(a.astype(np.float64)).sum(axis=ax, keepdims=keepdim))
    if dims is not None:
        np.testing.assert_allclose(lamina.logsumexp(t, dims, keepdim).numpy(), lse, **tol)
    np.testing.assert_allclose(t.norm(dim=dims, keepdim=keepdim).numpy(),
                               np.sqrt((a.astype(np.float64) ** 2).sum(axis=ax, keepdims=keepdim)), **tol)
    # non-contiguous input
    v = t.transpose(0, 2)
    np.testing.assert_allclose(v.sum(dims, keepdim).numpy(), a.transpose(2, 1, 0).sum(axis=ax, keepdims=keepdim), **tol)


@pytest.mark.parametrize("dt,npdt", INTS)
def test_integer_reductions(dt, npdt, rng):
    a = random_array(rng, (4, 6), npdt)
    t = lamina.from_numpy(a)
    assert t.sum().dtype == lamina.int64
    assert t.sum().item() == a.astype(np.int64).sum()
    np.testing.assert_array_equal(t.sum(1).numpy(), a.astype(np.int64).sum(1))
    np.testing.assert_array_equal(t.prod(0).numpy(), a.astype(np.int64).prod(0))
    np.testing.assert_array_equal(t.amax(1).numpy(), a.max(1))
    assert t.max().item() == a.max() and t.min().item() == a.min()
    np.testing.assert_array_equal(t.argmax(1).numpy(), a.argmax(1))
    np.testing.assert_array_equal(t.argmin(0).numpy(), a.argmin(0))
    assert t.argmax().item() == a.argmax()
    with pytest.raises(lamina.DTypeError, match=r"\[mean\]"):
        t.mean()
    np.testing.assert_allclose(t.mean(dtype=lamina.float64).numpy(), a.mean())
    np.testing.assert_allclose(t.sum(dtype=lamina.float32).numpy(), a.sum(dtype=np.float32))


def test_max_min_with_dim_and_nan(rng):
    a = random_array(rng, (3, 5), np.float32)
    t = lamina.from_numpy(a)
    vals, idx = t.max(1)
    np.testing.assert_array_equal(vals.numpy(), a.max(1))
    np.testing.assert_array_equal(idx.numpy(), a.argmax(1))
    r = lamina.min(t, 0, keepdim=True)
    assert r.values.shape == (1, 5) and r.indices.dtype == lamina.int64
    np.testing.assert_array_equal(r.indices.numpy()[0], a.argmin(0))
    np.testing.assert_array_equal(t.max(lamina.zeros(5)).numpy(), np.maximum(a, 0))  # elementwise form
    n = lamina.tensor([1.0, float("nan"), 3.0])
    assert np.isnan(n.max().item()) and n.argmax().item() == 1 and np.isnan(n.sum().item())
    ties = lamina.tensor([2, 5, 5, 1])
    assert ties.argmax().item() == 1
    with pytest.raises(lamina.ValueError, match=r"\[max\].*empty"):
        lamina.zeros(0).max()
    with pytest.raises(IndexError, match=r"\[max\].*non-zero size"):
        lamina.zeros(2, 0).max(1)


def test_bool_all_any_and_empty():
    m = lamina.tensor([[True, False], [True, True]])
    assert m.all().item() is False and m.any().item() is True
    assert m.all(1).tolist() == [False, True]
    assert lamina.tensor([1.0, 0.0]).any().item() is True
    assert m.sum().item() == 3 and m.sum().dtype == lamina.int64
    e = lamina.zeros(0, 3)
    assert e.sum().item() == 0 and e.sum(0).tolist() == [0, 0, 0]
    assert e.prod().item() == 1
    assert np.isnan(e.mean().item())
    assert e.all().item() is True and e.any().item() is False
    s = lamina.tensor(4.0)
    assert s.sum().item() == 4 and s.sum(0).item() == 4 and s.amax(-1).item() == 4


def test_reduce_errors():
    t = lamina.ones(2, 3)
    with pytest.raises(lamina.IndexError, match=r"\[sum\].*out of range"):
        t.sum(2)
    with pytest.raises(lamina.ValueError, match=r"\[sum\].*multiple times"):
        t.sum((0, 0))
    with pytest.raises(lamina.DTypeError, match=r"\[var\]"):
        lamina.tensor([1, 2]).var()
    with pytest.raises(lamina.DTypeError, match=r"\[softmax\]"):
        lamina.softmax(lamina.tensor([1, 2]), 0)
    with pytest.raises(lamina.IndexError, match=r"\[topk\]"):
        t.topk(4)
    with pytest.raises(lamina.ValueError, match=r"\[norm\]"):
        t.norm(p="nuc")


@pytest.mark.parametrize("dt,npdt", FLOATS + [(lamina.float16, np.float16)])
def test_softmax_log_softmax(dt, npdt, rng):
    a = random_array(rng, (4, 7), np.float32) * 5
    t = lamina.from_numpy(a).to(dt)
    ref = np.exp(a - a.max(1, keepdims=True))
    ref /= ref.sum(1, keepdims=True)
    tol = 2e-3 if dt == lamina.float16 else 1e-6
    np.testing.assert_allclose(lamina.softmax(t, 1).float().numpy(), ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(lamina.log_softmax(t, -1).float().numpy(), np.log(ref), rtol=tol, atol=tol * 10)
    ref0 = np.exp(a - a.max(0, keepdims=True))
    ref0 /= ref0.sum(0, keepdims=True)
    np.testing.assert_allclose(t.softmax(0).float().numpy(), ref0, rtol=tol, atol=tol)
    big = lamina.tensor([1000.0, 1000.0])
    assert big.softmax(0).tolist() == [0.5, 0.5]
    ints = lamina.tensor([1, 2, 3])
    np.testing.assert_allclose(ints.softmax(0, dtype=lamina.float64).numpy(), np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())


def test_cumsum_cumprod(rng):
    a = random_array(rng, (3, 4), np.float64)
    t = lamina.from_numpy(a)
    np.testing.assert_allclose(t.cumsum(1).numpy(), a.cumsum(1))
    np.testing.assert_allclose(t.cumsum(0).numpy(), a.cumsum(0))
    np.testing.assert_allclose(t.T.cumprod(-1).numpy(), a.T.cumprod(-1))
    i = lamina.tensor([1, 2, 3], dtype=lamina.int8)
    assert i.cumsum(0).dtype == lamina.int64 and i.cumsum(0).tolist() == [1, 3, 6]


@pytest.mark.parametrize("descending", [False, True])
def test_sort_argsort_topk(descending, rng):
    a = random_array(rng, (4, 9), np.float32)
    t = lamina.from_numpy(a)
    v, i = t.sort(1, descending=descending)
    order = np.argsort(-a if descending else a, axis=1, kind="stable")
    np.testing.assert_array_equal(i.numpy(), order)
    np.testing.assert_array_equal(v.numpy(), np.take_along_axis(a, order, 1))
    np.testing.assert_array_equal(t.argsort(0, descending).numpy(), np.argsort(-a if descending else a, axis=0, kind="stable"))
    top = t.topk(3, dim=1, largest=descending)
    np.testing.assert_array_equal(top.values.numpy(), np.take_along_axis(a, order, 1)[:, :3])
    n = lamina.tensor([3.0, float("nan"), 1.0])
    assert n.sort().indices.tolist() == [2, 0, 1]
    ints = lamina.tensor([3, 1, 2, 1])
    assert ints.sort().values.tolist() == [1, 1, 2, 3] and ints.sort().indices.tolist() == [1, 3, 2, 0]
    assert lamina.zeros(0).sort().values.shape == (0,)
