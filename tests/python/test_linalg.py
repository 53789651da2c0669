"""matmul family and einsum against NumPy."""
import numpy as np
import pytest

import lamina
from conftest import random_array

SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
          ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 2)), ((0, 3), (3, 2)), ((2, 0), (0, 3)), ((1, 1), (1, 1))]


@pytest.mark.parametrize("sa,sb", SHAPES)
@pytest.mark.parametrize("npdt", [np.float32, np.float64, np.int64, np.int32])
def test_matmul_shapes(sa, sb, npdt, rng):
    a, b = random_array(rng, sa, npdt), random_array(rng, sb, npdt)
    out = lamina.from_numpy(a) @ lamina.from_numpy(b)
    ref = np.matmul(a, b)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("npdt", [np.float32, np.float64])
def test_matmul_transposed_and_strided_views(npdt, rng):
    a, b = random_array(rng, (64, 48), npdt), random_array(rng, (32, 64), npdt)
    ta, tb = lamina.from_numpy(a), lamina.from_numpy(b)
    np.testing.assert_allclose((ta.T @ tb.T).numpy(), a.T @ b.T, rtol=1e-4)
    np.testing.assert_allclose((ta[::2, ::3].T @ ta[::2, 1::3]).numpy(), a[::2, ::3].T @ a[::2, 1::3], rtol=1e-4)
    x = random_array(rng, (4, 5, 6), npdt)
    tx = lamina.from_numpy(x)
    np.testing.assert_allclose(lamina.bmm(tx, tx.transpose(1, 2)).numpy(), x @ x.transpose(0, 2, 1), rtol=1e-4)
    expanded = lamina.from_numpy(a[:1]).expand(5, 48)
    np.testing.assert_allclose((expanded @ lamina.from_numpy(a.T[:, :3])).numpy(), np.broadcast_to(a[:1], (5, 48)) @ a.T[:, :3], rtol=1e-4)


def test_half_matmul_and_products(rng):
    a, b = random_array(rng, (3, 4), np.float32), random_array(rng, (4, 2), np.float32)
    ref = a @ b
    for dt in (lamina.float16, lamina.bfloat16):
        out = lamina.from_numpy(a).to(dt) @ lamina.from_numpy(b).to(dt)
        assert out.dtype == dt
        np.testing.assert_allclose(out.float().numpy(), ref, rtol=5e-2, atol=5e-2)
    v = random_array(rng, (4,), np.float32)
    np.testing.assert_allclose(lamina.mv(lamina.from_numpy(a), lamina.from_numpy(v)).numpy(), a @ v, rtol=1e-5)
    np.testing.assert_allclose(lamina.dot(lamina.from_numpy(v), lamina.from_numpy(v)).item(), v @ v, rtol=1e-5)
    np.testing.assert_allclose(lamina.outer(lamina.from_numpy(v), lamina.from_numpy(v)).numpy(), np.outer(v, v), rtol=1e-6)
    np.testing.assert_allclose(lamina.mm(lamina.from_numpy(a), lamina.from_numpy(b)).numpy(), ref, rtol=1e-5)


def test_matmul_errors():
    with pytest.raises(lamina.ShapeError, match=r"\[matmul\] last dimension of first input with shape \(3, 4\)"):
        lamina.ones(3, 4) @ lamina.ones(5, 6)
    with pytest.raises(lamina.ShapeError, match=r"\[matmul\].*at least 1 dimension"):
        lamina.tensor(1.0) @ lamina.ones(2)
    with pytest.raises(lamina.ShapeError, match=r"\[matmul\].*broadcast"):
        lamina.ones(2, 3, 4) @ lamina.ones(3, 4, 5)
    with pytest.raises(lamina.DTypeError, match=r"\[matmul\].*same dtype"):
        lamina.ones(2, 2) @ lamina.ones(2, 2, dtype=lamina.float64)
    with pytest.raises(lamina.DTypeError, match=r"\[matmul\]"):
        lamina.ones(2, 2, dtype=lamina.bool) @ lamina.ones(2, 2, dtype=lamina.bool)
    with pytest.raises(lamina.ShapeError, match=r"\[bmm\]"):
        lamina.bmm(lamina.ones(2, 2), lamina.ones(2, 2))


EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ii->i", [(4, 4)]), ("ii", [(4, 4)]), ("ij->ji", [(3, 4)]), ("i,i->", [(5,), (5,)]), ("i,j->ij", [(3,), (4,)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,jk", [(2, 3, 4), (4, 5)]), ("ij->", [(3, 4)]), ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ijk,ikl,lm->im", [(2, 3, 4), (2, 4, 5), (5, 6)]), ("iij->j", [(3, 3, 2)]), ("ab,b->a", [(3, 4), (4,)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum(eq, shapes, rng):
    arrays = [random_array(rng, s, np.float64) for s in shapes]
    out = lamina.einsum(eq, *[lamina.from_numpy(x) for x in arrays])
    ref = np.einsum(eq, *arrays)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-10)


def test_einsum_errors():
    a = lamina.ones(2, 3)
    with pytest.raises(lamina.ValueError, match=r"\[einsum\]"):
        lamina.einsum("ij,jk->ik", a)
    with pytest.raises(lamina.ShapeError, match=r"\[einsum\]"):
        lamina.einsum("ij,jk->ik", a, lamina.ones(4, 2))
    with pytest.raises(lamina.ValueError, match=r"\[einsum\]"):
        lamina.einsum("i1->i", a)
    with pytest.raises(lamina.ValueError, match=r"\[einsum\]"):
        lamina.einsum("ij->k", a)
