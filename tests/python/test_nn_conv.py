"""Convolution, pooling and batch-norm layers from Python: a small CNN's state_dict saved
from PyTorch 1.13 (Debian's python3-torch, own process) loads into the lamina model and gives
the same outputs, and both train the same way from the same weights."""

import numpy as np
import pytest

import lamina
from conftest import torch_reference
import lamina.nn as nn

TORCH = r"""
import json, sys, torch
import torch.nn as nn
d = json.loads(sys.stdin.read())
torch.manual_seed(0)
m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                  nn.Conv2d(4, 6, 3, stride=1, groups=2), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                  nn.Linear(6, 3), nn.LogSoftmax(1))
m = m.double()
sd = {k: v.tolist() for k, v in m.state_dict().items()}
x = torch.tensor(d["x"], dtype=torch.float64)
y = torch.tensor(d["y"])
opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
losses = []
for _ in range(8):
    opt.zero_grad()
    loss = torch.nn.functional.nll_loss(m(x), y)
    loss.backward()
    opt.step()
    losses.append(loss.item())
m.eval()
out = m(x).tolist()
print(json.dumps({"sd": sd, "losses": losses, "eval_out": out,
                  "final": {k: v.tolist() for k, v in m.state_dict().items()}}))
"""


def model():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, stride=1, groups=2), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(6, 3), nn.LogSoftmax(1))


def test_cnn_state_dict_outputs_and_training_match_pytorch():
    rng = np.random.default_rng(5)
    data = {"x": rng.normal(size=(6, 1, 8, 8)).tolist(), "y": [0, 1, 2, 0, 1, 2]}
    reference = torch_reference(TORCH, data)
    ref = reference
    m = model().to(lamina.float64)
    assert list(m.state_dict().keys()) == list(ref["sd"].keys())
    m.load_state_dict({k: lamina.tensor(v, dtype=lamina.int64 if k.endswith("num_batches_tracked") else lamina.float64)
                       for k, v in ref["sd"].items()})
    x = lamina.tensor(data["x"], dtype=lamina.float64)
    y = lamina.tensor(data["y"])
    opt = lamina.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for _ in range(8):
        opt.zero_grad()
        loss = nn.functional.nll_loss(m(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(losses, ref["losses"], rtol=1e-9)
    assert losses[-1] < losses[0]
    m.eval()
    np.testing.assert_allclose(m(x).detach().numpy(), np.array(ref["eval_out"]), rtol=1e-9, atol=1e-12)
    final = m.state_dict()
    for k, v in ref["final"].items():
        np.testing.assert_allclose(final[k].numpy(), np.array(v), rtol=1e-9, atol=1e-12, err_msg=k)


def test_layer_options_and_errors():
    assert repr(nn.Conv2d(2, 4, (3, 1), stride=2, bias=False)) == \
        "Conv2d(2, 4, kernel_size=(3, 1), stride=(2, 2), bias=False)"
    assert repr(nn.BatchNorm1d(5)) == "BatchNorm1d(5, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    assert nn.ConvTranspose2d(4, 2, 2, stride=2)(lamina.randn(1, 4, 3, 3)).shape == (1, 2, 6, 6)
    assert nn.Conv1d(2, 3, 3, padding=1)(lamina.randn(2, 2, 5)).shape == (2, 3, 5)
    assert nn.AdaptiveAvgPool2d(1)(lamina.randn(2, 3, 5, 4)).shape == (2, 3, 1, 1)
    with pytest.raises(lamina.ConfigError, match=r"\[Conv2d\]"):
        nn.Conv2d(3, 4, 0)
    with pytest.raises(lamina.ShapeError, match=r"\[Conv2d\]"):
        nn.Conv2d(3, 4, 3)(lamina.randn(1, 2, 5, 5))
    with pytest.raises(lamina.ConfigError, match="momentum"):
        nn.BatchNorm2d(3, momentum=2.0)
    with pytest.raises(lamina.ConfigError, match="ceil_mode"):
        nn.MaxPool2d(2, ceil_mode=True)
