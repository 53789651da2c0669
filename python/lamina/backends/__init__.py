"""lamina.backends: switches of the compute backends with torch.backends' names."""
from . import cuda  # noqa: F401

__all__ = ["cuda"]
