"""CUDA devices with torch.cuda's names. In a build without the CUDA backend, or on a machine
without a GPU, is_available() is False, device_count() is 0 and device operations raise
lamina.DeviceNotAvailableError naming the operation."""
from . import _lamina

_c = _lamina._cuda

__all__ = ["is_available", "is_built", "device_count", "get_device_name", "get_device_capability",
           "get_device_properties", "synchronize", "runtime_version", "memory_stats", "memory_allocated",
           "memory_reserved", "max_memory_allocated", "empty_cache"]


def is_built():
    """True when this build of lamina includes the CUDA backend."""
    return _c.is_built()


def device_count():
    """Usable CUDA devices (0 without a GPU, without the CUDA backend, or with LAMINA_FORCE_CPU=1)."""
    return _c.device_count()


def is_available():
    """True when at least one CUDA device is usable."""
    return device_count() > 0


def get_device_name(device=None):
    """The name of `device` (an index, "cuda:N" or a lamina.device; default cuda:0)."""
    return _c.get_device_name(device)


def get_device_capability(device=None):
    """The compute capability (major, minor) of `device`."""
    return _c.get_device_capability(device)


class _DeviceProperties:
    def __init__(self, name, total_memory, major, minor):
        self.name, self.total_memory, self.major, self.minor = name, total_memory, major, minor

    def __repr__(self):
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // (1 << 20)}MB)")


def get_device_properties(device=None):
    """name, total_memory, major, minor of `device`."""
    major, minor = _c.get_device_capability(device)
    return _DeviceProperties(_c.get_device_name(device), _c.total_memory(device), major, minor)


def synchronize(device=None):
    """Waits for all work queued on `device` (default cuda:0) to finish."""
    _c.synchronize(device)


def runtime_version():
    """The CUDA runtime version this build uses ("13.0"), or "" without the CUDA backend."""
    return _c.runtime_version()


def memory_stats(device=None):
    """The caching allocator's counters for `device`: allocated_bytes, reserved_bytes,
    peak_allocated_bytes, peak_reserved_bytes, allocations, frees, cache_hits, segments,
    out_of_memory."""
    return _c.memory_stats(device)


def memory_allocated(device=None):
    """Bytes in tensors' blocks on `device`."""
    return _c.memory_stats(device)["allocated_bytes"]


def memory_reserved(device=None):
    """Bytes the allocator holds from the driver on `device` (allocated plus cached)."""
    return _c.memory_stats(device)["reserved_bytes"]


def max_memory_allocated(device=None):
    """The peak of memory_allocated(device)."""
    return _c.memory_stats(device)["peak_allocated_bytes"]


def empty_cache(device=None):
    """Returns cached, unused memory on `device` to the driver (other processes can use it)."""
    _c.empty_cache(device)
