"""DLPack with PyTorch and parity with PyTorch's semantics, run under Debian's python3-torch
(/usr/bin/python3) in its own process with only the lamina package added to its path."""
import os
import pathlib
import subprocess
import textwrap

import lamina

TORCH_PY = "/usr/bin/python3"

SCRIPT = textwrap.dedent(r'''
    import torch, lamina

    # zero-copy both ways
    t = torch.arange(6.0).reshape(2, 3)
    l = lamina.from_dlpack(t)
    t[0, 0] = 42.0
    assert l[0, 0].item() == 42.0
    back = torch.from_dlpack(l.T)
    assert back.stride() == (1, 3) and back.tolist() == t.T.tolist()
    l[1, 2] = -1.0
    assert t[1, 2].item() == -1.0
    for dt in (lamina.int64, lamina.int32, lamina.uint8, lamina.int8, lamina.float64, lamina.float16, lamina.bfloat16):
        x = lamina.arange(5).to(dt)
        assert torch.from_dlpack(x).float().tolist() == [0.0, 1.0, 2.0, 3.0, 4.0], dt

    # type promotion matches torch
    pairs = [("int8", "int32"), ("int32", "float16"), ("float16", "bfloat16"), ("bool", "uint8"), ("int64", "float64")]
    for a, b in pairs:
        ta, tb = torch.ones(2, dtype=getattr(torch, a)), torch.ones(2, dtype=getattr(torch, b))
        la, lb = lamina.ones(2, dtype=getattr(lamina, a)), lamina.ones(2, dtype=getattr(lamina, b))
        assert str((ta + tb).dtype).split(".")[1] == str((la + lb).dtype).split(".")[1], (a, b)
    for scalar in (2, 2.5, True):
        for a in ("int8", "float16", "bool", "int64"):
            if a == "bool" and scalar is True:
                continue
            ta, la = torch.ones(2, dtype=getattr(torch, a)), lamina.ones(2, dtype=getattr(lamina, a))
            assert str((ta * scalar).dtype).split(".")[1] == str((la * scalar).dtype).split(".")[1], (a, scalar)

    # printing matches torch, name aside
    torch.manual_seed(0)
    samples = [torch.arange(6.0).reshape(2, 3) / 7, torch.tensor([1e-5, 1e5]), torch.arange(2000),
               torch.tensor([[True, False]]), torch.tensor(3.25), torch.zeros(0, 3), torch.tensor([1, 2], dtype=torch.int32),
               torch.randn(40, 40), torch.tensor([float("nan"), float("inf"), 1.0]), torch.arange(24.0).reshape(2, 3, 4),
               torch.tensor([1.5], dtype=torch.float16), torch.tensor([100000.0, 2.0])]
    for s in samples:
        mine = repr(lamina.from_dlpack(s) if s.dtype != torch.bool else lamina.tensor(s.tolist()))
        assert mine == repr(s).replace("torch.", "lamina."), (mine, repr(s))

    # a few ops against torch on the same data
    x = torch.randn(5, 7, dtype=torch.float64)
    lx = lamina.from_dlpack(x)
    checks = [(x.softmax(1), lx.softmax(1)), (x.logsumexp(0), lamina.logsumexp(lx, 0)), (x.var(1), lx.var(1)),
              (x @ x.T, lx @ lx.T), (x.sort(0).values, lx.sort(0).values), (x[x > 0], lx[lx > 0]),
              (torch.nn.functional.pad(x, (1, 2), mode="reflect"), lamina.pad(lx, (1, 2), mode="reflect")),
              (x.cumsum(1), lx.cumsum(1)), (torch.einsum("ij,kj->ik", x, x), lamina.einsum("ij,kj->ik", lx, lx))]
    for ref, got in checks:
        assert torch.allclose(ref, torch.from_dlpack(got.contiguous())), (ref, got)
    print("torch interop ok")
''')


def test_dlpack_and_semantics_against_pytorch(tmp_path):
    (tmp_path / "lamina").symlink_to(pathlib.Path(lamina.__file__).parent.absolute(), target_is_directory=True)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), LAMINA_FORCE_CPU="1")
    out = subprocess.run([TORCH_PY, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "torch interop ok" in out.stdout
