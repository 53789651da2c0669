"""torch.nn.modules.dropout's names (the layers live in lamina.nn)."""
from . import Dropout  # noqa: F401
from ..activation import Dropout1d, Dropout2d  # noqa: F401

__all__ = ["Dropout", "Dropout1d", "Dropout2d"]
