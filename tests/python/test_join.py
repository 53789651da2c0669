"""cat/stack/split/chunk/unbind/pad/one_hot/tril/triu/flip/roll/repeat/tile/movedim against NumPy."""
import numpy as np
import pytest

import lamina
from conftest import random_array

DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int8, np.uint8, np.bool_]


def lt(a):
    return lamina.from_numpy(np.array(a, order="C"))  # a copy; keeps 0-d arrays 0-d


# ------------------------------------------------------------------------------------ cat / stack
@pytest.mark.parametrize("npdt", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_cat_dims_and_dtypes(npdt, dim, rng):
    shapes = [[2, 3, 4] for _ in range(3)]
    for s, n in zip(shapes, (1, 3, 2)):
        s[dim] = n
    arrays = [random_array(rng, s, npdt) for s in shapes]
    out = lamina.cat([lt(x) for x in arrays], dim)
    ref = np.concatenate(arrays, dim)
    assert out.numpy().dtype == ref.dtype
    np.testing.assert_array_equal(out.numpy(), ref)


def test_cat_views_promotion_and_empties(rng):
    a = random_array(rng, (4, 6), np.float32)
    ta = lt(a)
    np.testing.assert_array_equal(lamina.cat([ta.T, ta[::2].T, ta[:, ::-1].T], dim=1).numpy(),
                                  np.concatenate([a.T, a[::2].T, a[:, ::-1].T], 1))
    np.testing.assert_array_equal(lamina.cat((ta[:, 1:3], ta[:, :1]), -1).numpy(), np.concatenate([a[:, 1:3], a[:, :1]], -1))
    mixed = lamina.cat([lamina.tensor([1, 2]), lamina.tensor([0.5])])
    assert mixed.dtype == lamina.float32 and mixed.tolist() == [1, 2, 0.5]
    assert lamina.cat([lamina.tensor([True]), lamina.tensor([3])]).dtype == lamina.int64
    assert lamina.cat([lamina.tensor([1], dtype=lamina.int32), lamina.tensor([1.0], dtype=lamina.float64)]).dtype == lamina.float64
    # Legacy empty 1-d tensors are skipped (but still take part in promotion).
    out = lamina.cat([lamina.tensor([]), ta, lamina.zeros(0, dtype=lamina.float64)])
    assert out.shape == (4, 6) and out.dtype == lamina.float64
    assert lamina.cat([lamina.tensor([]), lamina.tensor([])]).shape == (0,)
    assert lamina.cat([lamina.zeros(0, 6), ta]).shape == (4, 6)
    np.testing.assert_array_equal(lamina.concat([ta, ta]).numpy(), np.concatenate([a, a]))
    np.testing.assert_array_equal(lamina.concatenate([ta, ta], 1).numpy(), np.concatenate([a, a], 1))
    np.testing.assert_array_equal(lamina.cat([a[:1], ta]).numpy(), np.concatenate([a[:1], a]))  # array operands


def test_cat_errors():
    with pytest.raises(lamina.ShapeError, match=r"\[cat\].*dimension 0"):
        lamina.cat([lamina.ones(2, 3), lamina.ones(2, 4)])
    with pytest.raises(lamina.ShapeError, match=r"\[cat\].*same number of dimensions"):
        lamina.cat([lamina.ones(2, 3), lamina.ones(3)])
    with pytest.raises(lamina.ValueError, match=r"\[cat\]"):
        lamina.cat([])
    with pytest.raises(lamina.ShapeError, match=r"\[cat\] zero-dimensional"):
        lamina.cat([lamina.tensor(1.0)])
    with pytest.raises(IndexError, match=r"\[cat\]"):
        lamina.cat([lamina.ones(2, 3)], 2)
    with pytest.raises(lamina.DTypeError, match=r"\[cat\]"):
        lamina.cat(lamina.ones(2))
    with pytest.raises(lamina.DTypeError, match=r"\[stack\]"):
        lamina.stack(3)


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
@pytest.mark.parametrize("npdt", [np.float32, np.int64, np.bool_])
def test_stack(dim, npdt, rng):
    arrays = [random_array(rng, (2, 3), npdt) for _ in range(4)]
    out = lamina.stack([lt(x) for x in arrays], dim)
    np.testing.assert_array_equal(out.numpy(), np.stack(arrays, dim))


def test_stack_views_0d_and_errors(rng):
    a = random_array(rng, (3, 3), np.float64)
    np.testing.assert_array_equal(lamina.stack([lt(a).T, lt(a)[::-1]], 1).numpy(), np.stack([a.T, a[::-1]], 1))
    assert lamina.stack([lamina.tensor(1.0), lamina.tensor(2.0)]).tolist() == [1.0, 2.0]
    assert lamina.stack([lamina.zeros(0, 2)] * 3).shape == (3, 0, 2)
    with pytest.raises(lamina.ShapeError, match=r"\[stack\]"):
        lamina.stack([lamina.ones(2), lamina.ones(3)])
    with pytest.raises(IndexError, match=r"\[stack\]"):
        lamina.stack([lamina.ones(2), lamina.ones(2)], 2)
    with pytest.raises(lamina.ValueError, match=r"\[stack\]"):
        lamina.stack([])


def test_hstack_vstack_dstack(rng):
    a, b = random_array(rng, (3,), np.float32), random_array(rng, (3,), np.float32)
    m, n = random_array(rng, (3, 2), np.float32), random_array(rng, (3, 4), np.float32)
    np.testing.assert_array_equal(lamina.hstack([lt(a), lt(b)]).numpy(), np.hstack([a, b]))
    np.testing.assert_array_equal(lamina.hstack([lt(m), lt(n)]).numpy(), np.hstack([m, n]))
    np.testing.assert_array_equal(lamina.vstack([lt(a), lt(b)]).numpy(), np.vstack([a, b]))
    np.testing.assert_array_equal(lamina.vstack([lt(m).T, lt(m.T)]).numpy(), np.vstack([m.T, m.T]))
    np.testing.assert_array_equal(lamina.row_stack([lt(a), lt(b)]).numpy(), np.vstack([a, b]))
    np.testing.assert_array_equal(lamina.dstack([lt(a), lt(b)]).numpy(), np.dstack([a, b]))
    np.testing.assert_array_equal(lamina.dstack([lt(m), lt(m)]).numpy(), np.dstack([m, m]))
    np.testing.assert_array_equal(lamina.hstack([lamina.tensor(1.0), lamina.tensor(2.0)]).numpy(), np.hstack([1.0, 2.0]))
    np.testing.assert_array_equal(lamina.vstack([lamina.tensor(1.0), lamina.tensor(2.0)]).numpy(), [[1.0], [2.0]])
    with pytest.raises(lamina.ShapeError, match=r"\[vstack\]"):
        lamina.vstack([lt(a), lt(m)])
    with pytest.raises(lamina.ShapeError, match=r"\[hstack\]"):
        lamina.hstack([lt(m), lt(n.T)])
    with pytest.raises(lamina.ValueError, match=r"\[dstack\]"):
        lamina.dstack([])


# ------------------------------------------------------------------------------------ split family
def test_split_chunk_unbind(rng):
    a = random_array(rng, (7, 4), np.float32)
    t = lamina.from_numpy(a)
    parts = t.split(3)
    assert isinstance(parts, tuple)
    assert [p.shape for p in parts] == [(3, 4), (3, 4), (1, 4)]
    for p, r in zip(parts, np.split(a, [3, 6])):
        np.testing.assert_array_equal(p.numpy(), r)
    parts[0][0, 0] = 42.0  # views of the input
    assert t[0, 0].item() == 42.0
    parts = lamina.split(t, [1, 0, 6], dim=0)
    assert parts[1].shape == (0, 4)
    np.testing.assert_array_equal(parts[2].numpy(), a[1:])
    np.testing.assert_array_equal(lamina.split(t, 3, dim=-1)[1].numpy(), a[:, 3:])
    np.testing.assert_array_equal(t.split((1, 3), 1)[1].numpy(), a[:, 1:])
    assert [c.shape[1] for c in t.chunk(3, 1)] == [2, 2]
    assert [c.shape[0] for c in lamina.chunk(t, 3)] == [3, 3, 1]
    assert len(lamina.chunk(t, 10)) == 7
    assert len(lamina.zeros(0, 2).chunk(3)) == 3
    assert len(lamina.zeros(0).split(2)) == 1
    rows = t.unbind(1)
    assert len(rows) == 4
    np.testing.assert_array_equal(rows[2].numpy(), a[:, 2])
    np.testing.assert_array_equal(lamina.unbind(t.T, -1)[5].numpy(), a[5])
    with pytest.raises(lamina.ShapeError, match=r"\[split\].*sum to"):
        t.split([3, 3])
    with pytest.raises(lamina.ValueError, match=r"\[split\].*non-negative"):
        t.split([-1, 8])
    with pytest.raises(lamina.ValueError, match=r"\[split\]"):
        t.split(0)
    with pytest.raises(lamina.ShapeError, match=r"\[split\]"):
        lamina.tensor(1.0).split(1)
    with pytest.raises(IndexError, match=r"\[split\]"):
        t.split(2, 2)
    with pytest.raises(lamina.ValueError, match=r"\[chunk\]"):
        t.chunk(0)
    with pytest.raises(lamina.ShapeError, match=r"\[chunk\]"):
        lamina.tensor(1.0).chunk(1)
    with pytest.raises(IndexError, match=r"\[unbind\]"):
        lamina.tensor(1.0).unbind()
    with pytest.raises(IndexError, match=r"\[unbind\]"):
        t.unbind(2)


# ------------------------------------------------------------------------------------ pad
def np_pad(a, pads, mode="constant", value=0):
    """PyTorch-style pad list (last dim first; negative values crop) through np.pad."""
    n = len(pads) // 2
    pairs = [(0, 0)] * (a.ndim - n) + [(pads[2 * i], pads[2 * i + 1]) for i in reversed(range(n))]
    cropped = a[tuple(slice(max(-lo, 0), a.shape[d] - max(-hi, 0)) for d, (lo, hi) in enumerate(pairs))]
    widths = [(max(lo, 0), max(hi, 0)) for lo, hi in pairs]
    if mode == "constant":
        return np.pad(cropped, widths, constant_values=value)
    return np.pad(cropped, widths, mode={"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("pads", [(1, 2), (1, 2, 2, 1), (0, 1, 2, 0, 1, 1), (3, 3), (0, 0, 0, 0)])
def test_pad_modes(mode, pads, rng):
    a = random_array(rng, (2, 3, 4), np.float32)
    out = lamina.pad(lamina.from_numpy(a), pads, mode=mode)
    np.testing.assert_array_equal(out.numpy(), np_pad(a, pads, mode))


@pytest.mark.parametrize("pads", [(-1, 2), (2, -1, 0, 1), (-1, -2, -1, 0), (0, 0, 0, 0, -1, 1), (1, -3)])
def test_pad_negative_crops(pads, rng):
    a = random_array(rng, (2, 3, 4), np.float32)
    t = lamina.from_numpy(a)
    np.testing.assert_array_equal(lamina.pad(t, pads, value=-3.0).numpy(), np_pad(a, pads, value=-3.0))
    # Circular padding wraps around the cropped input, as PyTorch does.
    np.testing.assert_array_equal(lamina.pad(t, pads, mode="circular").numpy(), np_pad(a, pads, "circular"))


def test_pad_negative_reflect_replicate():
    # PyTorch's reflect/replicate index the uncropped input (values checked against torch 1.13).
    x = lamina.tensor([[[1.0, 2, 3, 4]]])
    assert lamina.pad(x, (2, -1), mode="replicate").tolist() == [[[1.0, 1, 1, 2, 3]]]
    assert lamina.pad(x, (-1, 2), mode="replicate").tolist() == [[[2.0, 3, 4, 4, 4]]]
    assert lamina.pad(x, (2, -1), mode="reflect").tolist() == [[[3.0, 2, 1, 2, 3]]]
    assert lamina.pad(x, (-1, 2), mode="reflect").tolist() == [[[2.0, 3, 4, 3, 2]]]
    with pytest.raises(lamina.ShapeError, match=r"\[pad\].*circular"):
        lamina.pad(x, (3, -2), mode="circular")


@pytest.mark.parametrize("npdt", [np.float64, np.float16, np.int32, np.int8, np.uint8, np.bool_])
def test_pad_dtypes_and_views(npdt, rng):
    a = random_array(rng, (3, 5), npdt)
    t = lt(a)
    out = lamina.pad(t, (2, 1, 1, 0), value=1)
    assert out.numpy().dtype == a.dtype
    np.testing.assert_array_equal(out.numpy(), np.pad(a, ((1, 0), (2, 1)), constant_values=1))
    np.testing.assert_array_equal(lamina.pad(t.T, (1, 1), mode="replicate").numpy(), np.pad(a.T, ((0, 0), (1, 1)), "edge"))
    np.testing.assert_array_equal(lamina.pad(t[:, ::-2], (2, 2), mode="reflect").numpy(),
                                  np.pad(a[:, ::-2], ((0, 0), (2, 2)), "reflect"))


def test_pad_value_crop_and_errors(rng):
    a = random_array(rng, (3, 5), np.float32)
    t = lamina.from_numpy(a)
    np.testing.assert_array_equal(lamina.pad(t, (2, 0), value=9.0).numpy(), np.pad(a, ((0, 0), (2, 0)), constant_values=9))
    np.testing.assert_array_equal(lamina.pad(t, [-1, 1]).numpy(), np.pad(a[:, 1:], ((0, 0), (0, 1))))
    np.testing.assert_array_equal(lamina.pad(t, (0, 0, -1, -1)).numpy(), a[1:2])
    np.testing.assert_array_equal(lamina.pad(t, ()).numpy(), a)
    assert lamina.pad(t, (-5, 0)).shape == (3, 0)
    assert lamina.pad(lamina.zeros(0, 2), (1, 1)).shape == (0, 4)
    with pytest.raises(lamina.ShapeError, match=r"\[pad\].*even"):
        lamina.pad(t, (1, 2, 3))
    with pytest.raises(lamina.ShapeError, match=r"\[pad\]"):
        lamina.pad(t, (1, 1, 1, 1, 1, 1))
    with pytest.raises(lamina.ShapeError, match=r"\[pad\]"):
        lamina.pad(lamina.tensor(1.0), (1, 1))
    with pytest.raises(lamina.ShapeError, match=r"\[pad\].*negative size"):
        lamina.pad(t, (-3, -3))
    with pytest.raises(lamina.ShapeError, match=r"\[pad\].*reflect"):
        lamina.pad(t, (5, 0), mode="reflect")
    with pytest.raises(lamina.ShapeError, match=r"\[pad\].*circular"):
        lamina.pad(t, (6, 0), mode="circular")
    with pytest.raises(lamina.ShapeError, match=r"\[pad\]"):
        lamina.pad(lamina.zeros(2, 0), (1, 1), mode="replicate")
    with pytest.raises(lamina.ValueError, match=r"\[pad\].*mode"):
        lamina.pad(t, (1, 1), mode="mirror")


# ------------------------------------------------------------------------------------ one_hot
def test_one_hot(rng):
    idx = rng.integers(0, 5, size=(3, 4))
    oh = lamina.one_hot(lamina.from_numpy(idx), 6)
    assert oh.dtype == lamina.int64 and oh.shape == (3, 4, 6)
    np.testing.assert_array_equal(oh.numpy(), np.eye(6, dtype=np.int64)[idx])
    np.testing.assert_array_equal(lamina.one_hot(lamina.from_numpy(idx)).numpy(), np.eye(idx.max() + 1, dtype=np.int64)[idx])
    np.testing.assert_array_equal(lamina.one_hot(lamina.from_numpy(idx).T, 5).numpy(), np.eye(5, dtype=np.int64)[idx.T])
    assert lamina.one_hot(lamina.tensor(2)).tolist() == [0, 0, 1]
    assert lamina.one_hot(lamina.tensor([], dtype=lamina.int64), 3).shape == (0, 3)
    with pytest.raises(lamina.ValueError, match=r"\[one_hot\].*smaller than num_classes"):
        lamina.one_hot(lamina.from_numpy(idx), 2)
    with pytest.raises(lamina.ValueError, match=r"\[one_hot\].*non-negative"):
        lamina.one_hot(lamina.tensor([-1, 0]))
    with pytest.raises(lamina.ValueError, match=r"\[one_hot\].*empty"):
        lamina.one_hot(lamina.tensor([], dtype=lamina.int64))
    with pytest.raises(lamina.DTypeError, match=r"\[one_hot\]"):
        lamina.one_hot(lamina.tensor([0.0]))
    with pytest.raises(lamina.DTypeError, match=r"\[one_hot\]"):
        lamina.one_hot(lamina.tensor([1], dtype=lamina.int32))


# ------------------------------------------------------------------------------------ tril / triu
@pytest.mark.parametrize("npdt", DTYPES)
@pytest.mark.parametrize("k", [-4, -1, 0, 2, 6])
def test_tril_triu(npdt, k, rng):
    a = random_array(rng, (2, 4, 5), npdt)
    t = lt(a)
    np.testing.assert_array_equal(t.tril(k).numpy(), np.tril(a, k))
    np.testing.assert_array_equal(lamina.triu(t, k).numpy(), np.triu(a, k))
    np.testing.assert_array_equal(lamina.tril(t.transpose(1, 2), diagonal=k).numpy(), np.tril(a.transpose(0, 2, 1), k))
    c = t.clone()
    assert c.triu_(k) is c
    np.testing.assert_array_equal(c.numpy(), np.triu(a, k))
    np.testing.assert_array_equal(t.numpy(), a)  # the out-of-place forms left t alone


def test_tril_triu_views_and_errors(rng):
    a = random_array(rng, (6, 6), np.float32)
    t = lt(a)
    t[::2, 1::2].tril_()  # in place through a strided view
    ref = a.copy()
    ref[::2, 1::2] = np.tril(a[::2, 1::2])
    np.testing.assert_array_equal(t.numpy(), ref)
    assert lamina.tril(lamina.zeros(0, 3)).shape == (0, 3)
    with pytest.raises(lamina.ShapeError, match=r"\[tril\]"):
        lamina.ones(3).tril()
    with pytest.raises(lamina.ShapeError, match=r"\[triu\]"):
        lamina.triu(lamina.tensor(1.0))
    with pytest.raises(lamina.ShapeError, match=r"\[tril_\]"):
        lamina.ones(3).tril_()
    e = lamina.ones(1, 3).expand(3, 3)
    with pytest.raises(lamina.ValueError, match=r"\[triu_\]"):
        e.triu_()
    assert e.tolist() == [[1.0] * 3] * 3


# ------------------------------------------------------------------------------------ flip / roll
@pytest.mark.parametrize("dims", [[0], [1], [-1], [0, 2], [2, 0, 1], []])
def test_flip(dims, rng):
    a = random_array(rng, (2, 3, 4), np.float32)
    t = lt(a)
    np.testing.assert_array_equal(t.flip(dims).numpy(), np.flip(a, dims) if dims else a)
    np.testing.assert_array_equal(lamina.flip(t.transpose(0, 2), dims).numpy(),
                                  np.flip(a.transpose(2, 1, 0), dims) if dims else a.transpose(2, 1, 0))
    if dims:
        np.testing.assert_array_equal(t.flip(*dims).numpy(), np.flip(a, dims))
        np.testing.assert_array_equal(t.flip(dims=dims).numpy(), np.flip(a, dims))


def test_flip_misc_and_errors(rng):
    a = random_array(rng, (3, 4), np.int32)
    t = lt(a)
    f = t.flip(0)
    f[0, 0] = 100  # a copy, not a view
    assert t[2, 0].item() == a[2, 0]
    np.testing.assert_array_equal(lamina.fliplr(t).numpy(), np.fliplr(a))
    np.testing.assert_array_equal(lamina.flipud(t).numpy(), np.flipud(a))
    assert lamina.flip(lamina.tensor(3.0), [0]).item() == 3.0
    with pytest.raises(lamina.ValueError, match=r"\[flip\].*multiple times"):
        t.flip([0, -2])
    with pytest.raises(IndexError, match=r"\[flip\]"):
        t.flip(2)


@pytest.mark.parametrize("shifts,dims", [(2, 1), (-1, 0), (5, -1), ((1, -1), (0, 2)), ((7, 2), (1, 1)), (3, None), (-13, None)])
def test_roll(shifts, dims, rng):
    a = random_array(rng, (2, 3, 4), np.float64)
    t = lt(a)
    np.testing.assert_array_equal(lamina.roll(t, shifts, dims).numpy(), np.roll(a, shifts, dims))
    np.testing.assert_array_equal(t.transpose(0, 1).roll(shifts, dims).numpy(), np.roll(a.transpose(1, 0, 2), shifts, dims))


def test_roll_misc_and_errors():
    t = lamina.arange(6).reshape(2, 3)
    r = t.roll(3, 1)  # a full turn is still a copy
    r[0, 0] = 9
    assert t[0, 0].item() == 0
    assert lamina.roll(lamina.tensor(1.0), 1).item() == 1.0
    assert lamina.roll(lamina.zeros(0, 3), 1, 0).shape == (0, 3)
    with pytest.raises(lamina.ShapeError, match=r"\[roll\]"):
        t.roll((1, 2), 0)
    with pytest.raises(lamina.ShapeError, match=r"\[roll\]"):
        t.roll((1, 2))
    with pytest.raises(IndexError, match=r"\[roll\]"):
        t.roll(1, 2)


# ------------------------------------------------------------------------------------ repeat / tile / movedim
@pytest.mark.parametrize("reps", [(1, 1), (2, 3), (3, 1, 2), (0, 2), (2, 1, 1, 1)])
@pytest.mark.parametrize("npdt", [np.float32, np.int64, np.bool_])
def test_repeat_and_tile(reps, npdt, rng):
    a = random_array(rng, (2, 3), npdt)
    t = lt(a)
    np.testing.assert_array_equal(t.repeat(*reps).numpy(), np.tile(a, reps))
    np.testing.assert_array_equal(t.repeat(reps).numpy(), np.tile(a, reps))
    np.testing.assert_array_equal(t.T.repeat(list(reps)).numpy(), np.tile(a.T, reps))
    np.testing.assert_array_equal(lamina.tile(t, reps).numpy(), np.tile(a, reps))
    np.testing.assert_array_equal(t.tile(reps[-1:]).numpy(), np.tile(a, reps[-1:]))


def test_repeat_misc_and_errors():
    t = lamina.arange(3)
    r = t.repeat(1)
    r[0] = 9  # always a copy
    assert t[0].item() == 0
    assert lamina.tensor(1.0).repeat(2, 3).shape == (2, 3)
    assert t.repeat(repeats=(2, 2)).shape == (2, 6)
    with pytest.raises(lamina.ShapeError, match=r"\[repeat\]"):
        lamina.ones(2, 3).repeat(2)
    with pytest.raises(lamina.ValueError, match=r"\[repeat\]"):
        t.repeat(-1)
    with pytest.raises(lamina.DTypeError, match=r"\[repeat\]"):
        t.repeat(2, 1.5)


@pytest.mark.parametrize("src,dst", [(0, 2), (-1, 0), ((0, 1), (2, 0)), ([2, 0], [0, 1]), ((), ())])
def test_movedim(src, dst, rng):
    a = random_array(rng, (2, 3, 4), np.float32)
    t = lt(a)
    out = lamina.movedim(t, src, dst)
    np.testing.assert_array_equal(out.numpy(), np.moveaxis(a, src, dst))
    np.testing.assert_array_equal(t.moveaxis(src, dst).numpy(), np.moveaxis(a, src, dst))
    np.testing.assert_array_equal(lamina.moveaxis(t, source=src, destination=dst).numpy(), np.moveaxis(a, src, dst))
    out[0, 0, 0] = 7.0  # a view: element (0, 0, 0) is the same under any permutation
    assert t[0, 0, 0].item() == 7.0


def test_movedim_errors():
    t = lamina.ones(2, 3, 4)
    with pytest.raises(lamina.ValueError, match=r"\[movedim\].*repeated"):
        t.movedim((0, 0), (1, 2))
    with pytest.raises(lamina.ValueError, match=r"\[movedim\].*repeated"):
        t.movedim((0, 1), (2, 2))
    with pytest.raises(lamina.ValueError, match=r"\[movedim\].*same length"):
        t.movedim((0, 1), 2)
    with pytest.raises(IndexError, match=r"\[movedim\]"):
        t.movedim(3, 0)
