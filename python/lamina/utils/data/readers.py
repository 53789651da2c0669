"""File readers: IDX (raw or gzip)."""
from ... import _lamina

__all__ = ["read_idx"]

read_idx = _lamina._data.read_idx
