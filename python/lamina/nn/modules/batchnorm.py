"""torch.nn.modules.batchnorm's names (the layers live in lamina.nn)."""
from . import BatchNorm1d, BatchNorm2d  # noqa: F401

__all__ = ["BatchNorm1d", "BatchNorm2d"]
