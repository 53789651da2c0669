"""matmul family (matmul/@, mm, bmm, mv, dot, outer) and einsum against NumPy."""
import numpy as np
import pytest

import lamina
from conftest import random_array, to_np

SHAPES = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)), ((3,), (5, 3, 4)),
          ((5, 2, 3), (3,)), ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (4, 3, 2)), ((1, 2, 3), (4, 3, 5)),
          ((0, 3), (3, 2)), ((2, 0), (0, 3)), ((0,), (0,)), ((2, 0, 3), (3, 4)), ((1, 1), (1, 1)), ((7, 9), (9, 1))]

EXACT = [np.int64, np.int32, np.int8, np.uint8]


def lt(a):
    return lamina.from_numpy(np.array(a, order="C"))  # a copy; keeps 0-d arrays 0-d


@pytest.mark.parametrize("sa,sb", SHAPES, ids=[f"{a}@{b}" for a, b in SHAPES])
@pytest.mark.parametrize("npdt", [np.float32, np.float64, np.int64, np.int32, np.int8, np.uint8])
def test_matmul_shapes_and_dtypes(sa, sb, npdt, rng):
    a, b = random_array(rng, sa, npdt), random_array(rng, sb, npdt)
    out = lt(a) @ lt(b)
    ref = np.matmul(a, b)  # integer products wrap in both
    assert out.shape == ref.shape
    assert out.numpy().dtype == ref.dtype
    if npdt in EXACT:
        np.testing.assert_array_equal(out.numpy(), ref)
    else:
        tol = 1e-5 if npdt == np.float32 else 1e-12
        np.testing.assert_allclose(out.numpy(), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_matmul_half_types(dt, rng):
    dtype = getattr(lamina, dt)
    a, b = random_array(rng, (3, 5, 8), np.float32), random_array(rng, (8, 4), np.float32)
    la, lb = lt(a).to(dtype), lt(b).to(dtype)
    out = la @ lb
    assert out.dtype == dtype
    # Reference: the same rounded inputs multiplied in float64.
    ref = np.matmul(to_np(la).astype(np.float64), to_np(lb).astype(np.float64))
    np.testing.assert_allclose(to_np(out).astype(np.float64), ref, rtol=2e-2, atol=5e-2)
    assert (la[0].T @ la[0]).dtype == dtype


@pytest.mark.parametrize("npdt", [np.float32, np.float64, np.int64])
def test_matmul_transposed_sliced_and_broadcast_views(npdt, rng):
    tol = dict(rtol=1e-4, atol=1e-4) if npdt == np.float32 else dict(rtol=1e-12, atol=0)
    a, b = random_array(rng, (64, 48), npdt), random_array(rng, (32, 64), npdt)
    ta, tb = lt(a), lt(b)
    # Transposed views (column-major) on either side.
    np.testing.assert_allclose((ta.T @ tb.T).numpy(), a.T @ b.T, **tol)
    np.testing.assert_allclose((tb @ ta).numpy(), b @ a, **tol)
    np.testing.assert_allclose((ta.T @ ta).numpy(), a.T @ a, **tol)
    # Column slices (leading dimension wider than the rows) and stepped slices (copied).
    np.testing.assert_allclose((ta[:, 5:20].T @ ta[:, 1:9]).numpy(), a[:, 5:20].T @ a[:, 1:9], **tol)
    np.testing.assert_allclose((ta[::2, ::3].T @ ta[::2, 1::3]).numpy(), a[::2, ::3].T @ a[::2, 1::3], **tol)
    # Negative strides.
    np.testing.assert_allclose((ta[::-1] @ ta[::-1, ::-1].T).numpy(), a[::-1] @ a[::-1, ::-1].T, **tol)
    # Batched transposes and permuted batches.
    x = random_array(rng, (4, 5, 6), npdt)
    tx = lt(x)
    np.testing.assert_allclose(lamina.bmm(tx, tx.transpose(1, 2)).numpy(), x @ x.transpose(0, 2, 1), **tol)
    np.testing.assert_allclose((tx.permute(1, 0, 2) @ tx.permute(1, 2, 0)).numpy(),
                               x.transpose(1, 0, 2) @ x.transpose(1, 2, 0), **tol)
    # A Linear-style product: (B, T, C) @ W.T, and stride-0 (expanded) operands.
    w = random_array(rng, (7, 6), npdt)
    np.testing.assert_allclose((tx @ lt(w).T).numpy(), x @ w.T, **tol)
    expanded = lt(a[:1]).expand(5, 48)
    np.testing.assert_allclose((expanded @ lt(a.T[:, :3])).numpy(), np.broadcast_to(a[:1], (5, 48)) @ a.T[:, :3], **tol)
    np.testing.assert_allclose((lt(w).expand(4, 7, 6) @ tx.transpose(1, 2)).numpy(), w @ x.transpose(0, 2, 1), **tol)


def test_matmul_large_f32_matches_numpy(rng):
    a, b = random_array(rng, (300, 200), np.float32), random_array(rng, (200, 150), np.float32)
    np.testing.assert_allclose((lt(a) @ lt(b)).numpy(), a @ b, rtol=1e-4, atol=1e-3)
    at, bt = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)
    np.testing.assert_allclose((lt(at).T @ lt(bt).T).numpy(), a @ b, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("npdt", [np.float32, np.float64, np.int64])
def test_matmul_split_across_threads(threads, npdt, rng):
    # The pool splits one product by rows of C (taller than wide) or by columns (wider), and a
    # batch by entries: every split, on column-major and strided operands, gives NumPy's product.
    cases = [((300, 200), (200, 70)), ((70, 200), (200, 300)), ((129, 130), (130, 131)), ((6, 97, 64), (64, 88))]
    before = lamina.get_num_threads()
    lamina.set_num_threads(threads)
    try:
        for sa, sb in cases:
            a, b = random_array(rng, sa, npdt), random_array(rng, sb, npdt)
            want = np.matmul(a.astype(np.float64), b.astype(np.float64))
            col_major = lt(np.swapaxes(a, -1, -2)).transpose(-1, -2)
            strided = lt(np.concatenate([b[..., None], b[..., None]], axis=-1))[..., 0]
            tol = 1e-4 if npdt == np.float32 else 1e-12
            for x, y in ((lt(a), lt(b)), (col_major, lt(b)), (lt(a), strided)):
                got = (x @ y).numpy().astype(np.float64)
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
    finally:
        lamina.set_num_threads(before)


@pytest.mark.parametrize("threads", [1, 2])
def test_bfloat16_matmul_accumulates_in_float32_on_every_split(threads, rng):
    # bfloat16 products (oneDNN's bf16 kernels where the build has them) round once at the end,
    # also when the pool splits them by rows, columns or batch entries (each thread with its
    # own scratch space) and on column-major operands.
    cases = [((1024, 256), (256, 128)), ((96, 512), (512, 640)), ((8, 64, 96), (8, 96, 64)), ((5, 7), (7, 3))]
    before = lamina.get_num_threads()
    lamina.set_num_threads(threads)
    try:
        for sa, sb in cases:
            a = lt(random_array(rng, sa, np.float32)).to(lamina.bfloat16)
            b = lt(random_array(rng, sb, np.float32)).to(lamina.bfloat16)
            want = np.matmul(to_np(a).astype(np.float64), to_np(b).astype(np.float64))
            col_major = a.transpose(-1, -2).contiguous().transpose(-1, -2)
            for x in (a, col_major):
                out = x @ b
                assert out.dtype == lamina.bfloat16
                got = to_np(out).astype(np.float64)
                np.testing.assert_allclose(got, want, rtol=8e-3, atol=8e-3 * np.abs(want).max())
    finally:
        lamina.set_num_threads(before)


@pytest.mark.parametrize("npdt", [np.float32, np.float64])
def test_addmm_broadcast_inputs_scales_and_gradients(npdt, rng):
    # The bias-started GEMM (float32/float64 on the CPU): every broadcast form of the input,
    # transposed operands, the input left unchanged, gradients for all three operands.
    tol = 1e-5 if npdt == np.float32 else 1e-12
    a, b = random_array(rng, (70, 40), npdt), random_array(rng, (40, 90), npdt)
    for shape in [(90,), (1, 90), (70, 1), (70, 90), ()]:
        c = random_array(rng, shape, npdt)
        lc = lt(c)
        before = lc.numpy().copy()
        got = lamina.addmm(lc, lt(a), lt(b.T.copy()).T).numpy()
        np.testing.assert_allclose(got, c + a.astype(np.float64) @ b, rtol=tol, atol=tol * 10)
        np.testing.assert_array_equal(lc.numpy(), before)
    c = random_array(rng, (90,), npdt)
    np.testing.assert_allclose(lamina.addmm(lt(c), lt(a), lt(b), beta=0.5, alpha=-2.0).numpy(),
                               0.5 * c - 2.0 * (a.astype(np.float64) @ b), rtol=tol, atol=tol * 10)
    nan = np.full((90,), np.nan, npdt)
    assert np.isfinite(lamina.addmm(lt(nan), lt(a), lt(b), beta=0.0).numpy()).all()
    assert np.array_equal(lt(c).addmm(lt(a), lt(b)).numpy(), lamina.addmm(lt(c), lt(a), lt(b)).numpy())
    lc, la, lb = (lt(x).requires_grad_(True) for x in (c, a, b))
    out = lamina.addmm(lc, la, lb)
    assert out.grad_fn.name() == "AddmmBackward0"
    g = random_array(rng, (70, 90), npdt)
    out.backward(lt(g))
    np.testing.assert_allclose(lc.grad.numpy(), g.sum(0), rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(la.grad.numpy(), g @ b.T, rtol=tol, atol=tol * 10)
    np.testing.assert_allclose(lb.grad.numpy(), a.T @ g, rtol=tol, atol=tol * 10)
    # k = 0: the broadcast input alone; empty m: empty.
    z = lamina.addmm(lt(c), lt(np.zeros((3, 0), npdt)), lt(np.zeros((0, 90), npdt))).numpy()
    np.testing.assert_array_equal(z, np.broadcast_to(c, (3, 90)))
    assert lamina.addmm(lt(c), lt(np.zeros((0, 40), npdt)), lt(b)).shape == (0, 90)
    with pytest.raises(lamina.ShapeError, match="broadcast"):
        lamina.addmm(lt(random_array(rng, (7,), npdt)), lt(a), lt(b))
    with pytest.raises(lamina.ShapeError):
        lamina.addmm(lt(c), lt(a), lt(a))


@pytest.mark.parametrize("npdt", [np.float32, np.float64])
@pytest.mark.parametrize("m,k,n", [(1000, 64, 300), (70, 200, 2000), (600, 32, 1)])
def test_addmm_bias_row_in_bands_and_thread_slices(m, k, n, npdt, rng):
    # A bias row is written into C by the kernel a band of rows at a time (bands of ~256 KiB)
    # inside each thread's rows or columns of C: tall, wide (split by columns) and one-column
    # products, a non-contiguous bias and transposed operands, at 1 and 2 threads.
    tol = 1e-5 if npdt == np.float32 else 1e-12
    a, b = random_array(rng, (m, k), npdt), random_array(rng, (k, n), npdt)
    bias = random_array(rng, (2 * n,), npdt)
    want = bias[::2] + a.astype(np.float64) @ b
    before = lamina.get_num_threads()
    try:
        for threads in (1, 2):
            lamina.set_num_threads(threads)
            lb = lt(bias)[::2]
            got = lamina.addmm(lb, lt(a.T.copy()).T, lt(b)).numpy()
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)
            np.testing.assert_array_equal(lb.numpy(), bias[::2])
            got = lamina.addmm(lt(bias[::2].reshape(1, n).copy()), lt(a), lt(b.T.copy()).T).numpy()
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)
    finally:
        lamina.set_num_threads(before)


def test_linear_through_addmm_matches_matmul_plus_bias(rng):
    # nn.functional.linear with a bias folds the leading dims into one addmm: values and
    # gradients as x @ W^T + b in float64, for 2-d, 3-d and non-contiguous inputs.
    w, bias = random_array(rng, (24, 16), np.float64), random_array(rng, (24,), np.float64)
    for x in (random_array(rng, (5, 16), np.float64), random_array(rng, (3, 5, 16), np.float64)):
        for lx in (lt(x), lt(np.swapaxes(x, -1, -2).copy()).transpose(-1, -2)):
            lx = lx.detach().requires_grad_(True)
            lw, lb = lt(w).requires_grad_(True), lt(bias).requires_grad_(True)
            out = lamina.nn.functional.linear(lx, lw, lb)
            np.testing.assert_allclose(out.detach().numpy(), x @ w.T + bias, rtol=1e-12, atol=1e-12)
            g = random_array(rng, out.shape, np.float64)
            out.backward(lt(g))
            np.testing.assert_allclose(lx.grad.numpy(), g @ w, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(lw.grad.numpy(), g.reshape(-1, 24).T @ x.reshape(-1, 16), rtol=1e-12,
                                       atol=1e-12)
            np.testing.assert_allclose(lb.grad.numpy(), g.reshape(-1, 24).sum(0), rtol=1e-12, atol=1e-12)


def test_products_mm_bmm_mv_dot_outer(rng):
    a, b = random_array(rng, (3, 4), np.float64), random_array(rng, (4, 2), np.float64)
    v, u = random_array(rng, (4,), np.float64), random_array(rng, (3,), np.float64)
    ta, tb, tv, tu = lt(a), lt(b), lt(v), lt(u)
    np.testing.assert_allclose(lamina.mm(ta, tb).numpy(), a @ b, rtol=1e-12)
    np.testing.assert_allclose(ta.mm(tb).numpy(), a @ b, rtol=1e-12)
    np.testing.assert_allclose(ta.matmul(tb).numpy(), a @ b, rtol=1e-12)
    np.testing.assert_allclose(lamina.matmul(ta, tb).numpy(), a @ b, rtol=1e-12)
    np.testing.assert_allclose(lamina.mv(ta, tv).numpy(), a @ v, rtol=1e-12)
    np.testing.assert_allclose(ta.T.mv(tu).numpy(), a.T @ u, rtol=1e-12)
    d = lamina.dot(tv, tv)
    assert d.shape == () and d.dtype == lamina.float64
    np.testing.assert_allclose(d.item(), v @ v, rtol=1e-12)
    np.testing.assert_allclose(tv.dot(tv[::-1]).item(), v @ v[::-1], rtol=1e-12)
    np.testing.assert_allclose(lamina.outer(tu, tv).numpy(), np.outer(u, v), rtol=1e-12)
    np.testing.assert_allclose(tu.outer(tv).numpy(), np.outer(u, v), rtol=1e-12)
    assert lamina.outer(lamina.tensor([1, 2]), lamina.tensor([0.5])).dtype == lamina.float32
    x, y = random_array(rng, (2, 3, 4), np.int32), random_array(rng, (2, 4, 5), np.int32)
    out = lamina.bmm(lt(x), lt(y))
    assert out.dtype == lamina.int32
    np.testing.assert_array_equal(out.numpy(), x @ y)
    np.testing.assert_array_equal(lt(x).bmm(lt(y)).numpy(), x @ y)
    np.testing.assert_array_equal(lamina.dot(lamina.tensor([1, 2, 3]), lamina.tensor([4, 5, 6])).item(), 32)


def test_matmul_errors():
    with pytest.raises(lamina.ShapeError, match=r"^\[matmul\] Last dimension of first input with shape \(3, 4\) must "
                                                r"match second to last dimension of second input with shape \(5, 6\)$"):
        lamina.ones(3, 4) @ lamina.ones(5, 6)
    with pytest.raises(lamina.ShapeError, match=r"\[matmul\] Size of the 1-d first input with shape \(3,\)"):
        lamina.ones(3) @ lamina.ones(5, 6)
    with pytest.raises(lamina.ShapeError, match=r"\[matmul\].*1-d second input with shape \(4,\)"):
        lamina.ones(3) @ lamina.ones(4)
    with pytest.raises(lamina.ShapeError, match=r"\[matmul\].*at least 1 dimension"):
        lamina.tensor(1.0) @ lamina.ones(2)
    with pytest.raises(lamina.ShapeError, match=r"\[matmul\].*at least 1 dimension"):
        lamina.matmul(lamina.ones(2), lamina.tensor(1.0))
    with pytest.raises(lamina.ShapeError, match=r"\[matmul\].*broadcast"):
        lamina.ones(2, 3, 4) @ lamina.ones(3, 4, 5)
    with pytest.raises(lamina.DTypeError, match=r"\[matmul\].*same dtype"):
        lamina.ones(2, 2) @ lamina.ones(2, 2, dtype=lamina.float64)
    with pytest.raises(lamina.DTypeError, match=r"\[matmul\].*bool"):
        lamina.ones(2, 2, dtype=lamina.bool) @ lamina.ones(2, 2, dtype=lamina.bool)
    with pytest.raises(TypeError):
        lamina.ones(2, 2) @ 2.0
    with pytest.raises(TypeError):
        [[1.0, 2.0]] @ lamina.ones(2, 2)
    with pytest.raises(lamina.ShapeError, match=r"\[mm\]"):
        lamina.mm(lamina.ones(2, 2, 2), lamina.ones(2, 2))
    with pytest.raises(lamina.ShapeError, match=r"\[mm\] Last dimension"):
        lamina.mm(lamina.ones(2, 3), lamina.ones(2, 2))
    with pytest.raises(lamina.ShapeError, match=r"\[bmm\]"):
        lamina.bmm(lamina.ones(2, 2), lamina.ones(2, 2))
    with pytest.raises(lamina.ShapeError, match=r"\[bmm\]"):
        lamina.bmm(lamina.ones(2, 2, 3), lamina.ones(3, 3, 2))
    with pytest.raises(lamina.ShapeError, match=r"\[mv\]"):
        lamina.mv(lamina.ones(2, 3), lamina.ones(2))
    with pytest.raises(lamina.ShapeError, match=r"\[mv\]"):
        lamina.mv(lamina.ones(2, 3), lamina.ones(3, 1))
    with pytest.raises(lamina.ShapeError, match=r"\[dot\]"):
        lamina.dot(lamina.ones(2), lamina.ones(3))
    with pytest.raises(lamina.DTypeError, match=r"\[dot\]"):
        lamina.dot(lamina.ones(2), lamina.ones(2, dtype=lamina.int64))
    with pytest.raises(lamina.ShapeError, match=r"\[outer\]"):
        lamina.outer(lamina.ones(2, 1), lamina.ones(3))


EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]), ("ij,jk", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ii->i", [(4, 4)]), ("ii", [(4, 4)]), ("ij->ji", [(3, 4)]), ("i,i->", [(5,), (5,)]), ("i,j->ij", [(3,), (4,)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 5)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]), ("...ij,jk", [(2, 3, 4), (4, 5)]),
    ("...i,...i->...", [(2, 1, 3), (4, 3)]), ("...ii->...i", [(2, 3, 3)]), ("ij->", [(3, 4)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]), ("ij,ij->", [(3, 4), (3, 4)]), ("bi,bi->b", [(6, 4), (6, 4)]),
    ("ij,kj->ik", [(3, 4), (5, 4)]), ("ijk,ikl,lm->im", [(2, 3, 4), (2, 4, 5), (5, 6)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("iij->j", [(3, 3, 2)]), ("ab,b->a", [(3, 4), (4,)]),
    ("bA", [(2, 3)]), ("Ab,bC->AC", [(2, 3), (3, 4)]), ("i,i->i", [(4,), (4,)]), ("ijk->kji", [(2, 3, 4)]),
    (",ij->ij", [(), (2, 3)]), ("->", [()]), ("ij,jk->ik", [(3, 0), (0, 2)]), ("i j , j k -> i k", [(3, 4), (4, 5)]),
    ("ij,jk->ki", [(3, 4), (4, 5)]), ("ijk,jk->i", [(2, 3, 4), (3, 4)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum_float64(eq, shapes, rng):
    arrays = [random_array(rng, s, np.float64) for s in shapes]
    out = lamina.einsum(eq, *[lt(x) for x in arrays])
    ref = np.einsum(eq.replace(" ", ""), *arrays)
    assert out.shape == ref.shape
    assert out.dtype == lamina.float64
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("npdt", [np.float32, np.int32, np.int64, np.int8])
@pytest.mark.parametrize("eq,shapes", [("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)]),
                                       ("ij->j", [(3, 4)]), ("i,i->", [(6,), (6,)]), ("ij,ij->i", [(3, 4), (3, 4)])])
def test_einsum_dtypes(eq, shapes, npdt, rng):
    arrays = [random_array(rng, s, npdt) for s in shapes]
    out = lamina.einsum(eq, *[lt(x) for x in arrays])
    ref = np.einsum(eq, *arrays)
    assert out.numpy().dtype == ref.dtype  # the operands' dtype, as NumPy keeps it
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-5, atol=1e-5)


def test_einsum_views_lists_and_promotion(rng):
    a = random_array(rng, (5, 6), np.float64)
    ta = lt(a)
    # Transposed and stepped operands.
    np.testing.assert_allclose(lamina.einsum("ij,jk->ik", ta.T, ta).numpy(), a.T @ a, rtol=1e-12)
    np.testing.assert_allclose(lamina.einsum("ii->i", ta[:, ::-1][:, :5]).numpy(), np.diag(a[:, ::-1][:, :5]), rtol=1e-12)
    np.testing.assert_allclose(lamina.einsum("ij,j->i", ta[::2], ta[0]).numpy(), a[::2] @ a[0], rtol=1e-12)
    # Operands as one list, like torch.einsum accepts.
    np.testing.assert_allclose(lamina.einsum("ij,jk", [ta, ta.T]).numpy(), a @ a.T, rtol=1e-12)
    # Mixed dtypes promote; half types compute.
    assert lamina.einsum("i,i->", lamina.ones(3), lamina.ones(3, dtype=lamina.float64)).dtype == lamina.float64
    h = ta.to(lamina.float16)
    out = lamina.einsum("ij,kj->ik", h, h)
    assert out.dtype == lamina.float16
    np.testing.assert_allclose(out.float().numpy(), a @ a.T, rtol=2e-2, atol=5e-2)
    # A relabeling returns a new tensor.
    same = lamina.einsum("ij->ij", ta)
    same[0, 0] = 100.0
    assert ta[0, 0].item() == a[0, 0]


def test_einsum_errors():
    a = lamina.ones(2, 3)
    with pytest.raises(lamina.ValueError, match=r"\[einsum\].*1 operand term\(s\) but 2"):
        lamina.einsum("ij", a, a)
    with pytest.raises(lamina.ValueError, match=r"\[einsum\].*2 operand term\(s\) but 1"):
        lamina.einsum("ij,jk->ik", a)
    with pytest.raises(lamina.ValueError, match=r"\[einsum\]"):
        lamina.einsum("ij")
    with pytest.raises(lamina.ValueError, match=r"\[einsum\] invalid subscript '1'"):
        lamina.einsum("i1->i", a)
    with pytest.raises(lamina.ValueError, match=r"\[einsum\].*does not appear"):
        lamina.einsum("ij->k", a)
    with pytest.raises(lamina.ValueError, match=r"\[einsum\].*more than once"):
        lamina.einsum("ij->ii", a)
    with pytest.raises(lamina.ValueError, match=r"\[einsum\].*3 subscript"):
        lamina.einsum("ijk->i", a)
    with pytest.raises(lamina.ValueError, match=r"\[einsum\]"):
        lamina.einsum("ij->j->i", a)
    with pytest.raises(lamina.ValueError, match=r"\[einsum\].*more than one ellipsis"):
        lamina.einsum("...i...->i", a)
    with pytest.raises(lamina.ValueError, match=r"\[einsum\]"):
        lamina.einsum("i.j->i", a)
    with pytest.raises(lamina.ShapeError, match=r"\[einsum\] subscript 'j' has size 4"):
        lamina.einsum("ij,jk->ik", a, lamina.ones(4, 2))
    with pytest.raises(lamina.ShapeError, match=r"\[einsum\].*repeated"):
        lamina.einsum("ii->i", a)
    with pytest.raises(lamina.ShapeError, match=r"\[einsum\]"):
        lamina.einsum("...i,...i->...", lamina.ones(2, 3), lamina.ones(4, 3))
    with pytest.raises(lamina.DTypeError, match=r"\[einsum\].*bool"):
        lamina.einsum("ij->ji", lamina.ones(2, 2, dtype=lamina.bool))
    with pytest.raises(lamina.DTypeError, match=r"\[einsum\]"):
        lamina.einsum("ij->ji", [[1.0, 2.0]])
