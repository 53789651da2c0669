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
    code = """import lamina
hidden = []
for call in (lambda: lamina.cuda.get_device_name(0), lambda: lamina.cuda.memory_stats(0),
             lambda: lamina.cuda.synchronize(0), lambda: lamina.zeros(1, device="cuda")):
    try:
        call()
    except lamina.DeviceNotAvailableError:
        hidden.append(True)
print(lamina.cuda.device_count(), lamina.cuda.is_available(), lamina.default_device(), len(hidden))"""
    env = dict(os.environ, LAMINA_FORCE_CPU="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "False", "cpu", "4"]


@pytest.mark.skipif(lamina.cuda.is_available(), reason="a GPU is usable here")
@pytest.mark.parametrize("make", [lambda: lamina.randint(0, 5, (3,), device="cuda"),
                                  lambda: lamina.randperm(4, device="cuda"),
                                  lambda: lamina.rand(3, device="cuda:0")])
def test_random_tensors_on_a_missing_gpu_raise_and_leave_the_generator(make):
    lamina.manual_seed(7)
    with pytest.raises(lamina.DeviceNotAvailableError):
        make()
    after_error = lamina.rand(4).tolist()
    lamina.manual_seed(7)
    assert lamina.rand(4).tolist() == after_error


def test_random_integer_tensors_take_a_device_and_a_dtype():
    lamina.manual_seed(3)
    a = lamina.randint(2, 9, (5, 4), device="cpu", dtype=lamina.int32)
    assert a.device.type == "cpu" and a.dtype == lamina.int32 and a.shape == (5, 4)
    p = lamina.randperm(6, device="cpu", dtype=lamina.float32)
    assert p.dtype == lamina.float32 and sorted(p.tolist()) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize("bad", ["cuda:", "cuda:x", "cuda:-1", "cuda: 1", "gpu"])
def test_bad_device_strings_raise_value_error(bad):
    with pytest.raises(lamina.ValueError, match="invalid device string"):
        lamina.zeros(1, device=bad)


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


# Streams, events, pinned memory, non-blocking copies and device selection (issue 7).

no_gpu = pytest.mark.skipif(lamina.cuda.is_available(), reason="a GPU is usable here")


@no_gpu
@pytest.mark.parametrize("call,op", [(lambda: lamina.cuda.Stream(), "cuda.Stream"),
                                     (lambda: lamina.cuda.Stream(priority=-1), "cuda.Stream"),
                                     (lambda: lamina.cuda.Event(enable_timing=True), "cuda.Event"),
                                     (lambda: lamina.cuda.current_stream(), "cuda.current_stream"),
                                     (lambda: lamina.cuda.default_stream(0), "cuda.default_stream"),
                                     (lambda: lamina.cuda.ExternalStream(0x1234), "cuda.ExternalStream"),
                                     (lambda: lamina.cuda.Stream.priority_range(), "cuda.Stream.priority_range"),
                                     (lambda: lamina.cuda.set_device(0), "cuda.set_device"),
                                     (lambda: lamina.cuda.device(1).__enter__(), "cuda.set_device"),
                                     (lambda: lamina.ones(3).pin_memory(), "pin_memory"),
                                     (lambda: lamina.ones(3).to("cuda", non_blocking=True), "to|device"),
                                     (lambda: lamina.ones(3).cuda(non_blocking=True), "to|device"),
                                     (lambda: lamina.ones(3).cuda(1), "to|device")])
def test_without_a_gpu_stream_and_pinning_calls_raise_naming_the_op(call, op):
    with pytest.raises(lamina.DeviceNotAvailableError, match=op):
        call()


@no_gpu
def test_without_a_gpu_what_torch_answers_is_answered():
    t = lamina.arange(6.0)
    assert t.is_pinned() is False
    assert lamina.cuda.current_device() == 0
    assert t.to("cpu", non_blocking=True).data_ptr() == t.data_ptr()
    assert t.to(lamina.float64, True).dtype == lamina.float64  # to(dtype, non_blocking)
    assert t.to(lamina.float32, copy=True).data_ptr() != t.data_ptr()
    with lamina.cuda.stream(None):  # None: no change, as in torch
        pass
    with lamina.cuda.device(None), lamina.cuda.device("cpu"), lamina.cuda.device(-1):
        pass
    stats = lamina.cuda.host_memory_stats()
    assert stats["allocated_bytes"] == 0 and stats["allocations"] == 0
    lamina.cuda.host_empty_cache()


@no_gpu
def test_data_loader_pin_memory_without_a_gpu_warns_and_loads():
    from lamina.utils.data import DataLoader, TensorDataset
    ds = TensorDataset(lamina.arange(10.0), lamina.arange(10))
    with pytest.warns(UserWarning, match="pin_memory"):
        loader = DataLoader(ds, batch_size=4, pin_memory=True)
    batches = list(loader)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    assert not batches[0][0].is_pinned()


@no_gpu
def test_lamina_cuda_device_is_not_consulted_without_a_gpu():
    code = "import lamina; print(lamina.default_device())"
    env = dict(os.environ, LAMINA_CUDA_DEVICE="banana", LAMINA_FORCE_CPU="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["cpu"]


@gpu
def test_streams_are_current_in_their_context():
    default = lamina.cuda.default_stream()
    assert default.cuda_stream == 0 and lamina.cuda.current_stream() == default
    greatest, least = lamina.cuda.Stream.priority_range()
    s = lamina.cuda.Stream(priority=greatest)
    assert s.priority == greatest and s.cuda_stream != 0 and s.device == lamina.device("cuda:0")
    with s:
        assert lamina.cuda.current_stream() == s
        x = lamina.ones(1 << 20, device="cuda") * 3
    assert lamina.cuda.current_stream() == default
    with lamina.cuda.stream(s):
        assert lamina.cuda.current_stream() == s
    e = s.record_event()
    default.wait_event(e)
    default.wait_stream(s)
    s.synchronize()
    assert s.query() and e.query()
    assert x.sum().item() == 3 * (1 << 20)
    lamina.cuda.set_stream(s)
    assert lamina.cuda.current_stream() == s
    lamina.cuda.set_stream(default)
    ext = lamina.cuda.ExternalStream(s.cuda_stream)
    assert ext == s


@gpu
def test_events_time_the_work_between_them():
    start, end = lamina.cuda.Event(enable_timing=True), lamina.cuda.Event(enable_timing=True)
    assert start.query() and start.cuda_event == 0
    start.record()
    y = lamina.randn(512, 512, device="cuda")
    for _ in range(5):
        y = y @ y / 512
    end.record()
    end.synchronize()
    assert end.query()
    assert start.elapsed_time(end) >= 0
    plain = lamina.cuda.Event()
    plain.record()
    plain.wait()
    plain.synchronize()
    with pytest.raises(lamina.ValueError, match="enable_timing"):
        plain.elapsed_time(end)


@gpu
def test_pinned_memory_and_non_blocking_copies():
    import numpy as np
    x = lamina.randn(1000, 33)[:, 1:30]
    assert not x.is_pinned()
    p = x.pin_memory()
    assert p.is_pinned() and p.pin_memory().data_ptr() == p.data_ptr()
    np.testing.assert_array_equal(p.numpy(), x.numpy())
    s = lamina.cuda.Stream()
    with s:
        d = p.to("cuda", non_blocking=True)
        back = d.to("cpu", non_blocking=True)
        again = p.cuda(non_blocking=True)
    assert back.is_pinned()  # a non-blocking copy to the host lands in pinned memory
    s.synchronize()
    np.testing.assert_array_equal(back.numpy(), x.numpy())
    np.testing.assert_array_equal(again.cpu().numpy(), x.numpy())
    assert not x.cuda(non_blocking=True).cpu().is_pinned()  # pageable: synchronous
    del p, back
    stats = lamina.cuda.host_memory_stats()
    assert stats["reserved_bytes"] >= stats["allocated_bytes"]
    lamina.cuda.host_empty_cache()


@gpu
def test_record_stream_keeps_a_block_from_reuse_until_the_stream_is_done():
    s = lamina.cuda.Stream()
    t = lamina.empty(1 << 18, device="cuda")
    ptr = t.data_ptr()
    t.record_stream(s)
    with pytest.raises(lamina.DeviceMismatchError):
        lamina.ones(2).record_stream(s)
    s.synchronize()
    del t
    lamina.cuda.synchronize()
    assert lamina.empty(1 << 18, device="cuda").data_ptr() == ptr


@gpu
def test_device_selection():
    assert lamina.cuda.current_device() == 0
    with lamina.cuda.device(0):
        assert lamina.cuda.current_device() == 0
    lamina.cuda.set_device("cuda:0")
    assert str(lamina.ones(2).device) == "cuda:0"  # CUDA-first default device
    assert lamina.zeros(1, device="cuda").device.index == lamina.cuda.current_device()
    with pytest.raises(lamina.DeviceNotAvailableError):
        lamina.cuda.set_device(lamina.cuda.device_count())
    n = lamina.cuda.device_count()
    for value in ("x", "-1", str(n)):
        env = {k: v for k, v in os.environ.items() if k != "LAMINA_FORCE_CPU"}
        env["LAMINA_CUDA_DEVICE"] = value
        out = subprocess.run([sys.executable, "-c", "import lamina; lamina.ones(1)"], capture_output=True, text=True,
                             env=env, timeout=120)
        assert out.returncode != 0 and "LAMINA_CUDA_DEVICE" in out.stderr, out.stderr


@gpu
def test_data_loader_pins_batches():
    from lamina.utils.data import DataLoader, TensorDataset
    ds = TensorDataset(lamina.arange(10.0), lamina.arange(10))
    for workers in (0, 2):
        for x, y in DataLoader(ds, batch_size=4, pin_memory=True, num_workers=workers):
            assert x.is_pinned() and y.is_pinned()
            assert x.cuda(non_blocking=True).cpu().tolist() == x.tolist()


@gpu
def test_host_consumers_take_device_tensors(tmp_path):
    """Everything that reads tensor values on the host copies device tensors there first."""
    from lamina.utils.tensorboard import SummaryWriter
    x = lamina.randn(300, device="cuda")
    host = x.cpu()
    with SummaryWriter(tmp_path) as w:
        for bins in ("tensorflow", 10, "auto"):
            w.add_histogram(f"h{bins}", x, bins=bins)
    lamina.save_file({"x": x}, str(tmp_path / "x.safetensors"))
    assert lamina.load_file(str(tmp_path / "x.safetensors"))["x"].tolist() == host.tolist()
    assert x.tolist() == host.tolist() and x[3].item() == host[3].item()
    assert repr(x[:3]).startswith("tensor(")
    with pytest.raises(lamina.DeviceMismatchError, match="cpu"):
        x.numpy()
