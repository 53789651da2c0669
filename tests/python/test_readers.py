"""File readers against NumPy: .npy (np.save, every dtype, byte orders, Fortran order, mmap),
.npz (np.savez / np.savez_compressed), CSV (np.savetxt), raw token files; typed errors for bad files."""
import numpy as np
import pytest

import lamina
from lamina.utils import data

DTYPES = [np.bool_, np.uint8, np.int8, np.int32, np.int64, np.float16, np.float32, np.float64]


def sample(rng, dtype, shape=(3, 4, 5)):
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    return (rng.normal(size=shape) * 40).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mmap", [False, True])
def test_npy_written_by_numpy(tmp_path, dtype, mmap):
    a = sample(np.random.default_rng(0), dtype)
    path = tmp_path / "a.npy"
    np.save(path, a)
    t = data.load_npy(path, mmap=mmap)
    assert t.dtype == getattr(lamina, np.dtype(dtype).name if dtype != np.bool_ else "bool")
    np.testing.assert_array_equal(t.numpy(), a)


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("fortran", [False, True])
@pytest.mark.parametrize("dtype,expect", [(np.int16, np.int32), (np.uint16, np.int32), (np.uint32, np.int64),
                                          (np.float32, np.float32), (np.float64, np.float64), (np.int64, np.int64)])
def test_npy_byte_order_layout_and_widening(tmp_path, order, fortran, dtype, expect):
    a = sample(np.random.default_rng(1), dtype, (4, 6)).astype(np.dtype(dtype).newbyteorder(order))
    if fortran:
        a = np.asfortranarray(a)
    path = tmp_path / "b.npy"
    np.save(path, a)
    t = data.load_npy(path)
    assert t.numpy().dtype == expect
    np.testing.assert_array_equal(t.numpy(), a.astype(expect))


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
def test_npy_format_versions(tmp_path, version):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    path = tmp_path / "v.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array(f, a, version=version)
    np.testing.assert_array_equal(data.load_npy(path).numpy(), a)
    np.testing.assert_array_equal(data.load_npy(path, mmap=True).numpy(), a)


def test_npy_mmap_is_a_zero_copy_view(tmp_path):
    a = np.asfortranarray(np.arange(20000, dtype=np.float64).reshape(100, 200))
    path = tmp_path / "m.npy"
    np.save(path, a)
    t = data.load_npy(path, mmap=True)
    assert t.stride() == (1, 100)  # Fortran order stays a strided view of the file
    np.testing.assert_array_equal(t.numpy(), a)
    part = t[10:20, 5]
    del t
    np.testing.assert_array_equal(part.numpy(), a[10:20, 5])
    part.fill_(-1.0)  # private copy-on-write pages: the file keeps its values
    np.testing.assert_array_equal(np.load(path), a)


def test_save_npy_is_read_by_numpy(tmp_path):
    for dtype in DTYPES:
        a = sample(np.random.default_rng(2), dtype, (2, 3))
        data.save_npy(tmp_path / "s.npy", lamina.tensor(a))
        b = np.load(tmp_path / "s.npy")
        assert b.dtype == a.dtype
        np.testing.assert_array_equal(b, a)
    data.save_npy(tmp_path / "t.npy", lamina.arange(6.0).reshape(2, 3).t())  # non-contiguous input
    np.testing.assert_array_equal(np.load(tmp_path / "t.npy"), np.arange(6.0).reshape(2, 3).T)
    with pytest.raises(lamina.DTypeError):
        data.save_npy(tmp_path / "bf.npy", lamina.ones(2, dtype=lamina.bfloat16))


def test_npy_errors(tmp_path):
    with pytest.raises(lamina.IOError):
        data.load_npy(tmp_path / "missing.npy")
    a = np.arange(10, dtype=np.float32)
    np.save(tmp_path / "ok.npy", a)
    good = (tmp_path / "ok.npy").read_bytes()
    bad = tmp_path / "bad.npy"
    for cut in [0, 8, 11, 50, len(good) - 1]:
        bad.write_bytes(good[:cut])
        for mmap in [False, True]:
            with pytest.raises(lamina.FormatError, match=r"bad\.npy"):
                data.load_npy(bad, mmap=mmap)
    bad.write_bytes(good.replace(b"'shape': (10,)", b"'shape': (1x,)"))
    with pytest.raises(lamina.FormatError, match=r"bad\.npy.*malformed"):
        data.load_npy(bad)
    np.save(bad, np.arange(3, dtype=np.uint64))
    with pytest.raises(lamina.DTypeError, match="uint64|<u8"):
        data.load_npy(bad)
    np.save(bad, np.zeros(3, dtype=np.complex64))
    with pytest.raises(lamina.DTypeError):
        data.load_npy(bad)
    np.save(bad, np.arange(3, dtype=">f4"))
    with pytest.raises(lamina.DTypeError, match="mmap=false"):
        data.load_npy(bad, mmap=True)


@pytest.mark.parametrize("saver", [np.savez, np.savez_compressed])
def test_npz_written_by_numpy(tmp_path, saver):
    rng = np.random.default_rng(3)
    arrays = {"images": rng.integers(0, 255, (5, 3, 4), dtype=np.uint8), "labels": np.arange(5),
              "weights": rng.normal(size=(5,)).astype(np.float32), "flag": np.array(True)}
    saver(tmp_path / "a.npz", **arrays)
    got = data.load_npz(tmp_path / "a.npz")
    assert sorted(got) == sorted(arrays)
    for k, v in arrays.items():
        np.testing.assert_array_equal(got[k].numpy(), v)


@pytest.mark.parametrize("compress", [False, True])
def test_save_npz_is_read_by_numpy(tmp_path, compress):
    data.save_npz(tmp_path / "b.npz", {"x": lamina.arange(6).reshape(2, 3)}, compress=compress,
                  y=lamina.ones(4, dtype=lamina.float16))
    with np.load(tmp_path / "b.npz") as z:
        np.testing.assert_array_equal(z["x"], np.arange(6).reshape(2, 3))
        np.testing.assert_array_equal(z["y"], np.ones(4, dtype=np.float16))


def test_npz_errors(tmp_path):
    with pytest.raises(lamina.IOError):
        data.load_npz(tmp_path / "missing.npz")
    (tmp_path / "x.npz").write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(lamina.FormatError, match=r"x\.npz"):
        data.load_npz(tmp_path / "x.npz")
    np.savez_compressed(tmp_path / "c.npz", a=np.arange(1000))
    raw = bytearray((tmp_path / "c.npz").read_bytes())
    raw[len(raw) // 3: len(raw) // 3 + 20] = bytes(20)
    (tmp_path / "c.npz").write_bytes(bytes(raw))
    with pytest.raises(lamina.FormatError, match=r"c\.npz"):
        data.load_npz(tmp_path / "c.npz")


def test_npz_with_a_lying_size_is_rejected_before_allocating(tmp_path):
    np.savez_compressed(tmp_path / "d.npz", a=np.zeros(100))
    raw = bytearray((tmp_path / "d.npz").read_bytes())
    for sig, field in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):  # central and local uncompressed size
        at = raw.find(sig)
        raw[at + field: at + field + 4] = (0xFFFFFFF0).to_bytes(4, "little")
    (tmp_path / "d.npz").write_bytes(bytes(raw))
    with pytest.raises(lamina.FormatError, match=r"d\.npz"):
        data.load_npz(tmp_path / "d.npz")


def test_csv_written_by_numpy(tmp_path):
    a = np.random.default_rng(4).normal(size=(7, 5))
    np.savetxt(tmp_path / "a.csv", a, delimiter=",", header="a,b,c,d,e", comments="")
    t = data.read_csv(tmp_path / "a.csv", header=True, dtype=lamina.float64)
    assert t.shape == (7, 5) and t.dtype == lamina.float64
    np.testing.assert_array_equal(t.numpy(), a)
    sel = data.read_csv(tmp_path / "a.csv", header=True, columns=["e", 1])
    assert sel.dtype == lamina.float32
    np.testing.assert_allclose(sel.numpy(), a[:, [4, 1]].astype(np.float32))
    assert data.read_csv_header(tmp_path / "a.csv") == ["a", "b", "c", "d", "e"]
    np.savetxt(tmp_path / "b.txt", a, header="comment line")  # space separated, '# ' header
    np.testing.assert_array_equal(data.read_csv(tmp_path / "b.txt", delimiter=" ", dtype="float64").numpy(), a)


def test_csv_errors(tmp_path):
    with pytest.raises(lamina.IOError):
        data.read_csv(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("1,2\n3,4\n5,abc\n")
    with pytest.raises(lamina.FormatError, match=r"bad\.csv' line 3, column 3.*'abc'"):
        data.read_csv(tmp_path / "bad.csv")
    (tmp_path / "bad.csv").write_text("1,2\n3\n")
    with pytest.raises(lamina.FormatError, match="line 2"):
        data.read_csv(tmp_path / "bad.csv")
    with pytest.raises(lamina.ShapeError):
        data.read_csv(tmp_path / "bad.csv", columns=[5])
    with pytest.raises(lamina.DTypeError):
        data.read_csv(tmp_path / "bad.csv", dtype=lamina.int32)


def test_read_tokens(tmp_path):
    text = "the quick brown fox\n"
    (tmp_path / "t.txt").write_text(text)
    t = data.read_tokens(tmp_path / "t.txt")
    assert t.dtype == lamina.uint8 and t.shape == (len(text),)
    assert bytes(t.numpy()).decode() == text
    ids = np.array([1, 50000, 3, 65535], dtype=np.uint16)
    (tmp_path / "ids.bin").write_bytes(b"\0" * 8 + ids.tobytes())
    np.testing.assert_array_equal(data.read_tokens(tmp_path / "ids.bin", "uint16", offset=8).numpy(), ids)
    i32 = np.arange(-5, 5, dtype=np.int32)
    i32.tofile(tmp_path / "i32.bin")
    v = data.read_tokens(tmp_path / "i32.bin", lamina.int32)
    np.testing.assert_array_equal(v.numpy(), i32)
    with pytest.raises(lamina.FormatError, match=r"i32\.bin.*multiple"):
        data.read_tokens(tmp_path / "i32.bin", lamina.int64, offset=4)
    with pytest.raises(lamina.FormatError):
        data.read_tokens(tmp_path / "i32.bin", offset=1000)
    with pytest.raises(lamina.IOError):
        data.read_tokens(tmp_path / "none.bin")
