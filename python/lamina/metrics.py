"""Metrics (placeholder until written)."""
