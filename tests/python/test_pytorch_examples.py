"""Programs from pytorch/examples (tests/programs/pytorch_examples, unmodified) run under
`python -m lamina.compat` and under Debian's PyTorch in its own process; both losses are printed
and must be of the same magnitude. Files each one writes with torch.save are read by the other."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

PROGRAMS = pathlib.Path(__file__).resolve().parents[1] / "programs" / "pytorch_examples"


def _torch_available():
    return subprocess.run(["/usr/bin/python3", "-c", "import torch, matplotlib"], capture_output=True).returncode == 0


def _run(cmd, cwd, timeout=900):
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "LAMINA_FORCE_CPU": "1", "MPLBACKEND": "Agg"})
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def _lamina(script, cwd, *args):
    return _run([sys.executable, "-m", "lamina.compat", script, *args], cwd)


def _torch(script, cwd, *args):
    return _run(["/usr/bin/python3", script, *args], cwd)


def _copy(name, dest):
    shutil.copytree(PROGRAMS / name, dest)
    return dest


def test_regression(tmp_path):
    if not _torch_available():
        pytest.skip("PyTorch (with matplotlib) not importable under /usr/bin/python3")
    results = {}
    for who, run in (("lamina", _lamina), ("pytorch", _torch)):
        out = run("main.py", _copy("regression", tmp_path / who))
        m = re.search(r"Loss: ([0-9.]+) after (\d+) batches", out)
        assert m, out
        assert "==> Learned function:" in out and "==> Actual function:" in out
        results[who] = (float(m.group(1)), int(m.group(2)))
    print("regression: lamina loss %.6f after %d batches; PyTorch loss %.6f after %d batches"
          % (results["lamina"] + results["pytorch"]))
    for loss, batches in results.values():
        assert loss < 1e-3  # the program's own stop criterion was reached
    # Random targets differ per run; the number of batches stays within the same order of magnitude.
    assert results["lamina"][1] < 20 * results["pytorch"][1] + 200


def test_time_sequence_prediction(tmp_path):
    if not _torch_available():
        pytest.skip("PyTorch (with matplotlib) not importable under /usr/bin/python3")
    mine = _copy("time_sequence_prediction", tmp_path / "lamina")
    theirs = _copy("time_sequence_prediction", tmp_path / "pytorch")
    _lamina("generate_sine_wave.py", mine)
    _torch("generate_sine_wave.py", theirs)
    # Each program trains on the file the other library wrote (a NumPy array inside torch's format).
    os.replace(mine / "traindata.pt", tmp_path / "by_lamina.pt")
    shutil.move(str(theirs / "traindata.pt"), mine / "traindata.pt")
    shutil.move(str(tmp_path / "by_lamina.pt"), theirs / "traindata.pt")
    losses = {}
    for who, run, cwd in (("lamina", _lamina, mine), ("pytorch", _torch, theirs)):
        out = run("train.py", cwd, "--steps", "1")
        train = [float(v) for v in re.findall(r"^loss: ([0-9.e+-]+)$", out, re.M)]
        test = [float(v) for v in re.findall(r"^test loss: ([0-9.e+-]+)$", out, re.M)]
        assert len(train) > 5 and len(test) == 1, out[-2000:]
        assert (cwd / "predict0.pdf").stat().st_size > 0
        losses[who] = (train[0], train[-1], test[0])
    print("time_sequence_prediction, 1 LBFGS step: lamina loss %.5f -> %.5f, test %.5f; "
          "PyTorch loss %.5f -> %.5f, test %.5f" % (losses["lamina"] + losses["pytorch"]))
    for first, last, test in losses.values():
        assert last < first
    ratio = losses["lamina"][1] / losses["pytorch"][1]
    assert 0.1 < ratio < 10, losses
    np.testing.assert_equal(np.isfinite(losses["lamina"]), True)
