"""Indexing and assignment against NumPy (and PyTorch where the two differ): basic and advanced
__getitem__/__setitem__, index_put_, index_select/take, gather/scatter, masks, nonzero."""
import os
import pathlib
import subprocess
import textwrap

import numpy as np
import pytest

import lamina
from conftest import NP_DTYPES, random_array, to_np

ALL_DTYPES = list(NP_DTYPES) + [lamina.bfloat16]


def layouts(a):
    """The same values as lamina tensors with different memory layouts."""
    yield "contiguous", lamina.tensor(a)
    yield "transposed", lamina.tensor(np.ascontiguousarray(a.T)).permute(*reversed(range(a.ndim)))
    rev = lamina.tensor(np.ascontiguousarray(a[::-1]))
    yield "reversed", rev[::-1]
    wide = np.zeros((a.shape[0] * 2,) + a.shape[1:], a.dtype)
    wide[::2] = a
    yield "strided", lamina.tensor(wide)[::2]


def reference(a, key):
    """NumPy result of `key` under PyTorch's rules: integers (and 0-d integer arrays) select
    first, then the advanced indices (arrays, masks, bools) apply with NumPy's placement."""
    key = key if isinstance(key, tuple) else (key,)
    key = tuple(int(k) if isinstance(k, np.ndarray) and k.ndim == 0 and k.dtype.kind in "iu" else k for k in key)
    basic, adv, has_adv = [], [], False
    for k in key:
        if isinstance(k, (bool, np.bool_)):
            basic.append(None)
            adv.append(np.zeros(1 if k else 0, np.int64))
            has_adv = True
        elif isinstance(k, (list, np.ndarray)):
            k = np.zeros(0, np.int64) if isinstance(k, list) and not k else np.asarray(k)
            width = k.ndim if k.dtype == np.bool_ else 1
            basic += [slice(None)] * width
            adv.append(k)
            has_adv = True
        elif isinstance(k, int):
            basic.append(k)
        elif k is Ellipsis:
            basic.append(k)
            adv.append(k)
        else:
            basic.append(k)
            adv.append(slice(None))
    b = a[tuple(basic)]
    return b[tuple(adv)] if has_adv else b


KEYS = [
    1, -1, slice(1, 3), slice(None, None, 2), slice(None, None, -1), slice(-2, None), slice(4, 0, -2), (1, 2),
    (slice(None), 0), (Ellipsis, 1), (None, 0), (0, None, slice(1, 3)), (Ellipsis, None), (slice(3, 0, -2), slice(None)),
    (-1, -1, -1), (), Ellipsis, None, slice(-100, 100), (slice(None), slice(None, None, -3), 4),
    ([0, 2],), ([0, 2], [1, 3]), (slice(None), [3, 0, 0]), ([[0], [2]], [1, 3]), (0, [1, 2]), ([1, 0], slice(None), [0, 4]),
    (slice(1, None), [0, -1], slice(None)), (Ellipsis, [0, 1]), (True,), (False,), (None, [0, 1]), ([0], None, [1]),
    ([-3, 2], Ellipsis, [4]), (True, [0, 1]), (0, slice(None), [1, 2]), ([1, 0], 0, slice(None, None, -1)),
    (slice(None), [[0, 1], [2, 3]], 1), ([0, 1], True, slice(None), [2, 3]), ([],), (slice(None), []),
]


@pytest.mark.parametrize("key", KEYS, ids=[repr(k) for k in KEYS])
def test_getitem_matches_numpy(key, rng):
    a = random_array(rng, (3, 4, 5), np.float32)
    ref = reference(a, key)
    for name, t in layouts(a):
        out = t[key]
        assert out.shape == ref.shape, name
        np.testing.assert_array_equal(out.numpy(), ref, err_msg=name)


def random_key(rng, shape):
    key, d = [], 0
    for _ in range(rng.integers(0, 5)):
        kind = rng.integers(0, 8)
        n = shape[d] if d < len(shape) else None
        if kind == 0 and n:
            key.append(int(rng.integers(-n, n)))
        elif kind in (1, 2) and n is not None:
            lo, hi = (int(v) if rng.random() < 0.7 else None for v in rng.integers(-n - 2, n + 3, 2))
            key.append(slice(lo, hi, int(rng.choice([1, 2, 3, -1, -2]))))
        elif kind == 3:
            key.append(None)
            continue
        elif kind == 4 and n:
            shp = [(2,), (3,), (1,), (2, 1), (1, 3), ()][rng.integers(0, 6)]
            key.append(rng.integers(-n, n, size=shp))
        elif kind == 5 and n is not None:
            width = int(rng.integers(1, len(shape) - d + 1))
            key.append(rng.random(shape[d:d + width]) > 0.4)
            d += width
            continue
        elif kind == 6:
            key.append(bool(rng.integers(0, 2)))
            continue
        else:
            continue
        d += 1
    if d < len(shape) and rng.random() < 0.3:
        key.insert(int(rng.integers(0, len(key) + 1)), Ellipsis)
    return tuple(key)


def test_getitem_and_setitem_random_against_numpy(rng):
    for _ in range(400):
        shape = tuple(int(s) for s in rng.integers(0, 5, size=rng.integers(0, 4)))
        a = np.asarray(random_array(rng, shape, np.float64))
        key = random_key(rng, shape)
        lkey = tuple(lamina.tensor(k) if isinstance(k, np.ndarray) else k for k in key)
        try:
            ref = reference(a, key)
        except IndexError:
            with pytest.raises(IndexError):
                lamina.tensor(a)[lkey]
            continue
        for name, t in layouts(a) if a.ndim else [("0-d", lamina.tensor(a))]:
            out = t[lkey]
            assert out.shape == ref.shape, (name, shape, key)
            np.testing.assert_array_equal(out.numpy(), ref, err_msg=f"{name} {shape} {key}")
        # Assignment of distinct values (repeated positions keep the last, like NumPy).
        vals = np.asarray(random_array(rng, ref.shape, np.float64))
        t = lamina.tensor(a)
        t[lkey] = lamina.tensor(vals)
        expect = a.copy()
        reference_view_assign(expect, key, vals)
        np.testing.assert_array_equal(t.numpy(), expect, err_msg=f"{shape} {key}")


def reference_view_assign(a, key, vals):
    """a[key] = vals under PyTorch's rules, through a flat index map."""
    idx = np.arange(a.size).reshape(a.shape)
    pos = reference(idx, key)
    flat = a.reshape(-1)
    for p, v in zip(np.broadcast_to(pos, vals.shape).reshape(-1), vals.reshape(-1)):
        flat[p] = v


def test_basic_indexing_is_a_view(rng):
    a = random_array(rng, (4, 5), np.float64)
    t = lamina.tensor(a)
    v = t[1:, ::-2]
    v.fill_(0.5)
    assert (t.numpy()[1:, ::-2] == 0.5).all()
    assert t[0].storage_offset() == 0 and t[1].storage_offset() == 5
    assert t[...] is not t and t[...].data_ptr() == t.data_ptr()
    adv = t[[0, 1]]
    adv.fill_(7.0)
    assert not (t.numpy() == 7.0).any()  # advanced indexing copies


def test_pytorch_semantics_where_numpy_differs(rng):
    a = random_array(rng, (2, 3, 4), np.float32)
    t = lamina.tensor(a)
    # An integer selects first, so the index array keeps its place (NumPy would move it first).
    assert t[0, :, [1, 2]].shape == (3, 2)
    np.testing.assert_array_equal(t[0, :, [1, 2]].numpy(), a[0][:, [1, 2]])
    # A 0-d integer tensor is an integer; a uint8 tensor is a mask.
    assert t[lamina.tensor(1), :, [0, 1]].shape == (3, 2)
    np.testing.assert_array_equal(t[lamina.tensor([1, 0], dtype=lamina.uint8)].numpy(), a[[True, False]])
    # A short list holding sequences, slices, None or ... is a tuple of indices.
    np.testing.assert_array_equal(t[[[0, 1], [1, 0]]].numpy(), a[[0, 1], [1, 0]])
    np.testing.assert_array_equal(t[[slice(None), 0]].numpy(), a[:, 0])
    np.testing.assert_array_equal(t[[0, [0, 1]]].numpy(), a[0, [0, 1]])
    np.testing.assert_array_equal(t[(0, 1),].numpy(), a[[0, 1]])
    # Negative steps are allowed (PyTorch refuses them).
    np.testing.assert_array_equal(t[::-1, 1::-1, ::-3].numpy(), a[::-1, 1::-1, ::-3])


TORCH_SCRIPT = textwrap.dedent(r'''
    import numpy as np, torch, lamina
    a = np.random.default_rng(5).standard_normal((3, 4, 5)).astype(np.float32)
    keys = [
        (0, slice(None), [1, 2]), ([1, 0], 2, [3, 4]), ([0], None, [1]), (True, [0, 1]), ([0, 1], True),
        (slice(None), [[0], [2]], [1, 3]), (Ellipsis, [0, 1], 0), ([2, 0], slice(1, None, 2), None, [4, 0]),
        [[0, 1], [1, 0]], [0, [0, 1]], [slice(None), 1], (np.array([1, 0, 1], dtype=np.uint8),), (False, 0),
        (torch.tensor(1), slice(None), [0, 1]), (slice(None), torch.tensor(True)),
        (slice(None, 2), np.array([[True, False, True, True, False]] * 4)), ([-1, -3], -1, slice(None)),
    ]
    for key in keys:
        lkey = tkey = key  # a list key goes through as is (PyTorch may read it as a tuple)
        if isinstance(key, tuple):
            lkey = tuple(lamina.tensor(k.numpy()) if isinstance(k, torch.Tensor) else k for k in key)
            tkey = tuple(torch.from_numpy(k) if isinstance(k, np.ndarray) else k for k in key)
        ref, got = torch.from_numpy(a)[tkey], lamina.tensor(a)[lkey]
        assert tuple(ref.shape) == got.shape and np.array_equal(ref.numpy(), got.numpy()), (key, ref.shape, got.shape)
        v = np.arange(ref.numel(), dtype=np.float32).reshape(tuple(ref.shape)) + 100
        t, l = torch.from_numpy(a.copy()), lamina.tensor(a)
        t[tkey] = torch.from_numpy(v)
        l[lkey] = lamina.tensor(v)
        assert np.array_equal(t.numpy(), l.numpy()), key
    print("indexing parity ok")
''')


def test_indexing_matches_pytorch(tmp_path):
    (tmp_path / "lamina").symlink_to(pathlib.Path(lamina.__file__).parent.absolute(), target_is_directory=True)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), LAMINA_FORCE_CPU="1")
    out = subprocess.run(["/usr/bin/python3", "-W", "ignore", "-c", TORCH_SCRIPT], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "indexing parity ok" in out.stdout


def test_masks(rng):
    a = random_array(rng, (3, 4, 2), np.float32)
    for name, t in layouts(a):
        m = a > 0
        np.testing.assert_array_equal(t[lamina.tensor(m)].numpy(), a[m], err_msg=name)
        np.testing.assert_array_equal(t[m].numpy(), a[m], err_msg=name)  # a NumPy mask
        np.testing.assert_array_equal(t[t > 0].numpy(), a[a > 0], err_msg=name)
        m2 = m[..., 0]
        np.testing.assert_array_equal(t[lamina.tensor(m2)].numpy(), a[m2], err_msg=name)
        np.testing.assert_array_equal(t[:, [True, False, False, True]].numpy(), a[:, [True, False, False, True]])
        np.testing.assert_array_equal(t[1, lamina.tensor(m2[1]), 1].numpy(), a[1, m2[1], 1])
        assert t[t > 100].shape == (0,)
    with pytest.raises(IndexError, match=r"\[index\].*shape of the mask \(2,\)") as err:
        lamina.tensor(a)[lamina.tensor([True, False])]
    assert isinstance(err.value, lamina.ShapeError)  # lamina.IndexError is also a ShapeError


@pytest.mark.parametrize("dt", ALL_DTYPES, ids=str)
def test_indexing_every_dtype(dt, rng):
    np_dt = NP_DTYPES.get(dt, np.float32)
    a = random_array(rng, (4, 3), np_dt)
    t = lamina.tensor(a).to(dt)
    ref = to_np(t)
    for key in [([3, 1],), (slice(1, None), 2), ([0, 3], [2, 0]), (ref != ref[0, 0],), (slice(None, None, -1), [1])]:
        out = t[key]
        assert out.dtype == dt
        np.testing.assert_array_equal(to_np(out), ref[key])
    t[[0, 2], 1] = lamina.tensor([1, 0]).to(dt)
    ref[[0, 2], 1] = [1, 0]
    t[3] = 1
    ref[3] = 1
    np.testing.assert_array_equal(to_np(t), ref)


@pytest.mark.parametrize("idx_dt", [lamina.int8, lamina.int32, lamina.int64])
def test_index_array_dtypes_and_negative_wrap(idx_dt, rng):
    a = random_array(rng, (5, 6), np.float64)
    t = lamina.tensor(a)
    i = np.array([-5, 4, -1, 0])
    np.testing.assert_array_equal(t[lamina.tensor(i).to(idx_dt)].numpy(), a[i])
    np.testing.assert_array_equal(t[:, lamina.tensor([-6, 5]).to(idx_dt)].numpy(), a[:, [-6, 5]])
    for np_dt in (np.int16, np.uint16, np.int32, np.uint32, np.int64):  # NumPy arrays of any int width
        np.testing.assert_array_equal(t[np.array([3, 1], dtype=np_dt)].numpy(), a[[3, 1]])
    np.testing.assert_array_equal(t[np.int64(2), np.int32(-1)].numpy(), a[2, -1])


def test_empty_and_zero_dim(rng):
    s = lamina.tensor(2.5)
    assert s[()].shape == () and s[...].shape == () and s[None].shape == (1,)
    assert s[True].shape == (1,) and s[False].shape == (0,)
    assert s[lamina.tensor(True)].tolist() == [2.5]
    with pytest.raises(IndexError, match=r"\[index\].*too many indices"):
        s[0]
    e = lamina.zeros(0, 3)
    assert e[[]].shape == (0, 3) and e[:, [1, 1]].shape == (0, 2) and e[e > 0].shape == (0,)
    assert e[1:].shape == (0, 3) and e[..., 0].shape == (0,)
    with pytest.raises(IndexError, match="out of bounds"):
        e[[0]]
    e[:, 1] = 5.0  # nothing to write, no error
    a = random_array(rng, (3, 2), np.float32)
    assert lamina.tensor(a)[[]].shape == (0, 2)
    assert lamina.tensor(a)[2:1].shape == (0, 2)


def test_huge_integers_and_steps():
    t = lamina.arange(10.0)
    assert t[::2**63].tolist() == [0.0]
    assert t[::-2**63].tolist() == [9.0]
    assert t[5::-2**62].tolist() == [5.0]
    assert t[-2**70:2**70:3].tolist() == [0.0, 3.0, 6.0, 9.0]
    with pytest.raises(IndexError, match="out of range"):
        t[2**70]
    with pytest.raises(ValueError, match="cannot be zero"):
        t[::0]


def test_setitem_values_broadcast_and_convert(rng):
    a = random_array(rng, (4, 5), np.float32)
    t, ref = lamina.tensor(a), a.copy()
    steps = [
        (0, 1.5), ((slice(1, 3), slice(None, None, 2)), np.array([7.0, 8.0, 9.0], np.float32)),
        (([0, 3], [1, 2]), np.array([-1.0, -2.0], np.float32)), ((slice(None), [4, 0]), np.arange(4.0).reshape(4, 1)),
        ((Ellipsis, 1), [5, 6, 7, 8]), ((slice(None, None, -1), 2), np.arange(4)), ([1, 2], np.ones((1, 1, 5))),
        ((1, slice(None)), np.full((1, 5), 3.0)), ((slice(None), slice(None)), 2), ((None, 0, 0), True),
    ]
    for key, v in steps:
        t[key] = lamina.tensor(v) if isinstance(v, np.ndarray) and rng.random() < 0.5 else v
        ref[key] = np.asarray(v).reshape(np.asarray(v).shape[-ref[key].ndim:] if ref[key].ndim else ()) \
            if np.asarray(v).ndim > ref[key].ndim else v
        np.testing.assert_array_equal(t.numpy(), ref, err_msg=repr(key))
    t[t > 5] = 0
    ref[ref > 5] = 0
    np.testing.assert_array_equal(t.numpy(), ref)
    i = lamina.zeros(3, dtype=lamina.int64)
    i[1] = 2.7  # truncated to the tensor's dtype
    i[2] = lamina.tensor([-3.9])
    assert i.tolist() == [0, 2, -3]
    b = lamina.zeros(3, dtype=lamina.bool)
    b[[0, 2]] = lamina.tensor([2.0, 0.0])
    assert b.tolist() == [True, False, False]
    h = lamina.zeros(2, dtype=lamina.float16)
    h[0] = 1 / 3
    assert h.tolist()[0] == float(np.float16(1 / 3))


def test_setitem_repeated_indices_aliasing_and_accumulate():
    t = lamina.zeros(3)
    t[[0, 0, 2]] = lamina.tensor([1.0, 2.0, 3.0])
    assert t.tolist() == [2.0, 0.0, 3.0]  # last write wins
    t.index_put_((lamina.tensor([0, 0, 2]),), lamina.tensor([1.0, 2.0, 3.0]), accumulate=True)
    assert t.tolist() == [5.0, 0.0, 6.0]
    assert lamina.index_put(t, (lamina.tensor([1]),), lamina.tensor(9.0)).tolist() == [5.0, 9.0, 6.0]
    assert t.tolist() == [5.0, 0.0, 6.0]
    m = lamina.arange(6.0).reshape(2, 3)
    m.index_put_((None, lamina.tensor([2, 0])), lamina.tensor(-1.0))  # None: a full dim
    assert m.tolist() == [[-1.0, 1.0, -1.0], [-1.0, 4.0, -1.0]]
    x = lamina.arange(6.0).reshape(2, 3)
    x[[1, 0]] = x
    assert x.tolist() == [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]]
    y = lamina.arange(5.0)
    y[1:] = y[:-1]
    assert y.tolist() == [0.0, 0.0, 1.0, 2.0, 3.0]
    z = lamina.arange(4.0)
    z[[3, 2, 1, 0]] = z.numpy()  # a zero-copy NumPy view of z itself
    assert z.tolist() == [3.0, 2.0, 1.0, 0.0]


def test_failed_setitem_leaves_tensor_unchanged(rng):
    a = random_array(rng, (3, 4), np.float32)
    t = lamina.tensor(a)
    ver = t._version
    failures = [
        (IndexError, r"\[index_put_\].*index 5 is out of bounds", [0, 5], 1.0),
        (IndexError, r"\[index_put_\].*out of bounds", ([0, 1], [0, -5]), 1.0),
        (IndexError, r"\[index_put_\].*index 4 is out of bounds", (0, 4), 1.0),
        (lamina.ShapeError, r"\[index_put_\].*shape mismatch", [0, 1], lamina.ones(3, 4)),
        (lamina.ShapeError, r"\[index_put_\].*shape mismatch", 0, lamina.ones(5)),
        (lamina.ShapeError, r"\[index_put_\].*shape mismatch", (slice(None), 0), [1.0, 2.0]),
        (IndexError, r"\[index_put_\].*shape of the mask", lamina.tensor([True, False]), 0.0),
        (IndexError, r"\[index_put_\].*must be long, int, byte or bool", lamina.tensor([0.0]), 0.0),
        (IndexError, r"\[index_put_\].*too many indices", (0, 0, 0), 1.0),
        (IndexError, r"\[index_put_\].*broadcast", ([0, 1], [0, 1, 2]), 1.0),
        (IndexError, r"\[index\].*valid indices", "a", 1.0),
        (IndexError, r"\[index\].*valid indices", 1.5, 1.0),
        (lamina.DTypeError, r"\[tensor\]", 0, ["x", "y", "z", "w"]),
    ]
    for err, pattern, key, value in failures:
        with pytest.raises(err, match=pattern):
            t[key] = value
        np.testing.assert_array_equal(t.numpy(), a, err_msg=repr(key))
        assert t._version == ver, key
    e = lamina.ones(3).expand(2, 3)
    with pytest.raises(lamina.ValueError, match=r"\[index_put_\]"):
        e[0, [1]] = 5.0
    assert e.tolist() == [[1.0] * 3] * 2
    t[0, 0] = 1.0
    assert t._version > ver


def test_getitem_errors():
    t = lamina.ones(3, 4)
    with pytest.raises(IndexError, match=r"\[index\] index 3 is out of bounds for dimension 0 with size 3"):
        t[3]
    with pytest.raises(IndexError, match=r"\[index\] index -5 is out of bounds for dimension 1 with size 4"):
        t[:, [0, -5]]
    with pytest.raises(IndexError, match=r"\[index\].*must be long, int, byte or bool"):
        t[lamina.tensor([0.5])]
    with pytest.raises(IndexError, match=r"\[index\].*must be long, int, byte or bool"):
        t[[0.0, 1.0]]
    with pytest.raises(IndexError, match="single ellipsis"):
        t[..., ...]
    with pytest.raises(IndexError, match=r"\[index\].*valid indices, got str"):
        t["a"]
    with pytest.raises(IndexError, match=r"\[index\].*valid indices, got float"):
        t[1.0]
    with pytest.raises(IndexError, match=r"\[index\] shape mismatch: indexing tensors could not be broadcast"):
        t[[0, 1], [0, 1, 2]]
    with pytest.raises(IndexError, match="too many indices"):
        t[0, 0, 0]
    with pytest.raises(IndexError):
        lamina.tensor(1.0)[0]
    with pytest.raises(TypeError, match="slice indices must be integers"):
        t[1.5:]
    assert [float(r.sum()) for r in t] == [4.0, 4.0, 4.0]  # iteration ends with IndexError


@pytest.mark.parametrize("dt", ALL_DTYPES, ids=str)
def test_index_select_take_gather_every_dtype(dt, rng):
    np_dt = NP_DTYPES.get(dt, np.float32)
    a = random_array(rng, (4, 5), np_dt)
    for name, t in layouts(a):
        t = t.to(dt)
        ref = to_np(lamina.tensor(a).to(dt))
        idx = rng.integers(0, 4, size=3)
        np.testing.assert_array_equal(to_np(t.index_select(0, lamina.tensor(idx))), ref[idx], err_msg=name)
        np.testing.assert_array_equal(to_np(lamina.index_select(t, -1, lamina.tensor([4, 1], dtype=lamina.int32))),
                                      ref[:, [4, 1]])
        g = rng.integers(0, 5, size=(3, 2))
        np.testing.assert_array_equal(to_np(t.gather(1, lamina.tensor(g))), np.take_along_axis(ref[:3], g, 1))
        g0 = rng.integers(0, 4, size=(6, 5))
        np.testing.assert_array_equal(to_np(lamina.gather(t, 0, lamina.tensor(g0))), np.take_along_axis(ref, g0, 0))
        k = rng.integers(-20, 20, size=(2, 3))
        np.testing.assert_array_equal(to_np(t.take(lamina.tensor(k))), ref.reshape(-1)[k])


def test_index_select_take_gather_shapes_and_errors(rng):
    a = random_array(rng, (4, 5), np.float32)
    t = lamina.tensor(a)
    assert t.index_select(0, lamina.tensor(2)).shape == (1, 5)
    assert t.index_select(1, lamina.tensor([], dtype=lamina.int64)).shape == (4, 0)
    assert lamina.index_select(lamina.tensor(3.0), 0, lamina.tensor([0])).shape == ()
    assert t.gather(1, lamina.zeros(4, 0, dtype=lamina.int64)).shape == (4, 0)
    assert lamina.tensor(3.0).gather(0, lamina.tensor(0)).tolist() == 3.0
    i = rng.integers(0, 5, size=(1, 3))
    np.testing.assert_array_equal(lamina.take_along_dim(t, lamina.tensor(i), dim=1).numpy(),
                                  np.take_along_axis(a, np.broadcast_to(i, (4, 3)), 1))
    np.testing.assert_array_equal(t.take_along_dim(lamina.tensor([19, 0])).numpy(), a.reshape(-1)[[19, 0]])
    with pytest.raises(IndexError, match=r"\[index_select\].*index -1 is out of bounds"):
        t.index_select(0, lamina.tensor([-1]))
    with pytest.raises(IndexError, match=r"\[index_select\].*index 4 is out of bounds"):
        t.index_select(0, lamina.tensor([4]))
    with pytest.raises(IndexError, match=r"\[index_select\].*int64 or int32"):
        t.index_select(0, lamina.tensor([0.0]))
    with pytest.raises(IndexError, match=r"\[index_select\].*0-d or 1-d"):
        t.index_select(0, lamina.tensor([[0]]))
    with pytest.raises(IndexError, match=r"\[index_select\]"):
        t.index_select(2, lamina.tensor([0]))
    with pytest.raises(IndexError, match=r"\[take\].*out of bounds"):
        t.take(lamina.tensor([20]))
    with pytest.raises(lamina.DTypeError, match=r"\[take\]"):
        t.take(lamina.tensor([True]))
    with pytest.raises(IndexError, match=r"\[gather\].*out of bounds"):
        t.gather(0, lamina.tensor([[4, 0, 0, 0, 0]]))
    with pytest.raises(IndexError, match=r"\[gather\].*out of bounds"):
        t.gather(0, lamina.tensor([[-1]]))
    with pytest.raises(lamina.ShapeError, match=r"\[gather\].*same number of dimensions"):
        t.gather(0, lamina.tensor([1, 2]))
    with pytest.raises(lamina.ShapeError, match=r"\[gather\].*larger than input"):
        t.gather(0, lamina.zeros(1, 6, dtype=lamina.int64))
    with pytest.raises(lamina.DTypeError, match=r"\[gather\].*int64"):
        t.gather(0, lamina.tensor([[1]], dtype=lamina.int32))
    with pytest.raises(lamina.ShapeError, match=r"\[take_along_dim\]"):
        t.take_along_dim(lamina.zeros(3, 1, dtype=lamina.int64), dim=1)


def scatter_reference(a, dim, idx, src, op=None):
    out = a.copy()
    for pos in np.ndindex(*idx.shape):
        target = list(pos)
        target[dim] = idx[pos]
        v = src[pos] if np.ndim(src) else src
        with np.errstate(over="ignore"):  # small integer types wrap, as in lamina
            if op == "add":
                out[tuple(target)] += v
            elif op == "multiply":
                out[tuple(target)] *= v
            else:
                out[tuple(target)] = v
    return out


@pytest.mark.parametrize("dt", [lamina.float32, lamina.float64, lamina.int32, lamina.int64, lamina.float16,
                                lamina.int8, lamina.uint8])
def test_scatter_family_every_dtype(dt, rng):
    np_dt = NP_DTYPES[dt]
    a = random_array(rng, (4, 5), np_dt)
    src = random_array(rng, (4, 3), np_dt)
    for dim in (0, 1, -1):
        d = dim % 2
        idx = rng.integers(0, a.shape[d], size=(3, 3) if d == 0 else (4, 3))
        s = src[:idx.shape[0]]
        for name, t in layouts(a):
            lt, li = t.to(dt), lamina.tensor(idx)
            ls = lamina.tensor(np.ascontiguousarray(s.T)).T  # a non-contiguous src
            np.testing.assert_array_equal(lt.scatter(dim, li, ls).numpy(), scatter_reference(a, d, idx, s), err_msg=name)
            np.testing.assert_array_equal(lamina.scatter_add(lt, dim, li, ls).numpy(),
                                          scatter_reference(a, d, idx, s, "add"), err_msg=name)
            np.testing.assert_array_equal(lt.scatter(dim, li, ls, reduce="multiply").numpy(),
                                          scatter_reference(a, d, idx, s, "multiply"))
            np.testing.assert_array_equal(lt.scatter(dim, li, 3).numpy(), scatter_reference(a, d, idx, np_dt(3)))
            c = lt.clone()
            assert c.scatter_(dim, li, ls, reduce="add") is c
            np.testing.assert_array_equal(c.numpy(), scatter_reference(a, d, idx, s, "add"))
            c = lt.clone()
            assert c.scatter_add_(dim, li, ls) is c and c.scatter_(dim, li, value=2) is c
            np.testing.assert_array_equal(c.numpy(), scatter_reference(scatter_reference(a, d, idx, s, "add"), d, idx,
                                                                       np_dt(2)))
            np.testing.assert_array_equal(lt.numpy(), a)  # out-of-place variants left the input alone


def test_scatter_errors_leave_input_unchanged(rng):
    a = random_array(rng, (2, 3), np.float32)
    z = lamina.tensor(a)
    ver = z._version
    with pytest.raises(IndexError, match=r"\[scatter_\].*out of bounds"):
        z.scatter_(1, lamina.tensor([[3], [0]]), 1.0)
    with pytest.raises(IndexError, match=r"\[scatter_add_\].*out of bounds"):
        z.scatter_add_(0, lamina.tensor([[0, 2, 0]]), lamina.ones(1, 3))
    with pytest.raises(lamina.DTypeError, match=r"\[scatter_\].*same dtype"):
        z.scatter_(1, lamina.tensor([[0]]), lamina.ones(1, 1, dtype=lamina.float64))
    with pytest.raises(lamina.ShapeError, match=r"\[scatter_\].*larger than src"):
        z.scatter_(1, lamina.tensor([[0, 1]]), lamina.ones(1, 1))
    with pytest.raises(lamina.ValueError, match=r"\[scatter\].*reduce"):
        z.scatter(1, lamina.tensor([[0]]), 1.0, reduce="max")
    with pytest.raises(lamina.DTypeError, match=r"\[scatter_\].*int64"):
        z.scatter_(1, lamina.tensor([[0]], dtype=lamina.int32), 1.0)
    np.testing.assert_array_equal(z.numpy(), a)
    assert z._version == ver


@pytest.mark.parametrize("dt", ALL_DTYPES, ids=str)
def test_masked_fill_select_nonzero(dt, rng):
    np_dt = NP_DTYPES.get(dt, np.float32)
    a = random_array(rng, (3, 4), np_dt)
    base = lamina.tensor(a).to(dt)
    ref = to_np(base)
    m = random_array(rng, (3, 4), np.bool_)
    row = np.array([True, False, True, False])
    for name, t in layouts(a):
        t = t.to(dt)
        fill = to_np(lamina.tensor([1]).to(dt))[0]
        np.testing.assert_array_equal(to_np(t.masked_fill(lamina.tensor(m), 1)), np.where(m, fill, ref), err_msg=name)
        np.testing.assert_array_equal(to_np(lamina.masked_fill(t, lamina.tensor(row), lamina.tensor(1))),
                                      np.where(row, fill, ref))
        np.testing.assert_array_equal(to_np(lamina.masked_select(t, lamina.tensor(m))), ref[m])
        np.testing.assert_array_equal(to_np(t.masked_select(lamina.tensor(row))), ref[np.broadcast_to(row, ref.shape)])
        nz = ref != 0
        np.testing.assert_array_equal(lamina.nonzero(t).numpy(), np.argwhere(nz))
        np.testing.assert_array_equal(t.argwhere().numpy(), np.argwhere(nz))
        for got, want in zip(t.nonzero(as_tuple=True), np.nonzero(nz)):
            np.testing.assert_array_equal(got.numpy(), want)
        c = t.clone()
        assert c.masked_fill_(lamina.tensor(m), 0) is c
        np.testing.assert_array_equal(to_np(c), np.where(m, to_np(lamina.tensor([0]).to(dt))[0], ref))


def test_masked_and_nonzero_shapes_and_errors(rng):
    a = random_array(rng, (3, 4), np.float32)
    t = lamina.tensor(a)
    assert lamina.nonzero(lamina.tensor(5.0)).shape == (1, 0)
    assert lamina.nonzero(lamina.tensor(0.0)).shape == (0, 0)
    assert [x.tolist() for x in lamina.nonzero(lamina.tensor(5.0), as_tuple=True)] == [[0]]
    assert lamina.nonzero(lamina.zeros(0, 3)).shape == (0, 2)
    assert lamina.nonzero(lamina.tensor([0.0, float("nan")])).tolist() == [[1]]
    assert lamina.masked_select(lamina.tensor(2.0), lamina.tensor([True, False, True])).tolist() == [2.0, 2.0]
    assert t.masked_select(lamina.tensor(False)).shape == (0,)
    assert lamina.zeros(0, 4).masked_fill(lamina.tensor([True] * 4), 1.0).shape == (0, 4)
    assert t.masked_fill(lamina.tensor(True), 2.0).tolist() == [[2.0] * 4] * 3
    ver = t._version
    with pytest.raises(lamina.DTypeError, match=r"\[masked_fill\].*bool"):
        t.masked_fill(lamina.ones(3, 4), 0.0)
    with pytest.raises(lamina.ShapeError, match=r"\[masked_fill\]"):
        t.masked_fill(lamina.tensor([True, False]), 0.0)
    with pytest.raises(lamina.ShapeError, match=r"\[masked_fill\].*0-d"):
        t.masked_fill(lamina.tensor([True] * 4), lamina.ones(2))
    with pytest.raises(lamina.ShapeError, match=r"\[masked_fill\]"):
        t.masked_fill_(lamina.ones(2, 3, 4, dtype=lamina.bool), 0.0)
    with pytest.raises(lamina.DTypeError, match=r"\[masked_select\]"):
        t.masked_select(lamina.ones(3, 4, dtype=lamina.int64))
    with pytest.raises(lamina.ShapeError, match=r"\[masked_select\]"):
        t.masked_select(lamina.ones(2, dtype=lamina.bool))
    np.testing.assert_array_equal(t.numpy(), a)
    assert t._version == ver
