"""lamina.cuda: the device API with torch.cuda's names. Without a usable GPU (this machine, or any
run under LAMINA_FORCE_CPU=1) it reports none and device operations raise DeviceNotAvailableError
naming the operation; the GPU checks run where a GPU is present."""
import os
import subprocess
import sys

import pytest

import lamina

gpu = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")


def test_build_and_count_agree():
    assert isinstance(lamina.cuda.is_built(), bool)
    assert lamina.devices()["build"]["cuda"] is lamina.cuda.is_built()
    assert (lamina.cuda.runtime_version() != "") is lamina.cuda.is_built()
    assert lamina.cuda.device_count() == len(lamina.devices()["gpus"])
    assert lamina.cuda.is_available() is (lamina.cuda.device_count() > 0)


@pytest.mark.skipif(lamina.cuda.is_available(), reason="a GPU is usable here")
@pytest.mark.parametrize("call,op", [(lambda: lamina.cuda.get_device_name(), "cuda.get_device_name"),
                                     (lambda: lamina.cuda.get_device_capability(0), "cuda.get_device_capability"),
                                     (lambda: lamina.cuda.get_device_properties("cuda:0"),
                                      "cuda.get_device_capability"),
                                     (lambda: lamina.cuda.synchronize(), "cuda.synchronize"),
                                     (lambda: lamina.cuda.memory_stats(), "cuda.(allocator|memory_stats)"),
                                     (lambda: lamina.cuda.empty_cache(0), "cuda.(allocator|empty_cache)")])
def test_without_a_gpu_device_calls_raise_naming_the_op(call, op):
    with pytest.raises(lamina.DeviceNotAvailableError, match=op):
        call()
    with pytest.raises(lamina.DeviceNotAvailableError):
        lamina.zeros(2, device="cuda")


def test_force_cpu_hides_gpus():
    code = "import lamina; print(lamina.cuda.device_count(), lamina.cuda.is_available(), lamina.default_device())"
    env = dict(os.environ, LAMINA_FORCE_CPU="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "False", "cpu"]


def test_a_cpu_device_is_rejected():
    with pytest.raises(lamina.ValueError, match="expected a CUDA device"):
        lamina.cuda.get_device_name("cpu")


@gpu
def test_gpu_properties_and_synchronize():
    for i in range(lamina.cuda.device_count()):
        props = lamina.cuda.get_device_properties(i)
        assert props.name == lamina.cuda.get_device_name(f"cuda:{i}") and props.name
        assert props.total_memory > 1 << 30
        assert (props.major, props.minor) >= (8, 0)
        lamina.cuda.synchronize(i)
        stats = lamina.cuda.memory_stats(i)
        assert stats["allocated_bytes"] <= stats["reserved_bytes"]
        lamina.cuda.empty_cache(i)
    with pytest.raises(lamina.DeviceNotAvailableError):
        lamina.cuda.get_device_name(lamina.cuda.device_count())


@gpu
def test_copies_round_trip_through_the_caching_allocator():
    import numpy as np
    x = lamina.randn(3, 5)[:, 1:4]  # a strided view
    before = lamina.cuda.memory_allocated()
    y = x.cuda()
    assert str(y.device) == "cuda:0" and y.shape == x.shape
    assert lamina.cuda.memory_allocated() > before
    np.testing.assert_array_equal(y.cpu().numpy(), x.numpy())
    z = lamina.empty(0, device="cuda")
    assert z.numel() == 0 and z.cpu().numel() == 0
    del y, z
    assert lamina.cuda.memory_allocated() == before
    lamina.cuda.empty_cache()


@gpu
def test_out_of_memory_is_reported_and_the_process_goes_on():
    with pytest.raises(lamina.OutOfMemoryError, match=r"cuda:0 is out of memory: tried to allocate .* reserved"):
        lamina.empty(1 << 46, dtype=lamina.uint8, device="cuda")
    assert lamina.cuda.memory_stats()["out_of_memory"] >= 1
    assert lamina.ones(4).cuda().cpu().tolist() == [1.0, 1.0, 1.0, 1.0]
