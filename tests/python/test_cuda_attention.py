"""Fused scaled-dot-product attention on a CUDA device against the composite CPU path: forward
and backward in float32/float16/bfloat16, causal masks, odd and unequal lengths, head dims up to
128, and the composite fallback for masks and dropout. Skipped where no GPU is usable."""
import numpy as np
import pytest

import lamina
from lamina import _lamina

pytestmark = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")

sdpa = getattr(lamina.nn.functional, "scaled_dot_product_attention",
               _lamina._nn.functional.scaled_dot_product_attention)
TOL = {"float32": 2e-4, "float16": 2e-2, "bfloat16": 6e-2}


def lt(a, dtype="float32"):
    return lamina.from_numpy(np.array(a, dtype=np.float64, order="C")).to(getattr(lamina, dtype))


def host(t):
    return t.cpu().double().numpy()


def close(a, b, dtype):
    tol = TOL[dtype]
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max())))


SHAPES = [((2, 4, 64, 32), 64), ((1, 2, 37, 16), 53), ((3, 1, 53, 64), 37), ((2, 3, 1, 8), 130),
          ((1, 1, 129, 128), 129), ((5, 17, 40), 17)]


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("qshape,s", SHAPES)
def test_fused_attention_matches_cpu(qshape, s, causal, dtype, rng):
    kshape = qshape[:-2] + (s, qshape[-1])
    arrays = [rng.standard_normal(qshape), rng.standard_normal(kshape), rng.standard_normal(kshape)]
    cpu = [lt(a, dtype).float().requires_grad_(True) for a in arrays]
    gpu = [lt(a, dtype).cuda().requires_grad_(True) for a in arrays]
    ref = sdpa(*cpu, is_causal=causal)
    out = sdpa(*gpu, is_causal=causal)
    assert out.device.type == "cuda" and out.dtype == getattr(lamina, dtype) and out.shape == ref.shape
    close(host(out), host(ref), dtype)
    go = rng.standard_normal(ref.shape)
    (ref * lt(go)).sum().backward()
    (out.float() * lt(go).cuda()).sum().backward()
    for c, g in zip(cpu, gpu):
        close(host(g.grad), host(c.grad), dtype)


def test_transposed_inputs_and_scale(rng):
    q = lt(rng.standard_normal((2, 24, 4, 16))).cuda().transpose(1, 2)  # (N, heads, L, E) as a view
    k = lt(rng.standard_normal((2, 30, 4, 16))).cuda().transpose(1, 2)
    out = sdpa(q, k, k, scale=0.5)
    ref = sdpa(q.cpu(), k.cpu(), k.cpu(), scale=0.5)
    close(host(out), host(ref), "float32")


def test_masks_dropout_and_large_heads_use_the_composite_path(rng):
    q, k = lt(rng.standard_normal((2, 6, 8))), lt(rng.standard_normal((2, 9, 8)))
    keep = lt(rng.random((6, 9)) > 0.3).to(lamina.bool)
    keep[:, 0] = True
    close(host(sdpa(q.cuda(), k.cuda(), k.cuda(), attn_mask=keep.cuda())), host(sdpa(q, k, k, attn_mask=keep)),
          "float32")
    big = lt(rng.standard_normal((1, 5, 160)))
    close(host(sdpa(big.cuda(), big.cuda(), big.cuda())), host(sdpa(big, big, big)), "float32")
    out = sdpa(q.cuda(), k.cuda(), k.cuda(), dropout_p=0.3)
    assert out.shape == (2, 6, 8)


def test_double_backward_through_the_fused_kernel(rng):
    q = lt(rng.standard_normal((1, 7, 8))).cuda().requires_grad_(True)
    k = lt(rng.standard_normal((1, 5, 8))).cuda().requires_grad_(True)
    out = sdpa(q, k, k)
    (gq,) = lamina.autograd.grad(out.sum(), [q], create_graph=True)
    gq.sum().backward()
    qc = lt(host(q)).requires_grad_(True)
    kc = lt(host(k)).requires_grad_(True)
    (gqc,) = lamina.autograd.grad(sdpa(qc, kc, kc).sum(), [qc], create_graph=True)
    gqc.sum().backward()
    close(host(gq), host(gqc), "float32")
    close(host(k.grad), host(kc.grad), "float32")
