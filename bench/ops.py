"""Side-by-side op benchmarks: lamina | NumPy | PyTorch 2.x and 1.13, as ratios ("times as good").

Usage:
  PYTHONPATH=$(bash scripts/devpy.sh build/bench-py) .venv/bin/python bench/ops.py [--quick] [--rows SUBSTR[,SUBSTR...]]

  --quick        smaller sizes and fewer repeats (a smoke run, not figures to record)
  --rows S       only rows whose name contains S (case-insensitive; comma-separated alternatives)
  --rounds K     run every library K times, interleaved, keeping the best figure per row
                 (default 1; use 2-3 to record figures on the shared, noisy machine)
  --no-torch     skip the PyTorch columns

Every library runs in its own process (`--child LIB`), so no two thread pools (lamina's runtime,
NumPy's bundled OpenBLAS, PyTorch's OpenMP + OpenBLAS) spin against each other on the cores.
PyTorch runs twice: the current release from PyPI (the venv `bash bench/setup_torch_pypi.sh`
makes, or $LAMINA_TORCH_PYTHON) and Debian's python3-torch 1.13 under /usr/bin/python3, whichever
are present; the last column is the ratio to the faster of the two. Each is measured at its best configuration (SPEC §10): with
OMP_WAIT_POLICY=PASSIVE and with OPENBLAS_NUM_THREADS=1, each at PyTorch's default thread count
(1 here) and at torch.set_num_threads(cores), keeping the best figure per row.

Each figure is the median over repeats of a timed loop (timeit, no lambda in the loop) whose
length is calibrated so one repeat lasts ~50 ms (~10 ms with --quick). Ratios are "times as
good": throughput ratio for GB/s and GFLOP/s rows, inverted time ratio for ms and us rows, so
above 1.0 lamina is better. The output (machine line, date, command, one markdown table) pastes
straight into bench/RESULTS.md.
"""
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import timeit

os.environ.setdefault("LAMINA_FORCE_CPU", "1")

LOWER_IS_BETTER = {"us", "ms"}
SCALE = {"us": 1e6, "ms": 1e3}


def rows(quick):
    """The table: (key, label, unit, work). work converts seconds to the unit's figure (None: time)."""
    n = 1 << (22 if quick else 24)
    nlabel = "4M" if quick else "16M"
    gemm = (128, 256, 512) if quick else (256, 512, 1024, 2048)
    tk = 512 if quick else 1024
    bb, bk = (16, 128) if quick else (64, 128)
    sk = 1024 if quick else 4096
    out = []
    for k in gemm:
        out.append((f"mm{k}", f"matmul {k}^3 f32", "GFLOP/s", 2 * k ** 3 / 1e9))
    out.append(("mmT", f"matmul {tk}^3, a @ b.T (view)", "GFLOP/s", 2 * tk ** 3 / 1e9))
    out.append(("bmm", f"matmul batched {bb}x{bk}x{bk}", "GFLOP/s", 2 * bb * bk ** 3 / 1e9))
    for key, nbytes in (("add", 12), ("mul", 12), ("exp", 8), ("tanh", 8), ("sum", 4), ("max", 4)):
        out.append((key, f"{key} {nlabel} f32", "GB/s", nbytes * n / 1e9))
    out.append(("softmax", f"softmax {sk}x{sk} f32, dim -1", "ms", None))
    out.append(("add4", "x + y, 4 elements", "us", None))
    out.append(("add4g", "x + y, 4 el., requires_grad", "us", None))
    out.append(("relu4", "relu, 4 elements", "us", None))
    out.append(("mm4", "matmul 4x4", "us", None))
    out.append(("idx1", "t[i], 1-D (0-d result)", "us", None))
    out.append(("idx2", "t[i], 2-D (row view)", "us", None))
    cb = 2 if quick else 8
    for key, label in (("c33f", f"conv 3x3 64->64 56^2 b{cb} fwd"), ("c33", f"conv 3x3 64->64 56^2 b{cb} f+b"),
                       ("c33s2", f"conv 3x3/2 64->128 56^2 b{cb} f+b"), ("c11d", f"conv 1x1 256->64 56^2 b{cb} f+b"),
                       ("c11u", f"conv 1x1 64->256 56^2 b{cb} f+b"), ("ccnn", "conv 3x3 32->64 14^2 b128 +bias f+b")):
        out.append((key, label, "ms", None))
    return out, dict(n=n, gemm=gemm, tk=tk, bb=bb, bk=bk, sk=sk, cb=cb)


# The convolution rows (ResNet-style layers without bias, then the training CNN's second layer):
# key -> (batch, in channels, out channels, size, kernel, stride, bias). NumPy has no convolution.
CONV_ROWS = {"c33f": (None, 64, 64, 56, 3, 1, False), "c33": (None, 64, 64, 56, 3, 1, False),
             "c33s2": (None, 64, 128, 56, 3, 2, False), "c11d": (None, 256, 64, 56, 1, 1, False),
             "c11u": (None, 64, 256, 56, 1, 1, False), "ccnn": (128, 32, 64, 14, 3, 1, True)}


def conv_step(L, x, w, b, stride, padding, g):
    """One training step's convolution: forward, then input and weight (and bias) gradients."""
    x.grad = None
    w.grad = None
    if b is not None:
        b.grad = None
    L.nn.functional.conv2d(x, w, b, stride, padding).backward(g)


def softmax_numpy(x):
    """Numerically stable softmax along the last dim, the way a NumPy user writes it."""
    import numpy as np
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def setup(lib, sizes):
    """Namespace for the timed statements and {row key: statement} for one library."""
    n, sk = sizes["n"], sizes["sk"]
    if lib == "numpy":
        import numpy as L
        rng = L.random.default_rng(0)
        rand = lambda *s: rng.random(s, dtype=L.float32)  # noqa: E731
        ones = lambda *s: L.ones(s, L.float32)  # noqa: E731
        version = L.__version__
    elif lib == "lamina":
        import lamina as L
        L.manual_seed(0)
        rand, ones = L.rand, L.ones
        version = getattr(L, "__version__", "?")
    elif lib == "torch":
        import torch as L
        if os.environ.get("LAMINA_BENCH_TORCH_THREADS"):
            L.set_num_threads(int(os.environ["LAMINA_BENCH_TORCH_THREADS"]))
        L.manual_seed(0)
        rand, ones = L.rand, L.ones
        version = L.__version__
    else:
        raise SystemExit(f"unknown library {lib}")
    ns = {"L": L, "softmax_numpy": softmax_numpy}
    ns["x"], ns["y"] = rand(n), rand(n)
    ns["sm"] = rand(sk, sk)
    ns["s4"], ns["t4"] = ones(4), ones(4)
    # With autograd recording (NumPy has none: its column repeats the plain add).
    ns["g4"], ns["h4"] = (ns["s4"], ns["t4"]) if lib == "numpy" else (ones(4).requires_grad_(), ones(4).requires_grad_())
    ns["m4"] = rand(4, 4)
    ns["v1"], ns["m2"] = rand(1000), rand(64, 64)
    for k in sizes["gemm"]:
        ns[f"a{k}"] = rand(k, k)
    ns["ta"], ns["tb"] = rand(sizes["tk"], sizes["tk"]), rand(sizes["tk"], sizes["tk"])
    ns["bp"], ns["bq"] = rand(sizes["bb"], sizes["bk"], sizes["bk"]), rand(sizes["bb"], sizes["bk"], sizes["bk"])
    stmts = {f"mm{k}": f"a{k} @ a{k}" for k in sizes["gemm"]}
    if lib != "numpy":
        ns["conv_step"] = conv_step
        for key, (batch, cin, cout, size, k, stride, bias) in CONV_ROWS.items():
            batch = batch or sizes["cb"]
            osize = (size + 2 * (k // 2) - k) // stride + 1
            ns[key + "x"] = rand(batch, cin, size, size).requires_grad_()
            ns[key + "w"] = (rand(cout, cin, k, k) - 0.5).requires_grad_()
            ns[key + "b"] = rand(cout).requires_grad_() if bias else None
            ns[key + "g"] = rand(batch, cout, osize, osize)
            if key.endswith("f"):
                stmts[key] = f"L.nn.functional.conv2d({key}x, {key}w, {key}b, {stride}, {k // 2})"
            else:
                stmts[key] = f"conv_step(L, {key}x, {key}w, {key}b, {stride}, {k // 2}, {key}g)"
    stmts.update({
        "mmT": "ta @ tb.T",
        "bmm": "bp @ bq",
        "add": "x + y",
        "mul": "x * y",
        "exp": "L.exp(x)",
        "tanh": "L.tanh(x)",
        "sum": "L.sum(x)",
        "max": "L.amax(x)",
        "softmax": "softmax_numpy(sm)" if lib == "numpy" else "L.softmax(sm, dim=-1)",
        "add4": "s4 + t4",
        "add4g": "g4 + h4",
        "relu4": "L.maximum(s4, 0)" if lib == "numpy" else "L.relu(s4)",
        "mm4": "m4 @ m4",
        "idx1": "v1[3]",
        "idx2": "m2[3]",
    })
    return ns, stmts, version


def measure(timer, quick, small):
    """Median seconds per call: calibrated inner loop, median over repeats."""
    timer.timeit(1)  # warm-up: first-touch of outputs, BLAS / thread pool start-up
    one = min(timer.timeit(1) for _ in range(2))
    target = 0.01 if quick else 0.05
    inner = max(1, math.ceil(target / max(one, 1e-9)))
    repeats = (7 if quick else 21) if small else (3 if quick else 7)
    samples = sorted(timer.timeit(inner) / inner for _ in range(repeats))
    return samples[len(samples) // 2]


def run_child(lib, quick, wanted):
    table, sizes = rows(quick)
    ns, stmts, version = setup(lib, sizes)
    results = {}
    for key, _label, unit, work in table:
        if key not in wanted or key not in stmts:  # (NumPy's missing rows print as n/a)
            continue
        try:
            t = measure(timeit.Timer(stmts[key], globals=ns), quick, unit == "us")
        except Exception as e:  # a missing op is reported, never faked
            results[key] = {"error": f"{type(e).__name__}: {e}".splitlines()[0][:120]}
            continue
        results[key] = {"value": t * SCALE[unit] if work is None else work / t}
    info = {"version": version, "python": platform.python_version()}
    if lib == "lamina":
        import lamina
        d = lamina.devices()
        info["simd_target"] = d["cpu"].get("simd_target")
        info["blas"] = d.get("build", {}).get("blas")
        info["threads"] = lamina.get_num_threads()
    if lib == "torch":
        import numpy
        import torch
        info["threads"] = torch.get_num_threads()
        info["numpy"] = numpy.__version__
    return {"results": results, "info": info}


# PyTorch's best configuration, row by row (SPEC section 10). Debian's PyTorch 1.13 starts with
# at::get_num_threads() == 1 on this machine, so the runs with torch.set_num_threads(cores) are
# tried as well; that only ever makes the PyTorch column better.
TORCH_CONFIGS = (
    {"OMP_WAIT_POLICY": "PASSIVE"},
    {"OPENBLAS_NUM_THREADS": "1"},
    {"OMP_WAIT_POLICY": "PASSIVE", "LAMINA_BENCH_TORCH_THREADS": str(os.cpu_count())},
    {"OPENBLAS_NUM_THREADS": "1", "LAMINA_BENCH_TORCH_THREADS": str(os.cpu_count())},
)


def torch_pythons():
    """[(label, interpreter)] for the PyTorch builds present: the current release from PyPI (the
    venv of bench/setup_torch_pypi.sh, or $LAMINA_TORCH_PYTHON) and Debian's 1.13 (/usr/bin/python3)."""
    found = []
    pypi = os.environ.get("LAMINA_TORCH_PYTHON") or os.path.expanduser("~/.cache/lamina/torch-pypi/bin/python")
    for python in (pypi, "/usr/bin/python3"):
        if not os.path.exists(python) or any(python == p for _, p in found):
            continue
        out = subprocess.run([python, "-c", "import torch; print(torch.__version__.split('+')[0])"],
                             capture_output=True, text=True)
        if out.returncode == 0:
            found.append((f"torch {out.stdout.strip()}", python))
    return found


def child(python, lib, args, extra_env=None):
    cmd = [python, os.path.abspath(__file__), "--child", lib] + args
    env = dict(os.environ, **(extra_env or {}))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.stderr.write(f"[{lib}] child failed:\n{proc.stderr}\n")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def combine(runs, table, wanted):
    """Best figure per row over several runs of one library (noise only ever slows a run down)."""
    runs = [r for r in runs if r]
    if not runs:
        return None
    out = {}
    for key, unit in ((k, u) for k, _l, u, _w in table if k in wanted):
        vals = [r["results"][key]["value"] for r in runs if "value" in r["results"].get(key, {})]
        if vals:
            out[key] = {"value": min(vals) if unit in LOWER_IS_BETTER else max(vals)}
        else:
            out[key] = runs[0]["results"].get(key, {})
    return {"results": out, "info": runs[0]["info"], "threads": sorted({r["info"].get("threads") for r in runs})}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def fmt(v):
    return "n/a" if v is None else f"{v:.3g}"


def main():
    argv = sys.argv[1:]
    quick = "--quick" in argv
    filt = None
    if "--rows" in argv:
        filt = [s.strip().lower() for s in argv[argv.index("--rows") + 1].split(",") if s.strip()]
    table, _ = rows(quick)
    wanted = [k for k, label, _u, _w in table if filt is None or any(s in label.lower() for s in filt)]
    if "--child" in argv:
        keys = argv[argv.index("--keys") + 1].split(",") if "--keys" in argv else wanted
        print(json.dumps(run_child(argv[argv.index("--child") + 1], quick, set(keys))))
        return
    if not wanted:
        raise SystemExit(f"no row matches {filt}; rows: " + ", ".join(label for _k, label, _u, _w in table))
    cargs = (["--quick"] if quick else []) + ["--keys", ",".join(wanted)]
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 1
    torches = [] if "--no-torch" in argv else torch_pythons()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    # Rounds interleave the libraries, so a burst of load on the shared machine hits all of them.
    runs = {"lamina": [], "numpy": [], **{label: [] for label, _ in torches}}
    for _ in range(rounds):
        for lib in ("lamina", "numpy"):
            runs[lib].append(child(sys.executable, lib, cargs))
        for label, tpy in torches:
            runs[label] += [child(tpy, "torch", cargs, e) for e in TORCH_CONFIGS]
    libs = {lib: combine(rs, table, wanted) for lib, rs in runs.items()}
    if libs["lamina"] is None:
        raise SystemExit("lamina failed to run (is PYTHONPATH set to the devpy.sh package?)")
    torch_labels = [label for label, _ in torches if libs[label] is not None]
    for label, _ in torches:
        if libs[label] is None:
            del libs[label]

    li, ni = libs["lamina"]["info"], (libs["numpy"] or {"info": {}})["info"]
    machine = (f"Machine: {cpu_model()}, {os.cpu_count()} cores; lamina {li.get('version')} "
               f"(SIMD target {li.get('simd_target')}, {li.get('threads')} threads, {li.get('blas')}); "
               f"Python {li.get('python')}, NumPy {ni.get('version')}")
    for label, tpy in torches:
        if label not in libs:
            continue
        ti = libs[label]["info"]
        threads = "/".join(str(t) for t in libs[label]["threads"])
        machine += (f"; PyTorch {ti.get('version')} ({tpy}, Python {ti.get('python')}, NumPy {ti.get('numpy')}), "
                    f"best per row of OMP_WAIT_POLICY=PASSIVE / OPENBLAS_NUM_THREADS=1, each at {threads} torch threads")
    if not torch_labels:
        machine += "; PyTorch not available"
    machine += f". Load average at start: {load:.2f}"
    print(f"Date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}")
    print(machine)
    print("Command: `" + shlex.join(["bench/ops.py"] + argv) + "`" + (" (quick: smoke sizes)" if quick else ""))
    print()

    def value(lib, key):
        r = libs.get(lib)
        return None if r is None else r["results"].get(key, {}).get("value")

    def ratio(lv, ov, unit):
        if lv is None or ov is None or lv == 0 or ov == 0:
            return "n/a"
        return f"{(ov / lv) if unit in LOWER_IS_BETTER else (lv / ov):.2f}x"

    def better(unit, values):
        values = [v for v in values if v is not None]
        if not values:
            return None
        return min(values) if unit in LOWER_IS_BETTER else max(values)

    header = f"| {'op':32} | unit | lamina | numpy | lamina/numpy |" + "".join(f" {t} |" for t in torch_labels) + \
        (" lamina / faster torch |" if torch_labels else "")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    problems = []
    for key, label, unit, _w in table:
        if key not in wanted:
            continue
        lv, nv = value("lamina", key), value("numpy", key)
        row = f"| {label:32} | {unit} | {fmt(lv)} | {fmt(nv)} | {ratio(lv, nv, unit)} |"
        if torch_labels:
            tvs = [value(t, key) for t in torch_labels]
            row += "".join(f" {fmt(tv)} |" for tv in tvs) + f" {ratio(lv, better(unit, tvs), unit)} |"
        print(row)
        for lib in ["lamina", "numpy"] + torch_labels:
            err = (libs.get(lib) or {"results": {}})["results"].get(key, {}).get("error")
            if err:
                problems.append(f"{lib}: {label}: {err}")
    if problems:
        print()
        print("Rows that could not run (not faked):")
        for p in problems:
            print(f"- {p}")


if __name__ == "__main__":
    main()
