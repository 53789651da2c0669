"""Data loading (torch.utils.data's place): file readers so far."""
from .. import _lamina

read_idx = _lamina._data.read_idx

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
"""Where Debian's dataset-fashion-mnist package installs the gzipped IDX files."""
