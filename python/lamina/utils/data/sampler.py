"""Samplers (torch.utils.data's names). The random ones are pure functions of (seed, epoch)
through Philox: inside a DataLoader they use the loader's seed and epoch (unless given their own
`seed`); iterated directly, each `iter()` draws a new seed from the global generator, or, with a
fixed `seed`, moves to the next epoch."""
from ... import _lamina

_data = _lamina._data

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "DistributedSampler", "BatchSampler"]


class Sampler:
    """Base class: subclasses define `__iter__()` yielding dataset indices (and usually `__len__()`)."""

    _native = None

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class _SeededSampler(Sampler):
    """A sampler backed by a C++ sampler; `_seed` is its own seed or None."""

    def _iter_indices(self):
        if self._seed is None:
            seed, epoch = _data.seed_from_global_generator(), 0
        else:
            seed, epoch = self._seed, self._epoch
            self._epoch += 1
        return iter(self._native.indices(seed, epoch))

    def __iter__(self):
        return self._iter_indices()

    def __len__(self):
        return len(self._native)


def _own_seed(generator, seed):
    if seed is not None:
        return int(seed) % 2**64
    if generator is not None:
        if not hasattr(generator, "initial_seed"):
            raise TypeError("generator must have an initial_seed() method (or pass seed=)")
        return int(generator.initial_seed()) % 2**64
    return None


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source
        self._native = _data.SequentialSampler(len(data_source))

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(_SeededSampler):
    """A random permutation each epoch, or `num_samples` draws with `replacement`."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None, *, seed=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        if num_samples is not None and (not isinstance(num_samples, int) or num_samples <= 0):
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self._seed = _own_seed(generator, seed)
        self._epoch = 0
        self._native = _data.RandomSampler(len(data_source), replacement, num_samples, self._seed)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples


class SubsetRandomSampler(_SeededSampler):
    """A new random permutation of `indices` each epoch."""

    def __init__(self, indices, generator=None, *, seed=None):
        self.indices = indices
        self._seed = _own_seed(generator, seed)
        self._epoch = 0
        self._native = _data.SubsetRandomSampler([int(i) for i in (indices.tolist() if hasattr(indices, "tolist")
                                                                    else indices)], self._seed)


class DistributedSampler(Sampler):
    """Replica `rank` of `num_replicas`'s share of the dataset (PyTorch's DistributedSampler): the
    epoch's order (shuffled by `seed` and the epoch), padded by repetition to a multiple of
    num_replicas (or cut, with drop_last), then every num_replicas-th index from `rank`.
    num_replicas and rank default to the default process group's size and rank
    (lamina.distributed), or to one process (1 and 0) when none is initialized. In a DataLoader
    the loader's epoch is used; iterated directly, `set_epoch` chooses the epoch."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        self.dataset = dataset
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            world = dist.is_initialized()
            if num_replicas is None:
                num_replicas = dist.get_world_size() if world else 1
            if rank is None:
                rank = dist.get_rank() if world else 0
        self.num_replicas = num_replicas
        self.rank = rank
        self.shuffle = shuffle
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0
        self._native = _data.DistributedSampler(len(dataset), self.num_replicas, self.rank, shuffle,
                                                int(seed) % 2**64, drop_last)
        self.num_samples = len(self._native)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """The epoch that direct iteration uses (the DataLoader uses its own)."""
        self.epoch = epoch

    def __iter__(self):
        return iter(self._native.indices(0, self.epoch))

    def __len__(self):
        return self.num_samples


class WeightedRandomSampler(_SeededSampler):
    """Index i with probability weights[i] / sum(weights), `num_samples` times."""

    def __init__(self, weights, num_samples, replacement=True, generator=None, *, seed=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        if hasattr(weights, "tolist"):
            weights = weights.tolist()
        self.weights = [float(w) for w in weights]
        self.num_samples = num_samples
        self.replacement = replacement
        self._seed = _own_seed(generator, seed)
        self._epoch = 0
        self._native = _data.WeightedRandomSampler(self.weights, num_samples, replacement, self._seed)


class BatchSampler(Sampler):
    """Groups the indices of `sampler` into lists of `batch_size` (the last one short unless `drop_last`)."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
