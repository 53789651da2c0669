"""torch.nn.modules.normalization's names (the layers live in lamina.nn)."""
from . import GroupNorm, LayerNorm, RMSNorm  # noqa: F401

__all__ = ["LayerNorm", "RMSNorm", "GroupNorm"]
