"""torch.accelerator's names: the one accelerator lamina drives is CUDA (None without a GPU)."""
from . import _lamina, cuda

__all__ = ["is_available", "current_accelerator", "device_count", "current_device_index", "set_device_index",
           "device_index", "synchronize"]


def is_available():
    """True when a GPU is usable."""
    return cuda.is_available()


def current_accelerator(check_available=False):
    """lamina.device("cuda") when a GPU is usable, else None (also with check_available=True)."""
    return _lamina.device("cuda") if cuda.is_available() else None


def device_count():
    """Usable accelerator devices (0 without a GPU)."""
    return cuda.device_count()


def current_device_index():
    """The current GPU's index; DeviceNotAvailableError without one."""
    if not cuda.is_available():
        raise _lamina.DeviceNotAvailableError("[current_device_index] no accelerator: lamina found no usable GPU")
    return cuda.current_device()


def set_device_index(index):
    """Makes GPU `index` current; DeviceNotAvailableError without it."""
    cuda.set_device(index)


def synchronize(device=None):
    """Waits for the accelerator's queued work (nothing to wait for without a GPU)."""
    if cuda.is_available():
        cuda.synchronize(device)


class device_index:
    """with device_index(i): GPU i is current inside the block, the previous one after
    (torch.accelerator.device_index); None leaves the current device as it is."""

    def __init__(self, device_index):
        if device_index is not None and not cuda.is_available():
            raise _lamina.DeviceNotAvailableError(f"[device_index] no accelerator for index {device_index}: lamina "
                                                  "found no usable GPU")
        self._guard = cuda.device(device_index)

    def __enter__(self):
        self._guard.__enter__()
        return self

    def __exit__(self, *exc):
        return self._guard.__exit__(*exc)
