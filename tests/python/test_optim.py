"""lamina.optim, lamina.optim.lr_scheduler and lamina.nn.utils against PyTorch 1.13, run under
Debian's python3-torch (/usr/bin/python3) in its own process, which writes the reference
trajectories to a JSON file. Needs the autograd bindings (requires_grad, .grad)."""
import json
import math
import subprocess
import textwrap

import numpy as np
import pytest

import lamina
import lamina.nn.utils
import lamina.optim
from lamina.optim import lr_scheduler

TORCH_PY = "/usr/bin/python3"
N, STEPS = 7, 6
HAS_AUTOGRAD = hasattr(lamina.Tensor, "requires_grad")
needs_autograd = pytest.mark.skipif(not HAS_AUTOGRAD, reason="Tensor.requires_grad / .grad not bound yet")

OPTIMIZERS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd_momentum": ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    "sgd_nesterov": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    "adam": ("Adam", dict(lr=0.01, weight_decay=0.1)),
    "adam_amsgrad": ("Adam", dict(lr=0.02, betas=(0.8, 0.9), amsgrad=True)),
    "adamw": ("AdamW", dict(lr=0.01)),
    "rmsprop": ("RMSprop", dict(lr=0.01)),
    "rmsprop_centered": ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01)),
    "adagrad": ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
}

SCHEDULERS = {
    "step": "S.StepLR(o, 3, 0.5)",
    "multistep": "S.MultiStepLR(o, [2, 5, 5], 0.1)",
    "exponential": "S.ExponentialLR(o, 0.9)",
    "cosine": "S.CosineAnnealingLR(o, 4, 0.01)",
    "linear": "S.LinearLR(o)",
    "onecycle": "S.OneCycleLR(o, max_lr=1.0, total_steps=11)",
    "onecycle_3": "S.OneCycleLR(o, max_lr=[1.0], epochs=3, steps_per_epoch=4, three_phase=True, anneal_strategy='linear')",
    "sequential": "S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=3), S.ExponentialLR(o, 0.9)], milestones=[3])",
}


def inputs():
    p0 = np.array([math.sin(i + 1) for i in range(N)], np.float32)
    grads = [np.array([math.cos(0.7 * i + 1.3 * k) * (1 + 0.1 * i) for i in range(N)], np.float32) for k in range(STEPS)]
    return p0, grads


SCRIPT = textwrap.dedent(r'''
    import json, math, sys, warnings
    import torch
    warnings.filterwarnings("ignore")
    S = torch.optim.lr_scheduler
    N, STEPS = %d, %d
    OPT = %s
    SCHED = %s
    out = {"opt": {}, "sched": {}}
    for name, (cls, kw) in OPT.items():
        p = torch.tensor([math.sin(i + 1) for i in range(N)], dtype=torch.float32, requires_grad=True)
        opt = getattr(torch.optim, cls)([p], **kw)
        traj = []
        for k in range(STEPS):
            p.grad = torch.tensor([math.cos(0.7 * i + 1.3 * k) * (1 + 0.1 * i) for i in range(N)], dtype=torch.float32)
            opt.step()
            traj.append(p.detach().tolist())
        out["opt"][name] = traj
    for name, expr in SCHED.items():
        for kind in ("sgd", "adam"):
            p = torch.zeros(1, requires_grad=True)
            o = torch.optim.SGD([p], lr=0.1, momentum=0.9) if kind == "sgd" else torch.optim.Adam([p], lr=0.1)
            s = eval(expr)
            lrs, mom = [s.get_last_lr()[0]], []
            for _ in range(10):
                o.step(); s.step(); lrs.append(s.get_last_lr()[0])
                g = o.param_groups[0]
                mom.append(g["momentum"] if kind == "sgd" else g["betas"][0])
            out["sched"][name + "_" + kind] = {"lr": lrs, "momentum": mom}
    json.dump(out, open(sys.argv[1], "w"))
''') % (N, STEPS, repr(OPTIMIZERS), repr(SCHEDULERS))


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    path = tmp_path_factory.mktemp("optim") / "ref.json"
    res = subprocess.run([TORCH_PY, "-c", SCRIPT, str(path)], capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        pytest.skip("PyTorch reference unavailable: " + res.stderr[-500:])
    return json.loads(path.read_text())


def make_param(values=None):
    p0, _ = inputs()
    p = lamina.tensor((p0 if values is None else values).tolist(), dtype=lamina.float32)
    p.requires_grad_()
    return p


def run(opt, p, start, stop):
    _, grads = inputs()
    traj = []
    for k in range(start, stop):
        p.grad = lamina.tensor(grads[k].tolist(), dtype=lamina.float32)
        opt.step()
        traj.append(np.asarray(p.detach().tolist()))
    return traj


@needs_autograd
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizer_matches_torch(name, reference):
    cls, kw = OPTIMIZERS[name]
    p = make_param()
    opt = getattr(lamina.optim, cls)([p], **kw)
    traj = run(opt, p, 0, STEPS)
    np.testing.assert_allclose(np.array(traj), np.array(reference["opt"][name]), rtol=1e-5, atol=2e-6)


@needs_autograd
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_dict_round_trip(name, reference):
    cls, kw = OPTIMIZERS[name]
    p = make_param()
    opt = getattr(lamina.optim, cls)([p], **kw)
    run(opt, p, 0, 3)
    sd = opt.state_dict()
    assert sorted(sd) == ["param_groups", "state"]
    assert sd["param_groups"][0]["params"] == [0]
    q = make_param(np.asarray(p.detach().tolist(), np.float32))
    fresh = getattr(lamina.optim, cls)([q], **kw)
    fresh.load_state_dict(sd)
    traj = run(fresh, q, 3, STEPS)
    np.testing.assert_allclose(np.array(traj), np.array(reference["opt"][name][3:]), rtol=1e-5, atol=2e-6)


@needs_autograd
def test_adam_state_layout():
    p = make_param()
    opt = lamina.optim.Adam([p], amsgrad=True)
    run(opt, p, 0, 2)
    st = opt.state_dict()["state"][0]
    assert set(st) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert st["step"].item() == 2.0
    g = opt.state_dict()["param_groups"][0]
    assert g["betas"] == (0.9, 0.999) and g["lr"] == 1e-3 and g["amsgrad"] is True


@needs_autograd
def test_param_groups_and_lr_changes():
    a, b = make_param(), make_param()
    opt = lamina.optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.0)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.0
    p0, grads = inputs()
    a.grad = lamina.tensor(grads[0].tolist())
    b.grad = lamina.tensor(grads[0].tolist())
    opt.step()
    np.testing.assert_allclose(a.detach().tolist(), p0 - np.float32(0.1) * grads[0], rtol=1e-6)
    np.testing.assert_allclose(b.detach().tolist(), p0 - np.float32(0.5) * grads[0], rtol=1e-6)
    for g in opt.param_groups:
        g["lr"] = 0.0
    before = a.detach().tolist()
    opt.step()
    assert a.detach().tolist() == before
    assert dict(opt.param_groups[0])["lr"] == 0.0
    c = make_param()
    opt.add_param_group({"params": [c], "lr": 1.0})
    assert len(opt.param_groups) == 3 and opt.param_groups[2]["params"][0] is not None


@needs_autograd
def test_zero_grad_both_ways():
    p = make_param()
    opt = lamina.optim.Adam([p])
    p.grad = lamina.ones(N)
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0] * N
    opt.zero_grad()
    assert p.grad is None


@needs_autograd
@pytest.mark.parametrize("name", list(SCHEDULERS))
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_scheduler_matches_torch(name, kind, reference):
    p = make_param()
    o = lamina.optim.SGD([p], lr=0.1, momentum=0.9) if kind == "sgd" else lamina.optim.Adam([p], lr=0.1)
    S = lr_scheduler  # noqa: N806 (the expressions are shared with the torch script)
    s = eval(SCHEDULERS[name])
    lrs, mom = [s.get_last_lr()[0]], []
    for _ in range(10):
        o.step()
        s.step()
        lrs.append(s.get_last_lr()[0])
        g = o.param_groups[0]
        mom.append(g["momentum"] if kind == "sgd" else g["betas"][0])
    ref = reference["sched"][name + "_" + kind]
    np.testing.assert_allclose(lrs, ref["lr"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(mom, ref["momentum"], rtol=1e-12)


@needs_autograd
def test_scheduler_state_dict_round_trip():
    p = make_param()
    o = lamina.optim.SGD([p], lr=0.1)
    s = lr_scheduler.CosineAnnealingLR(o, 4, 0.01)
    for _ in range(3):
        s.step()
    sd, osd = s.state_dict(), o.state_dict()
    assert sd["last_epoch"] == 3 and sd["base_lrs"] == [0.1]
    want = []
    for _ in range(4):
        s.step()
        want.append(s.get_last_lr()[0])
    q = make_param()
    o2 = lamina.optim.SGD([q], lr=0.1)
    s2 = lr_scheduler.CosineAnnealingLR(o2, 4, 0.01)
    o2.load_state_dict(osd)
    s2.load_state_dict(sd)
    got = []
    for _ in range(4):
        s2.step()
        got.append(s2.get_last_lr()[0])
    assert got == want
    seq = lr_scheduler.SequentialLR(o2, [lr_scheduler.LinearLR(o2), lr_scheduler.StepLR(o2, 2)], [2])
    assert len(seq.state_dict()["_schedulers"]) == 2


@needs_autograd
def test_validation_errors():
    p = make_param()
    cases = [
        (lambda: lamina.optim.SGD([p], lr=-0.1), "[SGD] invalid learning rate: -0.1"),
        (lambda: lamina.optim.SGD([p], lr=0.1, momentum=-1), "momentum value: -1"),
        (lambda: lamina.optim.SGD([p], lr=0.1, nesterov=True), "nesterov"),
        (lambda: lamina.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5, nesterov=True), "nesterov"),
        (lambda: lamina.optim.Adam([p], eps=-1.0), "[Adam] invalid epsilon value: -1"),
        (lambda: lamina.optim.Adam([p], betas=(1.0, 0.999)), "beta parameter at index 0: 1"),
        (lambda: lamina.optim.AdamW([p], betas=(0.9, -0.1)), "[AdamW] invalid beta parameter at index 1"),
        (lambda: lamina.optim.AdamW([p], weight_decay=-1), "weight_decay value: -1"),
        (lambda: lamina.optim.RMSprop([p], alpha=-1), "[RMSprop] invalid alpha value: -1"),
        (lambda: lamina.optim.Adagrad([p], lr_decay=-1), "[Adagrad] invalid lr_decay value: -1"),
        (lambda: lamina.optim.Adagrad([p], initial_accumulator_value=-1), "initial_accumulator_value"),
        (lambda: lr_scheduler.LinearLR(lamina.optim.SGD([p], lr=0.1), start_factor=0), "[LinearLR]"),
        (lambda: lr_scheduler.OneCycleLR(lamina.optim.SGD([p], lr=0.1), max_lr=1.0), "[OneCycleLR]"),
    ]
    for fn, needle in cases:
        with pytest.raises(lamina.ConfigError) as e:
            fn()
        assert needle in str(e.value)
    with pytest.raises(lamina.ValueError, match="does not require grad"):
        lamina.optim.SGD([p, lamina.zeros(2)], lr=0.1)
    with pytest.raises(lamina.ValueError, match="not a leaf"):
        lamina.optim.SGD([p * 2], lr=0.1)
    with pytest.raises(lamina.ValueError, match="empty parameter list"):
        lamina.optim.Adam([])
    with pytest.raises(lamina.ValueError):
        lamina.optim.Adam(p)


def test_validation_without_autograd():
    with pytest.raises(lamina.ValueError, match=r"\[SGD\] parameter 0 of group 0 does not require grad"):
        lamina.optim.SGD([lamina.zeros(2)], lr=0.1)
    with pytest.raises(lamina.ConfigError, match=r"\[Adam\] invalid learning rate: -1"):
        lamina.optim.Adam([lamina.zeros(2)], lr=-1)
    assert lamina.nn.utils.clip_grad_norm_([lamina.zeros(2)], 1.0).item() == 0.0


@needs_autograd
def test_clip_grad():
    a, b = make_param(), make_param()
    a.grad = lamina.tensor([3.0, 4.0, 0, 0, 0, 0, 0])
    b.grad = lamina.tensor([0, 0, 0, 0, 0, 0, 12.0])
    total = lamina.nn.utils.clip_grad_norm_([a, b], 6.5)
    assert abs(total.item() - 13.0) < 1e-5
    np.testing.assert_allclose(a.grad.tolist()[:2], [3 * 6.5 / (13 + 1e-6), 4 * 6.5 / (13 + 1e-6)], rtol=1e-6)
    assert abs(lamina.nn.utils.clip_grad_norm_([a, b], 100.0, norm_type=float("inf")).item() - 6.0) < 1e-5
    a.grad = lamina.tensor([float("nan")] + [0.0] * 6)
    with pytest.raises(lamina.KernelError):
        lamina.nn.utils.clip_grad_norm_([a, b], 1.0, error_if_nonfinite=True)
    a.grad = lamina.tensor([-3.0, 0.5, 2.0, 0, 0, 0, 0])
    lamina.nn.utils.clip_grad_value_([a, b], 1.0)
    assert a.grad.tolist()[:3] == [-1.0, 0.5, 1.0]


@pytest.mark.parametrize("make", [
    lambda ps: lamina.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    lambda ps: lamina.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: lamina.optim.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True),
    lambda ps: lamina.optim.Adagrad(ps, lr=0.1),
])
def test_multi_tensor_step_equals_one_parameter_at_a_time(make):
    # One step over a whole model is launched as one batch (small tensors grouped, large ones
    # split across the pool); each element's arithmetic is the same as a one-parameter step's.
    rng = np.random.default_rng(5)
    shapes = [(300, 257), (7,), (), (0, 3), (128,), (3, 70000), (64, 64), (1,)]
    values = [rng.normal(size=s).astype(np.float32) for s in shapes]
    grads = [[rng.normal(size=s).astype(np.float32) for s in shapes] for _ in range(3)]
    together = [lamina.tensor(v, requires_grad=True) for v in values]
    base = lamina.tensor(rng.normal(size=(50, 40)).astype(np.float32))
    strided = base.t().contiguous().t().detach().requires_grad_()  # a non-contiguous parameter
    together.append(strided)
    alone = [lamina.tensor(v, requires_grad=True) for v in values] + [lamina.tensor(strided.numpy(), requires_grad=True)]
    opt = make(together)
    singles = [make([p]) for p in alone]
    for step in range(3):
        for k, (a, b) in enumerate(zip(together, alone)):
            g = grads[step][k] if k < len(shapes) else np.cos(np.arange(2000, dtype=np.float32)).reshape(50, 40) * step
            if k == 1 and step == 1:  # a parameter without a gradient this step is left alone
                a.grad = b.grad = None
                continue
            a.grad, b.grad = lamina.tensor(g), lamina.tensor(g)
        opt.step()
        for s, b in zip(singles, alone):
            if b.grad is not None:
                s.step()
    assert not together[-1].is_contiguous()
    for a, b in zip(together, alone):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert not np.array_equal(together[0].detach().numpy(), values[0])
