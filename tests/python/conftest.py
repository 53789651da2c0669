import os

import numpy as np
import pytest

os.environ.setdefault("LAMINA_FORCE_CPU", "1")

# The interpreter whose PyTorch the parity tests compare with: Debian's python3-torch by default,
# or e.g. the current PyPI release from bench/setup_torch_pypi.sh.
TORCH_PYTHON = os.environ.get("LAMINA_TORCH_PYTHON") or "/usr/bin/python3"

import lamina  # noqa: E402

NP_DTYPES = {
    lamina.float32: np.float32,
    lamina.float64: np.float64,
    lamina.float16: np.float16,
    lamina.int8: np.int8,
    lamina.uint8: np.uint8,
    lamina.int32: np.int32,
    lamina.int64: np.int64,
    lamina.bool: np.bool_,
}


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def random_array(rng, shape, dtype):
    """Random values (never all zeros) of a NumPy dtype."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) > 0.5
    if dtype.kind in "iu":
        lo, hi = (1, 10) if dtype.kind == "u" else (-9, 10)
        return rng.integers(lo, hi, size=shape).astype(dtype)
    return (rng.standard_normal(shape) * 2).astype(dtype)


def to_np(t):
    if t.dtype == lamina.bfloat16:
        return t.float().numpy()
    return t.numpy()


def torch_reference(script, data, timeout=300):
    """Runs `script` under Debian's /usr/bin/python3 (which has python3-torch) with `data` as JSON
    on stdin and returns its JSON stdout; skips the test when PyTorch is not available there."""
    import json
    import subprocess
    try:
        out = subprocess.run([TORCH_PYTHON, "-c", script], input=json.dumps(data), capture_output=True,
                             text=True, timeout=timeout)
    except FileNotFoundError:
        pytest.skip("no /usr/bin/python3")
    if out.returncode != 0:
        pytest.skip("PyTorch not importable under /usr/bin/python3: " + out.stderr[-300:])
    return json.loads(out.stdout)
