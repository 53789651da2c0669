"""Learning-rate schedulers (torch.optim.lr_scheduler); the C++ classes from the extension."""
from .._lamina.optim.lr_scheduler import (  # noqa: F401
    LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR, SequentialLR)

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR", "OneCycleLR",
           "SequentialLR"]
