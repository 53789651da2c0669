"""Side-by-side op benchmarks: lamina | NumPy | PyTorch (when importable), as ratios.

Usage: .venv/bin/python bench/ops.py [--quick]
Medians over repeats; the machine is shared and noisy. PyTorch runs in its own process
(/usr/bin/python3 with Debian's python3-torch) when it is not importable here.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("LAMINA_FORCE_CPU", "1")


def median_time(fn, repeats, inner):
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    samples.sort()
    return samples[len(samples) // 2]


def cases(lib, quick):
    """(name, unit, work, fn) for one library; work converts seconds to the unit's figure."""
    n = 1 << (22 if quick else 24)
    out = []
    if lib == "numpy":
        x, y = np.random.rand(n).astype(np.float32), np.random.rand(n).astype(np.float32)
        s4, t4 = np.ones(4, np.float32), np.ones(4, np.float32)
        m = {k: np.random.rand(k, k).astype(np.float32) for k in (256, 1024)}
        add = lambda: np.add(x, y)  # noqa: E731
        exp = lambda: np.exp(x)  # noqa: E731
        small = lambda: s4 + t4  # noqa: E731
        mm = {k: (lambda a=a: a @ a) for k, a in m.items()}
    elif lib == "lamina":
        import lamina
        x, y = lamina.rand(n), lamina.rand(n)
        s4, t4 = lamina.ones(4), lamina.ones(4)
        m = {k: lamina.rand(k, k) for k in (256, 1024)}
        add = lambda: x + y  # noqa: E731
        exp = lambda: lamina.exp(x)  # noqa: E731
        small = lambda: s4 + t4  # noqa: E731
        mm = {k: (lambda a=a: a @ a) for k, a in m.items()}
    else:
        import torch
        x, y = torch.rand(n), torch.rand(n)
        s4, t4 = torch.ones(4), torch.ones(4)
        m = {k: torch.rand(k, k) for k in (256, 1024)}
        add = lambda: x + y  # noqa: E731
        exp = lambda: torch.exp(x)  # noqa: E731
        small = lambda: s4 + t4  # noqa: E731
        mm = {k: (lambda a=a: a @ a) for k, a in m.items()}
    out.append(("add 16M f32", "GB/s", 12 * n / 1e9, add, 7, 3))
    out.append(("exp 16M f32", "GB/s", 8 * n / 1e9, exp, 7, 3))
    out.append(("x + y, 4 elements", "us", None, small, 21, 2000))
    for k, f in mm.items():
        out.append((f"matmul {k}^3 f32", "GFLOP/s", 2 * k ** 3 / 1e9, f, 7, 3 if k > 500 else 20))
    return out


def run(lib, quick):
    results = {}
    for name, unit, work, fn, repeats, inner in cases(lib, quick):
        fn()
        t = median_time(fn, repeats, inner)
        results[name] = (unit, t * 1e6 if work is None else work / t)
    return results


def main():
    quick = "--quick" in sys.argv
    if "--child" in sys.argv:
        print(json.dumps(run(sys.argv[sys.argv.index("--child") + 1], quick)))
        return
    libs = {"lamina": run("lamina", quick), "numpy": run("numpy", quick)}
    torch_py = None
    try:
        import torch  # noqa: F401
        torch_py = sys.executable
    except ImportError:
        if os.path.exists("/usr/bin/python3") and subprocess.run(
                ["/usr/bin/python3", "-c", "import torch"], capture_output=True).returncode == 0:
            torch_py = "/usr/bin/python3"
    if torch_py:
        # PyTorch at its best configuration: run it both ways and keep the better figure per row.
        cmd = [torch_py, __file__, "--child", "torch"] + (["--quick"] if quick else [])
        runs = []
        for extra in ({"OMP_WAIT_POLICY": "PASSIVE"}, {"OPENBLAS_NUM_THREADS": "1"}):
            env = dict(os.environ, **extra)
            runs.append(json.loads(subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout))
        best = {}
        for name, (unit, value) in runs[0].items():
            other = runs[1][name][1]
            best[name] = (unit, min(value, other) if unit == "us" else max(value, other))
        libs["torch"] = best
    names = list(libs["lamina"])
    header = f"| {'op':22} | unit | lamina | numpy | lamina/numpy |" + (" torch | lamina/torch |" if "torch" in libs else "")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for n in names:
        unit, lv = libs["lamina"][n]
        nv = libs["numpy"][n][1]
        # Higher is better for throughput units, lower for microseconds: ratios say "times as good".
        ratio = (nv / lv) if unit == "us" else (lv / nv)
        row = f"| {n:22} | {unit} | {lv:.3g} | {nv:.3g} | {ratio:.2f}x |"
        if "torch" in libs:
            tv = libs["torch"][n][1]
            row += f" {tv:.3g} | {((tv / lv) if unit == 'us' else (lv / tv)):.2f}x |"
        print(row)


if __name__ == "__main__":
    main()
