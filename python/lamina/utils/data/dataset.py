"""Datasets (torch.utils.data's names): map-style `Dataset`, `IterableDataset`, `TensorDataset`,
`Subset`, `ConcatDataset` and `random_split`.

A dataset whose `_native` attribute holds a C++ dataset (`TensorDataset`, and `Subset` /
`ConcatDataset` of native datasets) is loaded entirely in C++ by the DataLoader; any other
dataset is read through its `__getitem__` (the workers then take the GIL around each call)."""
import bisect
import math

from ... import _lamina
from .sampler import _own_seed

_data = _lamina._data

__all__ = ["Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "random_split"]


class Dataset:
    """A map-style dataset: subclasses define `__getitem__(index)` and `__len__()`."""

    _native = None

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset read as a stream: subclasses define `__iter__()` (and optionally `__len__()`).
    The DataLoader reads it on the calling thread, in order."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        raise TypeError("ConcatDataset does not support IterableDataset")


def _native_of(dataset):
    native = getattr(dataset, "_native", None)
    return native if isinstance(native, _data.Dataset) else None


class TensorDataset(Dataset):
    """Examples are the rows of `tensors` (equal first dims); example i is `tuple(t[i] for t in tensors)`."""

    def __init__(self, *tensors):
        self.tensors = tensors
        self._native = _data.TensorDataset(list(tensors))

    def __getitem__(self, index):
        if isinstance(index, int) or hasattr(index, "__index__"):
            return tuple(self._native.get(int(index)))
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return len(self._native)


def _int_list(indices):
    if hasattr(indices, "tolist"):
        indices = indices.tolist()
    return [int(i) for i in indices]


class Subset(Dataset):
    """The examples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = _int_list(indices)
        native = _native_of(dataset)
        self._native = _data.Subset(native, self.indices) if native is not None else None

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        if self._native is not None and isinstance(idx, int):
            return tuple(self._native.get(idx))
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Datasets one after another; `cumulative_sizes` holds the running totals of their lengths."""

    @staticmethod
    def cumsum(sequence):
        out, total = [], 0
        for d in sequence:
            total += len(d)
            out.append(total)
        return out

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = self.cumsum(self.datasets)
        natives = [_native_of(d) for d in self.datasets]
        self._native = _data.ConcatDataset(natives) if all(n is not None for n in natives) else None

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if self._native is not None and isinstance(idx, int):
            return tuple(self._native.get(idx))
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[d][idx if d == 0 else idx - self.cumulative_sizes[d - 1]]


def _seed_of(generator, seed):
    own = _own_seed(generator, seed)
    return _data.seed_from_global_generator() if own is None else own


def random_split(dataset, lengths, generator=None, *, seed=None):
    """Splits `dataset` into non-overlapping random `Subset`s of the given lengths: counts summing to
    len(dataset), or fractions summing to 1 (each floor(f * len), the remainder dealt from the first
    split on, as in PyTorch). The permutation is a pure function of `seed` (default: a seed drawn from
    the global generator, so `lamina.manual_seed` makes it reproducible)."""
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= n:
        lengths = _data.split_lengths(n, [float(f) for f in lengths])
    lengths = [int(length) for length in lengths]
    if any(length < 0 for length in lengths):
        raise ValueError(f"lengths must be non-negative, got {lengths}")
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = _data.random_permutation(n, _seed_of(generator, seed), 1 << 62)
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset:offset + length]))
        offset += length
    return out
