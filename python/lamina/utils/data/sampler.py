"""sampler (placeholder until written)."""
__all__ = []
