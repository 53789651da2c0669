"""scaled_dot_product_attention on the CPU (the composite path) against a NumPy reference with
its analytic gradients, and the lamina.backends.cuda.matmul.allow_tf32 flag."""
import numpy as np
import pytest

import lamina
from lamina import _lamina

# lamina.nn.functional re-exports the binding; before that, the binding itself.
sdpa = getattr(lamina.nn.functional, "scaled_dot_product_attention",
               _lamina._nn.functional.scaled_dot_product_attention)


def lt(a, grad=False):
    t = lamina.from_numpy(np.array(a, order="C"))
    if grad:
        t.requires_grad_(True)
    return t


def reference(q, k, v, mask=None, causal=False, scale=None):
    """Output and the probabilities of softmax(q k^T * scale + bias) v in float64."""
    scale = 1.0 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = np.matmul(q, np.swapaxes(k, -1, -2)) * scale
    if causal:
        keep = np.tril(np.ones((q.shape[-2], k.shape[-2]), dtype=bool))
        s = np.where(keep, s, -np.inf)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == np.bool_ else s + mask
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p = p / p.sum(axis=-1, keepdims=True)
    return np.matmul(p, v), p, scale


def sum_to(a, shape):
    """a summed over the dims it was broadcast along to reach `shape`."""
    lead = a.ndim - len(shape)
    a = a.sum(axis=tuple(range(lead))) if lead else a
    return a.sum(axis=tuple(i for i, s in enumerate(shape) if s == 1 and a.shape[i] != 1), keepdims=True)


def reference_grads(q, k, v, p, go, scale):
    dv = np.matmul(np.swapaxes(p, -1, -2), go)
    dp = np.matmul(go, np.swapaxes(v, -1, -2))
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    return np.matmul(ds, k) * scale, np.matmul(np.swapaxes(ds, -1, -2), q) * scale, dv


CASES = [((2, 3, 5, 4), (2, 3, 7, 4), 4, False), ((2, 3, 7, 8), (2, 3, 7, 8), 8, True),
         ((1, 9, 6), (1, 4, 6), 5, True), ((4, 6), (3, 6), 2, False), ((2, 1, 5, 4), (3, 6, 4), 4, False)]


@pytest.mark.parametrize("qs,ks,ev,causal", CASES)
def test_sdpa_matches_numpy_with_gradients(qs, ks, ev, causal, rng):
    q, k = rng.standard_normal(qs), rng.standard_normal(ks)
    v = rng.standard_normal(ks[:-1] + (ev,))
    lq, lk, lv = lt(q, True), lt(k, True), lt(v, True)
    out = sdpa(lq, lk, lv, is_causal=causal)
    ref, p, scale = reference(q, k, v, causal=causal)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-12)
    go = rng.standard_normal(ref.shape)
    (out * lt(go)).sum().backward()
    dq, dk, dv = reference_grads(q, k, v, p, go, scale)
    # Broadcast batch dims sum the gradient back to each input's shape.
    for t, ref_grad in ((lq, dq), (lk, dk), (lv, dv)):
        np.testing.assert_allclose(t.grad.numpy(), sum_to(ref_grad, t.shape), rtol=1e-9, atol=1e-11)


def test_sdpa_masks_and_scale(rng):
    q, k, v = rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 6, 4)), rng.standard_normal((2, 6, 3))
    keep = rng.random((5, 6)) > 0.3
    keep[:, 0] = True  # no fully masked row
    out = sdpa(lt(q), lt(k), lt(v), attn_mask=lt(keep))
    np.testing.assert_allclose(out.numpy(), reference(q, k, v, mask=keep)[0], rtol=1e-10, atol=1e-12)
    bias = rng.standard_normal((2, 1, 6))
    out = sdpa(lt(q), lt(k), lt(v), attn_mask=lt(bias), scale=0.3)
    np.testing.assert_allclose(out.numpy(), reference(q, k, v, mask=bias, scale=0.3)[0], rtol=1e-10, atol=1e-12)


def test_sdpa_float32_and_no_dropout_by_default(rng):
    q = rng.standard_normal((3, 8, 16)).astype(np.float32)
    out = sdpa(lt(q), lt(q), lt(q))
    assert out.dtype == lamina.float32
    np.testing.assert_allclose(out.numpy(), reference(q, q, q)[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(sdpa(lt(q), lt(q), lt(q)).numpy(), out.numpy())


def test_sdpa_dropout_changes_the_result(rng):
    q = rng.standard_normal((2, 16, 8))
    lamina.manual_seed(0)
    dropped = sdpa(lt(q), lt(q), lt(q), dropout_p=0.5).numpy()
    assert not np.allclose(dropped, reference(q, q, q)[0])


def test_sdpa_errors(rng):
    q = lt(rng.standard_normal((2, 3, 4)))
    with pytest.raises(lamina.ConfigError):
        sdpa(q, q, q, attn_mask=lt(np.ones((3, 3), dtype=bool)), is_causal=True)
    with pytest.raises(lamina.ShapeError):
        sdpa(q, lt(rng.standard_normal((2, 3, 5))), q)
    with pytest.raises(lamina.ShapeError):
        sdpa(q, q, lt(rng.standard_normal((2, 4, 4))))
    with pytest.raises(lamina.DTypeError):
        sdpa(q, q.float(), q)
    with pytest.raises(lamina.ConfigError):
        sdpa(q, q, q, dropout_p=1.5)


def test_allow_tf32_flag():
    flags = lamina.backends.cuda.matmul
    assert flags.allow_tf32 is False
    try:
        flags.allow_tf32 = True
        assert lamina.backends.cuda.matmul.allow_tf32 is True
        assert _lamina._backends.allow_tf32() is True
    finally:
        flags.allow_tf32 = False
    assert flags.allow_tf32 is False
    assert "allow_tf32=False" in repr(flags)


FUSED_CASES = [((2, 4, 33, 16), 33, False), ((2, 4, 130, 32), 130, True), ((3, 70, 8), 20, True),
               ((1, 2, 9, 64), 200, False), ((1, 1, 1, 1), 1, True), ((2, 65, 4), 65, True)]


def fused_graph(out):
    """True when out came from the fused kernel (its backward node sits under the reshape)."""
    seen, todo = set(), [out.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if node.name() == "ScaledDotProductFlashAttentionBackward0":
            return True
        todo.extend(fn for fn, _ in node.next_functions)
    return False


@pytest.mark.parametrize("qs,s,causal", FUSED_CASES)
def test_sdpa_fused_cpu_float32_matches_float64(qs, s, causal, rng):
    # float32 on the CPU takes the fused kernel (query blocks of 64 rows, causal by index):
    # values and gradients against the float64 reference, inputs as non-contiguous views.
    ks = qs[:-2] + (s, qs[-1])
    q, k, v = rng.standard_normal(qs), rng.standard_normal(ks), rng.standard_normal(ks)
    views = [lamina.from_numpy(np.swapaxes(a, -1, -2).astype(np.float32).copy()).transpose(-1, -2) for a in (q, k, v)]
    for t in views:
        t.requires_grad_(True)
    out = sdpa(*views, is_causal=causal)
    assert out.dtype == lamina.float32 and fused_graph(out)
    ref, p, scale = reference(q, k, v, causal=causal)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-4, atol=2e-5)
    go = rng.standard_normal(ref.shape)
    (out * lt(go.astype(np.float32))).sum().backward()
    for t, want in zip(views, reference_grads(q, k, v, p, go, scale)):
        np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-3, atol=2e-4)


def test_sdpa_fused_cpu_edges(rng):
    # No keys: zeros (as the composite path's empty softmax times no values); no queries: empty;
    # a NaN score poisons only its own row; float64, masks and dropout keep the composite path.
    q = lt(rng.standard_normal((2, 3, 4)).astype(np.float32), True)
    empty_k = lt(np.zeros((2, 0, 4), np.float32), True)
    out = sdpa(q, empty_k, empty_k)
    np.testing.assert_array_equal(out.detach().numpy(), np.zeros((2, 3, 4), np.float32))
    out.sum().backward()
    np.testing.assert_array_equal(q.grad.numpy(), np.zeros((2, 3, 4), np.float32))
    assert sdpa(lt(np.zeros((2, 0, 4), np.float32)), q, q).shape == (2, 0, 4)
    qn = rng.standard_normal((1, 4, 4)).astype(np.float32)
    qn[0, 1, 0] = np.nan
    out = sdpa(lt(qn), lt(qn[:, :, :]), lt(np.ones((1, 4, 4), np.float32)), is_causal=True).numpy()
    assert np.isnan(out[0, 1:]).all() and not np.isnan(out[0, 0]).any()
    q64 = lt(rng.standard_normal((2, 3, 4)), True)
    assert not fused_graph(sdpa(q64, q64, q64))
    qf = lt(rng.standard_normal((2, 3, 4)).astype(np.float32), True)
    assert not fused_graph(sdpa(qf, qf, qf, attn_mask=lt(np.ones((3, 3), bool))))
    assert not fused_graph(sdpa(qf, qf, qf, dropout_p=0.5))


@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_fused_cpu_reads_projection_layouts(causal, rng):
    # The transformer's layout: q, k, v are heads of one (B, T, 3C) projection seen as
    # (B, H, T, E) (row stride 3C, head stride E). The kernel reads them in place, writes the
    # output as a (B, T, H, E) buffer (so the transpose back is a view) and the gradients in
    # the same head-inner layout; values and gradients against the float64 reference.
    b, t, h, e = 3, 70, 4, 8
    qkv = lt(rng.standard_normal((b, t, 3 * h * e)).astype(np.float32), True)
    q, k, v = (x.reshape(b, t, h, e).transpose(1, 2) for x in qkv.split(h * e, dim=2))
    out = sdpa(q, k, v, is_causal=causal)
    assert fused_graph(out) and out.shape == (b, h, t, e)
    assert out.transpose(1, 2).is_contiguous()
    arrays = [a.detach().numpy().astype(np.float64) for a in (q, k, v)]
    ref, p, scale = reference(*arrays, causal=causal)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-4, atol=2e-5)
    go = rng.standard_normal(ref.shape)
    grads = lamina.autograd.grad([out], [q, k, v], [lt(go.astype(np.float32))], retain_graph=True)
    for g, want in zip(grads, reference_grads(*arrays, p, go, scale)):
        assert g.transpose(1, 2).is_contiguous()
        np.testing.assert_allclose(g.numpy(), want, rtol=1e-3, atol=2e-4)
    (out * lt(go.astype(np.float32))).sum().backward()
    want = np.concatenate([w.transpose(0, 2, 1, 3).reshape(b, t, h * e)
                           for w in reference_grads(*arrays, p, go, scale)], axis=2)
    np.testing.assert_allclose(qkv.grad.numpy(), want, rtol=1e-3, atol=2e-4)


def test_sdpa_fused_cpu_broadcast_and_five_dims(rng):
    # A key / value expanded over the heads (stride 0) is read in place; five dims fall back
    # to contiguous copies; both match the float64 reference.
    q = rng.standard_normal((2, 3, 9, 4))
    kv = rng.standard_normal((2, 1, 5, 4))
    kt = lt(kv.astype(np.float32)).expand(2, 3, 5, 4)
    out = sdpa(lt(q.astype(np.float32)), kt, kt)
    ref, _, _ = reference(q, np.broadcast_to(kv, (2, 3, 5, 4)), np.broadcast_to(kv, (2, 3, 5, 4)))
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-4, atol=2e-5)
    q5 = rng.standard_normal((2, 2, 3, 6, 4))
    t5 = lt(q5.astype(np.float32), True)
    out = sdpa(t5, t5, t5, is_causal=True)
    assert fused_graph(out)
    ref, _, _ = reference(q5, q5, q5, causal=True)
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-4, atol=2e-5)
