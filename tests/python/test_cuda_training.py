"""Training on the GPU follows the CPU: an MLP, a CNN (conv, batch norm, pooling, dropout off) and
a small transformer block trained from the same initial weights on the same batches give loss
curves that agree within tolerance, and bf16 autocast on the GPU tracks the fp32 curve. Skipped
without a usable GPU (run with LAMINA_FORCE_CPU=0 on a GPU machine)."""
import numpy as np
import pytest

import lamina
import lamina.nn as nn

pytestmark = pytest.mark.skipif(not lamina.cuda.is_available(), reason="no usable CUDA GPU")


def batches(shape, classes, steps, seed):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, classes, shape[0])
        yield lamina.tensor(x), lamina.tensor(y)


def copy_weights(src, dst):
    dst.load_state_dict({k: v.detach().clone() for k, v in src.state_dict().items()})


def losses(model, device, shape, classes, steps, optimizer="adamw", autocast_dtype=None):
    model = model.to(device)
    params = list(model.parameters())
    opt = lamina.optim.AdamW(params, lr=1e-3) if optimizer == "adamw" else lamina.optim.SGD(params, lr=0.05,
                                                                                             momentum=0.9)
    curve = []
    for x, y in batches(shape, classes, steps, seed=1):
        x, y = x.to(device), y.to(device)
        opt.zero_grad()
        if autocast_dtype is not None:
            with lamina.autocast(device_type=device, dtype=autocast_dtype):
                loss = nn.functional.cross_entropy(model(x), y)
        else:
            loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        curve.append(loss.item())
    return np.array(curve)


def mlp():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.GELU(), nn.Linear(128, 10))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 4 * 4, 10))


class Block(nn.Module):
    """Pre-norm transformer block: attention and a GELU MLP, each with a residual."""

    def __init__(self, d, heads):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.ff(self.ln2(x))


def transformer():
    return nn.Sequential(Block(32, 4), Block(32, 4), nn.Flatten(), nn.Linear(8 * 32, 10))


@pytest.mark.parametrize("build,shape,optimizer", [(mlp, (32, 64), "adamw"), (mlp, (32, 64), "sgd"),
                                                   (cnn, (16, 1, 16, 16), "adamw"),
                                                   (transformer, (16, 8, 32), "adamw")])
def test_gpu_loss_curve_matches_cpu(build, shape, optimizer):
    lamina.manual_seed(0)
    reference = build()
    on_cpu, on_gpu = build(), build()
    copy_weights(reference, on_cpu)
    copy_weights(reference, on_gpu)
    cpu = losses(on_cpu, "cpu", shape, 10, 30, optimizer)
    gpu = losses(on_gpu, "cuda", shape, 10, 30, optimizer)
    assert np.all(np.isfinite(gpu))
    np.testing.assert_allclose(gpu, cpu, rtol=2e-3, atol=2e-4)
    assert gpu[-5:].mean() < gpu[:5].mean()  # it trains


def test_bf16_autocast_on_gpu_tracks_fp32():
    lamina.manual_seed(0)
    reference = mlp()
    fp32, bf16 = mlp(), mlp()
    copy_weights(reference, fp32)
    copy_weights(reference, bf16)
    full = losses(fp32, "cuda", (64, 64), 10, 40)
    mixed = losses(bf16, "cuda", (64, 64), 10, 40, autocast_dtype=lamina.bfloat16)
    assert all(p.dtype == lamina.float32 for p in bf16.parameters())  # fp32 master weights
    np.testing.assert_allclose(mixed, full, rtol=5e-2, atol=2e-2)
