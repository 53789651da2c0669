"""lamina.distributions against torch.distributions (Debian's python3-torch 1.13, run in its own
process): log_prob, entropy, moments and their gradients for random parameters, reparameterized
samples and their gradients, sample statistics and shapes, reproducibility, and every error case."""
import json
import math
import subprocess

import numpy as np
import pytest

import lamina
from conftest import TORCH_PYTHON
import lamina.distributions as D

# Code run both here (T = lamina, D = lamina.distributions) and under /usr/bin/python3
# (T = torch, D = torch.distributions): both sides evaluate one spec the same way.
SHARED = r'''
import math

def name_of(dtype):
    return str(dtype).split(".")[-1]

def to_list(t):
    return t.detach().double().numpy().tolist()

def build(T, D, spec):
    """The distribution a spec describes, and its tensor parameters (leaves that require grad)."""
    leaves, kwargs = {}, {}
    for name, value in spec["params"].items():
        if isinstance(value, float):
            kwargs[name] = value
        else:
            leaves[name] = kwargs[name] = T.tensor(value, dtype=getattr(T, spec["dtype"]), requires_grad=True)
    return getattr(D, spec["family"])(**kwargs), leaves

def evaluate(T, D, spec):
    """Values of a distribution's quantities and the gradients of a loss mixing all of them."""
    dist, leaves = build(T, D, spec)
    value = T.tensor(spec["value"], dtype=getattr(T, spec["value_dtype"]), requires_grad=spec["value_grad"])
    out = {"batch_shape": list(dist.batch_shape), "event_shape": list(dist.event_shape)}
    quantities = {"log_prob": dist.log_prob(value), "entropy": dist.entropy()}
    for name in spec["quantities"]:
        quantities[name] = getattr(dist, name)
    if spec.get("cdf"):
        quantities["cdf"] = dist.cdf(value)
    loss = 0
    for i, (name, q) in enumerate(sorted(quantities.items())):
        out[name] = to_list(q)
        out[name + "_dtype"] = name_of(q.dtype)
        loss = loss + (T.sin(q * (1.0 + 0.25 * i))).sum()
    if leaves or spec["value_grad"]:
        loss.backward()
    for name, leaf in leaves.items():
        out["grad_" + name] = to_list(leaf.grad)
    if spec["value_grad"]:
        out["grad_value"] = to_list(value.grad)
    return out

def evaluate_kl(T, D, spec):
    """KL(p || q) of two specs and its gradients in every tensor parameter."""
    p, p_leaves = build(T, D, spec["p"])
    q, q_leaves = build(T, D, spec["q"])
    kl = D.kl_divergence(p, q)
    T.sin(kl).sum().backward()
    out = {"kl": to_list(kl), "kl_dtype": name_of(kl.dtype)}
    out.update({"grad_p_" + k: to_list(v.grad) for k, v in p_leaves.items()})
    out.update({"grad_q_" + k: to_list(v.grad) for k, v in q_leaves.items()})
    return out

def raised(T, D, code):
    """The built-in exception class (and the exact class) that running `code` raises, or None."""
    try:
        exec(code, {"T": T, "D": D, "math": math})
    except Exception as e:
        builtin = next(c for c in type(e).__mro__ if c.__module__ == "builtins")
        return [builtin.__name__, type(e).__module__ + "." + type(e).__qualname__, str(e)[:300]]
    return None
'''

TORCH_SIDE = SHARED + r'''
import json, sys
import torch
import torch.distributions as D
import torch.distributions.normal

data = json.load(sys.stdin)
result = {"cases": [evaluate(torch, D, spec) for spec in data["cases"]],
          "kl": [evaluate_kl(torch, D, spec) for spec in data["kl"]],
          "errors": [raised(torch, D, code) for code, _ in data["errors"]],
          "rsample": []}
for spec in data["rsample"]:
    dist, leaves = build(torch, D, spec)
    noise = torch.tensor(spec["noise"], dtype=getattr(torch, spec["dtype"]))
    # Torch's own rsample, fed the noise lamina drew.
    if spec["family"] == "Normal":
        torch.distributions.normal._standard_normal = lambda shape, dtype, device: noise
        x = dist.rsample(tuple(spec["sample_shape"]))
    else:
        real_rand, torch.rand = torch.rand, lambda *a, **k: noise
        x = dist.rsample(tuple(spec["sample_shape"]))
        torch.rand = real_rand
    torch.sin(x * 1.5).sum().backward()
    entry = {"x": to_list(x)}
    entry.update({"grad_" + k: to_list(v.grad) for k, v in leaves.items()})
    result["rsample"].append(entry)
print(json.dumps(result))
'''

_shared_namespace = {}
exec(SHARED, _shared_namespace)
evaluate = _shared_namespace["evaluate"]
evaluate_kl = _shared_namespace["evaluate_kl"]
raised = _shared_namespace["raised"]
build = _shared_namespace["build"]

DTYPES = ["float32", "float64"]
TOL = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-10, atol=1e-12)}


def _normal_params(rng, loc_shape, scale_shape):
    loc = float(rng.normal() * 2) if loc_shape is None else (rng.normal(size=loc_shape) * 2).tolist()
    scale = (float(np.exp(rng.normal() * 0.5)) if scale_shape is None
             else np.exp(rng.normal(size=scale_shape) * 0.5).tolist())
    return {"loc": loc, "scale": scale}


def _spec(family, dtype, params, value, value_dtype=None, value_grad=False, quantities=()):
    return {"family": family, "dtype": dtype, "params": params, "value": value,
            "value_dtype": value_dtype or dtype, "value_grad": value_grad, "quantities": list(quantities)}


def build_cases():
    """Random specs (fixed seed) of each family: both float dtypes, broadcasting, batch shapes."""
    rng = np.random.default_rng(20240611)
    cases = []
    moments = ("mean", "variance", "stddev")
    for dtype in DTYPES:
        # Normal: equal shapes, broadcasting parameters, a float parameter, all floats; values of the
        # batch shape and values that broadcast against it (extra leading dims, size-1 dims).
        for loc_shape, scale_shape, value_shape in [((3, 4), (3, 4), (3, 4)), ((4,), (3, 1), (5, 3, 4)),
                                                    ((2, 3), None, (2, 1)), (None, (5,), (5,)),
                                                    (None, None, (6,))]:
            params = _normal_params(rng, loc_shape, scale_shape)
            value = (rng.normal(size=value_shape) * 2).tolist()
            cases.append(_spec("Normal", dtype, params, value, value_grad=True, quantities=moments + ("mode",)))
            cases[-1]["cdf"] = True
        # Categorical from unnormalized probs or from logits; values of the batch shape and broadcast.
        for param, shape, value_shape in [("probs", (4, 5), (4,)), ("probs", (7,), (3, 2)),
                                          ("logits", (2, 3, 6), (2, 3)), ("logits", (3, 4), (5, 1)),
                                          ("probs", (2, 1, 3), (4, 2, 5))]:
            k = shape[-1]
            p = rng.uniform(0.05, 1.0, size=shape) if param == "probs" else rng.normal(size=shape) * 2
            value = rng.integers(0, k, size=value_shape).tolist()
            cases.append(_spec("Categorical", dtype, {param: p.tolist()}, value, value_dtype="int64",
                               quantities=("probs", "logits")))
        # Bernoulli from probs (tensor or float) or logits; 0/1 values.
        for param, shape, value_shape in [("probs", (3, 4), (3, 4)), ("logits", (5,), (2, 5)),
                                          ("probs", None, (4,)), ("logits", (2, 1), (2, 3))]:
            if shape is None:
                p = float(rng.uniform(0.05, 0.95))
            elif param == "probs":
                p = rng.uniform(0.05, 0.95, size=shape).tolist()
            else:
                p = (rng.normal(size=shape) * 2).tolist()
            value = rng.integers(0, 2, size=value_shape).astype(float).tolist()
            cases.append(_spec("Bernoulli", dtype, {param: p}, value,
                               quantities=moments + ("probs", "logits")))
        # Probabilities of exactly 0 and 1 among random ones: logits clamp at the dtype's eps.
        probs = rng.uniform(0.05, 1.0, size=(3, 4))
        probs[0, 2] = probs[2, 0] = 0.0
        cases.append(_spec("Categorical", dtype, {"probs": probs.tolist()}, rng.integers(0, 4, size=(3,)).tolist(),
                           value_dtype="int64", quantities=("probs", "logits")))
        # A logit of -inf (a class that cannot occur): entropy clamps it to the dtype's min, as torch.
        logits = rng.normal(size=(2, 4)) * 2
        logits[:, 1] = -np.inf
        cases.append(_spec("Categorical", dtype, {"logits": logits.tolist()}, [[0, 3], [2, 0]],
                           value_dtype="int64", quantities=("probs",)))
        probs = rng.uniform(0.05, 0.95, size=(5,))
        probs[1], probs[3] = 0.0, 1.0
        cases.append(_spec("Bernoulli", dtype, {"probs": probs.tolist()},
                           rng.integers(0, 2, size=(5,)).astype(float).tolist(),
                           quantities=("mean", "variance", "probs", "logits")))  # stddev' = inf at 0
        # Uniform: values strictly inside [low, high).
        for shape in [(3, 2), (4,)]:
            low = rng.normal(size=shape)
            high = low + np.exp(rng.normal(size=shape))
            value = low + (high - low) * rng.uniform(0.05, 0.95, size=shape)
            cases.append(_spec("Uniform", dtype, {"low": low.tolist(), "high": high.tolist()}, value.tolist(),
                               quantities=moments))
            cases[-1]["cdf"] = True
    return cases


def build_kl_cases():
    """Random pairs of the same family for kl_divergence, with broadcasting batch shapes."""
    rng = np.random.default_rng(7)
    cases = []
    for dtype in DTYPES:
        cases.append({"p": _spec("Normal", dtype, _normal_params(rng, (3, 1), (3, 1)), None),
                      "q": _spec("Normal", dtype, _normal_params(rng, (4,), (3, 4)), None)})
        cases.append({"p": _spec("Bernoulli", dtype, {"probs": rng.uniform(0.05, 0.95, (2, 3)).tolist()}, None),
                      "q": _spec("Bernoulli", dtype, {"logits": (rng.normal(size=(2, 3)) * 2).tolist()}, None)})
        cases.append({"p": _spec("Categorical", dtype, {"logits": (rng.normal(size=(4, 5)) * 2).tolist()}, None),
                      "q": _spec("Categorical", dtype, {"probs": rng.uniform(0.05, 1, (4, 5)).tolist()}, None)})
        low = rng.normal(size=(3,))
        cases.append({"p": _spec("Uniform", dtype, {"low": low.tolist(), "high": (low + 0.5).tolist()}, None),
                      "q": _spec("Uniform", dtype, {"low": (low - 0.3).tolist(), "high": (low + 1.2).tolist()},
                                 None)})
    return cases


# (code, what lamina raises: a lamina class name, or None where neither side raises).
ERROR_CASES = [
    ("D.Normal(T.tensor([0.5, -1.2]), T.tensor([1.3, 0.0]))", "ValueError"),
    ("D.Normal(0.3, -0.7)", "ValueError"),
    ("D.Normal(T.tensor([float('nan'), 0.4]), 1.1)", "ValueError"),
    ("D.Normal([0.5, 1.0], 1.0)", "ValueError"),
    ("D.Normal(T.tensor([0.5, 1.5]), T.tensor([1.0, 2.0, 3.0]))", "ShapeError"),  # torch: RuntimeError
    ("D.Normal(T.tensor([0.5]), 1.0).log_prob(0.3)", "ValueError"),
    ("D.Normal(T.tensor([0.5, 1.5]), 1.0).log_prob(T.tensor([0.1, 0.2, 0.3]))", "ValueError"),
    ("D.Normal(T.tensor([0.5, 1.5]), 1.0).log_prob(T.tensor([float('nan'), 0.2]))", "ValueError"),
    ("D.Normal(T.tensor([0.5, 1.5]), T.tensor([1.0, -1.0]), validate_args=False)", None),
    ("D.Normal(T.tensor([0.5, 1.5]), 1.0, validate_args=False).log_prob(T.tensor([float('nan'), 0.2]))", None),
    ("D.Normal(0.5, 1.3).sample(3)", "TypeError"),
    ("D.Categorical()", "ValueError"),
    ("D.Categorical(probs=T.tensor([0.3, 0.7]), logits=T.tensor([0.1, 0.2]))", "ValueError"),
    ("D.Categorical(probs=T.tensor(0.7))", "ValueError"),
    ("D.Categorical(logits=T.tensor(0.7))", "ValueError"),
    ("D.Categorical(probs=T.tensor([0.5, -0.2, 0.7]))", "ValueError"),
    ("D.Categorical(logits=T.tensor([0.5, float('nan'), 0.7]))", "ValueError"),
    ("D.Categorical(probs=T.tensor([0.2, 0.3, 0.5])).log_prob(T.tensor([3]))", "ValueError"),
    ("D.Categorical(probs=T.tensor([0.2, 0.3, 0.5])).log_prob(T.tensor([-1]))", "ValueError"),
    ("D.Categorical(probs=T.tensor([0.2, 0.3, 0.5])).log_prob(T.tensor([1.5]))", "ValueError"),
    ("D.Categorical(logits=T.tensor([[0.1, 0.2], [0.3, 0.4]])).log_prob(T.tensor([0, 1, 1]))", "ValueError"),
    ("D.Categorical(probs=T.tensor([0.3, 0.7])).rsample()", "NotImplementedError"),
    ("D.Categorical(probs=T.tensor([0.5, -0.2, 0.7]), validate_args=False)", None),
    ("D.Bernoulli()", "ValueError"),
    ("D.Bernoulli(probs=0.3, logits=0.2)", "ValueError"),
    ("D.Bernoulli(probs=1.5)", "ValueError"),
    ("D.Bernoulli(probs=T.tensor([0.2, -0.1]))", "ValueError"),
    ("D.Bernoulli(logits=T.tensor([0.2, float('nan')]))", "ValueError"),
    ("D.Bernoulli(probs=T.tensor([0.2, 0.6])).log_prob(T.tensor([1.0, 0.5]))", "ValueError"),
    ("D.Bernoulli(probs=T.tensor([0.2, 0.6])).log_prob(1.0)", "ValueError"),
    ("D.Bernoulli(probs=T.tensor([0.2, 0.6])).log_prob(T.tensor([1.0, 0.0, 1.0]))", "ValueError"),
    ("D.Bernoulli(probs=0.4).rsample()", "NotImplementedError"),
    ("D.Bernoulli(probs=1.5, validate_args=False)", None),
    ("D.Uniform(T.tensor([0.0, 2.0]), T.tensor([1.0, 2.0]))", "ValueError"),
    ("D.Uniform(0.0, 1.0).log_prob(T.tensor(1.5))", "ValueError"),
    ("D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(0.3))", "NotImplementedError"),
    ("D.Distribution.set_default_validate_args('yes')", "ValueError"),
]


def run_torch_json(script, data):
    """Runs `script` under /usr/bin/python3 with `data` as JSON on stdin; skips only when torch is
    not importable there, fails on any other error."""
    try:
        probe = subprocess.run([TORCH_PYTHON, "-c", "import torch"], capture_output=True)
    except FileNotFoundError:
        pytest.skip("no /usr/bin/python3")
    if probe.returncode != 0:
        pytest.skip("PyTorch not importable under /usr/bin/python3")
    out = subprocess.run([TORCH_PYTHON, "-c", script], input=json.dumps(data), capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def build_rsample_cases():
    """Reparameterized samples lamina draws, with the noise behind them, for torch to redo."""
    rng = np.random.default_rng(99)
    cases = []
    for dtype in DTYPES:
        for family in ("Normal", "Uniform"):
            if family == "Normal":
                params = _normal_params(rng, (3, 1), (4,))
            else:
                low = rng.normal(size=(3, 1))
                params = {"low": low.tolist(), "high": (low + np.exp(rng.normal(size=(3, 4)))).tolist()}
            spec = _spec(family, dtype, params, None)
            spec["sample_shape"] = [5]
            lamina.manual_seed(1234)
            dist, leaves = build(lamina, D, spec)
            x = dist.rsample((5,))
            lamina.sin(x * 1.5).sum().backward()
            x64 = x.detach().double().numpy()
            if family == "Normal":
                loc, scale = (np.array(params[k], dtype=np.float64) for k in ("loc", "scale"))
                noise = (x64 - loc) / scale
            else:
                low, high = (np.array(params[k], dtype=np.float64) for k in ("low", "high"))
                noise = (x64 - low) / (high - low)
            spec["noise"] = noise.tolist()
            spec["lamina"] = {"x": x64.tolist(), **{"grad_" + k: v.grad.double().numpy().tolist()
                                                    for k, v in leaves.items()}}
            cases.append(spec)
    return cases


CASES = build_cases()
KL_CASES = build_kl_cases()


@pytest.fixture(scope="module")
def rsample_cases():
    return build_rsample_cases()


@pytest.fixture(scope="module")
def torch_results(rsample_cases):
    data = {"cases": CASES, "kl": KL_CASES, "errors": ERROR_CASES,
            "rsample": [{k: v for k, v in spec.items() if k != "lamina"} for spec in rsample_cases]}
    return run_torch_json(TORCH_SIDE, data)


def _case_id(spec):
    shapes = "_".join("x".join(map(str, np.shape(v))) or "num" for v in spec["params"].values())
    return f"{spec['family']}-{'_'.join(spec['params'])}-{shapes}-{spec['dtype']}"


def _assert_close(got, want, dtype, what):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs torch {want.shape}"
    np.testing.assert_allclose(got, want, err_msg=what, equal_nan=True, **TOL[dtype])


@pytest.mark.parametrize("index", range(len(CASES)), ids=[_case_id(c) for c in CASES])
def test_matches_torch(torch_results, index):
    spec, want = CASES[index], torch_results["cases"][index]
    got = evaluate(lamina, D, spec)
    # A Python float parameter becomes a float32 tensor (torch's default dtype): float32 precision.
    precision = "float32" if any(isinstance(v, float) for v in spec["params"].values()) else spec["dtype"]
    assert got.keys() == want.keys()
    assert got["batch_shape"] == want["batch_shape"] and got["event_shape"] == want["event_shape"]
    for key in want:
        if key.endswith("_dtype"):
            assert got[key] == want[key], key
        elif key not in ("batch_shape", "event_shape"):
            _assert_close(got[key], want[key], precision, key)
    # The gradients are real gradients, not zeros.
    grads = [np.abs(np.asarray(got[k])).max() for k in got if k.startswith("grad_")]
    expect_grads = any(not isinstance(v, float) for v in spec["params"].values()) or spec["value_grad"]
    assert bool(grads) == expect_grads and all(g > 0 for g in grads)


@pytest.mark.parametrize("index", range(len(KL_CASES)),
                         ids=[f"{c['p']['family']}-{c['p']['dtype']}" for c in KL_CASES])
def test_kl_divergence_matches_torch(torch_results, index):
    spec, want = KL_CASES[index], torch_results["kl"][index]
    got = evaluate_kl(lamina, D, spec)
    assert got.keys() == want.keys() and got["kl_dtype"] == want["kl_dtype"]
    for key in want:
        if key != "kl_dtype":
            _assert_close(got[key], want[key], spec["p"]["dtype"], key)
    assert np.all(np.asarray(got["kl"]) > 0)


def test_rsample_and_its_gradients_match_torch(torch_results, rsample_cases):
    for spec, want in zip(rsample_cases, torch_results["rsample"]):
        got = spec["lamina"]
        assert got.keys() == want.keys()
        tol = dict(rtol=1e-4, atol=1e-4) if spec["dtype"] == "float32" else TOL["float64"]
        for key in want:
            np.testing.assert_allclose(got[key], want[key], err_msg=f"{spec['family']} {spec['dtype']} {key}",
                                       **tol)
        assert np.shape(got["x"]) == (5, 3, 4)


@pytest.mark.parametrize("index", range(len(ERROR_CASES)), ids=[c for c, _ in ERROR_CASES])
def test_errors_match_torch(torch_results, index):
    code, expected = ERROR_CASES[index]
    torch_raised = torch_results["errors"][index]
    got = raised(lamina, D, code)
    if expected is None:
        assert torch_raised is None and got is None, (torch_raised, got)
        return
    assert got is not None, f"lamina raised nothing; torch raised {torch_raised}"
    assert torch_raised is not None, "torch raised nothing"
    lamina_class = getattr(lamina, expected, None)
    if lamina_class is not None and issubclass(lamina_class, lamina.Error):
        assert got[1] == f"lamina.{expected}", got
    else:
        assert got[0] == expected, got
    if expected == "ShapeError":
        assert torch_raised[0] == "RuntimeError"  # torch's broadcast error; lamina's typed one is a ValueError
    else:
        assert got[0] == torch_raised[0], (got, torch_raised)


def test_error_messages_name_the_problem():
    with pytest.raises(lamina.ValueError, match=r"parameter scale .*GreaterThan\(lower_bound=0.0\)"):
        D.Normal(lamina.tensor([0.5, 1.0]), lamina.tensor([1.0, -2.0]))
    with pytest.raises(lamina.ValueError, match="Either `probs` or `logits`"):
        D.Bernoulli()
    with pytest.raises(lamina.ValueError, match=r"support \(IntegerInterval\(lower_bound=0, upper_bound=2\)\)"):
        D.Categorical(probs=lamina.tensor([0.2, 0.3, 0.5])).log_prob(lamina.tensor([3]))
    with pytest.raises(lamina.ValueError, match=r"not broadcastable with batch_shape\+event_shape: \(3,\) vs \(2,\)"):
        D.Normal(lamina.tensor([0.5, 1.5]), 1.0).log_prob(lamina.tensor([0.1, 0.2, 0.3]))


def test_set_default_validate_args_turns_checks_off_and_on():
    try:
        D.Distribution.set_default_validate_args(False)
        dist = D.Normal(0.5, -1.0)
        assert math.isnan(dist.log_prob(lamina.tensor(0.3)).item())
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(lamina.ValueError):
        D.Normal(0.5, -1.0)


# ---- sampling -------------------------------------------------------------------------------------

N = 40000


@pytest.mark.parametrize("dtype", [lamina.float32, lamina.float64])
def test_normal_sample_statistics(dtype):
    rng = np.random.default_rng(3)
    loc = lamina.tensor(rng.normal(size=(3,)) * 2, dtype=dtype)
    scale = lamina.tensor(np.exp(rng.normal(size=(2, 1))), dtype=dtype)
    dist = D.Normal(loc, scale)
    lamina.manual_seed(11)
    x = dist.sample((N,))
    assert x.shape == (N, 2, 3) and x.dtype == dtype and not x.requires_grad
    x = x.double().numpy()
    mean_want = np.broadcast_to(loc.double().numpy(), (2, 3))
    sd_want = np.broadcast_to(scale.double().numpy(), (2, 3))
    assert np.all(np.abs(x.mean(0) - mean_want) < 5 * sd_want / math.sqrt(N))
    assert np.all(np.abs(x.var(0) / sd_want ** 2 - 1) < 5 * math.sqrt(2 / N))


def test_uniform_sample_statistics():
    low = lamina.tensor([-1.3, 0.4])
    high = lamina.tensor([0.2, 3.1])
    lamina.manual_seed(5)
    x = D.Uniform(low, high).sample((N,)).double().numpy()
    lo, hi = low.double().numpy(), high.double().numpy()
    assert np.all(x >= lo) and np.all(x < hi)
    width = hi - lo
    assert np.all(np.abs(x.mean(0) - (lo + hi) / 2) < 5 * width / math.sqrt(12 * N))
    assert np.all(np.abs(x.var(0) / (width ** 2 / 12) - 1) < 5 * math.sqrt(0.8 / N))


@pytest.mark.parametrize("use_logits", [False, True])
def test_categorical_sample_frequencies(use_logits):
    rng = np.random.default_rng(17)
    probs = rng.uniform(0.05, 1.0, size=(2, 5))
    probs[0, 1] = 0.0  # an inner class of probability 0, and a last one
    probs[1, 4] = 0.0
    probs /= probs.sum(-1, keepdims=True)
    if use_logits:
        dist = D.Categorical(logits=lamina.log(lamina.tensor(probs)))
    else:
        dist = D.Categorical(probs=lamina.tensor(probs * 3.7))  # unnormalized on purpose
    lamina.manual_seed(21)
    s = dist.sample((N,))
    assert s.shape == (N, 2) and s.dtype == lamina.int64
    s = s.numpy()
    assert s.min() >= 0 and s.max() <= 4
    freq = np.stack([(s == k).mean(0) for k in range(5)], -1)
    assert freq[0, 1] == 0 and freq[1, 4] == 0
    assert np.all(np.abs(freq - probs) <= 5 * np.sqrt(probs * (1 - probs) / N) + 1e-12)


def _constant_rand(fill):
    """A stand-in for lamina.rand that returns `fill` everywhere: the ends of the uniform draw."""
    real_rand = lamina.rand

    def rand(*args, **kwargs):
        return lamina.full_like(real_rand(*args, **kwargs), fill)
    return rand


def test_categorical_sample_at_the_ends_of_the_uniform_draw(monkeypatch):
    # Classes of probability 0 first, inside and last: neither u = 0 nor u rounding up to the total
    # (written here as u = 1) may pick one of them.
    dist = D.Categorical(probs=lamina.tensor([[0.0, 0.3, 0.0, 0.7, 0.0], [0.0, 0.0, 0.6, 0.4, 0.0]]))
    monkeypatch.setattr(lamina, "rand", _constant_rand(0.0))
    assert dist.sample((2,)).numpy().tolist() == [[1, 2], [1, 2]]
    monkeypatch.setattr(lamina, "rand", _constant_rand(1.0))
    assert dist.sample((2,)).numpy().tolist() == [[3, 3], [3, 3]]
    monkeypatch.setattr(lamina, "rand", _constant_rand(0.3))  # exactly the first cdf step: the next class
    assert dist.sample().numpy().tolist() == [3, 2]


def test_bernoulli_sample_at_the_ends_of_the_uniform_draw(monkeypatch):
    dist = D.Bernoulli(probs=lamina.tensor([0.0, 0.5, 1.0]))
    monkeypatch.setattr(lamina, "rand", _constant_rand(0.0))
    assert dist.sample().numpy().tolist() == [0.0, 1.0, 1.0]
    monkeypatch.setattr(lamina, "rand", _constant_rand(float(np.nextafter(np.float32(1), np.float32(0)))))
    assert dist.sample().numpy().tolist() == [0.0, 0.0, 1.0]


def test_categorical_sample_of_one_sure_class():
    dist = D.Categorical(probs=lamina.tensor([[0.0, 0.0, 2.5], [1.5, 0.0, 0.0]]))
    s = dist.sample((1000,)).numpy()
    assert np.all(s[:, 0] == 2) and np.all(s[:, 1] == 0)


@pytest.mark.parametrize("dtype", [lamina.float32, lamina.float64])
def test_bernoulli_sample_frequencies(dtype):
    rng = np.random.default_rng(23)
    probs = rng.uniform(0.05, 0.95, size=(4,))
    dist = D.Bernoulli(logits=lamina.tensor(np.log(probs / (1 - probs)), dtype=dtype))
    lamina.manual_seed(2)
    s = dist.sample((N,))
    assert s.shape == (N, 4) and s.dtype == dtype
    s = s.double().numpy()
    assert set(np.unique(s)) <= {0.0, 1.0}
    assert np.all(np.abs(s.mean(0) - probs) < 5 * np.sqrt(probs * (1 - probs) / N))
    assert np.all(D.Bernoulli(probs=lamina.tensor([0.0, 1.0])).sample((100,)).numpy() == [0.0, 1.0])


@pytest.mark.parametrize("make", [
    lambda: D.Normal(lamina.tensor([[0.3], [1.2]]), lamina.tensor([0.7, 1.1, 2.0])),
    lambda: D.Uniform(lamina.tensor([[0.3], [1.2]]), lamina.tensor([2.7, 3.1, 4.0])),
    lambda: D.Categorical(logits=lamina.tensor(np.random.default_rng(0).normal(size=(2, 3, 6)))),
    lambda: D.Bernoulli(probs=lamina.tensor(np.random.default_rng(1).uniform(0.1, 0.9, size=(2, 3)))),
], ids=["Normal", "Uniform", "Categorical", "Bernoulli"])
def test_sample_shapes_and_reproducibility(make):
    dist = make()
    assert dist.batch_shape == (2, 3) and dist.event_shape == ()
    for sample_shape in [(), (4,), (2, 5), [3]]:
        assert dist.sample(sample_shape).shape == tuple(sample_shape) + (2, 3)
    assert dist.sample().shape == (2, 3)
    lamina.manual_seed(77)
    first = dist.sample((50,)).double().numpy()
    lamina.manual_seed(77)
    again = dist.sample((50,)).double().numpy()
    lamina.manual_seed(78)
    other = dist.sample((50,)).double().numpy()
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_rsample_is_in_the_graph_and_sample_is_not():
    loc = lamina.tensor([0.4, -1.1], requires_grad=True)
    scale = lamina.tensor([0.9, 1.7], requires_grad=True)
    dist = D.Normal(loc, scale)
    assert dist.has_rsample and D.Uniform(0.0, 1.0).has_rsample
    assert not D.Categorical(probs=lamina.tensor([0.5, 0.5])).has_rsample and not D.Bernoulli(0.5).has_rsample
    lamina.manual_seed(4)
    x = dist.rsample((6,))
    assert x.requires_grad and not dist.sample((6,)).requires_grad
    x.sum().backward()
    eps = (x.detach().numpy() - loc.detach().numpy()) / scale.detach().numpy()
    np.testing.assert_allclose(loc.grad.numpy(), [6.0, 6.0])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0), rtol=1e-5, atol=1e-5)
    # sample and rsample draw the same numbers from the same seed.
    lamina.manual_seed(4)
    np.testing.assert_array_equal(dist.sample((6,)).numpy(), x.detach().numpy())


def test_parameters_from_floats_and_tensors():
    dist = D.Normal(0.5, 2.0)
    assert dist.batch_shape == () and dist.loc.dtype == lamina.float32 and dist.scale.shape == ()
    dist = D.Normal(lamina.tensor([0.1, 0.2], dtype=lamina.float64), 2.0)
    assert dist.batch_shape == (2,) and dist.scale.dtype == lamina.float64
    np.testing.assert_allclose(dist.stddev.numpy(), [2.0, 2.0])
    bern = D.Bernoulli(0.25)
    assert bern.batch_shape == () and abs(bern.logits.item() - math.log(0.25 / 0.75)) < 1e-6
    cat = D.Categorical(logits=lamina.tensor([1.0, 2.0, 3.0]))
    assert cat.batch_shape == () and cat.param_shape == (3,)
    np.testing.assert_allclose(cat.probs.numpy().sum(), 1.0, rtol=1e-6)
    assert cat.mean.shape == () and math.isnan(cat.mean.item()) and math.isnan(cat.variance.item())
    assert cat.mode.item() == 2
    assert cat.enumerate_support().numpy().tolist() == [0, 1, 2]


def test_expand_keeps_parameters_and_validation():
    dist = D.Normal(lamina.tensor([0.3, 0.8]), 1.5).expand((4, 2))
    assert dist.batch_shape == (4, 2) and dist.sample((3,)).shape == (3, 4, 2)
    np.testing.assert_allclose(dist.log_prob(lamina.tensor([0.1, 0.2])).numpy()[3],
                               D.Normal(lamina.tensor([0.3, 0.8]), 1.5).log_prob(lamina.tensor([0.1, 0.2])).numpy(),
                               rtol=1e-6)
    with pytest.raises(lamina.ValueError):
        dist.log_prob(lamina.tensor([0.1, 0.2, 0.3]))
    cat = D.Categorical(probs=lamina.tensor([0.2, 0.8])).expand((3,))
    assert cat.batch_shape == (3,) and cat.sample((2,)).shape == (2, 3)
    bern = D.Bernoulli(logits=lamina.tensor(0.4)).expand((2, 2))
    assert bern.batch_shape == (2, 2) and bern.entropy().shape == (2, 2)


def test_repr_names_parameters():
    assert repr(D.Normal(lamina.tensor([0.5, 1.0]), 2.0)) == "Normal(loc: (2,), scale: (2,))"
    assert repr(D.Bernoulli(logits=lamina.tensor([0.5, 1.0]))) == "Bernoulli(logits: (2,))"
