"""sort / argsort / topk on a CUDA device against the CPU: the same values and the same indices
(both sorts are stable with NaN largest and -0 == 0), every dtype, both directions, strided
inputs, odd and empty sizes, many short lines and a few long ones. Skipped where no GPU is usable."""
import numpy as np
import pytest

import lamina
from conftest import random_array, to_np

pytestmark = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")

NP = {lamina.float32: np.float32, lamina.float64: np.float64, lamina.float16: np.float16, lamina.bfloat16: np.float32,
      lamina.int64: np.int64, lamina.int32: np.int32, lamina.int8: np.int8, lamina.uint8: np.uint8,
      lamina.bool: np.bool_}


def make(rng, shape, dtype, ties=True):
    a = random_array(rng, shape, NP[dtype])
    if ties and a.size and a.dtype.kind == "f":
        flat = a.reshape(-1)
        flat[::7] = 0.0
        flat[3::11] = -0.0
        flat[5::13] = np.nan
        flat[2::17] = np.inf
        flat[1::19] = flat[0]
    return lamina.tensor(a).to(dtype)


def same(gpu, cpu):
    assert gpu.device.type == "cuda" and gpu.dtype == cpu.dtype and tuple(gpu.shape) == tuple(cpu.shape)
    np.testing.assert_array_equal(to_np(gpu.cpu()), to_np(cpu))


@pytest.mark.parametrize("dtype", list(NP))
@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("shape,dim", [((37,), 0), ((5, 33), 1), ((33, 5), 0), ((4, 3, 129), -1), ((1, 1), 0)])
def test_sort_matches_cpu(rng, dtype, descending, shape, dim):
    c = make(rng, shape, dtype)
    g = c.to("cuda")
    vc, ic = lamina.sort(c, dim, descending)
    vg, ig = lamina.sort(g, dim, descending)
    same(vg, vc)
    same(ig, ic)
    same(lamina.argsort(g, dim, descending), lamina.argsort(c, dim, descending))


@pytest.mark.parametrize("dtype", [lamina.float32, lamina.float16, lamina.int64, lamina.uint8])
def test_sort_strided_input(rng, dtype):
    c = make(rng, (40, 24), dtype).t()[::2]
    g = lamina.zeros(40, 24, dtype=dtype, device="cuda").t()[::2]
    g.copy_(c.to("cuda"))
    assert not g.is_contiguous()
    for dim in (0, 1):
        for descending in (False, True):
            vc, ic = lamina.sort(c, dim, descending)
            vg, ig = lamina.sort(g, dim, descending)
            same(vg, vc)
            same(ig, ic)


def test_sort_many_short_and_one_long_line(rng):
    c = make(rng, (20000, 3), lamina.float32)
    vc, ic = lamina.sort(c, 1)
    vg, ig = lamina.sort(c.to("cuda"), 1)
    same(vg, vc)
    same(ig, ic)
    long_c = make(rng, (300001,), lamina.float32)
    vc, ic = lamina.sort(long_c, 0, True)
    vg, ig = lamina.sort(long_c.to("cuda"), 0, True)
    same(vg, vc)
    same(ig, ic)


def test_sort_empty_and_0d(rng):
    for shape, dim in [((0,), 0), ((3, 0), 1), ((0, 4), 1)]:
        c = lamina.zeros(*shape)
        vg, ig = lamina.sort(c.to("cuda"), dim)
        assert tuple(vg.shape) == shape and tuple(ig.shape) == shape and vg.device.type == "cuda"
    c = lamina.tensor(2.5)
    vg, ig = lamina.sort(c.to("cuda"))
    same(vg, lamina.sort(c)[0])
    same(ig, lamina.sort(c)[1])


@pytest.mark.parametrize("dtype", [lamina.float32, lamina.float64, lamina.bfloat16, lamina.int32, lamina.int8])
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("k", [0, 1, 5, 50])
def test_topk_matches_cpu(rng, dtype, largest, k):
    c = make(rng, (7, 50), dtype)
    g = c.to("cuda")
    vc, ic = lamina.topk(c, k, 1, largest)
    vg, ig = lamina.topk(g, k, 1, largest)
    same(vg, vc)
    same(ig, ic)
    vc, ic = lamina.topk(c, min(k, 7), 0, largest)
    vg, ig = lamina.topk(g, min(k, 7), 0, largest)
    same(vg, vc)
    same(ig, ic)


def test_topk_k_out_of_range_raises():
    g = lamina.zeros(3, 4, device="cuda")
    with pytest.raises(IndexError):
        lamina.topk(g, 5, 1)


def test_sort_backward(rng):
    c = lamina.tensor(rng.standard_normal((3, 8)).astype(np.float32), requires_grad=True)
    g = c.detach().to("cuda").requires_grad_(True)
    w = lamina.tensor(rng.standard_normal((3, 8)).astype(np.float32))
    (lamina.sort(c, 1)[0] * w).sum().backward()
    (lamina.sort(g, 1)[0] * w.to("cuda")).sum().backward()
    np.testing.assert_array_equal(g.grad.cpu().numpy(), c.grad.numpy())
