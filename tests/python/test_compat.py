"""`python -m lamina.compat script.py`: a PyTorch program, unchanged, on lamina; the same program
under Debian's PyTorch (its own process) reaches a loss of the same magnitude."""
import os
import pathlib
import subprocess
import sys

import pytest

# A PyTorch training script as people write them: aliases, nn.Module subclass, DataLoader,
# optimizer, no_grad evaluation, torch.save / torch.load of the state dict.
PROGRAM = r'''
import sys
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import optim
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
true_w = torch.tensor([[2.0], [-3.0], [0.5]])
x = torch.randn(512, 3)
y = x @ true_w + 1.0 + 0.01 * torch.randn(512, 1)


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 1)

    def forward(self, inputs):
        return self.fc(inputs)


model = Regressor()
opt = optim.SGD(model.parameters(), lr=0.1)
loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
for epoch in range(20):
    for xb, yb in loader:
        opt.zero_grad()
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        opt.step()
with torch.no_grad():
    final = F.mse_loss(model(x), y).item()
torch.save(model.state_dict(), sys.argv[1])
again = Regressor()
again.load_state_dict(torch.load(sys.argv[1]))
with torch.no_grad():
    assert abs(F.mse_loss(again(x), y).item() - final) < 1e-6
assert isinstance(x, torch.Tensor)
print(f"final loss {final:.6f}")
'''


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "LAMINA_FORCE_CPU": "1"}, **kw)


def test_a_pytorch_program_runs_unchanged(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(PROGRAM)
    ours = run([sys.executable, "-m", "lamina.compat", str(script), str(tmp_path / "lamina.pt")])
    assert ours.returncode == 0, ours.stderr[-3000:]
    lamina_loss = float(ours.stdout.split()[-1])
    probe = run(["/usr/bin/python3", "-c", "import torch"])
    if probe.returncode != 0:
        pytest.skip("PyTorch not importable under /usr/bin/python3 (lamina's run passed)")
    theirs = run(["/usr/bin/python3", str(script), str(tmp_path / "torch.pt")])
    assert theirs.returncode == 0, theirs.stderr[-3000:]
    torch_loss = float(theirs.stdout.split()[-1])
    print(f"final loss: lamina {lamina_loss:.6f}, PyTorch {torch_loss:.6f}")
    assert lamina_loss < 1e-3 and torch_loss < 1e-3  # both fit the noise floor (1e-4)
    assert 0.2 < lamina_loss / torch_loss < 5
    # Each reads the other's checkpoint.
    cross = run(["/usr/bin/python3", "-c", "import sys, torch; sd = torch.load(sys.argv[1]); "
                 "print(sorted(sd), tuple(sd['fc.weight'].shape))", str(tmp_path / "lamina.pt")])
    assert cross.returncode == 0 and "['fc.bias', 'fc.weight'] (1, 3)" in cross.stdout, cross.stderr


MISSING = r'''
import torch
import torch.nn as nn
assert torch.Tensor is __import__("lamina").Tensor
assert not hasattr(torch, "definitely_not_an_api")
for expr in ["nn.NoSuchLayer", "torch.ones(1).no_such_method", "torch.not_a_function(1)"]:
    try:
        eval(expr)
    except AttributeError as e:
        assert "lamina does not have this PyTorch API" in str(e), e
        print("AttributeError", str(e).split(":")[0])
    else:
        raise SystemExit(f"{expr} did not raise")
try:
    import torch.definitely_missing_module
except ModuleNotFoundError as e:
    assert "torch.definitely_missing_module: lamina does not have" in str(e), e
    print("ModuleNotFoundError", e.name)
from torch.utils.data import DataLoader
import torch.nn.functional as F
print("ok", DataLoader.__name__, F.relu(torch.tensor([-1.0, 2.0])).tolist())
'''


def test_missing_torch_names_raise_naming_the_api(tmp_path):
    script = tmp_path / "missing.py"
    script.write_text(MISSING)
    out = run([sys.executable, "-m", "lamina.compat", str(script)])
    assert out.returncode == 0, out.stderr[-3000:]
    assert "AttributeError torch.nn.NoSuchLayer" in out.stdout
    assert "AttributeError torch.Tensor.no_such_method" in out.stdout
    assert "AttributeError torch.not_a_function" in out.stdout
    assert "ModuleNotFoundError torch.definitely_missing_module" in out.stdout
    assert "ok DataLoader [0.0, 2.0]" in out.stdout
    usage = run([sys.executable, "-m", "lamina.compat"])
    assert usage.returncode == 2 and "python -m lamina.compat script.py" in usage.stdout
