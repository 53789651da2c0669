"""torch.nn.modules.padding's names (the layers live in lamina.nn)."""
from ..activation import ConstantPad1d, ConstantPad2d, ReflectionPad1d, ReflectionPad2d, ReplicationPad1d, ReplicationPad2d, ZeroPad1d, ZeroPad2d  # noqa: F401

__all__ = ["ReflectionPad1d", "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "ZeroPad1d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d"]
