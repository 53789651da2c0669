"""torch.nn.modules.container's names (the layers live in lamina.nn)."""
from . import ModuleDict, ModuleList, Sequential  # noqa: F401

__all__ = ["Sequential", "ModuleList", "ModuleDict"]
