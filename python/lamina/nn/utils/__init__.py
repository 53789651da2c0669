"""torch.nn.utils: gradient clipping and the packed-sequence helpers of utils.rnn."""
from ..._lamina.nn.utils import clip_grad_norm_, clip_grad_value_  # noqa: F401
from . import rnn  # noqa: F401

__all__ = ["clip_grad_norm_", "clip_grad_value_", "rnn"]
