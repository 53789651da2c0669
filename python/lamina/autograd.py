"""Automatic differentiation: grad, backward, gradcheck and the grad-mode context managers."""
import functools

from . import _lamina

grad = _lamina._autograd.grad
backward = _lamina._autograd.backward
gradcheck = _lamina._autograd.gradcheck


class _GradMode:
    """Base of no_grad / enable_grad: a context manager and a function decorator."""

    _mode = True

    def __enter__(self):
        self._previous = _lamina.is_grad_enabled()
        _lamina._set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        _lamina._set_grad_enabled(self._previous)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Operations inside record no graph (like torch.no_grad)."""

    _mode = False


class enable_grad(_GradMode):
    """Operations inside record graphs, even within no_grad (like torch.enable_grad)."""

    _mode = True


class set_grad_enabled(_GradMode):
    """Sets grad mode to `mode` now; as a context manager, restores it on exit."""

    def __init__(self, mode):
        self._mode = bool(mode)
        self._previous = _lamina.is_grad_enabled()
        _lamina._set_grad_enabled(self._mode)

    def __enter__(self):
        return self


# torch.autograd.profiler's profile / record_function are lamina's profiler (torch's older path).
from . import profiler  # noqa: E402,F401
