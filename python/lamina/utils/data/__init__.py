"""Data loading (torch.utils.data's place): datasets, samplers, the DataLoader, file readers
and transforms. Each submodule lists its public names in __all__."""
from .dataset import *  # noqa: F401,F403
from .sampler import *  # noqa: F401,F403
from .dataloader import *  # noqa: F401,F403
from .readers import *  # noqa: F401,F403
from . import transforms  # noqa: F401

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
"""Where Debian's dataset-fashion-mnist package installs the gzipped IDX files."""
