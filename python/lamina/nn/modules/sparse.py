"""torch.nn.modules.sparse's names (the layers live in lamina.nn)."""
from . import Embedding  # noqa: F401

__all__ = ["Embedding"]
