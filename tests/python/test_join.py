"""cat/stack/split/chunk/pad/one_hot/tril/triu/flip/roll against NumPy."""
import numpy as np
import pytest

import lamina
from conftest import random_array


def test_cat_stack(rng):
    a = random_array(rng, (2, 3), np.float32)
    b = random_array(rng, (4, 3), np.float32)
    np.testing.assert_array_equal(lamina.cat([lamina.from_numpy(a), lamina.from_numpy(b)]).numpy(), np.concatenate([a, b]))
    np.testing.assert_array_equal(lamina.cat([lamina.from_numpy(a).T, lamina.from_numpy(b).T], dim=-1).numpy(),
                                  np.concatenate([a.T, b.T], -1))
    mixed = lamina.cat([lamina.tensor([1, 2]), lamina.tensor([0.5])])
    assert mixed.dtype == lamina.float32 and mixed.tolist() == [1, 2, 0.5]
    assert lamina.cat([lamina.tensor([]), lamina.from_numpy(a)]).shape == (2, 3)  # legacy empty skipped
    np.testing.assert_array_equal(lamina.stack([lamina.from_numpy(a), lamina.from_numpy(a)], 1).numpy(), np.stack([a, a], 1))
    with pytest.raises(lamina.ShapeError, match=r"\[cat\].*dimension 0"):
        lamina.cat([lamina.ones(2, 3), lamina.ones(2, 4)])
    with pytest.raises(lamina.ShapeError, match=r"\[stack\]"):
        lamina.stack([lamina.ones(2), lamina.ones(3)])
    with pytest.raises(lamina.ValueError, match=r"\[cat\]"):
        lamina.cat([])
    with pytest.raises(lamina.ShapeError, match=r"zero-dimensional"):
        lamina.cat([lamina.tensor(1.0)])


def test_split_chunk_unbind(rng):
    a = random_array(rng, (7, 4), np.float32)
    t = lamina.from_numpy(a)
    parts = t.split(3)
    assert [p.shape for p in parts] == [(3, 4), (3, 4), (1, 4)]
    np.testing.assert_array_equal(lamina.cat(parts).numpy(), a)
    parts = lamina.split(t, [1, 6], dim=0)
    np.testing.assert_array_equal(parts[1].numpy(), a[1:])
    assert [c.shape[1] for c in t.chunk(3, 1)] == [2, 2]
    assert len(t.unbind(1)) == 4
    np.testing.assert_array_equal(t.unbind(1)[2].numpy(), a[:, 2])
    with pytest.raises(lamina.ShapeError, match=r"\[split\].*sum to"):
        t.split([3, 3])
    with pytest.raises(lamina.ValueError, match=r"\[chunk\]"):
        t.chunk(0)


@pytest.mark.parametrize("mode,npmode", [("constant", "constant"), ("reflect", "reflect"), ("replicate", "edge"),
                                         ("circular", "wrap")])
def test_pad_modes(mode, npmode, rng):
    a = random_array(rng, (2, 3, 4), np.float32)
    t = lamina.from_numpy(a)
    out = lamina.pad(t, (1, 2, 2, 1), mode=mode)
    ref = np.pad(a, ((0, 0), (2, 1), (1, 2)), mode=npmode)
    np.testing.assert_array_equal(out.numpy(), ref)


def test_pad_constant_value_and_crop(rng):
    a = random_array(rng, (3, 5), np.float32)
    t = lamina.from_numpy(a)
    np.testing.assert_array_equal(lamina.pad(t, (2, 0), value=9.0).numpy(), np.pad(a, ((0, 0), (2, 0)), constant_values=9))
    np.testing.assert_array_equal(lamina.pad(t, (-1, 1)).numpy(), np.pad(a[:, 1:], ((0, 0), (0, 1))))
    with pytest.raises(lamina.ShapeError, match=r"\[pad\]"):
        lamina.pad(t, (1, 2, 3))
    with pytest.raises(lamina.ShapeError, match=r"\[pad\].*reflect"):
        lamina.pad(t, (5, 0), mode="reflect")
    with pytest.raises(lamina.ValueError, match=r"\[pad\]"):
        lamina.pad(t, (1, 1), mode="mirror")


def test_one_hot_tril_triu_flip_roll(rng):
    idx = lamina.tensor([[0, 2], [1, 1]])
    oh = lamina.one_hot(idx, 3)
    np.testing.assert_array_equal(oh.numpy(), np.eye(3, dtype=np.int64)[[[0, 2], [1, 1]]])
    assert lamina.one_hot(lamina.tensor([3])).shape == (1, 4)
    with pytest.raises(lamina.ValueError, match=r"\[one_hot\]"):
        lamina.one_hot(idx, 2)
    with pytest.raises(lamina.DTypeError, match=r"\[one_hot\]"):
        lamina.one_hot(lamina.tensor([0.0]))
    a = random_array(rng, (2, 4, 5), np.float32)
    t = lamina.from_numpy(a)
    for k in (-2, 0, 1):
        np.testing.assert_array_equal(t.tril(k).numpy(), np.tril(a, k))
        np.testing.assert_array_equal(lamina.triu(t, k).numpy(), np.triu(a, k))
    c = t.clone()
    c.triu_(1)
    np.testing.assert_array_equal(c.numpy(), np.triu(a, 1))
    with pytest.raises(lamina.ShapeError, match=r"\[tril\]"):
        lamina.ones(3).tril()
    np.testing.assert_array_equal(t.flip([0, 2]).numpy(), np.flip(a, (0, 2)))
    np.testing.assert_array_equal(t.roll(2, 1).numpy(), np.roll(a, 2, 1))
    np.testing.assert_array_equal(lamina.roll(t, (1, -1), (0, 2)).numpy(), np.roll(a, (1, -1), (0, 2)))
    np.testing.assert_array_equal(t.roll(3).numpy(), np.roll(a, 3))
