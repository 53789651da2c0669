"""PyTorch names real programs use: nn.Parameter as a class, Tensor.data, autograd errors as
RuntimeError, the legacy typed constructors, multinomial / diag / aliases, and optim.LBFGS taking
PyTorch's steps (Debian's python3-torch in its own process)."""
import json
import subprocess

import numpy as np
import pytest

import lamina
from conftest import TORCH_PYTHON, torch_reference
import lamina.nn as nn


def test_parameter_is_a_class_and_marks_module_parameters():
    p = nn.Parameter(lamina.randn(3))
    assert isinstance(p, nn.Parameter) and isinstance(p, lamina.Tensor)
    assert p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(") and "requires_grad=True" in repr(p)
    assert not isinstance(lamina.randn(3, requires_grad=True), nn.Parameter)
    frozen = nn.Parameter(lamina.ones(2), requires_grad=False)
    assert isinstance(frozen, nn.Parameter) and not frozen.requires_grad
    lin = nn.Linear(3, 2)
    assert all(isinstance(q, nn.Parameter) for q in lin.parameters())
    assert not isinstance(lin.weight.detach(), nn.Parameter)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(lamina.ones(1))

    assert isinstance(Net().scale, nn.Parameter)
    assert [n for n, _ in Net().named_parameters()] == ["scale"]


def test_tensor_data_reads_and_replaces():
    lin = nn.Linear(3, 2)
    d = lin.weight.data
    assert not d.requires_grad and d.shape == (2, 3)
    d.mul_(0.0)  # an alias: writes reach the parameter without autograd
    assert np.all(lin.weight.numpy() == 0)
    new = lamina.randn(2, 3, dtype=lamina.float64)
    w = lin.weight
    w.data = new
    assert w.dtype == lamina.float64 and w.requires_grad
    np.testing.assert_array_equal(lin.weight.numpy(), new.numpy())
    for param in lin.parameters():  # pytorch/examples regression: param.data.add_(-lr * param.grad)
        param.data.add_(lamina.ones_like(param.data))


def test_autograd_errors_are_runtime_errors():
    x = lamina.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    with pytest.raises(RuntimeError):
        lamina.randn(3).sum().backward()
    y = x.exp()
    x2 = x * 1.0
    z = x2.exp()
    x2.add_(1.0)
    with pytest.raises(RuntimeError, match="modified"):
        z.sum().backward()
    with pytest.raises(RuntimeError, match="leaf"):
        x.add_(1.0)
    loss = y.sum()
    loss.backward()
    with pytest.raises(RuntimeError):
        loss.backward()
    err = pytest.raises(lamina.AutogradError, (x * 2).backward).value
    assert isinstance(err, ValueError) and isinstance(err, lamina.Error)


def test_typed_tensor_constructors():
    assert lamina.FloatTensor(2, 3).shape == (2, 3) and lamina.FloatTensor(2, 3).dtype == lamina.float32
    t = lamina.LongTensor([1, 2, 3])
    assert t.dtype == lamina.int64 and t.tolist() == [1, 2, 3]
    assert isinstance(t, lamina.LongTensor) and not isinstance(t, lamina.FloatTensor)
    assert lamina.DoubleTensor(np.arange(3.0)).dtype == lamina.float64
    assert lamina.BoolTensor([True, False]).dtype == lamina.bool
    assert lamina.FloatTensor().shape == (0,)
    assert t.type() == "lamina.LongTensor" and t.type(lamina.FloatTensor).dtype == lamina.float32
    assert lamina.randn(2).type_as(t).dtype == lamina.int64
    assert t.new_zeros(2, 2).dtype == lamina.int64 and t.new_full((3,), 7).tolist() == [7, 7, 7]
    with pytest.raises(TypeError):
        lamina.FloatTensor(2, "a")
    assert f"{lamina.tensor(2.5):+.2f}" == "+2.50" and "tensor" in f"{lamina.ones(2)}"
    with pytest.raises(TypeError):
        f"{lamina.ones(2):.2f}"


def test_aliases_and_small_functions():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    x = lamina.tensor(a)
    np.testing.assert_allclose(lamina.arctan(x).numpy(), np.arctan(a))
    np.testing.assert_allclose(x.arctan().numpy(), np.arctan(a))
    np.testing.assert_allclose(lamina.flatten(lamina.tensor(a.reshape(3, 2, 2)), 1).numpy(), a)
    v = lamina.tensor(a[0]).requires_grad_()
    for k in (0, 1, -2):
        np.testing.assert_array_equal(lamina.diag(v, k).detach().numpy(), np.diag(a[0], k))
        np.testing.assert_array_equal(lamina.diag(x, k).numpy(), np.diag(a, k))
    lamina.diag(v, 1).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), np.ones(4))
    assert lamina.allclose(x, x + 1e-9) and not lamina.allclose(x, x + 1)
    assert lamina.equal(x, x.clone()) and not lamina.equal(x, x[:2])
    assert lamina.broadcast_shapes((3, 1), (1, 4)) == (3, 4)
    assert lamina.finfo(lamina.float32).eps == np.finfo(np.float32).eps
    assert lamina.iinfo(lamina.int64).max == 2 ** 63 - 1
    with pytest.raises(lamina.ShapeError):
        lamina.diag(lamina.randn(2, 2, 2))


def test_multinomial_draws_by_weight():
    lamina.manual_seed(0)
    w = lamina.tensor([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 0.0, 2.0]])
    draws = lamina.multinomial(w, 20000, replacement=True).numpy()
    assert draws.shape == (2, 20000) and draws.dtype == np.int64
    freq = np.stack([np.bincount(r, minlength=4) / r.size for r in draws])
    np.testing.assert_allclose(freq, [[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.0, 0.5]], atol=0.015)
    once = lamina.multinomial(w, 3).numpy()
    for row, z in zip(once, (1, 2)):
        assert len(set(row)) == 3 and z not in row
    lamina.manual_seed(5)
    a = lamina.tensor([0.2, 0.5, 0.3]).multinomial(4, replacement=True).tolist()
    lamina.manual_seed(5)
    assert lamina.tensor([0.2, 0.5, 0.3]).multinomial(4, replacement=True).tolist() == a
    with pytest.raises(ValueError):
        lamina.multinomial(w, 4)  # only 3 categories with weight in each row
    with pytest.raises(ValueError):
        lamina.multinomial(lamina.tensor([0.5, -0.1]), 1)
    with pytest.raises(ValueError):
        lamina.multinomial(lamina.zeros(3), 1)
    with pytest.raises(lamina.ShapeError):
        lamina.multinomial(lamina.ones(2, 2, 2), 1)


LBFGS_CODE = r'''
import json, sys, numpy as np
def run(torch, data):
    x = torch.tensor(np.asarray(data["x"]))
    y = torch.tensor(np.asarray(data["y"]))
    w = torch.tensor(np.asarray(data["w0"])).requires_grad_()
    opt = torch.optim.LBFGS([w], lr=data["lr"], history_size=4, max_iter=data["max_iter"],
                            line_search_fn=data["line_search"])
    losses = []
    def closure():
        opt.zero_grad()
        loss = ((torch.tanh(x @ w) - y) ** 2).mean() + (w ** 4).sum() * 0.01
        loss.backward()
        return loss
    for _ in range(data["steps"]):
        losses.append(float(opt.step(closure)))
    return {"losses": losses, "w": w.detach().numpy().tolist(), "evals": opt.state_dict()["state"][0]["func_evals"]}
'''


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_takes_pytorchs_steps(line_search):
    rng = np.random.default_rng(4)
    data = {"x": rng.standard_normal((30, 5)).tolist(), "y": rng.uniform(-0.9, 0.9, 30).tolist(),
            "w0": (rng.standard_normal(5) * 0.5).tolist(), "max_iter": 3, "steps": 5,
            "lr": 0.8 if line_search is None else 1.0, "line_search": line_search}
    probe = subprocess.run([TORCH_PYTHON, "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("PyTorch not importable under /usr/bin/python3")
    script = LBFGS_CODE + "import torch\nprint(json.dumps(run(torch, json.load(sys.stdin))))\n"
    out = subprocess.run([TORCH_PYTHON, "-c", script], input=json.dumps(data), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    theirs = json.loads(out.stdout)
    scope = {}
    exec(LBFGS_CODE, scope)
    mine = scope["run"](lamina, data)
    print("LBFGS", line_search, "losses lamina", mine["losses"], "pytorch", theirs["losses"])
    np.testing.assert_allclose(mine["losses"], theirs["losses"], rtol=1e-9)
    np.testing.assert_allclose(mine["w"], theirs["w"], rtol=1e-8, atol=1e-12)
    assert mine["evals"] == theirs["evals"]
    assert mine["losses"][-1] < 0.5 * mine["losses"][0]


def test_lbfgs_rejects_bad_settings():
    w = lamina.randn(3, requires_grad=True)
    with pytest.raises(lamina.ConfigError):
        lamina.optim.LBFGS([w], lr=-1)
    with pytest.raises(lamina.ConfigError):
        lamina.optim.LBFGS([w], line_search_fn="armijo")
    with pytest.raises(ValueError):
        lamina.optim.LBFGS([])
    with pytest.raises(ValueError):
        lamina.optim.LBFGS([{"params": [w]}, {"params": [lamina.randn(2, requires_grad=True)]}])
    opt = lamina.optim.LBFGS([w])
    with pytest.raises(ValueError):
        opt.step(None)


def test_torch_nn_modules_file_paths_resolve():
    # The names word_language_model allowlists for torch.load, as attribute paths after `import torch`.
    paths = ["activation.MultiheadAttention", "container.ModuleList", "dropout.Dropout", "linear.Linear",
             "linear.NonDynamicallyQuantizableLinear", "normalization.LayerNorm", "sparse.Embedding",
             "transformer.TransformerEncoder", "transformer.TransformerEncoderLayer", "rnn.GRU", "rnn.LSTM",
             "rnn.RNN", "module.Module", "conv.Conv2d", "activation.ReLU", "activation.LeakyReLU",
             "padding.ReflectionPad2d", "instancenorm.InstanceNorm2d", "batchnorm.BatchNorm2d", "loss.MSELoss"]
    for path in paths:
        obj = lamina.nn.modules
        for part in path.split("."):
            obj = getattr(obj, part)
        assert obj is getattr(nn, path.split(".")[-1], obj), path
    assert lamina.nn.modules.linear.NonDynamicallyQuantizableLinear is nn.Linear


ADADELTA_CODE = r'''
import json, sys, numpy as np
def run(torch, data):
    w = torch.tensor(np.asarray(data["w0"])).requires_grad_()
    b = torch.tensor(np.asarray(data["b0"])).requires_grad_()
    x = torch.tensor(np.asarray(data["x"]))
    opt = torch.optim.Adadelta([{"params": [w]}, {"params": [b], "rho": 0.5}], lr=data["lr"],
                               weight_decay=data["wd"], maximize=data["maximize"])
    losses = []
    for _ in range(6):
        opt.zero_grad()
        loss = ((x @ w + b).tanh() ** 2).sum() * (-1.0 if data["maximize"] else 1.0)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    st = opt.state_dict()["state"][0]
    return {"losses": losses, "w": w.detach().numpy().tolist(), "b": b.detach().numpy().tolist(),
            "acc_delta": st["acc_delta"].numpy().tolist()}
'''


@pytest.mark.parametrize("wd,maximize", [(0.0, False), (0.1, True)])
def test_adadelta_takes_pytorchs_steps(wd, maximize):
    rng = np.random.default_rng(7)
    data = {"w0": rng.standard_normal((4, 3)).tolist(), "b0": rng.standard_normal(3).tolist(),
            "x": rng.standard_normal((5, 4)).tolist(), "lr": 0.7, "wd": wd, "maximize": maximize}
    theirs = torch_reference(ADADELTA_CODE + "import torch\nprint(json.dumps(run(torch, json.load(sys.stdin))))\n",
                             data)
    scope = {}
    exec(ADADELTA_CODE, scope)
    mine = scope["run"](lamina, data)
    for key in ("losses", "w", "b", "acc_delta"):
        np.testing.assert_allclose(mine[key], theirs[key], rtol=1e-10, atol=1e-12)


def test_adadelta_rejects_bad_settings():
    w = lamina.randn(3, requires_grad=True)
    for bad in ({"lr": -1.0}, {"rho": 1.5}, {"eps": -1e-3}, {"weight_decay": -0.1}):
        with pytest.raises(lamina.ConfigError):
            lamina.optim.Adadelta([w], **bad)


def test_trunc_normal_and_orthogonal_init():
    lamina.manual_seed(11)
    t = lamina.empty(200000)
    lamina.nn.init.trunc_normal_(t, mean=0.5, std=2.0, a=-1.0, b=3.0)
    v = t.numpy().astype(np.float64)
    assert v.min() >= -1.0 and v.max() <= 3.0
    # The truncated normal's mean and variance (alpha, beta in std units).
    from math import erf, exp, pi, sqrt
    alpha, beta = (-1.0 - 0.5) / 2.0, (3.0 - 0.5) / 2.0
    pdf = lambda z: exp(-z * z / 2) / sqrt(2 * pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + erf(z / sqrt(2)))  # noqa: E731
    Z = cdf(beta) - cdf(alpha)
    mean = 0.5 + 2.0 * (pdf(alpha) - pdf(beta)) / Z
    var = 4.0 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / Z - ((pdf(alpha) - pdf(beta)) / Z) ** 2)
    assert abs(v.mean() - mean) < 0.01 and abs(v.var() - var) < 0.02
    # A far tail window stays inside its bounds.
    tail = lamina.nn.init.trunc_normal_(lamina.empty(1000, dtype=lamina.float64), a=5.0, b=5.5).numpy()
    assert tail.min() >= 5.0 and tail.max() <= 5.5 and tail.std() > 0
    with pytest.raises(lamina.ValueError):
        lamina.nn.init.trunc_normal_(lamina.empty(3), a=1.0, b=0.0)
    for shape in ((6, 4), (4, 6), (5, 2, 3), (3, 3)):
        w = lamina.empty(*shape)
        lamina.nn.init.orthogonal_(w, gain=2.0)
        m = w.numpy().reshape(shape[0], -1).astype(np.float64)
        gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
        np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=1e-5)
    a = lamina.empty(4, 4)
    lamina.manual_seed(3)
    lamina.nn.init.orthogonal_(a)
    b = lamina.empty(4, 4)
    lamina.manual_seed(3)
    lamina.nn.init.orthogonal_(b)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(lamina.ValueError):
        lamina.nn.init.orthogonal_(lamina.empty(3))
    assert lamina.nn.init.orthogonal_(lamina.empty(0, 3)).shape == (0, 3)


def test_random_fills_integers_in_range():
    lamina.manual_seed(2)
    t = lamina.empty(5000).random_(3, 9)
    v = t.numpy()
    assert set(np.unique(v)) == set(range(3, 9))
    assert set(np.unique(lamina.zeros(2000, dtype=lamina.int64).random_(4).numpy())) == {0, 1, 2, 3}
    f = lamina.empty(1000).random_().numpy()
    assert f.min() >= 0 and f.max() <= 2 ** 24 and np.all(f == np.floor(f)) and f.max() > 2 ** 20
    assert set(np.unique(lamina.empty(100, dtype=lamina.bool).random_().numpy())) == {False, True}
    with pytest.raises(lamina.ValueError):
        lamina.empty(3).random_(5, 2)
