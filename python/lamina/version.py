"""lamina.version: what this build is (torch.version's names)."""
from . import _lamina

__all__ = ["__version__", "cuda", "hip", "debug"]

__version__ = "0.1.0"
# The CUDA runtime version of the CUDA backend ("13.0"); None in a build without it.
cuda = _lamina._cuda.runtime_version() or None
hip = None  # no ROCm backend
debug = False
