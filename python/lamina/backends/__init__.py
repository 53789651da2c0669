"""lamina.backends: switches of the compute backends with torch.backends' names."""
from . import cuda, mps  # noqa: F401

__all__ = ["cuda", "mps"]
