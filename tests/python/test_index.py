"""Indexing and assignment against NumPy: basic, advanced, masks, gather/scatter."""
import numpy as np
import pytest

import lamina
from conftest import random_array

KEYS = [
    1, -1, slice(1, 3), slice(None, None, 2), slice(None, None, -1), slice(-2, None), (1, 2), (slice(None), 0),
    (Ellipsis, 1), (None, 0), (0, None, slice(1, 3)), (Ellipsis, None), (slice(3, 0, -2), slice(None)),
    ([0, 2],), ([0, 2], [1, 3]), (slice(None), [3, 0, 0]), ([[0], [2]], [1, 3]), (0, [1, 2]),
    ([1, 0], slice(None), [0, 4]), (slice(1, None), [0, -1], slice(None)), (Ellipsis, [0, 1]),
    (True,), (False,), (None, [0, 1]),
]


@pytest.mark.parametrize("key", KEYS, ids=[repr(k) for k in KEYS])
def test_getitem_matches_numpy(key, rng):
    a = random_array(rng, (3, 4, 5), np.float32)
    t = lamina.from_numpy(a)
    ref = a[key]
    out = t[key]
    assert out.shape == ref.shape
    np.testing.assert_array_equal(out.numpy(), ref)


def test_basic_indexing_is_a_view(rng):
    a = random_array(rng, (4, 5), np.float64)
    t = lamina.tensor(a)
    v = t[1:, ::2]
    v.fill_(0.5)
    assert (t.numpy()[1:, ::2] == 0.5).all()
    assert t[0].storage_offset() == 0 and t[1].storage_offset() == 5


def test_mask_indexing(rng):
    a = random_array(rng, (3, 4), np.float32)
    t = lamina.from_numpy(a)
    m = a > 0
    np.testing.assert_array_equal(t[lamina.from_numpy(m)].numpy(), a[m])
    np.testing.assert_array_equal(t[t > 0].numpy(), a[a > 0])
    row_mask = np.array([True, False, True])
    np.testing.assert_array_equal(t[lamina.from_numpy(row_mask)].numpy(), a[row_mask])
    np.testing.assert_array_equal(t[:, lamina.tensor([True, False, False, True])].numpy(), a[:, [True, False, False, True]])
    assert t[t > 100].shape == (0,)
    with pytest.raises(IndexError, match=r"\[index\].*mask"):
        t[lamina.tensor([True, False])]


@pytest.mark.parametrize("dt", [lamina.int32, lamina.int64, lamina.bool, lamina.float16, lamina.uint8])
def test_indexing_dtypes(dt, rng):
    a = random_array(rng, (4, 3), np.float32) * 4
    t = lamina.tensor(a).to(dt)
    ref = t.to(lamina.float64).numpy()
    np.testing.assert_array_equal(t[[3, 1]].to(lamina.float64).numpy(), ref[[3, 1]])
    np.testing.assert_array_equal(t[1:, 2].to(lamina.float64).numpy(), ref[1:, 2])


def test_setitem(rng):
    a = random_array(rng, (4, 5), np.float32)
    t = lamina.tensor(a)
    ref = a.copy()
    t[0] = 1.5
    ref[0] = 1.5
    t[1:3, ::2] = lamina.tensor([7.0, 8.0, 9.0])
    ref[1:3, ::2] = [7.0, 8.0, 9.0]
    t[[0, 3], [1, 2]] = lamina.tensor([-1.0, -2.0])
    ref[[0, 3], [1, 2]] = [-1.0, -2.0]
    t[t > 5] = 0
    ref[ref > 5] = 0
    t[:, [4, 0]] = lamina.tensor([[10.0], [11.0], [12.0], [13.0]])
    ref[:, [4, 0]] = [[10.0], [11.0], [12.0], [13.0]]
    t[..., 1] = [5, 6, 7, 8]
    ref[..., 1] = [5, 6, 7, 8]
    np.testing.assert_array_equal(t.numpy(), ref)
    i = lamina.zeros(3, dtype=lamina.int64)
    i[1] = 2.7  # converted to the tensor's dtype
    assert i.tolist() == [0, 2, 0]
    acc = lamina.zeros(3)
    acc.index_put_((lamina.tensor([0, 0, 2]),), lamina.tensor([1.0, 2.0, 3.0]), accumulate=True)
    assert acc.tolist() == [3.0, 0.0, 3.0]


def test_failed_setitem_leaves_tensor_unchanged(rng):
    a = random_array(rng, (3, 4), np.float32)
    t = lamina.tensor(a)
    ver = t._version
    with pytest.raises(IndexError, match=r"\[index_put_\].*out of bounds"):
        t[[0, 5]] = 1.0
    with pytest.raises(lamina.ShapeError, match=r"\[index_put_\]"):
        t[[0, 1]] = lamina.ones(3, 4)
    with pytest.raises(lamina.ShapeError, match=r"\[copy_\]"):
        t[0] = lamina.ones(5)
    with pytest.raises(IndexError, match=r"too many indices"):
        t[0, 0, 0] = 1.0
    np.testing.assert_array_equal(t.numpy(), a)
    assert t._version == ver


def test_index_errors():
    t = lamina.ones(3, 4)
    with pytest.raises(IndexError, match=r"\[index\].*index 3 is out of bounds for dimension 0 with size 3"):
        t[3]
    with pytest.raises(lamina.IndexError):
        t[lamina.tensor([0.5])]
    with pytest.raises(IndexError, match="single ellipsis"):
        t[..., ...]
    with pytest.raises(IndexError):
        t["a"]
    with pytest.raises(IndexError):
        lamina.tensor(1.0)[0]
    assert [float(r.sum()) for r in t] == [4.0, 4.0, 4.0]  # iteration ends with IndexError


def test_index_select_gather_scatter(rng):
    a = random_array(rng, (4, 5), np.float32)
    t = lamina.from_numpy(a)
    idx = np.array([3, 0, 3])
    np.testing.assert_array_equal(t.index_select(0, lamina.from_numpy(idx)).numpy(), a[idx])
    np.testing.assert_array_equal(lamina.index_select(t, 1, lamina.tensor([4, 1])).numpy(), a[:, [4, 1]])
    g = rng.integers(0, 4, size=(2, 5))
    np.testing.assert_array_equal(t.gather(0, lamina.from_numpy(g)).numpy(), np.take_along_axis(a, g, 0))
    g1 = rng.integers(0, 5, size=(4, 3))
    np.testing.assert_array_equal(lamina.gather(t.T.contiguous().T, 1, lamina.from_numpy(g1)).numpy(),
                                  np.take_along_axis(a, g1, 1))
    src = random_array(rng, (4, 3), np.float32)
    ref = a.copy()
    for i in range(4):
        for j in range(3):
            ref[i, g1[i, j]] = src[i, j]
    np.testing.assert_array_equal(t.scatter(1, lamina.from_numpy(g1), lamina.from_numpy(src)).numpy(), ref)
    ref_add = a.copy()
    np.add.at(ref_add, (np.arange(4)[:, None], g1), src)
    np.testing.assert_allclose(t.scatter_add(1, lamina.from_numpy(g1), lamina.from_numpy(src)).numpy(), ref_add, rtol=1e-6)
    z = lamina.zeros(2, 3)
    z.scatter_(1, lamina.tensor([[2], [0]]), 7.0)
    assert z.tolist() == [[0, 0, 7], [7, 0, 0]]
    with pytest.raises(IndexError, match=r"\[gather\].*out of bounds"):
        t.gather(0, lamina.tensor([[4, 0, 0, 0, 0]]))
    with pytest.raises(lamina.ShapeError, match=r"\[gather\]"):
        t.gather(0, lamina.tensor([1, 2]))
    with pytest.raises(lamina.IndexError, match=r"\[gather\].*int64"):
        t.gather(0, lamina.tensor([[1]], dtype=lamina.int32))
    ver = z._version
    with pytest.raises(IndexError, match=r"\[scatter_\]"):
        z.scatter_(1, lamina.tensor([[3], [0]]), 1.0)
    assert z.tolist() == [[0, 0, 7], [7, 0, 0]] and z._version == ver


def test_masked_fill_select_nonzero(rng):
    a = random_array(rng, (3, 4), np.float32)
    t = lamina.from_numpy(a)
    m = lamina.from_numpy(a > 0)
    np.testing.assert_array_equal(t.masked_fill(m, -1.0).numpy(), np.where(a > 0, -1.0, a))
    row = lamina.tensor([True, False, True, False])
    np.testing.assert_array_equal(t.masked_fill(row, 0).numpy(), np.where([True, False, True, False], 0, a))
    np.testing.assert_array_equal(lamina.masked_select(t, m).numpy(), a[a > 0])
    c = t.clone()
    c.masked_fill_(m, 2.0)
    np.testing.assert_array_equal(c.numpy(), np.where(a > 0, 2.0, a))
    np.testing.assert_array_equal(lamina.nonzero(m).numpy(), np.argwhere(a > 0))
    rows, cols = lamina.nonzero(m, as_tuple=True)
    np.testing.assert_array_equal(rows.numpy(), np.nonzero(a > 0)[0])
    with pytest.raises(lamina.DTypeError, match=r"\[masked_fill\]"):
        t.masked_fill(lamina.ones(3, 4), 0.0)
    with pytest.raises(lamina.ShapeError, match=r"\[masked_fill\]"):
        t.masked_fill(lamina.tensor([True, False]), 0.0)
