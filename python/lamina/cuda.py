"""CUDA devices, streams and events with torch.cuda's names. In a build without the CUDA backend,
or on a machine without a GPU, is_available() is False, device_count() is 0 and device operations
(streams, events, set_device, pinned memory) raise lamina.DeviceNotAvailableError naming the
operation."""
from . import _lamina

_c = _lamina._cuda

__all__ = ["is_available", "is_bf16_supported", "is_built", "device_count", "get_device_name", "get_device_capability",
           "get_device_properties", "synchronize", "runtime_version", "memory_stats", "memory_allocated",
           "memory_reserved", "max_memory_allocated", "empty_cache", "current_device", "set_device", "device",
           "Stream", "ExternalStream", "Event", "StreamContext", "current_stream", "default_stream", "set_stream",
           "stream", "host_memory_stats", "host_empty_cache", "manual_seed", "manual_seed_all", "initial_seed"]


def manual_seed(seed):
    """Seeds the random numbers of CUDA ops. lamina has one counter-based generator for every device
    (a draw gives the same values on the CPU and the GPU), so this seeds it as lamina.manual_seed
    does: unlike torch.cuda.manual_seed, CPU draws restart from the seed too. Works without a GPU."""
    _lamina.manual_seed(int(seed))


def manual_seed_all(seed):
    """manual_seed for every device: the same single generator."""
    manual_seed(seed)


def initial_seed():
    """The seed last set (lamina.initial_seed)."""
    return _lamina.initial_seed()


def is_built():
    """True when this build of lamina includes the CUDA backend."""
    return _c.is_built()


def device_count():
    """Usable CUDA devices (0 without a GPU, without the CUDA backend, or with LAMINA_FORCE_CPU=1)."""
    return _c.device_count()


def is_available():
    """True when at least one CUDA device is usable."""
    return device_count() > 0


def is_bf16_supported(including_emulation=True):
    """True when the current GPU computes in bfloat16 natively (compute capability 8.0 or later);
    False without a GPU."""
    return is_available() and get_device_capability()[0] >= 8


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
    out_of_memory, pending_frees (freed blocks waiting for other streams' work, see
    Tensor.record_stream)."""
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


def _index(device):
    """A device index from None (the current device), an int, "cuda:N" or a lamina.device."""
    if device is None:
        return _c.current_device()
    if isinstance(device, int) and not isinstance(device, bool):
        return device
    text = str(device)
    if text == "cuda":
        return _c.current_device()
    if not text.startswith("cuda:"):
        raise ValueError(f"expected a CUDA device, got {device!r}")
    return int(text[5:])


def current_device():
    """The calling thread's current CUDA device index (0 unless set_device or `device` changed it)."""
    return _c.current_device()


def set_device(device):
    """Makes `device` (an index, "cuda:N" or a lamina.device) current for the calling thread:
    tensors made on "cuda" go there and kernels launch there."""
    _c.set_device(_index(device))


class device:
    """Context manager making `device` current inside the block (`with lamina.cuda.device(1):`);
    None or a CPU device leave the current device as it is."""

    def __init__(self, device):
        self.idx = -1 if device is None or str(device) == "cpu" or (isinstance(device, int) and device < 0) \
            else _index(device)
        self.prev_idx = -1

    def __enter__(self):
        if self.idx < 0:
            return self
        self.prev_idx = _c.current_device()
        if self.prev_idx != self.idx:
            _c.set_device(self.idx)
        return self

    def __exit__(self, *exc):
        if self.idx >= 0 and self.prev_idx != self.idx:
            _c.set_device(self.prev_idx)
        return False


class Stream:
    """A CUDA stream of `device` (default: the current device). Work queued on one stream runs in
    order; different streams may overlap. Lower `priority` runs first (clamped to the device's
    range). `with stream:` makes it the current stream (and its device current) in the block."""

    def __init__(self, device=None, priority=0, *, _stream=None):
        self._s = _stream if _stream is not None else _c.Stream.create(_index(device), int(priority))
        self._saved = []

    @classmethod
    def _wrap(cls, s):
        obj = cls.__new__(Stream)
        obj._s, obj._saved = s, []
        return obj

    @property
    def device(self):
        """The stream's device as a lamina.device."""
        return _lamina.device(f"cuda:{self._s.device_index}")

    @property
    def device_index(self):
        """The stream's device index."""
        return self._s.device_index

    @property
    def cuda_stream(self):
        """The cudaStream_t as an int (0: the device's default stream)."""
        return self._s.cuda_stream

    @property
    def priority(self):
        """The stream's priority (lower runs first)."""
        return self._s.priority

    @staticmethod
    def priority_range(device=None):
        """The (greatest, least) priority of `device`'s streams, e.g. (-5, 0)."""
        return _c.Stream.priority_range(_index(device))

    def query(self):
        """True when all work queued on the stream has completed."""
        return self._s.query()

    def synchronize(self):
        """Waits until all work queued on the stream has completed."""
        self._s.synchronize()

    def wait_event(self, event):
        """Makes work queued on this stream from now on wait for `event`."""
        self._s.wait_event(event._e)

    def wait_stream(self, stream):
        """Makes work queued on this stream from now on wait for the work queued on `stream` so far."""
        self._s.wait_stream(stream._s)

    def record_event(self, event=None):
        """Records `event` (a new Event when None) on this stream and returns it."""
        if event is None:
            event = Event()
        event.record(self)
        return event

    def __enter__(self):
        self._saved.append((_c.current_device(), _c.Stream.current(self._s.device_index)))
        _c.set_device(self._s.device_index)
        _c.set_stream(self._s)
        return self

    def __exit__(self, *exc):
        prev_device, prev_stream = self._saved.pop()
        _c.set_stream(prev_stream)
        _c.set_device(prev_device)
        return False

    def __eq__(self, other):
        return isinstance(other, Stream) and self._s == other._s

    def __hash__(self):
        return hash(self._s)

    def __repr__(self):
        return f"<lamina.cuda.Stream device=cuda:{self.device_index} cuda_stream={self.cuda_stream:#x}>"


class ExternalStream(Stream):
    """A stream made by another library (`stream_ptr` is its cudaStream_t as an int); lamina does not
    own it, so the other library must keep it alive while it is used."""

    def __init__(self, stream_ptr, device=None):
        super().__init__(_stream=_c.Stream.external(_index(device), int(stream_ptr)))


class Event:
    """A CUDA event: a marker recorded on a stream, to wait for, to make other streams wait for, or,
    with `enable_timing=True`, to time the work between two events (elapsed_time, in ms)."""

    def __init__(self, enable_timing=False):
        self._e = _c.Event(bool(enable_timing))

    def record(self, stream=None):
        """Records the event on `stream` (default: the current stream)."""
        self._e.record((stream if stream is not None else current_stream())._s)

    def wait(self, stream=None):
        """Makes work queued on `stream` (default: the current stream) from now on wait for this event."""
        self._e.wait((stream if stream is not None else current_stream())._s)

    def query(self):
        """True when the work recorded before the event has completed (also when never recorded)."""
        return self._e.query()

    def synchronize(self):
        """Waits until the work recorded before the event has completed."""
        self._e.synchronize()

    def elapsed_time(self, end_event):
        """Milliseconds from this event to `end_event` (both recorded, completed and timing-enabled)."""
        return self._e.elapsed_time(end_event._e)

    @property
    def cuda_event(self):
        """The cudaEvent_t as an int (0 until recorded)."""
        return self._e.cuda_event

    def __repr__(self):
        return f"<lamina.cuda.Event cuda_event={self.cuda_event:#x}>"


def current_stream(device=None):
    """The calling thread's current stream on `device` (default: the current device)."""
    return Stream._wrap(_c.Stream.current(_index(device)))


def default_stream(device=None):
    """The default stream of `device` (default: the current device)."""
    return Stream._wrap(_c.Stream.default(_index(device)))


def set_stream(stream):
    """Makes `stream` the current stream on its device for the calling thread."""
    if stream is not None:
        _c.set_stream(stream._s)


class StreamContext:
    """Context manager making `stream` current inside the block (None: no change)."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        if self.stream is not None:
            self.stream.__enter__()
        return self.stream

    def __exit__(self, *exc):
        if self.stream is not None:
            self.stream.__exit__(*exc)
        return False


def stream(stream):
    """`with lamina.cuda.stream(s):` queues the block's work on `s` (None: the current stream)."""
    return StreamContext(stream)


def host_memory_stats():
    """The pinned host allocator's counters: allocated_bytes, reserved_bytes, allocations,
    cache_hits, pending_frees (blocks freed while a queued copy still uses them)."""
    return _c.host_memory_stats()


def host_empty_cache():
    """Returns cached pinned host memory to the system (after the copies that use it complete)."""
    _c.host_empty_cache()


class _CudaAmp:
    """lamina.cuda.amp: torch.cuda.amp's names (autocast with device_type="cuda", GradScaler for cuda)."""

    @property
    def autocast(self):
        from .amp import CudaAutocast
        return CudaAutocast

    @property
    def GradScaler(self):  # noqa: N802 (torch's name)
        from .amp import CudaGradScaler
        return CudaGradScaler


amp = _CudaAmp()
