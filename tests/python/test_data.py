"""Data readers: IDX against a NumPy decoding of the same bytes, the built-in Fashion-MNIST
files, and typed errors for bad files."""
import gzip
import os

import numpy as np
import pytest

import lamina
from lamina.utils import data


def write_idx(path, array, code):
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    body = array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + body)


@pytest.mark.parametrize("dtype,code", [(np.uint8, 0x08), (np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C),
                                        (np.float32, 0x0D), (np.float64, 0x0E)])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, dtype, code, suffix):
    rng = np.random.default_rng(code)
    a = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    path = str(tmp_path / f"x.idx{suffix}")
    write_idx(path, a, code)
    t = data.read_idx(path)
    np.testing.assert_array_equal(t.numpy(), a.astype(np.int32) if dtype == np.int16 else a)


def test_idx_errors_name_the_path(tmp_path):
    with pytest.raises(lamina.IOError):
        data.read_idx(str(tmp_path / "missing.idx"))
    bad = tmp_path / "bad.idx"
    bad.write_bytes(bytes([0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 3, 1, 2]))
    with pytest.raises(lamina.FormatError, match=r"bad\.idx.*truncated"):
        data.read_idx(str(bad))
    bad.write_bytes(bytes([7, 0, 8, 1, 0, 0, 0, 1, 1]))
    with pytest.raises(lamina.FormatError, match="not an IDX file"):
        data.read_idx(str(bad))


@pytest.mark.skipif(not os.path.isdir(data.FASHION_MNIST_DIR), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_files():
    images = data.read_idx(os.path.join(data.FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz"))
    labels = data.read_idx(os.path.join(data.FASHION_MNIST_DIR, "train-labels-idx1-ubyte.gz"))
    assert images.shape == (60000, 28, 28) and images.dtype == lamina.uint8
    assert labels.shape == (60000,) and labels.dtype == lamina.uint8
    counts = np.bincount(labels.numpy(), minlength=10)
    assert counts.tolist() == [6000] * 10
    test_images = data.read_idx(os.path.join(data.FASHION_MNIST_DIR, "t10k-images-idx3-ubyte.gz"))
    assert test_images.shape == (10000, 28, 28)
    with gzip.open(os.path.join(data.FASHION_MNIST_DIR, "t10k-images-idx3-ubyte.gz")) as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(10000, 28, 28)
    np.testing.assert_array_equal(test_images.numpy(), raw)


@pytest.mark.skipif(not os.path.isdir(data.FASHION_MNIST_DIR), reason="dataset-fashion-mnist not installed")
def test_fashion_mnist_example_trains():
    import subprocess
    import sys
    script = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "fashion_mnist.py")
    out = subprocess.run([sys.executable, script, "--model", "mlp", "--epochs", "1", "--limit", "3000", "--workers", "2",
                          "--augment"],
                         capture_output=True, text=True, timeout=300, env=dict(os.environ, LAMINA_FORCE_CPU="1"))
    assert out.returncode == 0, out.stderr[-2000:]
    accuracy = float(out.stdout.split("test accuracy:")[1].split()[0])
    assert accuracy > 0.6, out.stdout[-500:]
    assert "epoch 1: loss" in out.stdout and "confusion matrix" in out.stdout
    assert "epoch 1/1" in out.stderr and "samples/s" in out.stderr  # the tqdm bar
