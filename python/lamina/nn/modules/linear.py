"""torch.nn.modules.linear's names (the layers live in lamina.nn)."""
from . import Identity, Linear  # noqa: F401

# PyTorch's name for MultiheadAttention's output projection: a plain Linear.
NonDynamicallyQuantizableLinear = Linear

__all__ = ["Linear", "Identity", "NonDynamicallyQuantizableLinear"]
