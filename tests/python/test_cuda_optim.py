"""Fused optimizer steps on a CUDA device against the CPU: a few steps of every optimizer and option
(SGD momentum / nesterov / weight decay, Adam, AdamW, AMSGrad, RMSprop plain / centered / momentum,
Adagrad) on float32, float64, float16 and bfloat16 parameters, contiguous and not, give the same
bits on both devices (the device runs the CPU kernels' formulas with explicitly rounded operations).
Skipped where no GPU is usable."""
import numpy as np
import pytest

import lamina
import lamina.optim
from conftest import to_np

pytestmark = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")

CONFIGS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd_momentum": ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    "sgd_nesterov": ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    "adam": ("Adam", dict(lr=0.01, weight_decay=0.1)),
    "adam_amsgrad": ("Adam", dict(lr=0.02, betas=(0.8, 0.9), amsgrad=True)),
    "adamw": ("AdamW", dict(lr=0.01)),
    "adamw_amsgrad": ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    "rmsprop": ("RMSprop", dict(lr=0.01)),
    "rmsprop_centered": ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.01)),
    "rmsprop_centered_plain": ("RMSprop", dict(lr=0.01, centered=True)),
    "adagrad": ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
}
DTYPES = [lamina.float32, lamina.float64, lamina.float16, lamina.bfloat16]
STEPS = 5


def run(device, name, dtype, shape, transposed, rng_seed=0):
    cls, kw = CONFIGS[name]
    rng = np.random.default_rng(rng_seed)
    p0 = rng.standard_normal(shape).astype(np.float32)
    if transposed:
        p = lamina.tensor(np.ascontiguousarray(p0.T)).to(dtype).to(device).t()
    else:
        p = lamina.tensor(p0).to(dtype).to(device)
    p.requires_grad_()
    opt = getattr(lamina.optim, cls)([p], **kw)
    for _ in range(STEPS):
        g = lamina.tensor(rng.standard_normal(shape).astype(np.float32)).to(dtype).to(device)
        p.grad = g
        opt.step()
    state = {k: v for k, v in opt.state_dict()["state"][0].items() if k != "step" and v is not None} if opt.state_dict()["state"] else {}
    return p.detach(), state


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_steps_match_cpu_bit_for_bit(name, dtype):
    for shape, transposed in [((37,), False), ((5, 6), True), ((1,), False)]:
        pc, sc = run("cpu", name, dtype, shape, transposed)
        pg, sg = run("cuda", name, dtype, shape, transposed)
        assert pg.device.type == "cuda"
        np.testing.assert_array_equal(to_np(pg.cpu()), to_np(pc), err_msg=f"{name} {dtype} {shape}")
        assert sorted(sc) == sorted(sg)
        for key in sc:
            np.testing.assert_array_equal(to_np(sg[key].cpu()), to_np(sc[key]), err_msg=f"state {key}")


def test_empty_parameter():
    p = lamina.zeros(0, device="cuda").requires_grad_()
    opt = lamina.optim.Adam([p], lr=0.1)
    p.grad = lamina.zeros(0, device="cuda")
    opt.step()
    assert tuple(p.shape) == (0,)


def test_training_loop_on_cuda_matches_cpu():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 4)).astype(np.float32)
    y = rng.standard_normal((16, 1)).astype(np.float32)
    w0 = rng.standard_normal((4, 1)).astype(np.float32)
    results = []
    for device in ("cpu", "cuda"):
        w = lamina.tensor(w0).to(device).requires_grad_()
        opt = lamina.optim.AdamW([w], lr=0.05)
        xt, yt = lamina.tensor(x).to(device), lamina.tensor(y).to(device)
        for _ in range(10):
            opt.zero_grad()
            loss = ((xt @ w - yt) ** 2).mean()
            loss.backward()
            opt.step()
        results.append(w.detach().cpu().numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)
