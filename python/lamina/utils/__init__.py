"""Utilities (lamina.utils.data: data readers)."""
from . import data  # noqa: F401
