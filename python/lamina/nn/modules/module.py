"""torch.nn.modules.module's names (the layers live in lamina.nn)."""
from ..module import Module  # noqa: F401

__all__ = ["Module"]
