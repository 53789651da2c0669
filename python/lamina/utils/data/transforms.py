"""Image transforms with torchvision.transforms' names: ToTensor, Normalize, RandomCrop,
RandomHorizontalFlip, Compose; and TransformDataset, which applies a transform to one field of
each example of a dataset.

They work on a (C, H, W) sample or an (N, C, H, W) batch (each sample of a batch draws its own
crop window and flip). The random ones draw from the per-sample random stream, so inside a
seeded DataLoader every sample is transformed identically on each run, for any number of
workers; outside a loader they follow ``lamina.manual_seed``. The work is done in C++; a
TransformDataset of a native dataset with native transforms is loaded without Python at all.
"""
from ... import _lamina
from .dataset import Dataset

__all__ = ["Compose", "ToTensor", "Normalize", "RandomCrop", "RandomHorizontalFlip", "TransformDataset"]

_r = _lamina._readers


def _as_tensor(x):
    import lamina
    return x if isinstance(x, lamina.Tensor) else lamina.tensor(x)


class _Native:
    """A transform done by the C++ object in ``_native_transform``."""

    _native_transform = None

    def __call__(self, x):
        return self._native_transform(_as_tensor(x))

    def __repr__(self):
        return f"{type(self).__name__}({self._repr_args()})"

    def _repr_args(self):
        return ""


class ToTensor(_Native):
    """(H, W, C) or (H, W) image (a tensor or a NumPy array; (N, H, W, C) batches too) ->
    (C, H, W). uint8 becomes float32 in [0, 1] as in torchvision; floating inputs keep their dtype
    and values; other integer types become float32 unscaled."""

    def __init__(self):
        self._native_transform = _r.ToTensor()


class Normalize(_Native):
    """``(x - mean[c]) / std[c]`` for each channel c of a floating (..., C, H, W) tensor. ``mean``
    and ``std`` are sequences with one value per channel, or single numbers for every channel."""

    def __init__(self, mean, std, inplace=False):
        mean = [float(m) for m in (mean if hasattr(mean, "__len__") else [mean])]
        std = [float(s) for s in (std if hasattr(std, "__len__") else [std])]
        self.mean, self.std, self.inplace = mean, std, inplace
        self._native_transform = _r.Normalize(mean, std)

    def __call__(self, x):
        y = self._native_transform(_as_tensor(x))
        if self.inplace:
            x.copy_(y)
            return x
        return y

    def _repr_args(self):
        return f"mean={self.mean}, std={self.std}"


class RandomCrop(_Native):
    """A random ``size`` window (an int for a square, or (height, width)) of the image after
    zero-padding ``padding`` pixels on every side."""

    def __init__(self, size, padding=None):
        h, w = (size, size) if isinstance(size, int) else tuple(size)
        self.size, self.padding = (int(h), int(w)), int(padding or 0)
        self._native_transform = _r.RandomCrop(self.size[0], self.size[1], self.padding)

    def _repr_args(self):
        return f"size={self.size}, padding={self.padding}"


class RandomHorizontalFlip(_Native):
    """Mirrors the width (last) dim with probability ``p``."""

    def __init__(self, p=0.5):
        self.p = float(p)
        self._native_transform = _r.RandomHorizontalFlip(self.p)

    def _repr_args(self):
        return f"p={self.p}"


class Compose:
    """Applies ``transforms`` in order; any callable may appear (native ones stay in C++)."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class TransformDataset(Dataset):
    """``dataset`` with ``transform`` applied to field ``field`` (default 0, the input) of every
    example. When the dataset is a native one (TensorDataset, Subset...) and the transform is
    native (the classes above, or a Compose of them), examples are produced entirely in C++."""

    def __init__(self, dataset, transform, field=0):
        self.dataset, self.transform, self.field = dataset, transform, field
        native = getattr(dataset, "_native", None)
        if isinstance(native, _lamina._data.Dataset) and _r.is_native_transform(transform):
            self._native = _r.TransformDataset(native, field, transform)

    def __getitem__(self, index):
        if self._native is not None and (isinstance(index, int) or hasattr(index, "__index__")):
            return tuple(self._native.get(int(index)))
        example = self.dataset[index]
        if not isinstance(example, (tuple, list)):
            if self.field not in (0, -1):
                raise IndexError(f"TransformDataset: field {self.field} of a single-field example")
            return self.transform(example)
        parts = list(example)
        parts[self.field] = self.transform(parts[self.field])
        return tuple(parts)

    def __len__(self):
        return len(self.dataset)
