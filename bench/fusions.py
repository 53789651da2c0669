"""The training step's fused kernels beside PyTorch, one process per library: batch norm, the
multi-tensor AdamW step, add + layer norm, Linear + GELU, max pooling.

Usage:
  PYTHONPATH=$(bash scripts/devpy.sh build/bench-py) .venv/bin/python bench/fusions.py [--reps N]

lamina runs first, then PyTorch 2.x ($LAMINA_TORCH_PYTHON or the venv bench/setup_torch_pypi.sh
makes) and Debian's 1.13 (/usr/bin/python3), each at 2 threads, each in its own process. Every
figure is the median wall time of N timed calls (default 21) after two warm-up calls. The rows
run the same statements in every library; lamina's fused paths are reached the way a user
reaches them (nn.BatchNorm2d, optimizer.step(), nn.Sequential(Linear, GELU)); add_layer_norm is
a lamina extension, so PyTorch's row is the add and F.layer_norm written out, as is lamina's
"(two ops)" row. The output is a markdown table: ms per call and lamina / faster PyTorch.
"""
import json
import os
import statistics
import subprocess
import sys
import time


def rows(L, reps):
    nn, F = L.nn, L.nn.functional
    L.manual_seed(0)
    out = {}

    def bench(key, fn, n=reps):
        fn()
        fn()
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t)
        out[key] = statistics.median(ts) * 1e3

    for shape in ((8, 64, 56, 56), (128, 32, 28, 28)):
        x, g, bn = L.randn(*shape).requires_grad_(), L.randn(*shape), nn.BatchNorm2d(shape[1])

        def bn_step():
            x.grad = bn.weight.grad = bn.bias.grad = None
            bn(x).backward(g)
        bench(f"BatchNorm2d {shape} f+b", bn_step)
    sizes = ([(65, 128), (128, 128)] + [(384, 128), (384,), (128, 128), (128,), (512, 128), (512,), (128, 512),
                                        (128,), (128,), (128,), (128,), (128,)] * 4 + [(128,), (128,), (65, 128), (65,)])
    params = [L.randn(*s).requires_grad_() for s in sizes]
    for p in params:
        p.grad = L.randn(*p.shape)
    opt = L.optim.AdamW(params, lr=3e-4)
    bench("AdamW.step, char transformer's 826K params", opt.step, 4 * reps)
    if hasattr(L, "__version__") and L.__name__ == "torch" and int(L.__version__.split(".")[0]) >= 2:
        fused = L.optim.AdamW(params, lr=3e-4, fused=True)
        bench("AdamW.step (torch fused=True)", fused.step, 4 * reps)
    x, r = L.randn(32, 128, 128).requires_grad_(), L.randn(32, 128, 128).requires_grad_()
    g, ln = L.randn(32, 128, 128), nn.LayerNorm(128)

    def add_ln_ops():
        x.grad = r.grad = ln.weight.grad = ln.bias.grad = None
        s = x + r
        L.autograd.backward([s, ln(s)], [g, g])
    bench("x + r, layer_norm (32,128,128) f+b (two ops)", add_ln_ops)
    if L.__name__ == "lamina":
        def add_ln_fused():
            x.grad = r.grad = ln.weight.grad = ln.bias.grad = None
            s, y = F.add_layer_norm(x, r, [128], ln.weight, ln.bias)
            L.autograd.backward([s, y], [g, g])
        bench("add_layer_norm (32,128,128) f+b", add_ln_fused)
    seq, xi, gy = nn.Sequential(nn.Linear(128, 512), nn.GELU()), L.randn(4096, 128).requires_grad_(), L.randn(4096, 512)

    def linear_gelu():
        xi.grad = None
        seq.zero_grad()
        seq(xi).backward(gy)
    bench("Sequential(Linear 128->512, GELU) (4096 rows) f+b", linear_gelu)
    with L.no_grad():
        bench("Sequential(Linear 128->512, GELU) fwd", lambda: seq(xi))
    xg = L.randn(4096, 512)
    bench("gelu (4096, 512) fwd", lambda: F.gelu(xg))
    xp, gp = L.randn(128, 32, 28, 28).requires_grad_(), L.randn(128, 32, 14, 14)

    def pool():
        xp.grad = None
        F.max_pool2d(xp, 2).backward(gp)
    bench("max_pool2d 2x2 (128,32,28,28) f+b", pool)
    return out


def child(lib, reps):
    if lib == "lamina":
        import lamina as L
    else:
        import torch as L
        L.set_num_threads(2)
    print(json.dumps({"version": getattr(L, "__version__", "?"), "rows": rows(L, reps)}))


def main():
    argv = sys.argv[1:]
    reps = int(argv[argv.index("--reps") + 1]) if "--reps" in argv else 21
    if "--child" in argv:
        child(argv[argv.index("--child") + 1], reps)
        return
    here = os.path.abspath(__file__)
    torch2 = os.environ.get("LAMINA_TORCH_PYTHON", os.path.expanduser("~/.cache/lamina/torch-pypi/bin/python"))
    runs = [("lamina", sys.executable, "lamina"), ("torch 2.x", torch2, "torch"), ("torch 1.13", "/usr/bin/python3", "torch")]
    results = {}
    env = dict(os.environ, LAMINA_FORCE_CPU="1", OMP_WAIT_POLICY="PASSIVE")
    for name, python, lib in runs:
        if not os.path.exists(python):
            continue
        out = subprocess.run([python, here, "--child", lib, "--reps", str(reps)], capture_output=True, text=True, env=env)
        if out.returncode != 0:
            print(f"{name}: failed: {out.stderr[-400:]}", file=sys.stderr)
            continue
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    names = list(results)
    print(f"Command: `{' '.join(['bench/fusions.py'] + argv)}`, {time.strftime('%Y-%m-%d')}\n")
    print("| row | " + " | ".join(f"{n} {results[n]['version']} ms" for n in names) + " | lamina / faster torch |")
    print("|---" * (len(names) + 2) + "|")
    keys = list(results["lamina"]["rows"]) if "lamina" in results else []
    for n in names:
        keys += [k for k in results[n]["rows"] if k not in keys]
    for k in keys:
        vals = [results[n]["rows"].get(k) for n in names]
        torch_vals = [results[n]["rows"][k] for n in names if n != "lamina" and k in results[n]["rows"]]
        lam = results.get("lamina", {}).get("rows", {}).get(k)
        ratio = f"{lam / min(torch_vals):.2f}" if lam is not None and torch_vals else ""
        cells = " | ".join("" if v is None else f"{v:.3f}" for v in vals)
        print(f"| {k} | {cells} | {ratio} |")


if __name__ == "__main__":
    main()
