"""lamina.backends.mps: Apple's Metal backend, which lamina does not have (torch.backends.mps's
names, so device-selection code takes its CPU / CUDA branch)."""

__all__ = ["is_available", "is_built"]


def is_available():
    """False: lamina has no Metal (MPS) backend."""
    return False


def is_built():
    """False: lamina is never built with Metal (MPS) support."""
    return False
