"""seed_everything: one call for reproducible runs."""
import operator
import random

from .._lamina import _train

__all__ = ["seed_everything", "recorded_seed"]

recorded_seed = _train.recorded_seed


def seed_everything(seed=None):
    """Seeds lamina's global generator (weight init, dropout, random ops, DataLoader shuffling and
    sample transforms derive from it), Python's ``random`` and NumPy's legacy global generator with
    ``seed`` (a fresh random seed when None); records and returns the seed."""
    if seed is not None:
        seed = operator.index(seed)
        if not 0 <= seed < 2**64:
            raise ValueError(f"seed must lie in [0, 2**64), got {seed}")
    seed = _train.seed_everything(seed)
    random.seed(seed)
    try:
        import numpy as np
    except ImportError:  # NumPy is optional for lamina itself
        return seed
    np.random.seed(seed % 2**32)
    return seed
