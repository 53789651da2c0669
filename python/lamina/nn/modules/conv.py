"""torch.nn.modules.conv's names (the layers live in lamina.nn)."""
from . import Conv1d, Conv2d, ConvTranspose2d  # noqa: F401

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]
