"""tools/torch_api_scan.py on a small program: aliases resolved, uses counted, lamina's gaps found."""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

PROGRAM = '''
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torch import optim

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.bil = nn.Bilinear(4, 4, 8)
    def forward(self, x):
        return F.relu(self.fc(x.view(-1, 4)))

model = Net()
opt = optim.SGD(model.parameters(), lr=0.1)
torch.save(model.state_dict(), "m.pt")
x = torch.FloatTensor(3, 4)
z = torch.view_as_complex(x)
y = x.sum().item()
'''


def test_scanner_resolves_aliases_and_finds_gaps(tmp_path):
    probe = subprocess.run(["/usr/bin/python3", "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("the scanner takes torch's Tensor method list from an interpreter with torch")
    (tmp_path / "prog.py").write_text(PROGRAM)
    (tmp_path / "broken.py").write_text("def (:\n")  # a file that does not parse is passed over
    out = subprocess.run([sys.executable, str(ROOT / "tools" / "torch_api_scan.py"), "--top", "50", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    report = out.stdout
    assert report.startswith("1 files;")
    assert "torch.nn.Bilinear  (name)" in report      # nn.Bilinear through `import torch.nn as nn`
    assert "torch.view_as_complex  (name)" in report
    assert "torch.nn.Linear" not in report            # lamina has these: not listed as missing
    assert "torch.nn.functional.relu" not in report
    assert "torch.save" not in report and "torch.optim.SGD" not in report
    assert "Tensor.view" not in report and "Tensor.item" not in report
