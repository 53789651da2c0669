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
from conftest import TORCH_PYTHON

PROGRAMS = pathlib.Path(__file__).resolve().parents[1] / "programs" / "pytorch_examples"


def _torch_available(modules="torch, matplotlib"):
    return subprocess.run([TORCH_PYTHON, "-c", f"import {modules}"], capture_output=True).returncode == 0


def _run(cmd, cwd, timeout=900):
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "LAMINA_FORCE_CPU": "1", "MPLBACKEND": "Agg"})
    assert out.returncode == 0, f"{cmd} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out.stdout


def _lamina(script, cwd, *args):
    return _run([sys.executable, "-m", "lamina.compat", script, *args], cwd)


def _torch(script, cwd, *args):
    return _run([TORCH_PYTHON, script, *args], cwd)


def _copy(name, dest):
    shutil.copytree(PROGRAMS / name, dest)
    return dest


def test_regression(tmp_path):
    if not _torch_available():
        pytest.skip(f"PyTorch (with matplotlib) not importable under {TORCH_PYTHON}")
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
        pytest.skip(f"PyTorch (with matplotlib) not importable under {TORCH_PYTHON}")
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


def _write_corpus(folder, seed=0, vocab=40):
    """A WikiText-shaped corpus (train / valid / test .txt, one sentence per line) from a peaked
    Markov chain over `vocab` words: small enough for seconds of training, learnable enough that
    the loss falls well below log(vocab)."""
    rng = np.random.default_rng(seed)
    successors = rng.dirichlet(np.full(vocab, 0.1), size=vocab)
    folder.mkdir()
    for name, lines in (("train", 3000), ("valid", 300), ("test", 300)):
        text = []
        for _ in range(lines):
            w, words = rng.integers(vocab), []
            for _ in range(rng.integers(5, 16)):
                words.append(f"w{w}")
                w = rng.choice(vocab, p=successors[w])
            text.append(" ".join(words))
        (folder / f"{name}.txt").write_text("\n".join(text) + "\n")
    return folder


# PyTorch 2.4 added torch.serialization.safe_globals, which the program uses to reload its model;
# Debian's 1.13 lacks it (and loads whole models without it), so that interpreter gets a no-op
# stand-in. lamina runs the program as it is.
_TORCH_DRIVER = """
import contextlib, runpy, sys, torch
if not hasattr(torch.serialization, "safe_globals"):
    torch.serialization.safe_globals = lambda globals_: contextlib.nullcontext()
sys.path.insert(0, ".")
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""

_WLM_MODELS = {  # model -> extra arguments; lr 20 (the default) makes the Elman RNN and Transformer diverge
    "LSTM": ["--onnx-export", "model.onnx"], "GRU": [], "RNN_TANH": ["--lr", "2"], "Transformer": ["--lr", "2"]}


@pytest.mark.parametrize("model", list(_WLM_MODELS))
def test_word_language_model(tmp_path, model):
    if not _torch_available("torch"):
        pytest.skip(f"PyTorch not importable under {TORCH_PYTHON}")
    corpus = _write_corpus(tmp_path / "corpus")
    args = ["--data", str(corpus), "--model", model, "--emsize", "32", "--nhid", "32", "--epochs", "3", "--bptt", "20",
            "--log-interval", "40", *_WLM_MODELS[model]]
    losses = {}
    for who in ("lamina", "pytorch"):
        cwd = _copy("word_language_model", tmp_path / who)
        if who == "lamina":
            out = _lamina("main.py", cwd, *args)
        else:
            out = _run([TORCH_PYTHON, "-c", _TORCH_DRIVER, "main.py",
                        *[a for a in args if a not in ("--onnx-export", "model.onnx")]], cwd)
        test = re.findall(r"End of training \| test loss +([0-9.]+)", out)
        valid = [float(v) for v in re.findall(r"valid loss +([0-9.]+)", out)]
        assert len(test) == 1 and len(valid) == 3, out[-2000:]
        losses[who] = (valid[0], valid[-1], float(test[0]))
    print(f"word_language_model {model}, 3 epochs: lamina valid loss %.2f -> %.2f, test %.2f; PyTorch valid loss "
          "%.2f -> %.2f, test %.2f" % (losses["lamina"] + losses["pytorch"]))
    for first, last, test in losses.values():
        assert test < np.log(41) - 0.5  # below the uniform guess over 40 words and <eos>
    assert abs(losses["lamina"][2] - losses["pytorch"][2]) < 0.5, losses

    # The program saved the whole model with torch.save(model) and read it back under
    # safe_globals; generate.py reads it again and samples from it.
    mine = tmp_path / "lamina"
    out = _lamina("generate.py", mine, "--data", str(corpus), "--words", "40", "--log-interval", "20")
    words = (mine / "generated.txt").read_text().split()
    assert len(words) == 40 and all(w == "<eos>" or w.startswith("w") for w in words), words
    if model == "LSTM":
        _check_onnx_export(mine)
    _check_pytorch_whole_model(tmp_path / "pytorch", model)


_WLM_CLASSES = """[m.RNNModel, m.TransformerModel, m.PositionalEncoding, nn.Dropout, nn.Embedding, nn.LSTM, nn.GRU, nn.RNN,
           nn.Linear, nn.LayerNorm, nn.MultiheadAttention, nn.ModuleList, nn.TransformerEncoder,
           nn.TransformerEncoderLayer, nn.functional.relu]"""


def _check_pytorch_whole_model(folder, model):
    """lamina.load reads the model.pt PyTorch's run wrote with torch.save(model) (PyTorch's module
    classes and attributes; their lamina counterparts trusted through safe_globals) and the
    rebuilt model computes what PyTorch computes from that file, each in its own process."""
    tokens = np.random.default_rng(1).integers(0, 41, size=(12, 2))
    np.save(folder / "tokens.npy", tokens)
    run_model = """
tokens = np_module.load("tokens.npy")
x = lib.from_numpy(tokens)
net.eval()
with lib.no_grad():
    if hasattr(net, "init_hidden"):
        out, hidden = net(x, net.init_hidden(2))
        outs = [out] + (list(hidden) if isinstance(hidden, tuple) else [hidden])
    else:
        outs = [net(x)]
"""
    torch_code = f"""
import sys, numpy as np_module, torch as lib
sys.path.insert(0, ".")
net = lib.load("model.pt", weights_only=False)
{run_model}
np_module.savez("torch_out.npz", *[o.numpy() for o in outs])
"""
    _run([TORCH_PYTHON, "-c", torch_code], folder)
    lamina_code = f"""
import sys, numpy as np_module, lamina as lib, lamina.nn as nn, lamina.compat
lib.compat.install()  # model.py says `import torch`
sys.path.insert(0, ".")
import model as m
with lib.serialization.safe_globals({_WLM_CLASSES}):
    net = lib.load("model.pt")
{run_model}
want = np_module.load("torch_out.npz")
for i, o in enumerate(outs):
    np_module.testing.assert_allclose(o.numpy(), want[f"arr_{{i}}"], rtol=1e-4, atol=1e-5)
print("same outputs", type(net).__name__, [tuple(o.shape) for o in outs])
"""
    out = _run([sys.executable, "-c", lamina_code], folder)
    assert "same outputs" in out, out
    print(f"word_language_model {model}: PyTorch's torch.save(model) file, read by lamina.load, computes PyTorch's "
          "outputs")


def _check_onnx_export(folder):
    """model.onnx (written by the program's --onnx-export: tokens and (h_0, c_0) in, log-probs
    and (h_n, c_n) out) computes in onnxruntime what the saved model computes in lamina."""
    ort = pytest.importorskip("onnxruntime")
    code = f"""
import sys, numpy as np, onnxruntime, lamina, lamina.compat
lamina.compat.install()  # model.py says `import torch`
sys.path.insert(0, {str(folder)!r})
import model as m
classes = [m.RNNModel, lamina.nn.Dropout, lamina.nn.Embedding, lamina.nn.LSTM, lamina.nn.Linear]
with lamina.serialization.safe_globals(classes):
    net = lamina.load({str(folder / "model.pt")!r})
net.eval()
tokens = lamina.randint(0, len(net.encoder.weight), (20, 1))
h = (lamina.randn(2, 1, 32), lamina.randn(2, 1, 32))
with lamina.no_grad():
    logp, (h_n, c_n) = net(tokens, h)
session = onnxruntime.InferenceSession({str(folder / "model.onnx")!r})
names = [i.name for i in session.get_inputs()]
got = session.run(None, dict(zip(names, [tokens.numpy(), h[0].numpy(), h[1].numpy()])))
for g, w in zip(got, [logp, h_n, c_n]):
    np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-5)
print("onnx ok", [tuple(g.shape) for g in got])
"""
    del ort
    out = _run([sys.executable, "-c", code], folder)
    assert "onnx ok [(20, " in out, out
