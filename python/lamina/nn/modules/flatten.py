"""torch.nn.modules.flatten's names (the layers live in lamina.nn)."""
from . import Flatten  # noqa: F401

__all__ = ["Flatten"]
