"""Convolution and pooling on a CUDA device against the same ops on the CPU: conv1d/conv2d
forward and backward (stride, padding, dilation, groups), float32/float16/bfloat16, max and
average pooling with gradients. Skipped where no GPU is usable."""
import numpy as np
import pytest

import lamina
import lamina.nn.functional as F

pytestmark = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")

TOL = {"float32": 1e-4, "float16": 2e-2, "bfloat16": 5e-2}


def lt(a, dtype="float32"):
    return lamina.from_numpy(np.array(a, dtype=np.float64, order="C")).to(getattr(lamina, dtype))


def host(t):
    return t.cpu().double().numpy()


def close(a, b, dtype):
    tol = TOL[dtype]
    scale = max(1.0, float(np.abs(b).max())) if b.size else 1.0
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale)


def both(arrays, dtype):
    """The inputs as leaf tensors on the CPU (float32 reference) and on the GPU (dtype)."""
    cpu = [lt(a, dtype).float().requires_grad_(True) for a in arrays]
    gpu = [lt(a, dtype).cuda().requires_grad_(True) for a in arrays]
    return cpu, gpu


CONV2D = [dict(stride=1, padding=0, dilation=1, groups=1), dict(stride=2, padding=1, dilation=1, groups=1),
          dict(stride=1, padding=2, dilation=2, groups=1), dict(stride=(2, 1), padding=(1, 0), dilation=1, groups=2),
          dict(stride=1, padding=1, dilation=1, groups=4)]


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("cfg", CONV2D)
def test_conv2d_forward_backward(cfg, dtype, rng):
    g = cfg["groups"]
    x, w, b = rng.standard_normal((2, 4, 9, 11)), rng.standard_normal((8, 4 // g, 3, 3)), rng.standard_normal(8)
    (cx, cw, cb), (gx, gw, gb) = both([x, w, b], dtype)
    ref = F.conv2d(cx, cw, cb, **cfg)
    out = F.conv2d(gx, gw, gb, **cfg)
    assert out.device.type == "cuda" and out.dtype == getattr(lamina, dtype)
    close(host(out), host(ref), dtype)
    go = rng.standard_normal(ref.shape)
    (ref * lt(go)).sum().backward()
    (out.float() * lt(go).cuda()).sum().backward()
    for c, d in ((cx, gx), (cw, gw), (cb, gb)):
        close(host(d.grad), host(c.grad), dtype)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_conv1d_forward_backward(dtype, rng):
    x, w = rng.standard_normal((3, 6, 17)), rng.standard_normal((4, 3, 5))
    (cx, cw), (gx, gw) = both([x, w], dtype)
    ref = F.conv1d(cx, cw, None, stride=2, padding=2, dilation=1, groups=2)
    out = F.conv1d(gx, gw, None, stride=2, padding=2, dilation=1, groups=2)
    close(host(out), host(ref), dtype)
    ref.sum().backward()
    out.float().sum().backward()
    close(host(gx.grad), host(cx.grad), dtype)
    close(host(gw.grad), host(cw.grad), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("k,s,p,d", [(2, 2, 0, 1), (3, 2, 1, 1), (3, 1, 1, 2)])
def test_max_pool2d_forward_backward(k, s, p, d, dtype, rng):
    x = rng.standard_normal((2, 3, 10, 9))
    (cx,), (gx,) = both([x], dtype)
    ref = F.max_pool2d(cx, k, s, p, d)
    out = F.max_pool2d(gx, k, s, p, d)
    close(host(out), host(ref), dtype)
    go = rng.standard_normal(ref.shape)
    (ref * lt(go)).sum().backward()
    (out.float() * lt(go).cuda()).sum().backward()
    close(host(gx.grad), host(cx.grad), dtype)


def test_avg_and_adaptive_pooling(rng):
    x = rng.standard_normal((2, 3, 8, 7))
    (cx,), (gx,) = both([x], "float32")
    for fn in (lambda t: F.avg_pool2d(t, 3, 2, 1), lambda t: F.avg_pool2d(t, 2, 2, 0, count_include_pad=False),
               lambda t: F.adaptive_avg_pool2d(t, (3, 2))):
        ref, out = fn(cx), fn(gx)
        close(host(out), host(ref), "float32")
        ref.sum().backward()
        out.sum().backward()
    close(host(gx.grad), host(cx.grad), "float32")


def test_conv_transpose2d_and_conv_module(rng):
    x, w = rng.standard_normal((2, 4, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    (cx, cw), (gx, gw) = both([x, w], "float32")
    close(host(F.conv_transpose2d(gx, gw, None, 2, 1, 1)), host(F.conv_transpose2d(cx, cw, None, 2, 1, 1)), "float32")
    conv = lamina.nn.Conv2d(4, 6, 3, padding=1)
    ref = conv(cx)
    conv.cuda()
    close(host(conv(gx)), host(ref), "float32")
