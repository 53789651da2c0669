"""lamina: a deep-learning training framework with a C++ core and PyTorch's names."""
from . import _lamina
from ._lamina import *  # noqa: F401,F403
from ._lamina import Tensor, dtype, device  # noqa: F401

# Error classes that share a name with Python built-ins stay reachable as lamina.X but are
# not star-exported, so `from lamina import *` never shadows the built-ins.
from ._lamina import Error, ShapeError, DTypeError, DeviceMismatchError, DeviceNotAvailableError  # noqa: F401
from ._lamina import OutOfMemoryError, ConfigError, FormatError, KernelError  # noqa: F401

IndexError = _lamina.IndexError
ValueError = _lamina.ValueError
NotImplementedError = _lamina.NotImplementedError
IOError = _lamina.IOError

# The extension's own `nn` / `optim` submodules came in with the star import; drop them so the
# imports below load the Python packages of those names (which wrap them).
for _sub in ("nn", "optim"):
    globals().pop(_sub, None)

from . import autograd  # noqa: E402
from .autograd import no_grad, enable_grad, set_grad_enabled  # noqa: E402,F401
from . import optim  # noqa: E402,F401
from . import utils  # noqa: E402,F401
from . import nn  # noqa: E402,F401
from . import metrics  # noqa: E402,F401
from . import train  # noqa: E402,F401
from . import onnx  # noqa: E402,F401
from . import profiler  # noqa: E402,F401
from . import cuda  # noqa: E402,F401
from .amp import autocast, is_autocast_enabled, get_autocast_dtype  # noqa: E402,F401
from . import backends  # noqa: E402,F401
from . import serialization  # noqa: E402,F401
from .serialization import save, load  # noqa: E402,F401  (PyTorch's .pt format, read without running code)
from . import accelerator  # noqa: E402,F401
from . import testing  # noqa: E402,F401
from . import distributions  # noqa: E402,F401
from . import distributed  # noqa: E402,F401
from ._torch_names import *  # noqa: E402,F401,F403  (aliases, legacy typed constructors, Size, finfo)
from ._torch_names import __all__ as _torch_names_all  # noqa: E402
from ._torch_names import install_tensor_methods as _install_tensor_methods  # noqa: E402

_install_tensor_methods()


def compile(model=None, **options):
    """torch.compile's name: returns `model` (a module or function) unchanged. lamina runs every op
    eagerly at low overhead and has no graph compiler; the options (mode, fullgraph, dynamic,
    backend, ...) are accepted and ignored so that scripts calling torch.compile run. Usable as a
    decorator, with or without options."""
    if model is None:
        return lambda m: m
    return model
from .profiler import profile  # noqa: E402,F401  (SPEC's `with lamina.profile()`)

from . import version  # noqa: E402
from .version import __version__  # noqa: E402,F401

__all__ = [n for n in dir(_lamina) if not n.startswith("_")
           and n not in ("IndexError", "ValueError", "NotImplementedError", "IOError")] + list(_torch_names_all)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, sci_mode=None):
    """Sets how tensors print (like torch.set_printoptions)."""
    _lamina._set_printoptions(precision, threshold, edgeitems, linewidth, sci_mode)


from . import _signatures; _signatures.install()  # noqa: E402,E702  (inspect.signature for the C++ callables)
