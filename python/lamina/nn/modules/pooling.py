"""torch.nn.modules.pooling's names (the layers live in lamina.nn)."""
from . import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d  # noqa: F401

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"]
