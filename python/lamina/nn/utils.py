"""Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_)."""
from .._lamina.nn.utils import clip_grad_norm_, clip_grad_value_  # noqa: F401

__all__ = ["clip_grad_norm_", "clip_grad_value_"]
