"""Optimizers with PyTorch's names and update rules (torch.optim); the C++ classes from the extension."""
import collections.abc as _abc

from .._lamina.optim import Optimizer, ParamGroup, SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta  # noqa: F401
from . import lr_scheduler  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401

_abc.MutableMapping.register(ParamGroup)

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "LBFGS", "lr_scheduler"]
