"""lamina.utils.data datasets, samplers, collation and the DataLoader: PyTorch's semantics
(batch counts, drop_last, Subset/ConcatDataset indexing, random_split lengths) checked against
torch.utils.data where it is cheap, and lamina's own guarantees: seeded batches identical for
every num_workers, errors at their batch, resumable state."""
import collections
import threading

import numpy as np
import pytest

import lamina
from conftest import torch_reference
from lamina.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset, DistributedSampler,
                               IterableDataset, RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                               TensorDataset, WeightedRandomSampler, default_collate, default_convert, random_split)

sample_uniform = lamina._lamina._data.sample_uniform


def tensor_ds(n):
    return TensorDataset(lamina.arange(n).float(), lamina.arange(n) * 10)


def as_lists(batches):
    """Batches as nested Python lists (tensors -> tolist) for equality checks."""
    def conv(x):
        if isinstance(x, lamina.Tensor):
            return x.tolist()
        if isinstance(x, dict):
            return {k: conv(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [conv(v) for v in x]
        return x
    return [conv(b) for b in batches]


def first_field_order(batches):
    return [v for b in batches for v in b[0].tolist()]


class NoisyDataset(Dataset):
    """A Python dataset with a random "transform" drawn from the sample's stream, NumPy outputs and
    an uneven amount of work per item, so that workers finish out of order."""

    def __init__(self, n, fail_at=None):
        self.n, self.fail_at = n, fail_at

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise KeyError(f"example {i} is bad")
        sum(range((i * 7919) % 5 * 2000))
        return np.full(3, i + sample_uniform(), dtype=np.float32), i


# ---- datasets ----

def test_tensor_dataset_indexing_and_errors():
    ds = tensor_ds(5)
    assert len(ds) == 5
    x, y = ds[3]
    assert x.item() == 3.0 and y.item() == 30
    assert ds[-1][1].item() == 40
    with pytest.raises(IndexError, match="index 5"):
        ds[5]
    with pytest.raises(lamina.ShapeError, match="size mismatch"):
        TensorDataset(lamina.zeros(3, 2), lamina.zeros(4))
    with pytest.raises(ValueError):
        TensorDataset(lamina.zeros(3), lamina.tensor(1.0))


def test_subset_and_concat_index_like_torch():
    a, b = tensor_ds(3), tensor_ds(4)
    sub = Subset(b, [3, 1, 0])
    assert len(sub) == 3 and [sub[i][0].item() for i in range(3)] == [3.0, 1.0, 0.0]
    cat = ConcatDataset([a, b])
    assert len(cat) == 7 and cat.cumulative_sizes == [3, 7]
    assert [cat[i][0].item() for i in range(7)] == [0, 1, 2, 0, 1, 2, 3]
    assert cat[-1][0].item() == 3.0
    assert len(a + b) == 7
    with pytest.raises(IndexError):
        cat[7]

    class Squares(Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return i * i

    py_cat = ConcatDataset([Squares(), Squares()])
    assert py_cat._native is None
    assert [py_cat[i] for i in range(8)] == [0, 1, 4, 9, 0, 1, 4, 9]
    assert py_cat[-3] == 1
    assert Subset(Squares(), [2, 3])[1] == 9
    with pytest.raises(TypeError):
        ConcatDataset([Squares(), IterableDataset()])


def test_random_split_lengths_match_torch():
    cases = [[10, [0.33, 0.33, 0.34]], [7, [0.5, 0.5]], [100, [0.7, 0.2, 0.1]], [5, [3, 2]], [3, [0.1, 0.9]]]
    ref = torch_reference("""
import json, sys, torch
from torch.utils.data import random_split
print(json.dumps([[len(s) for s in random_split(range(n), lengths)] for n, lengths in json.load(sys.stdin)]))
""", cases)
    for (n, lengths), expected in zip(cases, ref):
        parts = random_split(tensor_ds(n), lengths, seed=1)
        assert [len(p) for p in parts] == expected
        assert sorted(i for p in parts for i in p.indices) == list(range(n))
    with pytest.raises(ValueError):
        random_split(tensor_ds(10), [3, 6])


def test_random_split_is_seeded():
    ds = tensor_ds(20)
    a = [p.indices for p in random_split(ds, [5, 15], seed=4)]
    assert a == [p.indices for p in random_split(ds, [5, 15], seed=4)]
    assert a != [p.indices for p in random_split(ds, [5, 15], seed=5)]
    lamina.manual_seed(8)
    b = [p.indices for p in random_split(ds, [0.5, 0.5])]
    lamina.manual_seed(8)
    assert b == [p.indices for p in random_split(ds, [0.5, 0.5])]


# ---- samplers ----

def test_samplers():
    ds = tensor_ds(6)
    assert list(SequentialSampler(ds)) == list(range(6))
    r = RandomSampler(ds, seed=3)
    e0, e1 = list(r), list(r)
    assert sorted(e0) == sorted(e1) == list(range(6))
    assert e0 != e1  # each iter() is a new epoch
    assert list(RandomSampler(ds, seed=3)) == e0
    draws = list(RandomSampler(ds, replacement=True, num_samples=50, seed=1))
    assert len(draws) == 50 and set(draws) <= set(range(6))
    chained = list(RandomSampler(ds, num_samples=9, seed=2))
    assert sorted(chained[:6]) == list(range(6))
    with pytest.raises(ValueError):
        RandomSampler(ds, num_samples=0)


def test_subset_random_and_distributed_samplers():
    s = SubsetRandomSampler([5, 7, 9], seed=2)
    assert sorted(s) == [5, 7, 9] and len(s) == 3
    cases = [[10, 3, False], [10, 3, True], [2, 3, False], [2, 3, True], [12, 4, True]]
    ref = torch_reference("""
import json, sys
from torch.utils.data import DistributedSampler
print(json.dumps([[list(DistributedSampler(range(n), r, k, shuffle=False, drop_last=d)) for k in range(r)]
                  for n, r, d in json.load(sys.stdin)]))
""", cases)
    for (n, r, d), expected in zip(cases, ref):
        assert [list(DistributedSampler(range(n), r, k, shuffle=False, drop_last=d)) for k in range(r)] == expected
    shards = [DistributedSampler(range(12), 4, k, seed=3) for k in range(4)]
    for sh in shards:
        sh.set_epoch(1)
    assert sorted(i for sh in shards for i in sh) == list(range(12))
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(range(4), 2, 2)


def test_weighted_sampler_frequencies_and_errors():
    w = WeightedRandomSampler(lamina.tensor([1.0, 0.0, 3.0, 6.0]), 50000, seed=7)
    counts = np.bincount(list(w), minlength=4) / 50000
    np.testing.assert_allclose(counts, [0.1, 0.0, 0.3, 0.6], atol=0.015)
    assert counts[1] == 0
    once = list(WeightedRandomSampler([1, 0, 3, 6], 3, replacement=False, seed=1))
    assert sorted(once) == [0, 2, 3]
    for bad in ([], [1, -1], [0, 0], [1, float("nan")]):
        with pytest.raises(ValueError):
            WeightedRandomSampler(bad, 3)
    with pytest.raises(ValueError):
        WeightedRandomSampler([1, 2], 0)
    with pytest.raises(ValueError):
        WeightedRandomSampler([1, 0, 2], 3, replacement=False)


def test_batch_sampler_matches_torch():
    cases = [[10, 3, False], [10, 3, True], [9, 3, True], [2, 5, False], [2, 5, True]]
    ref = torch_reference("""
import json, sys
from torch.utils.data import BatchSampler, SequentialSampler
print(json.dumps([[list(BatchSampler(SequentialSampler(range(n)), b, d)), len(BatchSampler(range(n), b, d))]
                  for n, b, d in json.load(sys.stdin)]))
""", cases)
    for (n, b, d), (batches, length) in zip(cases, ref):
        bs = BatchSampler(SequentialSampler(range(n)), b, d)
        assert list(bs) == batches and len(bs) == length
    with pytest.raises(ValueError):
        BatchSampler(SequentialSampler(range(3)), 0, False)


# ---- collation ----

def test_default_collate_structures():
    Point = collections.namedtuple("Point", "x y")
    out = default_collate([{"a": 1.5, "b": (1, lamina.ones(2)), "s": "u", "p": Point(1, True)},
                           {"a": 2.5, "b": (2, lamina.zeros(2)), "s": "v", "p": Point(2, False)}])
    assert out["a"].dtype == lamina.float64 and out["a"].tolist() == [1.5, 2.5]
    assert isinstance(out["b"], list) and out["b"][0].dtype == lamina.int64
    assert out["b"][1].shape == (2, 2)
    assert out["s"] == ["u", "v"]
    assert isinstance(out["p"], Point) and out["p"].y.dtype == lamina.bool
    arr = default_collate([np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)])
    assert arr.shape == (2, 2, 3) and arr.dtype == lamina.float32
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(ValueError):
        default_collate([lamina.zeros(2), lamina.zeros(3)])
    assert isinstance(default_convert((np.zeros(2), "x"))[0], lamina.Tensor)


# ---- the loader ----

def test_batch_counts_and_drop_last_match_torch():
    cases = [[10, 4, False], [10, 4, True], [8, 4, True], [3, 5, False], [3, 5, True], [0, 2, False]]
    ref = torch_reference("""
import json, sys, torch
from torch.utils.data import DataLoader, TensorDataset
out = []
for n, b, d in json.load(sys.stdin):
    dl = DataLoader(TensorDataset(torch.arange(n)), batch_size=b, drop_last=d)
    out.append([len(dl), [x[0].tolist() for x in dl]])
print(json.dumps(out))
""", cases)
    for (n, b, d), (length, batches) in zip(cases, ref):
        for workers in (0, 2):
            dl = DataLoader(TensorDataset(lamina.arange(n)), batch_size=b, drop_last=d, num_workers=workers)
            assert len(dl) == length
            assert [x[0].tolist() for x in dl] == batches


def test_tensor_batches_are_lists_like_torch():
    batches = list(DataLoader(tensor_ds(5), batch_size=2))
    assert isinstance(batches[0], list) and len(batches) == 3
    assert batches[0][0].tolist() == [0.0, 1.0] and batches[2][1].tolist() == [40]
    assert batches[0][0].dtype == lamina.float32 and batches[0][1].dtype == lamina.int64


def test_shuffle_is_seeded_and_new_each_epoch():
    ds = tensor_ds(30)
    a = DataLoader(ds, batch_size=4, shuffle=True, seed=11)
    e0, e1 = as_lists(a), as_lists(a)
    assert e0 != e1
    assert e0 == as_lists(DataLoader(ds, batch_size=4, shuffle=True, seed=11))
    assert sorted(first_field_order(list(DataLoader(ds, batch_size=4, shuffle=True, seed=11)))) == list(range(30))
    lamina.manual_seed(3)
    b = as_lists(DataLoader(ds, batch_size=4, shuffle=True))
    lamina.manual_seed(3)
    assert b == as_lists(DataLoader(ds, batch_size=4, shuffle=True))


@pytest.mark.parametrize("make", [lambda: tensor_ds(41), lambda: NoisyDataset(41),
                                  lambda: Subset(ConcatDataset([tensor_ds(20), tensor_ds(30)]), list(range(5, 46)))])
def test_workers_give_the_same_batches_as_no_workers(make):
    ds = make()
    ref = DataLoader(ds, batch_size=5, shuffle=True, seed=77)
    r0, r1 = as_lists(ref), as_lists(ref)
    for workers in (1, 2, 4):
        dl = DataLoader(ds, batch_size=5, shuffle=True, seed=77, num_workers=workers, prefetch_factor=1 + workers % 2)
        assert as_lists(dl) == r0
        assert as_lists(dl) == r1


def test_python_dataset_random_draws_depend_on_position_only():
    ds = NoisyDataset(12)
    ones = [v for b in DataLoader(ds, batch_size=1, shuffle=True, seed=5) for v in b[0][:, 0].tolist()]
    fours = [v for b in DataLoader(ds, batch_size=4, shuffle=True, seed=5, num_workers=3) for v in b[0][:, 0].tolist()]
    assert ones == fours
    assert all(v != int(v) for v in ones)


def test_custom_collate_fn_runs_with_workers():
    calls = []

    def collate(samples):
        calls.append(threading.get_ident())
        return {"n": len(samples), "ids": [int(s[1]) for s in samples]}

    ds = NoisyDataset(10)
    want = list(DataLoader(ds, batch_size=3, collate_fn=collate))
    got = list(DataLoader(ds, batch_size=3, collate_fn=collate, num_workers=2))
    assert want == got == [{"n": 3, "ids": [0, 1, 2]}, {"n": 3, "ids": [3, 4, 5]}, {"n": 3, "ids": [6, 7, 8]},
                           {"n": 1, "ids": [9]}]
    assert threading.get_ident() not in calls[4:]  # the workers collated
    native = list(DataLoader(tensor_ds(4), batch_size=2, collate_fn=lambda s: len(s)))
    assert native == [2, 2]


@pytest.mark.parametrize("workers", [0, 1, 3])
def test_errors_arrive_at_their_batch(workers):
    dl = DataLoader(NoisyDataset(30, fail_at=13), batch_size=4, num_workers=workers)
    seen = []
    with pytest.raises(KeyError, match="example 13 is bad"):
        for b in dl:
            seen.append(b[1].tolist())
    assert seen == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    with pytest.raises(KeyError):
        list(dl)  # a new epoch fails at the same place


def test_early_break_and_new_iterators():
    for ds in (tensor_ds(100), NoisyDataset(100)):
        dl = DataLoader(ds, batch_size=2, num_workers=3)
        it = iter(dl)
        next(it)
        next(it)
        assert dl.state_dict()["batches_consumed"] == 2
        fresh = iter(dl)
        assert next(fresh)[1].tolist()[0] == 0  # a new epoch from its start
        assert list(it) == []  # superseded by the newer iterator
        assert dl.state_dict()["epoch"] == 1
        del it, fresh, dl  # destroyed mid-epoch: workers stop and join


def test_state_dict_resumes_mid_epoch():
    for ds in (tensor_ds(23), NoisyDataset(23)):
        full = DataLoader(ds, batch_size=3, shuffle=True, seed=9)
        list(full)
        expected = as_lists(full)  # epoch 1
        for workers in (0, 2):
            dl = DataLoader(ds, batch_size=3, shuffle=True, seed=9, num_workers=workers)
            list(dl)
            head = []
            for b in dl:
                head.append(b)
                if len(head) == 3:
                    state = dl.state_dict()
                    break
            assert state == {"seed": 9, "epoch": 1, "batches_consumed": 3}
            resumed = DataLoader(ds, batch_size=3, shuffle=True, seed=1, num_workers=workers)
            resumed.load_state_dict(state)
            assert resumed.seed == 9
            assert as_lists(head) + as_lists(resumed) == expected
            assert resumed.state_dict()["epoch"] == 2


def test_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

        def __len__(self):
            return 7

    dl = DataLoader(Stream(), batch_size=3)
    assert len(dl) == 3 and [b.tolist() for b in dl] == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(DataLoader(Stream(), batch_size=3, drop_last=True)) == 2
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert list(DataLoader(Stream(), batch_size=None)) == list(range(7))
    with pytest.raises(ValueError):
        DataLoader(Stream(), shuffle=True)


def test_batch_size_none_and_custom_samplers():
    ds = tensor_ds(5)
    items = list(DataLoader(ds, batch_size=None))
    assert len(items) == 5 and isinstance(items[0], list) and items[2][1].item() == 20
    assert [b[1].tolist() for b in DataLoader(ds, sampler=[4, 2, 0], batch_size=2)] == [[40, 20], [0]]
    assert [b[1].tolist() for b in DataLoader(ds, batch_sampler=[[1, 3], [0]], num_workers=2)] == [[10, 30], [0]]
    weighted = DataLoader(ds, batch_size=4, sampler=WeightedRandomSampler([0, 0, 1, 0, 0], 8))
    assert [b[1].tolist() for b in weighted] == [[20] * 4, [20] * 4]


def test_loader_option_errors():
    ds = tensor_ds(4)
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=SequentialSampler(ds), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError):
        DataLoader(ds, prefetch_factor=2)


def test_loader_in_a_reference_cycle_is_collected_mid_epoch():
    import gc
    import weakref
    holder = {}

    def collate(samples):
        return len(samples) + len(holder)

    dl = DataLoader(NoisyDataset(50), batch_size=2, num_workers=2, collate_fn=collate)
    holder["loader"] = dl  # collate -> holder -> dl -> the C++ loader -> collate
    it = iter(dl)
    assert next(it) == 3
    ref = weakref.ref(dl)
    del dl, it, holder, collate
    gc.collect()
    assert ref() is None
