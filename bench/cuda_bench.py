"""GPU benchmarks, lamina beside PyTorch on the same device in one process (issue 7, item 8):
GEMM (f32, TF32, bf16) vs torch.matmul; elementwise / softmax / layer norm GB/s vs torch and vs the
device-to-device copy bandwidth; training steps of an MLP, a CNN and a char transformer vs PyTorch
eager. Each figure is the median of repeats timed with CUDA events after warm-up.

    python3 bench/cuda_bench.py [--json out.json] [--device cuda] [--quick]

`--device cpu --quick` runs the same code on the CPU (a check of the script where no GPU is);
without torch importable, only lamina's figures are printed.
"""
import argparse
import json
import statistics
import sys
import time

import lamina

try:
    import torch
except ImportError:  # the script still checks lamina's side
    torch = None


def timer(lib, device):
    """Returns run(fn, repeats) -> median milliseconds, using the library's CUDA events on a GPU."""
    def run(fn, repeats=20, warmup=3):
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            if device == "cuda":
                start, end = lib.cuda.Event(enable_timing=True), lib.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(times)
    return run


def row(rows, name, unit, ours, theirs, higher_is_better=True):
    ratio = None
    if theirs:
        ratio = ours / theirs if higher_is_better else theirs / ours
    rows.append({"benchmark": name, "unit": unit, "lamina": ours, "torch": theirs, "ratio": ratio})
    shown = f"{ratio:.2f}x" if ratio is not None else "-"
    print(f"{name:<34} {unit:>8} {ours:>10.3g} {theirs if theirs else float('nan'):>10.3g} {shown:>7}", flush=True)


def gemm(rows, device, sizes):
    lt = timer(lamina, device)
    tt = timer(torch, device) if torch else None
    for dtype_name, tf32 in [("float32", False), ("float32", True), ("bfloat16", False)]:
        for n in sizes:
            label = f"matmul {n}^3 {dtype_name}{' tf32' if tf32 else ''}"
            flop = 2 * n ** 3
            if hasattr(lamina, "backends"):
                lamina.backends.cuda.matmul.allow_tf32 = tf32
            a = lamina.randn(n, n, device=device).to(getattr(lamina, dtype_name))
            b = lamina.randn(n, n, device=device).to(getattr(lamina, dtype_name))
            ours = flop / lt(lambda: lamina.matmul(a, b)) / 1e9
            theirs = None
            if tt:
                torch.backends.cuda.matmul.allow_tf32 = tf32
                ta = torch.randn(n, n, device=device, dtype=getattr(torch, dtype_name))
                tb = torch.randn(n, n, device=device, dtype=getattr(torch, dtype_name))
                theirs = flop / tt(lambda: torch.matmul(ta, tb)) / 1e9
            row(rows, label, "TFLOP/s", ours, theirs)


def bandwidth(rows, device, numel):
    lt = timer(lamina, device)
    tt = timer(torch, device) if torch else None
    x = lamina.randn(numel, device=device)
    y = lamina.randn(numel, device=device)
    mat = lamina.randn(numel // 4096, 4096, device=device)
    ln = lamina.nn.LayerNorm(4096).to(device)
    cases = [("copy (clone)", lambda: x.clone(), 2), ("add", lambda: x + y, 3), ("exp", lambda: lamina.exp(x), 2),
             ("gelu", lambda: lamina.nn.functional.gelu(x), 2),
             ("softmax rows of 4096", lambda: lamina.softmax(mat, -1), 2), ("layer_norm 4096", lambda: ln(mat), 2)]
    tcases = {}
    if tt:
        tx, ty = torch.randn(numel, device=device), torch.randn(numel, device=device)
        tmat = torch.randn(numel // 4096, 4096, device=device)
        tln = torch.nn.LayerNorm(4096).to(device)
        tcases = {"copy (clone)": lambda: tx.clone(), "add": lambda: tx + ty, "exp": lambda: torch.exp(tx),
                  "gelu": lambda: torch.nn.functional.gelu(tx), "softmax rows of 4096": lambda: torch.softmax(tmat, -1),
                  "layer_norm 4096": lambda: tln(tmat)}
    with lamina.no_grad():
        copy_gbs = None
        for name, fn, passes in cases:
            gbs = passes * numel * 4 / lt(fn) / 1e6
            copy_gbs = copy_gbs or gbs
            theirs = passes * numel * 4 / tt(tcases[name]) / 1e6 if tt else None
            row(rows, f"{name} {numel >> 20}M f32", "GB/s", gbs, theirs)
            rows[-1]["vs_copy"] = gbs / copy_gbs


def training(rows, device, steps):
    """Milliseconds per optimizer step (forward, backward, AdamW) for the same models in both."""
    def mlp(lib):
        return lib.nn.Sequential(lib.nn.Linear(784, 1024), lib.nn.ReLU(), lib.nn.Linear(1024, 1024), lib.nn.ReLU(),
                                 lib.nn.Linear(1024, 10))

    def cnn(lib):
        return lib.nn.Sequential(lib.nn.Conv2d(1, 32, 3, padding=1), lib.nn.BatchNorm2d(32), lib.nn.ReLU(),
                                 lib.nn.MaxPool2d(2), lib.nn.Conv2d(32, 64, 3, padding=1), lib.nn.BatchNorm2d(64),
                                 lib.nn.ReLU(), lib.nn.MaxPool2d(2), lib.nn.Flatten(), lib.nn.Linear(64 * 7 * 7, 128),
                                 lib.nn.ReLU(), lib.nn.Linear(128, 10))

    def transformer(lib):
        class Block(lib.nn.Module):  # pre-norm attention + GELU MLP, the char_gpt block
            def __init__(self, d, heads):
                super().__init__()
                self.ln1, self.ln2 = lib.nn.LayerNorm(d), lib.nn.LayerNorm(d)
                self.attn = lib.nn.MultiheadAttention(d, heads, batch_first=True)
                self.ff = lib.nn.Sequential(lib.nn.Linear(d, 4 * d), lib.nn.GELU(), lib.nn.Linear(4 * d, d))

            def forward(self, x):
                h = self.ln1(x)
                x = x + self.attn(h, h, h, need_weights=False)[0]
                return x + self.ff(self.ln2(x))
        return lib.nn.Sequential(*[Block(256, 8) for _ in range(4)], lib.nn.Linear(256, 96))

    cases = [("MLP 784-1024-1024-10, batch 512", mlp, (512, 784), 10),
             ("CNN Fashion-MNIST, batch 256", cnn, (256, 1, 28, 28), 10),
             ("char transformer 4x256, 64x128", transformer, (64, 128, 256), 96)]
    for name, build, shape, classes in cases:
        figures = []
        for lib in [lamina] + ([torch] if torch else []):
            t = timer(lib, device)
            lib.manual_seed(0)
            model = build(lib).to(device)
            opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
            x = lib.randn(*shape, device=device)
            target = lib.randint(0, classes, shape[:-1] if len(shape) == 3 else shape[:1], device=device)

            def step():
                opt.zero_grad()
                out = model(x)
                loss = lib.nn.functional.cross_entropy(out.reshape(-1, classes), target.reshape(-1))
                loss.backward()
                opt.step()
            figures.append(t(step, repeats=steps))
        row(rows, f"train step: {name}", "ms", figures[0], figures[1] if len(figures) > 1 else None,
            higher_is_better=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="small sizes (a check of the script)")
    args = parser.parse_args()
    device = args.device
    info = {"date": time.strftime("%Y-%m-%d"), "device": device,
            "lamina": lamina.__version__ if hasattr(lamina, "__version__") else "",
            "torch": torch.__version__ if torch else None}
    if device == "cuda":
        info["gpu"] = lamina.cuda.get_device_name()
    print(json.dumps(info), flush=True)
    rows = []
    gemm(rows, device, [256] if args.quick else [1024, 4096, 8192])
    bandwidth(rows, device, 1 << 16 if args.quick else 1 << 26)
    training(rows, device, 2 if args.quick else 20)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"info": info, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
