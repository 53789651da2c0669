"""DLPack on CUDA devices: lamina exports device tensors as kDLCUDA capsules and imports kDLCUDA
capsules (zero-copy), following the array API's stream protocol. Without a usable GPU, importing
device memory raises DeviceNotAvailableError; the exchange with PyTorch runs where torch sees a GPU
(Debian's torch is CPU-only, so those tests skip there)."""
import ctypes

import numpy as np
import pytest

import lamina

kDLCPU, kDLCUDA, kDLCUDAHost = 1, 2, 3


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int), ("device_id", ctypes.c_int)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int), ("dtype", DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", ctypes.CFUNCTYPE(None, ctypes.c_void_p))]


def make_capsule(array, device_type, device_id=0):
    """A 'dltensor' capsule over a float32 NumPy array's memory that claims to live on
    (device_type, device_id); the returned objects must outlive the capsule's consumer."""
    shape = (ctypes.c_int64 * array.ndim)(*array.shape)
    managed = DLManagedTensor()
    managed.dl_tensor = DLTensor(array.ctypes.data, DLDevice(device_type, device_id), array.ndim,
                                 DLDataType(2, 32, 1), shape, None, 0)
    new = ctypes.pythonapi.PyCapsule_New
    new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return new(ctypes.addressof(managed), b"dltensor", None), (managed, shape, array)


no_gpu = pytest.mark.skipif(lamina.cuda.is_available(), reason="a GPU is usable here")
gpu = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")


def test_cuda_host_capsules_are_cpu_tensors_sharing_memory():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    cap, keep = make_capsule(a, kDLCUDAHost)
    t = lamina.from_dlpack(cap)
    assert str(t.device) == "cpu" and t.shape == (2, 3) and t.data_ptr() == a.ctypes.data
    a[1, 2] = 42
    assert t[1, 2].item() == 42
    del keep


@no_gpu
def test_without_a_gpu_cuda_capsules_and_producers_are_refused():
    a = np.zeros(4, dtype=np.float32)
    cap, keep = make_capsule(a, kDLCUDA, 0)
    with pytest.raises(lamina.DeviceNotAvailableError, match="from_dlpack"):
        lamina.from_dlpack(cap)

    class CudaProducer:
        called = False

        def __dlpack_device__(self):
            return (kDLCUDA, 0)

        def __dlpack__(self, stream=None):
            CudaProducer.called = True
            raise AssertionError("not reached: the device check comes first")

    with pytest.raises(lamina.DeviceNotAvailableError, match="from_dlpack"):
        lamina.from_dlpack(CudaProducer())
    assert not CudaProducer.called
    del keep


def test_cpu_tensors_ignore_the_stream_argument():
    x = lamina.arange(4.0)
    assert x.__dlpack_device__() == (kDLCPU, 0)
    for stream in (None, -1, 1, 2):
        y = lamina.from_dlpack(x.__dlpack__(stream=stream))
        assert y.data_ptr() == x.data_ptr()


def torch_cuda():
    """PyTorch when it sees a GPU (imported lazily: the CPU-only torch has no CUDA)."""
    if not lamina.cuda.is_available():
        pytest.skip("no usable CUDA GPU")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("this torch has no CUDA")
    return torch


@gpu
def test_device_tensors_export_kdlcuda():
    x = lamina.arange(8.0, device="cuda")
    assert x.__dlpack_device__() == (kDLCUDA, 0)
    with pytest.raises(lamina.ValueError, match="stream=0"):
        x.__dlpack__(stream=0)
    y = lamina.from_dlpack(x.__dlpack__(stream=-1))
    assert str(y.device) == "cuda:0" and y.data_ptr() == x.data_ptr()
    z = lamina.from_dlpack(x)  # through __dlpack__ with this thread's stream
    assert z.data_ptr() == x.data_ptr()
    cpu = x.__dlpack__(dl_device=(kDLCPU, 0))
    assert lamina.from_dlpack(cpu).tolist() == list(range(8))


@gpu
def test_torch_cuda_round_trip_is_zero_copy():
    torch = torch_cuda()
    t = torch.arange(12, dtype=torch.float32, device="cuda").reshape(3, 4)
    x = lamina.from_dlpack(t)
    assert str(x.device) == "cuda:0" and x.shape == (3, 4) and x.data_ptr() == t.data_ptr()
    del t  # the capsule keeps torch's memory alive
    assert x.cpu().tolist() == [[float(4 * i + j) for j in range(4)] for i in range(3)]
    back = torch.from_dlpack(x)
    assert back.device.type == "cuda" and back.data_ptr() == x.data_ptr()
    back.mul_(2)
    torch.cuda.synchronize()
    assert x[2, 3].item() == 22


@gpu
def test_torch_reads_work_queued_on_a_lamina_side_stream():
    torch = torch_cuda()
    n = 1 << 24
    s = lamina.cuda.Stream()
    with s:
        y = lamina.ones(n, device="cuda") * 2
        # torch passes its current stream; __dlpack__ makes it wait for s's queued work.
        t = torch.from_dlpack(y)
    assert t.sum().item() == 2 * n
    ts = torch.cuda.Stream()
    with torch.cuda.stream(ts):
        u = torch.full((n,), 3.0, device="cuda")
        v = lamina.from_dlpack(u)  # lamina passes its stream; torch orders u's fill before it
    assert v.sum().item() == 3 * n
