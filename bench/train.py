"""Training benchmarks, lamina beside PyTorch: epoch time, final accuracy, peak memory.

Usage:
  PYTHONPATH=$(bash scripts/devpy.sh build/bench-py) .venv/bin/python bench/train.py [--quick]
        [--tasks mlp,cnn,gpt,loader] [--epochs N] [--steps N] [--threads T]

Tasks (the recipes of issue 5, same data in memory, same threads for both libraries):
  mlp     MLP 784-256-128-10, ReLU, Adam lr 1e-3, batch 128, Fashion-MNIST
  cnn     conv32(3x3,pad 1)-ReLU-maxpool2-conv64-ReLU-maxpool2-fc128-ReLU-fc10, Adam lr 1e-3, bs 128
  gpt     character transformer: 4 layers, 4 heads, width 128, context 128, batch 32, AdamW;
          median step time over --steps steps (after 2 warm-up steps)
  loader  DataLoader throughput (lamina.utils.data vs torch.utils.data) over the training set as
          a TensorDataset, batch 128, shuffled: samples/s, set beside the MLP's training rate

Every (library, task) runs in its own process, so peak resident memory (VmHWM) is that run's
own, and no two thread pools contend for the 2 cores. PyTorch runs under the interpreter that
can import it (this one, else /usr/bin/python3: Debian's python3-torch). Both libraries run
the same model code below: lamina keeps PyTorch's names, so `T` is either module.

Epoch time is the median over epochs of the wall time of one pass over the 60 000 training
images (model step only: batches are gathered by index from tensors already in memory, the
same way for both). Accuracy is on the 10 000 test images after the last epoch. The output is
a markdown table for bench/RESULTS.md; ratios are lamina's time / PyTorch's (below 1.0 is
faster).
"""
import argparse
import datetime
import gzip
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist"


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def read_idx(name):
    with gzip.open(os.path.join(FASHION, name)) as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_arrays(limit):
    x = (read_idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255.0 - 0.2860) / 0.3530
    y = read_idx("train-labels-idx1-ubyte.gz").astype(np.int64)
    xt = (read_idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0 - 0.2860) / 0.3530
    yt = read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    if limit:
        x, y = x[:limit], y[:limit]
    return x[:, None], y, xt[:, None], yt


def make_model(T, kind):
    nn = T.nn
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def run_classifier(T, kind, args):
    x, y, xt, yt = fashion_arrays(args.limit)
    x, y, xt, yt = (T.from_numpy(np.ascontiguousarray(a)) for a in (x, y, xt, yt))
    T.manual_seed(0)
    model = make_model(T, kind)
    opt = T.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = T.nn.functional.cross_entropy
    n, bs = x.shape[0], 128
    times, losses = [], []
    for _ in range(args.epochs):
        model.train()
        order = T.randperm(n)
        start = time.perf_counter()
        for b in range(0, n, bs):
            idx = order[b:b + bs]
            xb, yb = x[idx], y[idx]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
        losses.append(float(loss.item()))
    model.eval()
    correct = 0
    with T.no_grad():
        for b in range(0, xt.shape[0], 1000):
            correct += int((model(xt[b:b + 1000]).argmax(1) == yt[b:b + 1000]).sum().item())
    return {"epoch_s": statistics.median(times), "epoch_times": times, "acc": correct / xt.shape[0],
            "last_loss": losses[-1]}


class Block:
    """Pre-LayerNorm transformer block with causal self-attention (built the same in both)."""

    def __init__(self, T, width, heads):
        nn = T.nn
        self.T, self.heads = T, heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)
        self.modules = [self.ln1, self.ln2, self.qkv, self.proj, self.fc, self.out]

    def __call__(self, x, mask):
        T, F = self.T, self.T.nn.functional
        b, t, c = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q = q.reshape(b, t, h, c // h).transpose(1, 2)
        k = k.reshape(b, t, h, c // h).transpose(1, 2)
        v = v.reshape(b, t, h, c // h).transpose(1, 2)
        att = T.matmul(q, k.transpose(-2, -1)) * (1.0 / (c // h) ** 0.5)
        att = F.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = T.matmul(att, v).transpose(1, 2).reshape(b, t, c)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


def run_gpt(T, args):
    nn = T.nn
    vocab, width, heads, layers, ctx, batch = 96, 128, 4, 4, 128, 32
    T.manual_seed(0)
    tok, pos = nn.Embedding(vocab, width), nn.Embedding(ctx, width)
    blocks = [Block(T, width, heads) for _ in range(layers)]
    ln, head = nn.LayerNorm(width), nn.Linear(width, vocab)
    params = list(tok.parameters()) + list(pos.parameters()) + list(ln.parameters()) + list(head.parameters())
    for blk in blocks:
        for m in blk.modules:
            params += list(m.parameters())
    opt = T.optim.AdamW(params, lr=3e-4)
    rng = np.random.default_rng(0)
    text = rng.integers(0, vocab, size=200_000)
    mask = T.from_numpy(np.triu(np.ones((ctx, ctx), dtype=bool), 1))
    positions = T.from_numpy(np.arange(ctx, dtype=np.int64))
    times = []
    for step in range(args.steps + 2):
        starts = rng.integers(0, len(text) - ctx - 1, size=batch)
        xb = T.from_numpy(np.stack([text[s:s + ctx] for s in starts]).astype(np.int64))
        yb = T.from_numpy(np.stack([text[s + 1:s + ctx + 1] for s in starts]).astype(np.int64))
        start = time.perf_counter()
        x = tok(xb) + pos(positions)
        for blk in blocks:
            x = blk(x, mask)
        logits = head(ln(x))
        loss = nn.functional.cross_entropy(logits.reshape(batch * ctx, vocab), yb.reshape(batch * ctx))
        opt.zero_grad()
        loss.backward()
        opt.step()
        float(loss.item())
        if step >= 2:
            times.append(time.perf_counter() - start)
    return {"step_s": statistics.median(times), "step_times": times, "last_loss": float(loss.item())}


def run_loader(T, lib, args):
    x, y, _, _ = fashion_arrays(args.limit)
    x, y = T.from_numpy(np.ascontiguousarray(x)), T.from_numpy(y)
    if lib == "lamina":
        from lamina.utils.data import DataLoader, TensorDataset
    else:
        from torch.utils.data import DataLoader, TensorDataset
    out = {}
    for workers in (0, 2):
        loader = DataLoader(TensorDataset(x, y), batch_size=128, shuffle=True, num_workers=workers)
        rates = []
        for _ in range(3):
            start, seen = time.perf_counter(), 0
            for xb, _yb in loader:
                seen += xb.shape[0]
            rates.append(seen / (time.perf_counter() - start))
        out[f"samples_per_s_w{workers}"] = statistics.median(rates)
    return out


def child(lib, task, args):
    if lib == "lamina":
        import lamina as T
        T.set_num_threads(args.threads)
    else:
        import torch as T
        T.set_num_threads(args.threads)
    if task in ("mlp", "cnn"):
        res = run_classifier(T, task, args)
    elif task == "gpt":
        res = run_gpt(T, args)
    else:
        res = run_loader(T, lib, args)
    res["peak_rss_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(res))


def torch_python():
    try:
        import torch  # noqa: F401
        return sys.executable
    except ImportError:
        return "/usr/bin/python3"


def spawn(lib, task, args):
    py = sys.executable if lib == "lamina" else torch_python()
    cmd = [py, os.path.abspath(__file__), "--child", lib, "--task", task, "--epochs", str(args.epochs),
           "--steps", str(args.steps), "--threads", str(args.threads), "--limit", str(args.limit)]
    env = dict(os.environ, LAMINA_FORCE_CPU="1", OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{lib} {task} failed:\n{proc.stdout}\n{proc.stderr}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default="mlp,cnn,gpt,loader")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--limit", type=int, default=0, help="first N training images only (smoke runs)")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 epoch on 2048 images, 3 steps")
    p.add_argument("--child", choices=["lamina", "torch"])
    p.add_argument("--task")
    args = p.parse_args()
    if args.quick:
        args.epochs, args.steps, args.limit = 1, 3, 2048
    if args.child:
        child(args.child, args.task, args)
        return
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores; threads {args.threads}; load average at start "
          f"{load}; {datetime.datetime.now().isoformat(timespec='minutes')}")
    print(f"Command: {' '.join(shlex.quote(a) for a in sys.argv)}\n")
    print("| task | figure | lamina | torch | lamina/torch | lamina peak RSS | torch peak RSS | "
          "lamina acc / loss | torch acc / loss |")
    print("|---|---|---|---|---|---|---|---|---|")
    mlp_rate = None
    for task in args.tasks.split(","):
        lam, tor = spawn("lamina", task, args), spawn("torch", task, args)
        if task in ("mlp", "cnn"):
            n = args.limit or 60000
            if task == "mlp":
                mlp_rate = n / lam["epoch_s"]
            print(f"| {task} | s/epoch | {lam['epoch_s']:.2f} | {tor['epoch_s']:.2f} | "
                  f"{lam['epoch_s'] / tor['epoch_s']:.2f}x | {lam['peak_rss_mb']:.0f} MB | "
                  f"{tor['peak_rss_mb']:.0f} MB | {lam['acc']:.4f} | {tor['acc']:.4f} |")
        elif task == "gpt":
            print(f"| gpt | ms/step | {lam['step_s'] * 1e3:.0f} | {tor['step_s'] * 1e3:.0f} | "
                  f"{lam['step_s'] / tor['step_s']:.2f}x | {lam['peak_rss_mb']:.0f} MB | "
                  f"{tor['peak_rss_mb']:.0f} MB | {lam['last_loss']:.3f} | {tor['last_loss']:.3f} |")
        else:
            for w in (0, 2):
                key = f"samples_per_s_w{w}"
                note = f" ({lam[key] / mlp_rate:.0f}x the MLP's training rate)" if mlp_rate else ""
                print(f"| loader, {w} workers | samples/s | {lam[key]:,.0f}{note} | {tor[key]:,.0f} | "
                      f"{tor[key] / lam[key]:.2f}x | | | | |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
