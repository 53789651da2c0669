"""Training helpers (placeholder until written)."""
