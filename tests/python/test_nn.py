"""lamina.nn against PyTorch 1.13 (Debian's python3-torch under /usr/bin/python3, run in its
own process): every layer built from the same state_dict (saved by PyTorch, loaded by lamina)
gives the same outputs and gradients; every loss gives the same value and input gradient; an
MLP trained with SGD follows PyTorch's loss curve. Plus the Module protocol in Python:
subclassing, registration by attribute, state_dict / load_state_dict, modes, dtype, repr."""
import json
import math
import subprocess
import textwrap

import numpy as np
import pytest

import lamina
import lamina.nn as nn
import lamina.nn.functional as F

TORCH_PY = "/usr/bin/python3"
RTOL, ATOL = 1e-4, 1e-5


def pattern(shape, offset=0.0, scale=1.0):
    n = int(np.prod(shape)) if shape else 1
    return (np.sin(1.3 * np.arange(n) + offset) * scale).astype(np.float32).reshape(shape)


# name -> (array, requires_grad)
def data():
    d = {
        "x2": (pattern((4, 3), 0.1, 2.0), True),
        "x3": (pattern((2, 3, 4), 0.2, 2.0), True),
        "xc": (pattern((2, 4, 3), 0.3, 2.0), True),
        "logits": (pattern((5, 4), 0.4, 3.0), True),
        "logits3": (pattern((2, 4, 3), 0.5, 2.0), True),
        "y": (pattern((5, 4), 1.5, 1.0), False),
        "p": ((1 / (1 + np.exp(-pattern((5, 4), 0.7, 2.0)))).astype(np.float32), True),
        "t01": ((1 / (1 + np.exp(-pattern((5, 4), 2.7, 3.0)))).astype(np.float32), False),
        "big": (np.array([[60.0, -60.0, 0.0, 3.0]] * 2, np.float32), True),
        "probs": (np.exp(pattern((5, 4), 3.0)) / np.exp(pattern((5, 4), 3.0)).sum(1, keepdims=True), False),
        "w": (np.array([0.5, 2.0, 1.0, 1.5], np.float32), False),
        "pw": (np.array([2.0, 0.5, 1.0, 3.0], np.float32), False),
        "cls": (np.array([3, 0, 1, 2, 1], np.int64), False),
        "cls_ig": (np.array([3, -100, 1, 2, -100], np.int64), False),
        "cls3": (np.array([[0, 3, 1], [2, 2, -100]], np.int64), False),
        "idx": (np.array([[0, 1, 4], [1, 3, 0]], np.int64), False),
    }
    d["probs"] = (d["probs"][0].astype(np.float32), False)
    return d


LOSSES = []
for red in ("mean", "sum", "none"):
    LOSSES += [
        f"F.cross_entropy(logits, cls, reduction='{red}')",
        f"F.cross_entropy(logits, cls_ig, weight=w, reduction='{red}')",
        f"F.cross_entropy(logits, cls_ig, weight=w, label_smoothing=0.15, reduction='{red}')",
        f"F.cross_entropy(logits, cls_ig, label_smoothing=0.2, reduction='{red}')",
        f"F.cross_entropy(logits, probs, reduction='{red}')",
        f"F.cross_entropy(logits, probs, weight=w, label_smoothing=0.1, reduction='{red}')",
        f"F.cross_entropy(logits3, cls3, weight=w, reduction='{red}')",
        f"F.nll_loss(F.log_softmax(logits, 1), cls_ig, weight=w, reduction='{red}')",
        f"F.mse_loss(logits, y, reduction='{red}')",
        f"F.l1_loss(logits, y, reduction='{red}')",
        f"F.smooth_l1_loss(logits, y, reduction='{red}', beta=0.5)",
        f"F.binary_cross_entropy(p, t01, weight=w, reduction='{red}')",
        f"F.binary_cross_entropy_with_logits(logits, t01, weight=w, pos_weight=pw, reduction='{red}')",
        f"F.binary_cross_entropy_with_logits(big, t01[:2], reduction='{red}')",
        f"F.kl_div(F.log_softmax(logits, 1), probs, reduction='{red}')",
        f"F.kl_div(F.log_softmax(logits, 1), probs.log(), reduction='{red}', log_target=True)",
    ]
LOSSES += [
    "F.kl_div(F.log_softmax(logits, 1), probs, reduction='batchmean')",
    "nn.CrossEntropyLoss(weight=w, ignore_index=2, label_smoothing=0.05)(logits, cls)",
    "nn.NLLLoss()(F.log_softmax(logits, 1), cls)",
    "nn.MSELoss(reduction='sum')(logits, y)",
    "nn.L1Loss()(logits, y)",
    "nn.SmoothL1Loss(beta=2.0)(logits, y)",
    "nn.BCELoss()(p, t01)",
    "nn.BCEWithLogitsLoss(pos_weight=pw)(logits, t01)",
    "nn.KLDivLoss(reduction='batchmean', log_target=True)(F.log_softmax(logits, 1), probs.log())",
    "F.linear(x2, xc[0, :2], xc[1, 0, :2])",
    "F.layer_norm(x3, [3, 4], weight=x3[0], bias=x3[1])",
    "F.group_norm(xc, 2, weight=w, bias=pw)",
    "F.embedding(idx, logits, padding_idx=1)",
    "F.gelu(x3, approximate='tanh')",
    "F.silu(x3)",
    "F.softmax(x3, 1)",
]

MODULES = [
    ("nn.Linear(3, 2)", "x2"),
    ("nn.Linear(3, 2, bias=False)", "x2"),
    ("nn.Embedding(5, 3, padding_idx=1)", "idx"),
    ("nn.Embedding(5, 3)", "idx"),
    ("nn.LayerNorm(4)", "x3"),
    ("nn.LayerNorm([3, 4], eps=1e-3)", "x3"),
    ("nn.LayerNorm(4, elementwise_affine=False)", "x3"),
    ("nn.GroupNorm(2, 4)", "xc"),
    ("nn.GroupNorm(4, 4, affine=False)", "xc"),
    ("nn.ReLU()", "x3"),
    ("nn.GELU()", "x3"),
    ("nn.GELU(approximate='tanh')", "x3"),
    ("nn.SiLU()", "x3"),
    ("nn.Tanh()", "x3"),
    ("nn.Sigmoid()", "x3"),
    ("nn.Softmax(dim=1)", "x3"),
    ("nn.LogSoftmax(dim=-1)", "x3"),
    ("nn.Flatten()", "x3"),
    ("nn.Flatten(0, 1)", "x3"),
    ("nn.Identity()", "x3"),
    ("nn.Dropout(0.3).eval()", "x3"),
    ("nn.Sequential(nn.Linear(4, 5), nn.GELU(approximate='tanh'), nn.LayerNorm(5), nn.Linear(5, 2))", "x3"),
    ("nn.ModuleDict({'a': nn.Linear(2, 2), 'b': nn.ModuleList([nn.Linear(2, 3), nn.ReLU()])})", None),
]

TORCH_SCRIPT = textwrap.dedent(r'''
    import json, math, sys, warnings
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    warnings.filterwarnings("ignore")
    req = json.loads(sys.stdin.read())

    def env():
        e = {"F": F, "nn": nn, "torch": torch}
        for k, (v, dt, rg) in req["data"].items():
            t = torch.tensor(v, dtype=getattr(torch, dt))
            e[k] = t.requires_grad_(rg)
        return e

    def upstream(out):
        n = out.numel()
        return torch.tensor([math.cos(0.9 * i + 0.3) for i in range(n)], dtype=out.dtype).reshape(out.shape)

    res = {"losses": [], "modules": []}
    for expr in req["losses"]:
        e = env()
        out = eval(expr, e)
        (out * upstream(out)).sum().backward()
        grads = {k: e[k].grad.tolist() for k, (v, dt, rg) in req["data"].items() if rg and e[k].grad is not None}
        res["losses"].append({"out": out.tolist(), "grads": grads})

    for i, (ctor, inp) in enumerate(req["modules"]):
        torch.manual_seed(i)
        m = eval(ctor, {"nn": nn})
        with torch.no_grad():
            for p in m.parameters():
                p.normal_()
        r = {"state": {k: v.tolist() for k, v in m.state_dict().items()}, "keys": list(m.state_dict().keys()),
             "names": [k for k, _ in m.named_parameters()], "repr": repr(m)}
        if inp is not None:
            e = env()
            x = e[inp]
            out = m(x)
            (out * upstream(out)).sum().backward()
            r["out"] = out.tolist()
            r["xgrad"] = x.grad.tolist() if x.grad is not None else None
            r["pgrads"] = {k: p.grad.tolist() for k, p in m.named_parameters()}
        res["modules"].append(r)

    # RMSNorm is not in PyTorch 1.13: its documented formula, in torch, with eps=None -> finfo.eps.
    e = env()
    x, w = e["x3"], torch.tensor(req["rms_w"])
    w.requires_grad_(True)
    out = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + torch.finfo(x.dtype).eps) * w
    (out * upstream(out)).sum().backward()
    res["rms"] = {"out": out.tolist(), "xgrad": x.grad.tolist(), "wgrad": w.grad.tolist()}

    # MLP training: same data, initial weights and SGD settings.
    mlp = req["mlp"]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    res["mlp_init"] = {k: v.tolist() for k, v in model.state_dict().items()}
    X = torch.tensor(mlp["x"]); Y = torch.tensor(mlp["y"])
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for step in range(mlp["steps"]):
        opt.zero_grad()
        loss = F.cross_entropy(model(X), Y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    res["mlp_losses"] = losses
    print(json.dumps(res))
''')


def mlp_data():
    x = pattern((32, 4), 0.9, 1.5)
    y = (np.argmax(np.stack([x[:, 0] + x[:, 1], x[:, 2] * x[:, 3], -x[:, 0]], 1), 1)).astype(np.int64)
    return x, y


@pytest.fixture(scope="module")
def ref():
    d = data()
    x, y = mlp_data()
    req = {
        "data": {k: (v.tolist(), str(v.dtype), rg) for k, (v, rg) in d.items()},
        "losses": LOSSES,
        "modules": MODULES,
        "rms_w": pattern((4,), 5.0).tolist(),
        "mlp": {"x": x.tolist(), "y": y.tolist(), "steps": 15},
    }
    try:
        out = subprocess.run([TORCH_PY, "-c", TORCH_SCRIPT], input=json.dumps(req), capture_output=True, text=True,
                             timeout=300)
    except FileNotFoundError:
        pytest.skip("no /usr/bin/python3")
    if out.returncode != 0:
        if "No module named 'torch'" in out.stderr:
            pytest.skip("PyTorch not importable under /usr/bin/python3")
        raise AssertionError("PyTorch reference script failed:\n" + out.stderr[-3000:])
    return json.loads(out.stdout)


def lamina_env():
    e = {"F": F, "nn": nn, "lamina": lamina}
    for k, (v, rg) in data().items():
        e[k] = lamina.tensor(v, requires_grad=rg)
    return e


def upstream(out):
    n = out.numel()
    return lamina.tensor(np.array([math.cos(0.9 * i + 0.3) for i in range(n)], np.float32).reshape(out.shape)).to(out.dtype)


def close(a, b, what):
    a = np.asarray(a.tolist() if hasattr(a, "tolist") else a, np.float64)
    np.testing.assert_allclose(a, np.asarray(b, np.float64), rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.mark.parametrize("i", range(len(LOSSES)))
def test_loss_and_functional_match_torch(ref, i):
    expr = LOSSES[i]
    e = lamina_env()
    out = eval(expr, e)
    (out * upstream(out)).sum().backward()
    r = ref["losses"][i]
    close(out, r["out"], expr)
    for k, g in r["grads"].items():
        assert e[k].grad is not None, f"{expr}: no gradient for {k}"
        close(e[k].grad, g, f"{expr}: d/d{k}")


@pytest.mark.parametrize("i", range(len(MODULES)))
def test_module_from_torch_state_dict(ref, i):
    ctor, inp = MODULES[i]
    r = ref["modules"][i]
    m = eval(ctor, {"nn": nn})
    assert list(m.state_dict().keys()) == r["keys"]
    assert [k for k, _ in m.named_parameters()] == r["names"]
    assert repr(m) == r["repr"]
    res = m.load_state_dict({k: np.array(v, np.float32) for k, v in r["state"].items()})
    assert res.missing_keys == [] and res.unexpected_keys == []
    for k, v in m.state_dict().items():
        close(v, r["state"][k], f"{ctor}: state {k}")
    if inp is None:
        return
    e = lamina_env()
    x = e[inp]
    out = m(x)
    (out * upstream(out)).sum().backward()
    close(out, r["out"], f"{ctor}: output")
    if r["xgrad"] is not None:
        close(x.grad, r["xgrad"], f"{ctor}: input grad")
    for k, p in m.named_parameters():
        close(p.grad, r["pgrads"][k], f"{ctor}: grad of {k}")


def test_rmsnorm_matches_formula(ref):
    m = nn.RMSNorm(4)
    assert repr(m) == "RMSNorm((4,), eps=None, elementwise_affine=True)"
    m.load_state_dict({"weight": lamina.tensor(ref_rms_w())})
    x = lamina_env()["x3"]
    out = m(x)
    (out * upstream(out)).sum().backward()
    close(out, ref["rms"]["out"], "rms out")
    close(x.grad, ref["rms"]["xgrad"], "rms x grad")
    close(m.weight.grad, ref["rms"]["wgrad"], "rms w grad")


def ref_rms_w():
    return pattern((4,), 5.0)


def test_mlp_trains_like_torch(ref):
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
    model.load_state_dict({k: np.array(v, np.float32) for k, v in ref["mlp_init"].items()})
    x, y = mlp_data()
    X, Y = lamina.tensor(x), lamina.tensor(y)
    opt = lamina.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(len(ref["mlp_losses"])):
        opt.zero_grad()
        loss = F.cross_entropy(model(X), Y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(losses, ref["mlp_losses"], rtol=1e-3, atol=1e-5)
    assert losses[-1] < 0.7 * losses[0]


# ---- Module protocol in Python (no PyTorch needed) ---------------------------------------

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 2)])
        self.scale = nn.Parameter(lamina.ones(2))
        self.register_buffer("offset", lamina.zeros(2))
        self.register_buffer("cache", lamina.zeros(1), persistent=False)
        self.act = nn.ReLU()

    def forward(self, x):
        x = self.act(self.fc(x))
        for b in self.blocks:
            x = b(x)
        return x * self.scale + self.offset


def test_python_subclass_registration_and_names():
    net = Net()
    assert [k for k, _ in net.named_parameters()] == [
        "scale", "fc.weight", "fc.bias", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"]
    assert list(net.state_dict()) == [
        "scale", "offset", "fc.weight", "fc.bias", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
        "blocks.1.bias"]
    assert [k for k, _ in net.named_buffers()] == ["offset", "cache"]
    assert [k for k, _ in net.named_modules()] == ["", "fc", "blocks", "blocks.0", "blocks.1", "act"]
    assert len(list(net.children())) == 3
    assert len(list(net.parameters(recurse=False))) == 1
    assert net(lamina.ones(5, 3)).shape == (5, 2)
    assert repr(net).startswith("Net(\n  (fc): Linear(in_features=3, out_features=4, bias=True)\n  (blocks): ModuleList(\n")
    # tied weights are listed once
    tied = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    tied[1].weight = tied[0].weight
    assert [k for k, _ in tied.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_load_state_dict_errors_and_non_strict():
    a, b = Net(), Net()
    b.load_state_dict(a.state_dict())
    x = lamina.ones(2, 3)
    close(b(x), a(x).tolist(), "copied model")
    sd = a.state_dict()
    del sd["fc.bias"]
    sd["extra"] = lamina.zeros(1)
    with pytest.raises(lamina.ValueError, match="Missing key"):
        b.load_state_dict(sd)
    res = b.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["fc.bias"] and res.unexpected_keys == ["extra"]
    bad = a.state_dict()
    bad["blocks.1.weight"] = lamina.zeros(3, 3)
    with pytest.raises(lamina.ShapeError, match="blocks.1.weight"):
        b.load_state_dict(bad)


def test_modes_dtype_zero_grad_apply_and_optimizer():
    net = Net()
    net.eval()
    assert not net.training and not net.blocks[0].training
    net.train()
    assert net.fc.training
    loss = net(lamina.ones(2, 3)).sum()
    loss.backward()
    assert net.fc.weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert float(net.fc.weight.grad.abs().sum()) == 0.0
    net.zero_grad()
    assert net.fc.weight.grad is None
    net.to(lamina.float64)
    assert all(t.dtype == lamina.float64 for t in net.state_dict().values())
    assert net.fc.weight.requires_grad and net.fc.weight.is_leaf
    assert net(lamina.ones(1, 3, dtype=lamina.float64)).dtype == lamina.float64
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "Linear", "Linear", "ModuleList", "ReLU", "Net"]
    opt = lamina.optim.Adam(net.parameters(), lr=0.01)
    before = net.fc.weight.tolist()
    net(lamina.ones(2, 3, dtype=lamina.float64)).pow(2).sum().backward()
    opt.step()
    assert net.fc.weight.tolist() != before
    with pytest.raises(NotImplementedError):
        nn.Module()(lamina.ones(1))


def test_containers():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and len(seq[:2]) == 2
    seq.append(nn.Sigmoid())
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    d = nn.ModuleDict({"enc": nn.Linear(2, 2)})
    d["dec"] = nn.Linear(2, 1)
    assert list(d.keys()) == ["enc", "dec"] and "dec" in d
    ml = nn.ModuleList()
    ml += [nn.Tanh(), nn.Linear(1, 1)]
    assert len(ml) == 2 and [k for k, _ in ml.named_parameters()] == ["1.weight", "1.bias"]


def test_validation_errors_name_module_and_value():
    with pytest.raises(lamina.ConfigError, match="Linear.*in_features"):
        nn.Linear(0, 2)
    with pytest.raises(lamina.ConfigError, match="Dropout.*1.5"):
        nn.Dropout(1.5)
    with pytest.raises(lamina.ConfigError, match="GroupNorm"):
        nn.GroupNorm(3, 4)
    with pytest.raises(lamina.ConfigError):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(lamina.ShapeError, match=r"Linear.*in_features=3.*got 4"):
        nn.Linear(3, 2)(lamina.ones(2, 4))
    with pytest.raises(lamina.IndexError):
        F.cross_entropy(lamina.ones(2, 3), lamina.tensor([0, 5]))


def test_dropout_reproducible_with_manual_seed():
    d = nn.Dropout(0.25)
    x = lamina.ones(2000)
    lamina.manual_seed(3)
    a = d(x).tolist()
    lamina.manual_seed(3)
    b = d(x).tolist()
    assert a == b
    zeros = sum(v == 0 for v in a)
    assert 400 < zeros < 600
    assert all(v == 0 or abs(v - 1 / 0.75) < 1e-6 for v in a)
    d.eval()
    assert d(x).tolist() == x.tolist()


def test_init_functions():
    w = lamina.empty(300, 200)
    lamina.manual_seed(0)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    bound = 1 / math.sqrt(200)
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.95 * bound
    nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("tanh"))
    assert float(w.abs().max()) <= 5 / 3 * math.sqrt(6 / 500)
    nn.init.zeros_(w)
    assert float(w.abs().max()) == 0.0
    nn.init.constant_(w, 0.5)
    assert float(w.min()) == 0.5
    assert nn.init._calculate_fan_in_and_fan_out(lamina.empty(6, 4, 3)) == (12, 18)


def test_frozen_parameter_and_reassignment():
    net = Net()
    net.register_parameter("frozen", nn.Parameter(lamina.ones(3), requires_grad=False))
    assert "frozen" in dict(net.named_parameters()) and not net.frozen.requires_grad
    lin = nn.Linear(2, 2)
    lin.weight = nn.Parameter(lamina.zeros(2, 2))
    lin.bias = None
    assert [k for k, _ in lin.named_parameters()] == ["weight"] and lin.bias is None
    assert repr(lin) == "Linear(in_features=2, out_features=2, bias=False)"
    assert lin(lamina.ones(1, 2)).tolist() == [[0.0, 0.0]]
