"""Tensor core: creation, views sharing storage, conversions, interop, runtime contract."""
import gc
import os
import subprocess
import sys

import numpy as np
import pytest

import lamina
from conftest import random_array


def run_py(code, **env):
    full_env = dict(os.environ)
    full_env.pop("LAMINA_FORCE_CPU", None)
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=60)


# ---------------------------------------------------------------- creation
def test_creation_functions():
    assert lamina.zeros(2, 3).tolist() == [[0.0] * 3] * 2
    assert lamina.ones((2,), dtype=lamina.int32).tolist() == [1, 1]
    assert lamina.full((2, 2), 7).dtype == lamina.int64
    assert lamina.full((2, 2), 7.5).tolist() == [[7.5, 7.5], [7.5, 7.5]]
    assert lamina.full((1,), True).dtype == lamina.bool
    assert lamina.empty(3, 4).shape == (3, 4)
    assert lamina.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert lamina.arange(5).dtype == lamina.int64
    np.testing.assert_allclose(lamina.arange(1, 2, 0.25).numpy(), np.arange(1, 2, 0.25, dtype=np.float32))
    np.testing.assert_allclose(lamina.arange(10, 0, -3).numpy(), [10, 7, 4, 1])
    np.testing.assert_allclose(lamina.linspace(-1, 1, 7).numpy(), np.linspace(-1, 1, 7, dtype=np.float32), rtol=1e-6)
    np.testing.assert_array_equal(lamina.eye(3, 4).numpy(), np.eye(3, 4, dtype=np.float32))
    assert lamina.tensor([[1, 2], [3, 4]]).dtype == lamina.int64
    assert lamina.tensor([1, 2.5]).dtype == lamina.float32
    assert lamina.tensor([True, False]).dtype == lamina.bool
    assert lamina.tensor(3.5).shape == ()
    assert lamina.tensor([]).shape == (0,)
    assert lamina.tensor([[], []]).shape == (2, 0)
    assert lamina.tensor([1, 2], dtype=lamina.float16).dtype == lamina.float16
    z = lamina.zeros_like(lamina.ones(2, 3, dtype=lamina.int8))
    assert z.dtype == lamina.int8 and z.shape == (2, 3)
    assert lamina.full_like(z, 3).tolist() == [[3] * 3] * 2
    assert lamina.ones_like(z, dtype=lamina.float64).dtype == lamina.float64
    with pytest.raises(lamina.ShapeError, match=r"\[tensor\].*ragged"):
        lamina.tensor([[1, 2], [3]])
    with pytest.raises(lamina.DTypeError, match=r"\[tensor\]"):
        lamina.tensor(["a"])
    with pytest.raises(lamina.ValueError, match=r"\[arange\]"):
        lamina.arange(0, 10, 0)
    with pytest.raises(lamina.ValueError, match=r"\[empty\].*negative"):
        lamina.zeros(-1)


def test_seeded_random_reproducible():
    lamina.manual_seed(123)
    a = lamina.randn(1000)
    b = lamina.rand(10, 10)
    lamina.manual_seed(123)
    assert np.array_equal(lamina.randn(1000).numpy(), a.numpy())
    assert np.array_equal(lamina.rand(10, 10).numpy(), b.numpy())
    assert abs(a.numpy().mean()) < 0.15 and abs(a.numpy().std() - 1) < 0.1
    u = b.numpy()
    assert u.min() >= 0 and u.max() < 1
    r = lamina.randint(3, 9, (2000,))
    assert r.dtype == lamina.int64 and r.numpy().min() == 3 and r.numpy().max() == 8
    p = lamina.randperm(50)
    assert sorted(p.tolist()) == list(range(50))
    x = lamina.empty(100, dtype=lamina.float64).normal_(5, 0.1)
    assert abs(x.numpy().mean() - 5) < 0.05
    # the same bits regardless of the thread count
    code = "import lamina; lamina.manual_seed(7); print(lamina.randn(5).tolist())"
    outs = {run_py(code, LAMINA_NUM_THREADS=n, LAMINA_FORCE_CPU="1").stdout for n in ("1", "2")}
    assert len(outs) == 1
    with pytest.raises(lamina.DTypeError, match=r"\[rand\]"):
        lamina.rand(3, dtype=lamina.int32)
    with pytest.raises(lamina.ValueError, match=r"\[randint\]"):
        lamina.randint(5, 5, (2,))


# ---------------------------------------------------------------- views
def test_views_share_storage(rng):
    a = random_array(rng, (2, 3, 4), np.float32)
    t = lamina.tensor(a)
    cases = [
        (t.view(6, 4), a.reshape(6, 4)),
        (t.view(-1), a.reshape(-1)),
        (t.reshape(4, -1), a.reshape(4, -1)),
        (t.transpose(0, 2), a.transpose(2, 1, 0)),
        (t.permute(2, 0, 1), a.transpose(2, 0, 1)),
        (t[:, None].expand(2, 5, 3, 4), np.broadcast_to(a[:, None], (2, 5, 3, 4))),
        (t.unsqueeze(1), a[:, None]),
        (t.narrow(2, 1, 2), a[:, :, 1:3]),
        (t.select(1, -1), a[:, -1]),
        (t.diagonal(0, 1, 2), np.diagonal(a, 0, 1, 2)),
        (t.diagonal(1, 1, 2), np.diagonal(a, 1, 1, 2)),
        (t.diagonal(-1, 1, 2), np.diagonal(a, -1, 1, 2)),
        (t.flatten(1), a.reshape(2, 12)),
    ]
    for view, ref in cases:
        assert view.shape == ref.shape
        np.testing.assert_array_equal(view.numpy(), ref)
    v = t.view(24)
    v.fill_(1.5)
    assert t.numpy().min() == 1.5  # a write through a view is visible in the base
    assert t.unsqueeze(0).squeeze().shape == (2, 3, 4)
    assert lamina.ones(1, 3, 1).squeeze(0).shape == (3, 1)
    assert lamina.ones(1, 3, 1).squeeze((0, 2)).shape == (3,)
    assert lamina.ones(3).t().shape == (3,)


def test_views_keep_storage_alive():
    t = lamina.arange(10, dtype=lamina.float32)
    v = t.view(2, 5).T
    del t
    gc.collect()
    np.testing.assert_array_equal(v.numpy(), np.arange(10, dtype=np.float32).reshape(2, 5).T)


def test_reshape_copies_when_needed():
    t = lamina.arange(6).view(2, 3).T
    with pytest.raises(lamina.ShapeError, match=r"\[view\].*reshape"):
        t.view(6)
    r = t.reshape(6)
    assert r.tolist() == [0, 3, 1, 4, 2, 5]
    assert t.contiguous().is_contiguous() and not t.is_contiguous()


def test_view_errors():
    t = lamina.ones(2, 3)
    with pytest.raises(lamina.ShapeError, match=r"\[view\].*invalid for an input of 6"):
        t.view(4, 2)
    with pytest.raises(lamina.ShapeError, match=r"only one dimension can be inferred"):
        t.view(-1, -1)
    with pytest.raises(lamina.IndexError, match=r"\[transpose\].*out of range"):
        t.transpose(0, 2)
    with pytest.raises(IndexError):
        t.unsqueeze(4)
    with pytest.raises(lamina.ShapeError, match=r"\[expand\]"):
        t.expand(4, 3)
    with pytest.raises(lamina.ShapeError, match=r"\[permute\]"):
        t.permute(0)
    with pytest.raises(lamina.ShapeError, match=r"repeats"):
        t.permute(0, 0)
    with pytest.raises(lamina.IndexError, match=r"\[narrow\]"):
        t.narrow(1, 2, 5)
    with pytest.raises(lamina.ShapeError, match=r"\[item\]"):
        t.item()
    with pytest.raises(lamina.ShapeError, match=r"\[t\]"):
        lamina.ones(2, 2, 2).t()


# ---------------------------------------------------------------- conversions
@pytest.mark.parametrize("dt", [lamina.float32, lamina.float64, lamina.float16, lamina.bfloat16, lamina.int8,
                                lamina.uint8, lamina.int32, lamina.int64, lamina.bool])
def test_dtype_conversions_roundtrip(dt, rng):
    a = random_array(rng, (3, 5), np.float32) * 10
    t = lamina.tensor(a).to(dt)
    assert t.dtype == dt
    back = t.to(lamina.float64).numpy()
    if dt == lamina.bool:
        np.testing.assert_array_equal(back, a != 0)
    elif dt in (lamina.float32, lamina.float64):
        np.testing.assert_allclose(back, a, rtol=1e-6)
    elif dt in (lamina.float16, lamina.bfloat16):
        np.testing.assert_allclose(back, a, rtol=1e-2, atol=1e-2)
    elif dt == lamina.uint8:
        np.testing.assert_array_equal(back, np.clip(np.trunc(a), 0, 255))
    else:
        np.testing.assert_array_equal(back, np.trunc(a))
    assert dt.itemsize == t.element_size()
    assert repr(dt) == "lamina." + {lamina.bool: "bool"}.get(dt, repr(dt).split(".")[1])


def test_float_to_int_saturates_without_ub():
    t = lamina.tensor([float("nan"), float("inf"), -float("inf"), 1e30, -3.7])
    assert t.to(lamina.int32).tolist() == [0, 2147483647, -2147483648, 2147483647, -3]
    assert t.to(lamina.uint8).tolist() == [0, 255, 0, 255, 0]


def test_half_precision_rounding():
    vals = [1.0, 1.0009765625, 65504.0, 65520.0, 6e-8, -2.5, 1e-3]
    f16 = lamina.tensor(vals, dtype=lamina.float64).to(lamina.float16)
    with np.errstate(over="ignore"):  # 65520 rounds to inf in both
        expected = np.array(vals).astype(np.float16)
    np.testing.assert_array_equal(f16.numpy(), expected)
    bf = lamina.tensor([1.0, 3.14159, -1e30], dtype=lamina.float32).to(lamina.bfloat16).float().tolist()
    assert bf[0] == 1.0 and abs(bf[1] - 3.140625) < 1e-6 and abs(bf[2] + 1e30) / 1e30 < 1e-2


def test_item_tolist_python_protocols():
    assert lamina.tensor(3).item() == 3 and isinstance(lamina.tensor(3).item(), int)
    assert isinstance(lamina.tensor(2.5).item(), float)
    assert lamina.tensor(True).item() is True
    assert lamina.tensor([[1, 2]]).tolist() == [[1, 2]]
    assert len(lamina.ones(4, 2)) == 4
    assert float(lamina.tensor([2.5])) == 2.5 and int(lamina.tensor(7)) == 7
    assert [1, 2, 3][lamina.tensor(1)] == 2
    assert bool(lamina.tensor([1]))
    with pytest.raises(lamina.ValueError, match="ambiguous"):
        bool(lamina.ones(2))
    with pytest.raises(TypeError):
        len(lamina.tensor(1.0))


# ---------------------------------------------------------------- interop
def test_numpy_zero_copy_both_ways(rng):
    a = random_array(rng, (4, 3), np.float64)
    t = lamina.from_numpy(a)
    a[0, 0] = 99.0
    assert t[0, 0].item() == 99.0
    n = t.numpy()
    n[1, 1] = -5.0
    assert a[1, 1] == -5.0
    assert np.shares_memory(n, a)
    # strided and negative-stride arrays
    s = a[::2, ::-1]
    np.testing.assert_array_equal(lamina.from_numpy(s).numpy(), s)
    # transposed views export with strides, no copy
    tt = t.T
    assert np.shares_memory(tt.numpy(), a)
    np.testing.assert_array_equal(np.asarray(tt), a.T)
    # lifetime: the tensor keeps the array alive and vice versa
    b = np.arange(5.0)
    tb = lamina.from_numpy(b)
    del b
    gc.collect()
    assert tb.tolist() == [0, 1, 2, 3, 4]
    nb_ = lamina.arange(3).numpy()
    gc.collect()
    assert nb_.tolist() == [0, 1, 2]
    with pytest.raises(lamina.DTypeError, match=r"\[numpy\].*bfloat16"):
        lamina.ones(2, dtype=lamina.bfloat16).numpy()
    with pytest.raises(lamina.DTypeError, match=r"\[from_numpy\]"):
        lamina.from_numpy(np.ones(2, dtype=np.complex64))


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.float16, np.int8, np.uint8, np.int32, np.int64, np.bool_])
def test_numpy_dtypes(np_dtype, rng):
    a = random_array(rng, (2, 5), np_dtype)
    t = lamina.from_numpy(a)
    np.testing.assert_array_equal(t.numpy(), a)
    assert t.numpy().dtype == a.dtype


def test_dlpack_and_buffer(rng):
    a = random_array(rng, (3, 4), np.float32)
    t = lamina.from_dlpack(a)
    assert np.shares_memory(t.numpy(), a)
    back = np.from_dlpack(t.T)
    np.testing.assert_array_equal(back, a.T)
    assert t.__dlpack_device__() == (1, 0)
    cap = t.__dlpack__()
    t2 = lamina.from_dlpack(cap)
    np.testing.assert_array_equal(t2.numpy(), a)
    with pytest.raises(lamina.ValueError, match=r"\[from_dlpack\].*consumed"):
        lamina.from_dlpack(cap)
    m = memoryview(t)
    assert m.format == "f" and m.shape == (3, 4)
    np.testing.assert_array_equal(np.asarray(m), a)
    bools = lamina.tensor([True, False])
    assert np.from_dlpack(bools).tolist() == [True, False]
    del cap
    gc.collect()


# ---------------------------------------------------------------- runtime contract
def test_errors_hierarchy():
    assert issubclass(lamina.ShapeError, ValueError) and issubclass(lamina.ShapeError, lamina.Error)
    assert issubclass(lamina.IndexError, IndexError)
    assert issubclass(lamina.DTypeError, TypeError)
    assert issubclass(lamina.DeviceMismatchError, RuntimeError)
    assert issubclass(lamina.DeviceNotAvailableError, RuntimeError)
    assert issubclass(lamina.OutOfMemoryError, MemoryError)
    assert issubclass(lamina.ConfigError, ValueError)
    assert issubclass(lamina.NotImplementedError, NotImplementedError)
    assert issubclass(lamina.IOError, OSError) and issubclass(lamina.FormatError, lamina.IOError)
    assert issubclass(lamina.KernelError, RuntimeError)


def test_devices_and_cuda_requests():
    info = lamina.devices()
    assert info["cpu"]["cores"] >= 1 and info["cpu"]["threads"] >= 1
    assert "avx2" in info["cpu"] and isinstance(info["cpu"]["features"], list)
    assert info["build"]["cuda"] is lamina.cuda.is_built() and "OpenBLAS" in info["build"]["blas"]
    assert info["gpus"] == []
    assert str(lamina.default_device()) == "cpu"
    for bad in (lambda: lamina.zeros(2, device="cuda"), lambda: lamina.device("cuda:1"),
                lambda: lamina.ones(2).to("cuda"), lambda: lamina.set_backend("cuda")):
        with pytest.raises(lamina.DeviceNotAvailableError, match="not available"):
            bad()
    with pytest.raises(lamina.ValueError, match=r"\[device\]"):
        lamina.device("tpu")
    assert lamina.ones(1).device == "cpu" and repr(lamina.ones(1).device) == "device(type='cpu')"


def test_default_device_warns_once_and_env():
    out = run_py("import lamina; lamina.default_device(); lamina.zeros(2); lamina.ones(1)")
    assert out.returncode == 0
    assert out.stderr.count("LAMINA_FORCE_CPU=1") == 1
    out = run_py("import lamina; lamina.zeros(2)", LAMINA_FORCE_CPU="1")
    assert out.stderr == ""
    out = run_py("import lamina; print(lamina.get_num_threads(), lamina.devices()['cpu']['threads'])",
                 LAMINA_NUM_THREADS="1", LAMINA_FORCE_CPU="1")
    assert out.stdout.split() == ["1", "1"]
    out = run_py("import lamina; lamina.zeros(2)", LAMINA_LOG_LEVEL="error")
    assert out.stderr == ""  # the warning is below the error level
    out = run_py("import lamina", LAMINA_LOG_LEVEL="loud", LAMINA_FORCE_CPU="1")
    assert out.returncode == 0
    lamina.set_num_threads(2)
    assert lamina.get_num_threads() == 2
    with pytest.raises(lamina.ConfigError, match=r"\[set_num_threads\]"):
        lamina.set_num_threads(0)


def test_memory_stats_track_allocations():
    before = lamina.memory_stats()["allocated_bytes"]
    t = lamina.empty(1 << 20)
    assert lamina.memory_stats()["allocated_bytes"] >= before + 4 * (1 << 20)
    del t
    gc.collect()
    assert lamina.memory_stats()["allocated_bytes"] == before


def test_out_of_memory_is_typed_and_recoverable():
    with pytest.raises(lamina.OutOfMemoryError, match=r"\[empty\]"):
        lamina.empty(1 << 62, 8)
    with pytest.raises(lamina.OutOfMemoryError, match=r"\[allocate\].*allocated"):
        lamina.empty(1 << 45)  # 128 TiB: the allocator refuses and reports its statistics
    assert isinstance(lamina.ones(3).sum().item(), float)  # the process is fine afterwards


def test_type_stubs_ship_with_the_package():
    import pathlib
    pkg = pathlib.Path(lamina.__file__).parent
    stub = (pkg / "_lamina.pyi").read_text()
    assert "class Tensor" in stub and "def matmul(" in stub
    assert (pkg / "py.typed").exists()


def test_tensor_from_data_converts_once_to_the_requested_dtype():
    # Exact float64 and int64 values must not pass through float32 on the way.
    assert lamina.tensor([1e8 + 1], dtype=lamina.float64).tolist() == [1e8 + 1]
    assert lamina.tensor([[0.1, 2.0**60 + 3.0]], dtype=lamina.float64).numpy().tolist() == [[0.1, 2.0**60 + 3.0]]
    assert lamina.tensor([2**62 + 1], dtype=lamina.int64).tolist() == [2**62 + 1]
    assert lamina.tensor([1.5, 2]).dtype == lamina.float32


@pytest.mark.parametrize(
    "value,dtype",
    [(np.float64(1.25), "float64"), (np.float32(1.25), "float32"), (np.int32(7), "int32"),
     (np.int64(-7), "int64"), (np.bool_(True), "bool"), (np.uint8(200), "uint8")],
)
def test_tensor_from_numpy_scalar_keeps_its_dtype(value, dtype):
    t = lamina.tensor(value)
    assert t.dtype == getattr(lamina, dtype)
    assert t.shape == ()
    assert t.item() == value.item()


def _resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_a_million_small_ops_do_not_grow_resident_memory():
    x, y = lamina.rand(4), lamina.rand(4)
    for _ in range(20000):  # warm up the allocator's cache and Python's free lists
        x + y
    before_rss, before = _resident_bytes(), lamina.memory_stats()
    for _ in range(1_000_000):
        x + y
    after_rss, after = _resident_bytes(), lamina.memory_stats()
    assert after["reserved_bytes"] == before["reserved_bytes"]
    assert after["num_system_allocs"] == before["num_system_allocs"]
    assert after["num_allocs"] - before["num_allocs"] >= 1_000_000
    assert after_rss - before_rss < 1 << 20, (before_rss, after_rss)


def test_allocator_cache_stats_and_empty_cache():
    t = lamina.empty(123457)
    size = lamina.memory_stats()["allocated_bytes"]
    del t
    gc.collect()
    stats = lamina.memory_stats()
    assert stats["cached_bytes"] >= 123457 * 4
    assert stats["reserved_bytes"] == stats["allocated_bytes"] + stats["cached_bytes"]
    hits = stats["num_cache_hits"]
    u = lamina.empty(123450)  # same size class: served from the cache
    assert lamina.memory_stats()["num_cache_hits"] == hits + 1
    assert lamina.memory_stats()["allocated_bytes"] == size
    del u
    gc.collect()
    lamina.empty_cache()
    stats = lamina.memory_stats()
    assert stats["cached_bytes"] == 0 and stats["reserved_bytes"] == stats["allocated_bytes"]
    lamina.reset_peak_memory_stats()
    assert lamina.memory_stats()["peak_allocated_bytes"] == stats["allocated_bytes"]


def test_cache_limit_env_disables_caching():
    code = ("import lamina, gc; t = lamina.empty(1000); del t; gc.collect(); s = lamina.memory_stats();"
            "assert s['cached_bytes'] == 0 and s['cache_limit_bytes'] == 0, s; print('ok')")
    env = dict(os.environ, LAMINA_CPU_CACHE_LIMIT_MB="0", LAMINA_FORCE_CPU="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_results_are_the_same_bits_with_any_thread_count():
    saved = lamina.get_num_threads()
    lamina.manual_seed(4)
    x = lamina.randn(1 << 19) * 3.0
    m = lamina.rand(257, 3001)
    results = []
    try:
        for threads in (1, 2, 5):
            lamina.set_num_threads(threads)
            assert lamina.get_num_threads() == threads
            assert lamina.devices()["cpu"]["threads"] == threads
            results.append([x.sum().numpy(), x.mean().numpy(), lamina.amax(x).numpy(), m.sum(0).numpy(),
                            lamina.softmax(m, -1).numpy(), lamina.exp(m).numpy(), lamina.cumsum(m, 1).numpy()])
            # GEMM goes to OpenBLAS, whose bits may depend on its thread count: at a fixed
            # count it repeats exactly.
            assert (m @ m.T[:, :64]).numpy().tobytes() == (m @ m.T[:, :64]).numpy().tobytes()
    finally:
        lamina.set_num_threads(saved)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert a.tobytes() == b.tobytes()
    np.testing.assert_allclose(results[0][0], x.numpy().astype(np.float64).sum(), rtol=1e-6)


def test_env_thread_count_sizes_the_pool():
    code = "import lamina; print(lamina.get_num_threads(), lamina.devices()['cpu']['threads'])"
    env = dict(os.environ, LAMINA_NUM_THREADS="3", LAMINA_FORCE_CPU="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["3", "3"], out.stderr
