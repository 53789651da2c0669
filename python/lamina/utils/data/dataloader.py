"""dataloader (placeholder until written)."""
__all__ = []
