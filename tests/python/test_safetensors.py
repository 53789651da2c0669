"""safetensors: lamina.save_file / load_file against the reference `safetensors` package (numpy and,
under Debian's /usr/bin/python3 with torch 1.13, its torch path), bytes helpers, metadata, errors."""
import json
import os
import pathlib
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import safetensors
import safetensors.numpy as stnp

import lamina
from lamina import _lamina

REPO = pathlib.Path(__file__).resolve().parents[2]
TORCH_PY = "/usr/bin/python3"
SITE = str(REPO / ".venv" / "lib" / "python3.11" / "site-packages")

NP_TYPES = [np.bool_, np.uint8, np.int8, np.int32, np.int64, np.float16, np.float32, np.float64]


def sample(dtype, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    return (rng.standard_normal(shape) * 100).astype(dtype)


def torch_available():
    try:
        return subprocess.run([TORCH_PY, "-c", "import torch"], capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


needs_torch = pytest.mark.skipif(not torch_available(), reason=f"{TORCH_PY} cannot import torch")


def run_torch(script, *args):
    """Runs `script` under Debian's python3 + torch, with the venv's safetensors on its path."""
    prelude = f"import sys\nsys.path.append({SITE!r})\n"
    r = subprocess.run([TORCH_PY, "-c", prelude + textwrap.dedent(script), *map(str, args)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_lamina_writes_numpy_reads(tmp_path):
    arrays = {f"t_{np.dtype(dt).name}": sample(dt, seed=i) for i, dt in enumerate(NP_TYPES)}
    arrays["scalar"] = np.array(2.5, np.float32)
    arrays["empty"] = np.zeros((0, 3), np.int64)
    tensors = {k: lamina.from_numpy(v) for k, v in arrays.items()}
    tensors["transposed"] = lamina.from_numpy(sample(np.float32, (4, 5), 9)).T  # non-contiguous
    path = tmp_path / "a.safetensors"
    lamina.save_file(tensors, path, metadata={"format": "pt", "who": "lamina"})
    back = stnp.load_file(str(path))
    assert set(back) == set(tensors)
    for k, v in arrays.items():
        assert back[k].dtype == v.dtype and back[k].shape == v.shape, k
        np.testing.assert_array_equal(back[k], v)
    np.testing.assert_array_equal(back["transposed"], tensors["transposed"].numpy())
    with safetensors.safe_open(str(path), framework="numpy") as f:
        assert f.metadata() == {"format": "pt", "who": "lamina"}
    # numpy arrays are accepted directly, and the bytes API is the file format exactly
    data = _lamina._io.save(tensors, {"format": "pt", "who": "lamina"})
    assert data == path.read_bytes()
    assert set(stnp.load(data)) == set(tensors)
    lamina.save_file(arrays, tmp_path / "b.safetensors")
    for k, v in stnp.load_file(str(tmp_path / "b.safetensors")).items():
        np.testing.assert_array_equal(v, arrays[k])


def test_numpy_writes_lamina_reads(tmp_path):
    arrays = {f"t_{np.dtype(dt).name}": sample(dt, (2, 3, 2), seed=i) for i, dt in enumerate(NP_TYPES)}
    arrays["scalar"] = np.array(-7, np.int64)
    arrays["empty"] = np.zeros((4, 0), np.float16)
    arrays["i16"] = sample(np.int16, (5,), 3)
    arrays["u16"] = sample(np.uint16, (5,), 4)
    arrays["u32"] = sample(np.uint32, (5,), 5)
    path = tmp_path / "np.safetensors"
    stnp.save_file(arrays, str(path), metadata={"k": "v"})
    for mmap in (True, False):
        back = lamina.load_file(str(path), mmap=mmap)
        assert set(back) == set(arrays)
        for k, v in arrays.items():
            got = back[k].numpy()
            if k in ("i16", "u16"):
                assert back[k].dtype == lamina.int32
            elif k == "u32":
                assert back[k].dtype == lamina.int64
            else:
                assert got.dtype == v.dtype, k
            assert got.shape == v.shape, k
            np.testing.assert_array_equal(got, v.astype(got.dtype))
    back, meta = _lamina._io.load_with_metadata(str(path))
    assert meta == {"k": "v"} and set(back) == set(arrays)
    back, meta = _lamina._io.load_bytes_with_metadata(path.read_bytes())
    assert meta == {"k": "v"}
    np.testing.assert_array_equal(_lamina._io.load(path.read_bytes())["t_float32"].numpy(), arrays["t_float32"])


def test_bfloat16_raw_bits(tmp_path):
    f32 = (np.arange(-8, 8, dtype=np.float32) * 0.375).reshape(4, 4)  # exact in bfloat16
    bits = (f32.view(np.uint32) >> 16).astype("<u2")
    path = tmp_path / "bf16.safetensors"
    lamina.save_file({"x": lamina.from_numpy(f32).to(lamina.bfloat16)}, path)
    (name, info), = safetensors.deserialize(path.read_bytes())
    assert name == "x" and info["dtype"].upper() in ("BF16", "BFLOAT16") and list(info["shape"]) == [4, 4]
    assert bytes(info["data"]) == bits.tobytes()
    # and back: a file carrying those bits loads as the same values
    back = lamina.load_file(path)["x"]
    assert back.dtype == lamina.bfloat16
    np.testing.assert_array_equal(back.to(lamina.float32).numpy(), f32)


@needs_torch
def test_lamina_writes_torch_reads_bf16(tmp_path):
    f32 = sample(np.float32, (3, 5), 1)
    x = lamina.from_numpy(f32).to(lamina.bfloat16)
    path = tmp_path / "l.safetensors"
    lamina.save_file({"bf": x, "h": lamina.from_numpy(f32).to(lamina.float16)}, path)
    out = tmp_path / "torch.npz"
    run_torch("""
        import numpy as np, torch
        from safetensors.torch import load_file
        d = load_file(sys.argv[1])
        assert d["bf"].dtype == torch.bfloat16 and d["h"].dtype == torch.float16
        np.savez(sys.argv[2], bf=d["bf"].float().numpy(), h=d["h"].float().numpy())
    """, path, out)
    got = np.load(out)
    np.testing.assert_array_equal(got["bf"], x.to(lamina.float32).numpy())
    np.testing.assert_array_equal(got["h"], f32.astype(np.float16).astype(np.float32))


@needs_torch
def test_torch_writes_lamina_reads(tmp_path):
    path, ref = tmp_path / "t.safetensors", tmp_path / "ref.npz"
    run_torch("""
        import numpy as np, torch
        from safetensors.torch import save_file
        torch.manual_seed(0)
        d = {"bf16": torch.randn(4, 3).bfloat16(), "f16": torch.randn(2, 5).half(), "f32": torch.randn(3),
             "f64": torch.randn(2, 2).double(), "i64": torch.arange(-3, 3), "i32": torch.arange(4, dtype=torch.int32),
             "i8": torch.tensor([-128, 0, 127], dtype=torch.int8), "u8": torch.tensor([0, 255], dtype=torch.uint8),
             "b": torch.tensor([True, False, True]), "s": torch.tensor(1.5), "e": torch.zeros(0, 2)}
        save_file(d, sys.argv[1], metadata={"format": "pt"})
        np.savez(sys.argv[2], **{k: (v.float() if v.dtype in (torch.bfloat16, torch.float16) else v).numpy() for k, v in d.items()})
    """, path, ref)
    ref = np.load(ref)
    for mmap in (True, False):
        back = lamina.load_file(path, mmap=mmap)
        assert set(back) == set(ref.files)
        assert back["bf16"].dtype == lamina.bfloat16 and back["f16"].dtype == lamina.float16
        for k in ref.files:
            got = back[k].to(lamina.float32).numpy() if k in ("bf16", "f16") else back[k].numpy()
            assert got.shape == ref[k].shape, k
            np.testing.assert_array_equal(got, ref[k])
    assert _lamina._io.load_with_metadata(path)[1] == {"format": "pt"}


@needs_torch
def test_torch_state_dict_loads_into_lamina_model(tmp_path):
    path, io_path = tmp_path / "mlp.safetensors", tmp_path / "io.npz"
    run_torch("""
        import numpy as np, torch
        from safetensors.torch import save_file
        torch.manual_seed(0)
        m = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
        save_file(m.state_dict(), sys.argv[1])
        x = torch.randn(5, 6)
        with torch.no_grad():
            y = m(x)
        np.savez(sys.argv[2], x=x.numpy(), y=y.numpy())
    """, path, io_path)
    ref = np.load(io_path)
    model = lamina.nn.Sequential(lamina.nn.Linear(6, 16), lamina.nn.ReLU(), lamina.nn.Linear(16, 3))
    result = model.load_state_dict(lamina.load_file(path))
    assert not result.missing_keys and not result.unexpected_keys
    y = model(lamina.from_numpy(ref["x"])).detach().numpy()
    np.testing.assert_allclose(y, ref["y"], rtol=1e-5, atol=1e-6)


def test_state_dict_round_trip_and_device_argument(tmp_path):
    model = lamina.nn.Sequential(lamina.nn.Linear(4, 3), lamina.nn.ReLU(), lamina.nn.Linear(3, 2))
    lamina.save_file(model.state_dict(), tmp_path / "m.safetensors")  # Parameters are accepted
    other = lamina.nn.Sequential(lamina.nn.Linear(4, 3), lamina.nn.ReLU(), lamina.nn.Linear(3, 2))
    other.load_state_dict(lamina.load_file(tmp_path / "m.safetensors", device="cpu"))
    x = lamina.randn(2, 4)
    np.testing.assert_array_equal(model(x).detach().numpy(), other(x).detach().numpy())
    assert list(lamina.load_file(str(tmp_path / "m.safetensors"))) == list(model.state_dict())  # order kept


def header_file(path, header, data=b""):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


@pytest.mark.parametrize("header,data,fragment", [
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}}, b"\0" * 8, "past the end"),
    ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
      "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12, "overlap"),
    ({"a": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, "unknown dtype"),
    ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, "needs 12 bytes"),
    ({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8, "non-negative"),
    ({"__metadata__": {"k": 1}}, b"", "not a string"),
])
def test_malformed_files_raise_format_error(tmp_path, header, data, fragment):
    path = header_file(tmp_path / "bad.safetensors", header, data)
    with pytest.raises(lamina.FormatError, match=fragment) as e:
        lamina.load_file(path)
    assert str(path) in str(e.value)
    assert isinstance(e.value, OSError)
    with pytest.raises(lamina.FormatError):
        _lamina._io.load(path.read_bytes())
    with pytest.raises(Exception):  # the reference implementation rejects it too
        stnp.load(path.read_bytes())


def test_bad_header_length_and_json(tmp_path):
    p = tmp_path / "x.safetensors"
    p.write_bytes(struct.pack("<Q", 10_000) + b"{}")
    with pytest.raises(lamina.FormatError, match="runs past the end"):
        lamina.load_file(p)
    p.write_bytes(struct.pack("<Q", 5) + b"{abc}")
    with pytest.raises(lamina.FormatError, match="not valid JSON"):
        lamina.load_file(p)
    p.write_bytes(b"\x01\x02")
    with pytest.raises(lamina.FormatError):
        lamina.load_file(p)
    full = _lamina._io.save({"w": lamina.ones(3, 2)}, {"m": "x"})
    for n in range(len(full)):
        with pytest.raises(lamina.FormatError):
            _lamina._io.load(full[:n])


def test_errors_for_missing_files_and_bad_arguments(tmp_path):
    with pytest.raises(OSError) as e:
        lamina.load_file(tmp_path / "nope.safetensors")
    assert not isinstance(e.value, lamina.FormatError)
    t = lamina.ones(2)
    with pytest.raises(ValueError):
        _lamina._io.save({"__metadata__": t})
    with pytest.raises(TypeError):
        lamina.save_file({"a": "not a tensor"}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError):
        lamina.save_file([("a", t)], tmp_path / "x.safetensors")
    with pytest.raises(TypeError):
        lamina.save_file({"a": t}, tmp_path / "x.safetensors", metadata={"k": 1})
    with pytest.raises(OSError):
        lamina.save_file({"a": t}, tmp_path / "no" / "dir" / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()
