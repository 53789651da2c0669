"""lamina.save / lamina.load against PyTorch's own torch.save / torch.load (Debian's python3-torch, or
the interpreter LAMINA_TORCH_PYTHON names, run in its own process), and against hostile files: a pickle
that would run code, truncated and malformed archives."""
import collections
import io
import os
import pickle
import struct
import subprocess
import zipfile

import numpy as np
import pytest

import lamina
from conftest import TORCH_PYTHON, random_array, to_np




def run_torch(script, *args):
    """Runs `script` under TORCH_PYTHON with args in sys.argv; skips only when torch is absent."""
    probe = subprocess.run([TORCH_PYTHON, "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"PyTorch not importable under {TORCH_PYTHON}")
    out = subprocess.run([TORCH_PYTHON, "-c", script, *map(str, args)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


TORCH_WRITES = r"""
import sys, collections, numpy as np, torch
torch.manual_seed(0)
w = torch.randn(4, 5)
sd = collections.OrderedDict()
sd["weight"] = w
sd["weight_t"] = w.t()                      # a non-contiguous view of the same storage
sd["column"] = w[:, 2]                      # a strided view with an offset
sd["bias"] = torch.randn(5, dtype=torch.float64)
sd["half"] = torch.randn(3).half()
sd["bf16"] = torch.randn(3).bfloat16()
sd["steps"] = torch.tensor([1, -2, 3], dtype=torch.int64)
sd["i32"] = torch.tensor([7, 8], dtype=torch.int32)
sd["mask"] = torch.tensor([True, False])
sd["u8"] = torch.tensor([1, 255], dtype=torch.uint8)
sd["scalar"] = torch.tensor(2.5)
sd["empty"] = torch.zeros(0, 3)
opt = {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.ones(2, 2)}},
       "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "params": [0], "amsgrad": False, "name": None}]}
obj = {"model": sd, "optimizer": opt, "epoch": 7, "loss": 0.25, "tags": ["a", ("b", 1.5)],
       "dtype": torch.float16, "numpy": np.arange(6, dtype=np.float32).reshape(2, 3)}
torch.save(obj, sys.argv[1])
np.savez(sys.argv[2], **{k: (v.float() if v.dtype == torch.bfloat16 else v).numpy() for k, v in sd.items()})
"""


def test_load_reads_what_torch_save_wrote(tmp_path):
    pt, ref = tmp_path / "ckpt.pt", tmp_path / "ref.npz"
    run_torch(TORCH_WRITES, pt, ref)
    obj = lamina.load(pt)
    want = np.load(ref)
    sd = obj["model"]
    assert isinstance(sd, collections.OrderedDict) and list(sd) == list(want.files)
    dtypes = {"weight": lamina.float32, "bias": lamina.float64, "half": lamina.float16, "bf16": lamina.bfloat16,
              "steps": lamina.int64, "i32": lamina.int32, "mask": lamina.bool, "u8": lamina.uint8}
    for name, tensor in sd.items():
        assert isinstance(tensor, lamina.Tensor), name
        assert tuple(tensor.shape) == want[name].shape, name
        if name in dtypes:
            assert tensor.dtype == dtypes[name], name
        np.testing.assert_array_equal(to_np(tensor), want[name], err_msg=name)
    assert obj["optimizer"]["state"][0]["step"].item() == 3.0
    assert obj["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert obj["optimizer"]["param_groups"][0]["name"] is None
    assert obj["epoch"] == 7 and obj["loss"] == 0.25 and obj["tags"] == ["a", ("b", 1.5)]
    assert obj["dtype"] == lamina.float16
    np.testing.assert_array_equal(obj["numpy"], np.arange(6, dtype=np.float32).reshape(2, 3))  # NumPy admitted
    # Loaded tensors own their memory: writing one changes no other and not the file.
    sd["weight"].fill_(0.0)
    assert to_np(sd["column"])[0] == want["column"][0]
    assert lamina.load(pt)["model"]["weight"].numpy()[0, 0] == want["weight"][0, 0]


TORCH_READS = r"""
import sys, numpy as np, torch
# weights_only=True from PyTorch 2 on (1.13's first version of it rejects BINFLOAT, which its own
# torch.save writes for every Python float).
kwargs = {"weights_only": True} if int(torch.__version__.split(".")[0]) >= 2 else {}
obj = torch.load(sys.argv[1], **kwargs)
ref = np.load(sys.argv[2])
for name in ref.files:
    t = obj["model"][name]
    got = (t.float() if t.dtype == torch.bfloat16 else t).detach().numpy()
    assert got.shape == ref[name].shape, name
    assert np.array_equal(got, ref[name]), name
assert str(obj["model"]["bf16"].dtype) == "torch.bfloat16"
assert obj["model"]["grad"].requires_grad
assert obj["step"] == 12 and obj["lr"] == 1e-3 and obj["names"] == ["x", ("y", None, True)]
assert obj["dtype"] == torch.bfloat16
print("ok", kwargs)
"""


def test_torch_load_reads_what_lamina_save_wrote(tmp_path, rng):
    model = collections.OrderedDict()
    model["weight"] = lamina.from_numpy(random_array(rng, (3, 4), np.float32))
    model["weight_t"] = model["weight"].t()  # saved as its values
    model["double"] = lamina.from_numpy(random_array(rng, (2,), np.float64))
    model["half"] = lamina.from_numpy(random_array(rng, (5,), np.float16))
    model["bf16"] = lamina.from_numpy(random_array(rng, (4,), np.float32)).to(lamina.bfloat16)
    model["long"] = lamina.from_numpy(random_array(rng, (3,), np.int64))
    model["int"] = lamina.from_numpy(random_array(rng, (3,), np.int32))
    model["i8"] = lamina.from_numpy(random_array(rng, (3,), np.int8))
    model["u8"] = lamina.from_numpy(random_array(rng, (3,), np.uint8))
    model["mask"] = lamina.from_numpy(random_array(rng, (3,), np.bool_))
    model["scalar"] = lamina.tensor(1.25)
    model["empty"] = lamina.zeros((0, 2))
    model["grad"] = lamina.ones(2).requires_grad_(True)
    pt, ref = tmp_path / "from_lamina.pt", tmp_path / "ref.npz"
    lamina.save({"model": model, "step": 12, "lr": 1e-3, "names": ["x", ("y", None, True)],
                 "dtype": lamina.bfloat16}, pt)
    np.savez(ref, **{k: to_np(v.detach()) for k, v in model.items()})
    assert run_torch(TORCH_READS, pt, ref).startswith("ok")
    # And lamina reads its own file back, to a file object as well as a path.
    buf = io.BytesIO()
    lamina.save(model, buf)
    again = lamina.load(io.BytesIO(buf.getvalue()))
    for name, t in model.items():
        np.testing.assert_array_equal(to_np(again[name].detach()), to_np(t.detach()), err_msg=name)
    assert again["grad"].requires_grad


def _archive(pickle_bytes, storages=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        for key, raw in storages:
            z.writestr(f"archive/data/{key}", raw)
        z.writestr("archive/version", b"3\n")
    return buf.getvalue()


def test_a_pickle_that_would_run_code_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    path.write_bytes(_archive(pickle.dumps({"weight": Evil()}, protocol=2)))
    with pytest.raises(lamina.FormatError, match=r"\[load\].*evil\.pt.*global (posix|os)\.system"):
        lamina.load(path)
    assert not marker.exists()
    # Other code-running globals are refused by name too, and so is an opcode-level builtins call.
    for module, name in [("builtins", "eval"), ("subprocess", "Popen"), ("torch", "load"),
                         ("numpy", "load"), ("torch._utils", "_rebuild_device_tensor_from_numpy")]:
        data = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R."
        with pytest.raises(lamina.FormatError, match=f"global {module}.{name}"):
            lamina.load(io.BytesIO(_archive(data)))
    with pytest.raises(lamina.ConfigError, match="weights_only=False"):
        lamina.load(path, weights_only=False)


def test_truncated_and_malformed_archives_raise_format_error(tmp_path, rng):
    good = tmp_path / "good.pt"
    lamina.save({"w": lamina.from_numpy(random_array(rng, (64, 64), np.float32))}, good)
    data = good.read_bytes()
    for cut in (0, 10, len(data) // 3, len(data) - 30):
        bad = tmp_path / f"cut{cut}.pt"
        bad.write_bytes(data[:cut])
        with pytest.raises(lamina.FormatError, match=rf"\[load\].*cut{cut}\.pt"):
            lamina.load(bad)
    (tmp_path / "text.pt").write_text("not a zip at all")
    with pytest.raises(lamina.FormatError, match="not a PyTorch zip archive"):
        lamina.load(tmp_path / "text.pt")
    with pytest.raises(lamina.FormatError, match="no <name>/data.pkl"):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("x/other", b"")
        lamina.load(io.BytesIO(buf.getvalue()))
    with pytest.raises(FileNotFoundError):
        lamina.load(tmp_path / "missing.pt")


def _tensor_pickle(storage_numel, offset, size, stride, storage_type="FloatStorage"):
    """A hand-built torch pickle of one tensor (what torch.save writes), for bad-geometry tests."""
    out = io.BytesIO()

    class P(pickle._Pickler):
        def persistent_id(self, obj):
            return None

    def global_(module, name):
        return b"c" + f"{module}\n{name}\n".encode()

    body = b"\x80\x02" + global_("torch._utils", "_rebuild_tensor_v2") + b"("
    body += b"(X\x07\x00\x00\x00storage" + global_("torch", storage_type) + b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpu"
    body += b"J" + struct.pack("<i", storage_numel) + b"tQ"
    body += b"J" + struct.pack("<i", offset) + b"(" + b"".join(b"J" + struct.pack("<i", s) for s in size) + b"t"
    body += b"(" + b"".join(b"J" + struct.pack("<i", s) for s in stride) + b"t"
    body += b"\x89" + global_("collections", "OrderedDict") + b")Rt" + b"R."
    out.write(body)
    return out.getvalue()


def test_bad_tensor_geometry_raises_format_error():
    raw = np.arange(6, dtype=np.float32).tobytes()
    ok = lamina.load(io.BytesIO(_archive(_tensor_pickle(6, 1, (2, 2), (2, 1)), [("0", raw)])))
    np.testing.assert_array_equal(ok.numpy(), [[1, 2], [3, 4]])
    cases = [
        (_tensor_pickle(6, 0, (3, 3), (3, 1)), "reads past its storage"),
        (_tensor_pickle(6, 5, (2,), (1,)), "reads past its storage"),
        (_tensor_pickle(7, 0, (2,), (1,)), "holds 24 bytes, not 7 x 4"),
        (_tensor_pickle(6, -1, (2,), (1,)), "negative offset"),
        (_tensor_pickle(6, 0, (2,), (1,), "ShortStorage"), "int16 values, a dtype lamina does not have"),
    ]
    for data, message in cases:
        with pytest.raises(lamina.FormatError, match=message):
            lamina.load(io.BytesIO(_archive(data, [("0", raw)])))
    with pytest.raises(lamina.FormatError, match="has no archive/data/0"):
        lamina.load(io.BytesIO(_archive(_tensor_pickle(6, 0, (2,), (1,)))))


def test_map_location_forms(tmp_path):
    path = tmp_path / "m.pt"
    lamina.save({"w": lamina.ones(3)}, path)
    assert lamina.load(path, map_location="cpu")["w"].device == lamina.device("cpu")
    assert lamina.load(path, map_location={"cpu": "cpu"})["w"].device == lamina.device("cpu")
    seen = []
    out = lamina.load(path, map_location=lambda t, where: seen.append(where) or t * 2)
    assert seen == ["cpu"] and out["w"].tolist() == [2.0, 2.0, 2.0]
    if not lamina.cuda.is_available():
        with pytest.raises(lamina.DeviceNotAvailableError):
            lamina.load(path, map_location="cuda:0")


# Peak resident memory from /proc (VmHWM belongs to this program's image; ru_maxrss would carry the
# forking pytest process's peak over).
MEMORY_PROBE = r"""
import sys, lamina
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
before = peak()
obj = lamina.load(sys.argv[1])
print(peak() - before)
"""


def test_loading_uses_memory_near_the_file_size(tmp_path):
    # 64 MiB of weights in two storages: each is read from a memory map of the file, copied once, and
    # its mapped pages dropped before the next.
    path = tmp_path / "big.pt"
    lamina.save({"a": lamina.ones((4096, 2048)), "b": lamina.ones((4096, 2048)) * 2}, path)
    size = path.stat().st_size
    out = subprocess.run([os.sys.executable, "-c", MEMORY_PROBE, str(path)], capture_output=True, text=True,
                         env={**os.environ, "LAMINA_FORCE_CPU": "1"}, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    grown = int(out.stdout.split()[-1])
    print(f"file {size / 2**20:.1f} MiB, peak RSS grew {grown / 2**20:.1f} MiB")
    assert grown < 1.7 * size  # the copies, plus the mapped pages of one storage at a time


def test_numpy_payloads_cannot_ask_for_memory():
    reconstruct = np.ndarray.__reduce__(np.arange(3.0))[0]  # NumPy's own _reconstruct

    class HugeState:
        def __reduce__(self):
            return (reconstruct, (np.ndarray, (0,), b"b"), (1, (10**12,), np.dtype("float64"), False, b"\0" * 8))

    class DirectNdarray:
        def __reduce__(self):
            return (np.ndarray, ((10**12,),))

    for bad, message in [(HugeState(), "malformed pickle"), (DirectNdarray(), "numpy.ndarray called directly")]:
        with pytest.raises(lamina.FormatError, match=message):
            lamina.load(io.BytesIO(_archive(pickle.dumps({"x": bad}, protocol=2))))
    ok = lamina.load(io.BytesIO(_archive(pickle.dumps({"x": np.arange(3.0)}, protocol=2))))
    np.testing.assert_array_equal(ok["x"], np.arange(3.0))
