"""Matrix products on a CUDA device (cuBLASLt) against the CPU: matmul/mm/bmm/linear in float32,
float64, float16 and bfloat16, transposed, strided and broadcast operands, autograd, and the
TF32 switch. Skipped where no GPU is usable."""
import numpy as np
import pytest

import lamina
import lamina.nn.functional as F

pytestmark = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")

TOL = {"float32": 1e-4, "float64": 1e-10, "float16": 1e-2, "bfloat16": 3e-2}


def lt(a, dtype="float32"):
    return lamina.from_numpy(np.array(a, dtype=np.float64, order="C")).to(getattr(lamina, dtype))


def host(t):
    return t.cpu().double().numpy()


def check(out, ref, dtype):
    tol = TOL[dtype]
    scale = max(1.0, float(np.abs(ref).max())) if ref.size else 1.0
    np.testing.assert_allclose(host(out), ref, rtol=tol, atol=tol * scale)


SHAPES = [((3, 4), (4, 5)), ((64, 96), (96, 33)), ((7,), (7, 3)), ((5, 7), (7,)), ((2, 3, 4), (4, 5)),
          ((4, 2, 3, 8), (4, 1, 8, 6)), ((3, 5), (2, 5, 4)), ((1, 1), (1, 1)), ((0, 3), (3, 2)), ((2, 0), (0, 3))]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_matmul_matches_cpu(sa, sb, dtype, rng):
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    ca, cb = lt(a, dtype), lt(b, dtype)
    out = ca.cuda() @ cb.cuda()
    assert out.device.type == "cuda" and out.dtype == getattr(lamina, dtype)
    check(out, host(ca) @ host(cb), dtype)


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_integer_matmul_matches_cpu_bit_for_bit(sa, sb, dtype, rng):
    hi = {"int64": 2 ** 40, "int32": 2 ** 20, "int8": 100, "uint8": 200}[dtype]
    lo = 0 if dtype == "uint8" else -hi
    ca = lamina.randint(lo, hi, sa, dtype=getattr(lamina, dtype), device="cpu")
    cb = lamina.randint(lo, hi, sb, dtype=getattr(lamina, dtype), device="cpu")
    want = (ca @ cb).numpy()
    np.testing.assert_array_equal((ca.cuda() @ cb.cuda()).cpu().numpy(), want)
    if ca.dim() == 2 and cb.dim() == 2:  # transposed operands
        np.testing.assert_array_equal((ca.t().contiguous().cuda().t() @ cb.cuda()).cpu().numpy(), want)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_transposed_and_strided_operands(dtype, rng):
    a, b = rng.standard_normal((6, 40, 24)), rng.standard_normal((6, 40, 24))
    ga, gb = lt(a, dtype).cuda(), lt(b, dtype).cuda()
    ha, hb = host(ga), host(gb)
    check(ga @ gb.transpose(1, 2), ha @ np.swapaxes(hb, 1, 2), dtype)      # B column-major
    check(ga.transpose(1, 2) @ gb, np.swapaxes(ha, 1, 2) @ hb, dtype)      # A column-major
    check(ga[:, ::2, ::3] @ gb[:, ::3, ::2].transpose(1, 2),               # neither stride 1: copied
          ha[:, ::2, ::3] @ np.swapaxes(hb[:, ::3, ::2], 1, 2), dtype)
    check(ga[::2] @ gb[1::2].transpose(1, 2), ha[::2] @ np.swapaxes(hb[1::2], 1, 2), dtype)  # batch stride
    check(ga[:, :, :8] @ gb[:, :8, :], ha[:, :, :8] @ hb[:, :8, :], dtype)  # padded leading dims
    check(ga.permute(1, 0, 2)[:6] @ gb[0].t(), np.swapaxes(ha, 0, 1)[:6] @ hb[0].T, dtype)  # non-uniform batch


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_mm_bmm_linear_and_gradients(dtype, rng):
    x, w, b = rng.standard_normal((4, 9, 16)), rng.standard_normal((12, 16)), rng.standard_normal(12)
    gx, gw, gb = (lt(t, dtype).cuda().requires_grad_(True) for t in (x, w, b))
    out = F.linear(gx, gw, gb)
    hx, hw, hb = host(gx), host(gw), host(gb)
    check(out, hx @ hw.T + hb, dtype)
    go = rng.standard_normal(out.shape)
    (out.float() * lt(go).cuda()).sum().backward()
    go16 = host(lt(go, dtype))
    check(gx.grad, go16 @ hw, dtype)
    check(gw.grad, np.einsum("bto,bti->oi", go16, hx), dtype)
    check(gb.grad, go16.sum((0, 1)), dtype)
    a, c = lt(rng.standard_normal((3, 5, 7)), dtype).cuda(), lt(rng.standard_normal((3, 7, 2)), dtype).cuda()
    check(lamina.bmm(a, c), host(a) @ host(c), dtype)
    check(lamina.mm(a[0], c[0]), host(a)[0] @ host(c)[0], dtype)


def test_tf32_flag_changes_float32_products_only_when_set(rng):
    a, b = lt(rng.standard_normal((256, 512))).cuda(), lt(rng.standard_normal((512, 256))).cuda()
    ref = host(a) @ host(b)
    flags = lamina.backends.cuda.matmul
    assert flags.allow_tf32 is False
    exact = host(a @ b)
    np.testing.assert_allclose(exact, ref, rtol=1e-4, atol=1e-3)
    try:
        flags.allow_tf32 = True
        fast = host(a @ b)
    finally:
        flags.allow_tf32 = False
    # TF32 keeps 10 mantissa bits: close, but not float32-accurate.
    np.testing.assert_allclose(fast, ref, rtol=5e-2, atol=5e-1)
    assert np.abs(fast - ref).max() > np.abs(exact - ref).max()
    np.testing.assert_array_equal(host(a @ b), exact)


def test_einsum_and_mixed_devices_rejected(rng):
    a, b = lt(rng.standard_normal((2, 3, 4))).cuda(), lt(rng.standard_normal((2, 4, 5))).cuda()
    check(lamina.einsum("bij,bjk->bik", a, b), host(a) @ host(b), "float32")
    with pytest.raises(lamina.DeviceMismatchError):
        a @ b.cpu()
