"""torch.nn.modules.instancenorm's names (the layers live in lamina.nn)."""
from ..activation import InstanceNorm1d, InstanceNorm2d  # noqa: F401

__all__ = ["InstanceNorm1d", "InstanceNorm2d"]
