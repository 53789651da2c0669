"""Indexing on a CUDA device against the same ops on the CPU: gather / scatter (every reduce mode),
index_select, take, advanced indexing read and write (index_put_ with accumulate), masks and
nonzero, embedding forward and backward; dtypes, strided operands, empty and odd sizes, and the
IndexError an out-of-range index raises (checked on the device before anything is written).
Float accumulation (scatter_add, index_put_ with accumulate, embedding backward) is deterministic
and matches the CPU bit for bit.
Skipped where no GPU is usable."""
import numpy as np
import pytest

import lamina
from conftest import random_array, to_np

pytestmark = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")

DTYPES = [lamina.float32, lamina.float64, lamina.float16, lamina.bfloat16, lamina.int64, lamina.int32, lamina.int8,
          lamina.uint8, lamina.bool]


def pair(rng, shape, dtype):
    """The same random values on the CPU and on the GPU."""
    np_dtype = np.float32 if dtype == lamina.bfloat16 else {lamina.float32: np.float32, lamina.float64: np.float64,
                                                               lamina.float16: np.float16, lamina.int64: np.int64,
                                                               lamina.int32: np.int32, lamina.int8: np.int8,
                                                               lamina.uint8: np.uint8, lamina.bool: np.bool_}[dtype]
    c = lamina.tensor(random_array(rng, shape, np_dtype)).to(dtype)
    return c, c.to("cuda")


def same(gpu, cpu):
    assert gpu.device.type == "cuda"
    assert gpu.dtype == cpu.dtype and tuple(gpu.shape) == tuple(cpu.shape)
    np.testing.assert_array_equal(to_np(gpu.cpu()), to_np(cpu))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gather_and_index_select(rng, dtype):
    c, g = pair(rng, (6, 9), dtype)
    idx = lamina.tensor(rng.integers(0, 9, (6, 13)))
    same(lamina.gather(g, 1, idx.to("cuda")), lamina.gather(c, 1, idx))
    same(lamina.gather(g.t(), 0, idx.t().contiguous().to("cuda")[:9]), lamina.gather(c.t(), 0, idx.t().contiguous()[:9]))
    sel = lamina.tensor(rng.integers(0, 6, 11))
    same(lamina.index_select(g, 0, sel.to("cuda")), lamina.index_select(c, 0, sel))
    same(lamina.index_select(g, 1, sel.to(lamina.int32).to("cuda")), lamina.index_select(c, 1, sel.to(lamina.int32)))
    same(lamina.take(g, lamina.tensor([[0, -1], [53, 7]]).to("cuda")), lamina.take(c, lamina.tensor([[0, -1], [53, 7]])))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduce", [None, "add", "multiply"])
def test_scatter_modes(rng, dtype, reduce):
    c, g = pair(rng, (5, 7), dtype)
    # Unique targets along dim 0 for assignment (the winner among repeats is unspecified on CUDA).
    idx = np.stack([rng.permutation(5)[:4] for _ in range(7)], axis=1)
    if reduce is not None:
        idx = rng.integers(0, 5, (9, 7))
    idx = lamina.tensor(idx)
    sc, sg = pair(rng, (idx.shape[0], 7), dtype)
    kw = {} if reduce is None else {"reduce": reduce}
    want = lamina.scatter(c, 0, idx, sc, **kw)
    got = lamina.scatter(g, 0, idx.to("cuda"), sg, **kw)
    same(got, want)  # float accumulation runs in the CPU's order (index.cu), so the bits agree


def test_scatter_add_many_repeats_float(rng):
    x = lamina.zeros(3, device="cuda")
    idx = lamina.tensor(rng.integers(0, 3, 100000)).to("cuda")
    src = lamina.ones(100000, device="cuda")
    out = lamina.scatter_add(x, 0, idx, src).cpu().numpy()
    np.testing.assert_array_equal(out, np.bincount(idx.cpu().numpy(), minlength=3).astype(np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_advanced_indexing_read_write(rng, dtype):
    c, g = pair(rng, (4, 5, 6), dtype)
    i = lamina.tensor([[0, -1], [2, 3]])
    j = lamina.tensor([1, 4])
    same(g[i.to("cuda"), :, j.to("cuda")], c[i, :, j])
    same(g[1:, j.to("cuda")], c[1:, j])
    mask = lamina.tensor(rng.random((4, 5)) > 0.5)
    same(g[mask.to("cuda")], c[mask])
    v_c, v_g = pair(rng, (2, 6), dtype)
    c2, g2 = c.clone(), g.clone()
    c2[lamina.tensor([3, 0]), lamina.tensor([4, 2])] = v_c
    g2[lamina.tensor([3, 0]).to("cuda"), lamina.tensor([4, 2]).to("cuda")] = v_g
    same(g2, c2)


@pytest.mark.parametrize("dtype", [lamina.float32, lamina.float64, lamina.float16, lamina.bfloat16, lamina.int64,
                                   lamina.int32, lamina.int8])
def test_index_put_accumulate(rng, dtype):
    c, g = pair(rng, (6, 3), dtype)
    idx = lamina.tensor(rng.integers(0, 6, 50))
    v_c, v_g = pair(rng, (50, 3), dtype)
    want = lamina.index_put(c, (idx,), v_c, accumulate=True)
    got = lamina.index_put(g, (idx.to("cuda"),), v_g, accumulate=True)
    same(got, want)


@pytest.mark.parametrize("shape", [(0,), (1,), (7,), (3, 0, 2), (5, 7, 3), (257, 33)])
def test_masks_and_nonzero(rng, shape):
    c = lamina.tensor(rng.random(shape) > 0.6)
    g = c.to("cuda")
    same(lamina.nonzero(g), lamina.nonzero(c))
    x_c, x_g = pair(rng, shape, lamina.float32)
    same(lamina.masked_select(x_g, g), lamina.masked_select(x_c, c))
    same(lamina.masked_fill(x_g, g, 2.5), lamina.masked_fill(x_c, c, 2.5))
    if len(shape) == 2:  # a non-contiguous mask
        same(lamina.nonzero(g.t()), lamina.nonzero(c.t()))


def test_nonzero_0d_and_int_input():
    same(lamina.nonzero(lamina.tensor(3).to("cuda")), lamina.nonzero(lamina.tensor(3)))
    same(lamina.nonzero(lamina.tensor(0).to("cuda")), lamina.nonzero(lamina.tensor(0)))
    t = lamina.tensor([[0, 2, 0], [1, 0, -3]])
    same(lamina.nonzero(t.to("cuda")), lamina.nonzero(t))


def test_empty_indices(rng):
    c, g = pair(rng, (4, 3), lamina.float32)
    empty = lamina.zeros(0, dtype=lamina.int64)
    same(lamina.index_select(g, 0, empty.to("cuda")), lamina.index_select(c, 0, empty))
    same(g[empty.to("cuda")], c[empty])


@pytest.mark.parametrize("call", [
    lambda x, d: lamina.gather(x, 0, lamina.tensor([[0, 4, 0]]).to(d)),
    lambda x, d: lamina.index_select(x, 0, lamina.tensor([-1]).to(d)),
    lambda x, d: x[lamina.tensor([4]).to(d)],
    lambda x, d: x[lamina.tensor([-5]).to(d)],
    lambda x, d: lamina.scatter(x, 0, lamina.tensor([[7, 0, 0]]).to(d), lamina.ones(1, 3).to(d)),
])
def test_out_of_range_raises_index_error_like_cpu(call):
    x = lamina.arange(12.0).reshape(4, 3)
    with pytest.raises(IndexError) as cpu_err:
        call(x, "cpu")
    g = x.to("cuda")
    before = g.cpu().numpy().copy()
    with pytest.raises(IndexError) as gpu_err:
        call(g, "cuda")
    assert str(gpu_err.value) == str(cpu_err.value)
    np.testing.assert_array_equal(g.cpu().numpy(), before)  # nothing was written


def test_index_put_out_of_range_leaves_tensor_unchanged():
    g = lamina.zeros(4, 3, device="cuda")
    with pytest.raises(IndexError):
        g[lamina.tensor([1, 9]).to("cuda")] = 1.0
    assert float(g.abs().sum().item()) == 0.0


def test_embedding_forward_backward(rng):
    import lamina.nn.functional as F
    w = rng.standard_normal((11, 5)).astype(np.float32)
    w_c = lamina.tensor(w, requires_grad=True)
    w_g = lamina.tensor(w).to("cuda").requires_grad_(True)
    idx = lamina.tensor(rng.integers(0, 11, (4, 7)))
    out_c, out_g = F.embedding(idx, w_c), F.embedding(idx.to("cuda"), w_g)
    same(out_g, out_c)
    up = lamina.tensor(rng.standard_normal((4, 7, 5)).astype(np.float32))
    (out_c * up).sum().backward()
    (out_g * up.to("cuda")).sum().backward()
    np.testing.assert_array_equal(w_g.grad.cpu().numpy(), w_c.grad.numpy())
    with pytest.raises(IndexError):
        F.embedding(lamina.tensor([11]).to("cuda"), w_g)


def test_gather_backward(rng):
    c = lamina.tensor(rng.standard_normal((4, 6)).astype(np.float32), requires_grad=True)
    g = c.detach().to("cuda").requires_grad_(True)
    idx = lamina.tensor(rng.integers(0, 4, (9, 6)))
    lamina.gather(c, 0, idx).sum().backward()
    lamina.gather(g, 0, idx.to("cuda")).sum().backward()
    np.testing.assert_allclose(g.grad.cpu().numpy(), c.grad.numpy())
