"""The DataLoader (torch.utils.data's names) and the default collation.

Batches come from C++ loaders: a native dataset (TensorDataset, Subset / ConcatDataset of native
datasets) with the default collation is loaded and collated by C++ worker threads that never take
the GIL; any other map-style dataset is loaded by the same ordered workers, which take the GIL
around `dataset[i]` and `collate_fn`. Either way, batches arrive in order, the calling thread
releases the GIL while it waits, and a seed gives the same batches for every `num_workers`:
shuffling and each sample's random stream (used by lamina's random transforms) depend only on
(seed, epoch, position). Each `iter(loader)` starts a new epoch, abandoning one in progress."""
import atexit
import collections.abc
import weakref

from ... import _lamina
from .dataset import IterableDataset, _native_of
from .sampler import BatchSampler, RandomSampler, SequentialSampler

_data = _lamina._data

__all__ = ["DataLoader", "default_collate", "default_convert"]


def _lm():
    import lamina
    return lamina


def _is_numpy_array(x):
    return type(x).__module__ == "numpy" and type(x).__name__ in ("ndarray", "memmap")


def _is_numpy_scalar(x):
    return type(x).__module__ == "numpy" and hasattr(x, "dtype") and not _is_numpy_array(x)


def default_convert(data):
    """Converts NumPy arrays and scalars (also inside dicts, tuples and lists) to tensors; leaves
    everything else as it is (what the DataLoader does to each sample when batch_size is None)."""
    lm = _lm()
    if isinstance(data, lm.Tensor):
        return data
    if _is_numpy_array(data) or _is_numpy_scalar(data):
        return data if data.dtype.kind in "SUO" else lm.tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data


def default_collate(batch):
    """PyTorch's default collation: tensors and NumPy arrays are stacked along a new first dim;
    Python floats become a float64 tensor, ints an int64 tensor, bools a bool tensor; strings stay a
    list; dicts, namedtuples, tuples and lists are collated field by field (tuples become lists)."""
    lm = _lm()
    elem = batch[0]
    if isinstance(elem, lm.Tensor):
        return lm.stack(list(batch), 0)
    if _is_numpy_array(elem):
        if elem.dtype.kind in "SUO":
            raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                            f"found an array of dtype {elem.dtype}")
        return lm.stack([lm.tensor(b) for b in batch], 0)
    if _is_numpy_scalar(elem):
        return lm.tensor([b.item() for b in batch], dtype=str(elem.dtype))
    if isinstance(elem, bool):
        return lm.tensor(list(batch), dtype=lm.bool)
    if isinstance(elem, int):
        return lm.tensor(list(batch), dtype=lm.int64)
    if isinstance(elem, float):
        return lm.tensor(list(batch), dtype=lm.float64)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(samples)) for samples in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem)}")


def _loader_seed(seed, generator):
    if seed is None and generator is not None:
        if not hasattr(generator, "initial_seed"):
            raise TypeError("generator must have an initial_seed() method (or pass seed=)")
        seed = generator.initial_seed()
    if seed is None:
        return _data.seed_from_global_generator()
    seed = int(seed) % 2**64
    return seed if seed != 0 else 0x9E3779B97F4A7C15  # 0 means "draw one" to the C++ loader


class _SingleIndexBatches:
    """The plan of batch_size=None: one index per batch."""

    def __init__(self, sampler):
        self.sampler = sampler

    def __iter__(self):
        return ([i] for i in self.sampler)

    def __len__(self):
        return len(self.sampler)


class _FirstSample:
    """The collation of batch_size=None: `convert` applied to the one sample of each batch."""

    def __init__(self, convert):
        self.convert = convert

    def __call__(self, samples):
        return self.convert(samples[0])


def _native_plan(batch_sampler):
    if type(batch_sampler) is BatchSampler and getattr(batch_sampler.sampler, "_native", None) is not None:
        return _data.BatchSampler(batch_sampler.sampler._native, batch_sampler.batch_size, batch_sampler.drop_last)
    if isinstance(batch_sampler, _data.BatchSampler):
        return batch_sampler
    if isinstance(batch_sampler, _SingleIndexBatches) and getattr(batch_sampler.sampler, "_native", None) is not None:
        return _data.BatchSampler(batch_sampler.sampler._native, 1, False)
    return _data.PythonBatchSampler(batch_sampler)


_live_loaders = weakref.WeakSet()


@atexit.register
def _stop_workers():
    for loader in list(_live_loaders):
        if loader._loader is not None:
            loader._loader.stop()


def _pinning_available():
    """pin_memory needs a CUDA device; without one PyTorch warns and leaves batches as they are."""
    if _lm().cuda.is_available():
        return True
    import warnings
    warnings.warn("'pin_memory' argument is set as true but no CUDA device is available, then device pinned memory "
                  "won't be used.", stacklevel=3)
    return False


def _pin(data):
    """`data` with every tensor copied into pinned memory (through lists, tuples, named tuples,
    mappings and objects with a pin_memory method, as PyTorch's pin_memory)."""
    lm = _lm()
    if isinstance(data, lm.Tensor):
        return data.pin_memory() if data.device.type == "cpu" else data
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        pinned = {k: _pin(v) for k, v in data.items()}
        try:
            return type(data)(pinned)
        except TypeError:
            return pinned
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_pin(x) for x in data))
    if isinstance(data, tuple):
        return tuple(_pin(x) for x in data)
    if isinstance(data, collections.abc.Sequence):
        try:
            return type(data)([_pin(x) for x in data])
        except TypeError:
            return [_pin(x) for x in data]
    if hasattr(data, "pin_memory"):
        return data.pin_memory()
    return data


class DataLoader:
    """Batches of `dataset` (PyTorch's DataLoader). `num_workers` C++ threads load up to
    `num_workers * prefetch_factor` batches ahead; `seed` (default: drawn from the global generator,
    so `lamina.manual_seed` makes it reproducible) fixes shuffling and sample transforms.
    `pin_memory=True` copies each batch's tensors into pinned host memory, so `.cuda(non_blocking=True)`
    overlaps the copy with compute (without a CUDA device it warns and does nothing, as in PyTorch).
    `persistent_workers` is accepted for compatibility (worker threads are cheap to start each
    epoch). An IterableDataset is read on the calling thread."""

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, generator=None, *, prefetch_factor=None,
                 persistent_workers=False, seed=None):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable workers.")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified when num_workers > 0")
        if prefetch_factor is None:
            prefetch_factor = 2
        if not isinstance(prefetch_factor, int) or prefetch_factor < 1:
            raise ValueError(f"prefetch_factor should be a positive integer, got {prefetch_factor}")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self._pin = bool(pin_memory) and _pinning_available()
        self.persistent_workers = persistent_workers
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                                 f"shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, but got "
                                 f"sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
                                 f"got batch_sampler={batch_sampler}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        elif batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                                         or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.batch_size = batch_size
        self.drop_last = drop_last
        auto_batching = batch_sampler is not None or (self._iterable and batch_size is not None)
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if auto_batching else default_convert)
        self._generation = 0
        self._loader = None
        self._loader_pins = False
        self._seed = _loader_seed(seed, generator)
        if self._iterable:
            return
        native = _native_of(dataset)
        if native is not None and collate_fn is None and batch_sampler is not None:
            # The C++ workers pin native batches themselves, off the reading thread.
            self._loader = _data.NativeLoader(native, 1, False, False, num_workers, prefetch_factor, self._seed, None,
                                              _native_plan(batch_sampler), pin_memory=self._pin)
            self._loader_pins = self._pin
        else:
            plan = _native_plan(batch_sampler if batch_sampler is not None else _SingleIndexBatches(sampler))
            collate = self.collate_fn if batch_sampler is not None else _FirstSample(self.collate_fn)
            self._loader = _data.PyLoader(dataset, plan, collate, num_workers, prefetch_factor, self._seed)
        _live_loaders.add(self)

    def _pinned(self, batch):
        return _pin(batch) if self._pin and not self._loader_pins else batch

    @property
    def seed(self):
        """The seed of shuffling and sample transforms."""
        return self._seed

    def __len__(self):
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._loader)

    def __iter__(self):
        if self._iterable:
            return self._iter_stream()
        self._generation += 1
        return _LoaderIterator(self, self._generation)

    def _iter_stream(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self._pinned(self.collate_fn(sample))
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self._pinned(self.collate_fn(batch))
                batch = []
        if batch and not self.drop_last:
            yield self._pinned(self.collate_fn(batch))

    def state_dict(self):
        """Where the loader stands: {"seed", "epoch", "batches_consumed"} (batches already delivered
        of the epoch in progress). Not available for an IterableDataset read in Python."""
        if self._loader is None:
            raise NotImplementedError("a DataLoader over a Python IterableDataset has no resumable state")
        seed, epoch, consumed = self._loader.state()
        return {"seed": seed, "epoch": epoch, "batches_consumed": consumed}

    def load_state_dict(self, state):
        """Resumes from state_dict() at the next iter(): the same seed, epoch and position."""
        if self._loader is None:
            raise NotImplementedError("a DataLoader over a Python IterableDataset has no resumable state")
        self._loader.load_state(int(state["seed"]), int(state["epoch"]), int(state["batches_consumed"]))
        self._seed = self._loader.seed
        self._generation += 1


class _LoaderIterator:
    """One epoch of a DataLoader; superseded (it stops) when a newer iterator starts."""

    def __init__(self, loader, generation):
        self._owner = loader
        self._generation = generation
        self._started = False
        self._done = False

    def __iter__(self):
        return self

    def __len__(self):
        return len(self._owner)

    def __next__(self):
        if self._done or self._owner._generation != self._generation:
            raise StopIteration
        try:
            if self._started:
                batch = self._owner._loader.next()
            else:
                self._started = True
                batch = self._owner._loader.start()
        except BaseException:
            self._done = True
            raise
        if batch is None:
            self._done = True
            raise StopIteration
        return self._owner._pinned(batch)
