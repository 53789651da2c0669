"""torch names PyTorch programs call: torch.testing.assert_close (against PyTorch's own verdicts),
torch.compile, torch.accelerator, torch.cuda.manual_seed(_all)."""
import json
import subprocess

import numpy as np
import pytest

import lamina
from lamina.testing import assert_close

# (actual, expected, kwargs) as JSON-able lists of values with a dtype name.
CASES = [
    ([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], "float32", {}),
    ([1.0, 2.0, 3.00001], [1.0, 2.0, 3.0], "float32", {}),       # within 1.3e-6 rel + 1e-5 abs
    ([1.0, 2.0, 3.001], [1.0, 2.0, 3.0], "float32", {}),         # not
    ([1.0, 2.0, 3.0000001], [1.0, 2.0, 3.0], "float64", {}),
    ([1.0, 2.0, 3.000001], [1.0, 2.0, 3.0], "float64", {}),
    ([1.0, 2.0], [1.0, 2.01], "float16", {}),
    ([1.0, 2.0], [1.0, 2.01], "bfloat16", {}),
    ([1, 2, 3], [1, 2, 4], "int64", {}),
    ([1, 2, 3], [1, 2, 3], "int32", {}),
    ([1.0, float("nan")], [1.0, float("nan")], "float32", {}),
    ([1.0, float("nan")], [1.0, float("nan")], "float32", {"equal_nan": True}),
    ([1.0, float("inf")], [1.0, float("inf")], "float32", {}),
    ([1.0, 2.5], [1.0, 2.0], "float32", {"rtol": 0.3, "atol": 0.0}),
    ([1.0, 2.5], [1.0, 2.0], "float32", {"rtol": 0.1, "atol": 0.1}),
]

TORCH_VERDICTS = r"""
import json, sys, torch
out = []
for actual, expected, dtype, kwargs in json.loads(sys.stdin.read()):
    dt = getattr(torch, dtype)
    try:
        torch.testing.assert_close(torch.tensor(actual, dtype=dt), torch.tensor(expected, dtype=dt), **kwargs)
        out.append(True)
    except AssertionError:
        out.append(False)
print(json.dumps(out))
"""


def test_assert_close_agrees_with_pytorch():
    probe = subprocess.run(["/usr/bin/python3", "-c", "import torch; torch.testing.assert_close"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip("PyTorch not importable under /usr/bin/python3")
    run = subprocess.run(["/usr/bin/python3", "-c", TORCH_VERDICTS], input=json.dumps(CASES), capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    want = json.loads(run.stdout)
    for (actual, expected, dtype, kwargs), torch_says in zip(CASES, want):
        dt = getattr(lamina, dtype)
        try:
            assert_close(lamina.tensor(actual, dtype=dt), lamina.tensor(expected, dtype=dt), **kwargs)
            lamina_says = True
        except AssertionError:
            lamina_says = False
        assert lamina_says == torch_says, (actual, expected, dtype, kwargs)


def test_assert_close_reports_like_pytorch():
    with pytest.raises(AssertionError, match=r"(?s)Tensor-likes are not close!.*Mismatched elements: 1 / 3 "
                                             r"\(33.3%\).*Greatest absolute difference: 0\.5 at index \(2,\)"):
        assert_close(lamina.tensor([1.0, 2.0, 3.5]), lamina.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(AssertionError, match="'dtype' do not match"):
        assert_close(lamina.tensor([1.0]), lamina.tensor([1.0], dtype=lamina.float64))
    assert_close(lamina.tensor([1.0]), lamina.tensor([1.0], dtype=lamina.float64), check_dtype=False)
    with pytest.raises(AssertionError, match="'shape' do not match"):
        assert_close(lamina.ones((2, 3)), lamina.ones((3, 2)))
    with pytest.raises(AssertionError, match=r"not close at \['b'\]\[1\]"):
        assert_close({"a": lamina.ones(2), "b": [1.0, lamina.zeros(2)]}, {"a": lamina.ones(2), "b": [1.0, lamina.ones(2)]})
    with pytest.raises(ValueError, match="Both 'rtol' and 'atol'"):
        assert_close(lamina.ones(1), lamina.ones(1), rtol=0.1)
    with pytest.raises(AssertionError, match="custom"):
        assert_close(lamina.ones(1), lamina.zeros(1), msg="custom")
    assert_close(2.0, 2.0)
    assert_close(lamina.ones((0, 3)), lamina.ones((0, 3)))


def test_compile_returns_what_it_was_given():
    model = lamina.nn.Linear(3, 2)
    assert lamina.compile(model) is model
    assert lamina.compile(model, mode="max-autotune", fullgraph=True) is model

    @lamina.compile
    def f(x):
        return x * 2

    @lamina.compile(dynamic=True)
    def g(x):
        return x + 1

    assert f(lamina.ones(2)).tolist() == [2.0, 2.0] and g(lamina.ones(2)).tolist() == [2.0, 2.0]


def test_accelerator_and_cuda_seeds():
    has_gpu = lamina.cuda.is_available()
    assert lamina.accelerator.is_available() == has_gpu
    assert lamina.accelerator.device_count() == lamina.cuda.device_count()
    if has_gpu:
        assert lamina.accelerator.current_accelerator() == lamina.device("cuda")
    else:
        assert lamina.accelerator.current_accelerator() is None
        with pytest.raises(lamina.DeviceNotAvailableError):
            lamina.accelerator.current_device_index()
        lamina.accelerator.synchronize()  # nothing to wait for
    lamina.cuda.manual_seed(123)
    a = lamina.rand(5).numpy()
    lamina.cuda.manual_seed_all(123)
    b = lamina.rand(5).numpy()
    np.testing.assert_array_equal(a, b)  # one generator for every device
    assert lamina.cuda.initial_seed() == 123


def test_device_queries_version_and_assert_allclose():
    has_gpu = lamina.cuda.is_available()
    with lamina.accelerator.device_index(None):
        pass
    if has_gpu:
        with lamina.accelerator.device_index(0):
            assert lamina.accelerator.current_device_index() == 0
        assert lamina.cuda.is_bf16_supported() == (lamina.cuda.get_device_capability()[0] >= 8)
    else:
        with pytest.raises(lamina.DeviceNotAvailableError):
            lamina.accelerator.device_index(0)
        assert lamina.cuda.is_bf16_supported() is False
    assert lamina.backends.mps.is_available() is False and lamina.backends.mps.is_built() is False
    assert lamina.version.__version__ == lamina.__version__
    assert lamina.version.cuda == (lamina.cuda.runtime_version() or None)
    x = lamina.tensor([1.0, 2.0, float("nan")])
    lamina.testing.assert_allclose(x, [1.0, 2.0 + 1e-7, float("nan")])  # NaNs equal; expected takes x's dtype
    with pytest.raises(AssertionError):
        lamina.testing.assert_allclose(x, [1.0, 2.1, float("nan")])
    lamina.testing.assert_allclose(lamina.tensor([1, 2]), lamina.tensor([1.0, 2.0]))  # dtypes not compared


def test_autograd_profiler_path_is_the_profiler():
    assert lamina.autograd.profiler is lamina.profiler
    with lamina.autograd.profiler.profile() as prof:
        with lamina.autograd.profiler.record_function("block"):
            (lamina.randn(4) * 2).sum()
    names = {e.name for e in prof.events()}
    assert "block" in names and "mul" in names
