"""Training benchmarks, lamina beside PyTorch 2.x (PyPI) and 1.13 (Debian): epoch / step time,
final accuracy or loss, peak memory.

Usage:
  bash bench/setup_torch_pypi.sh        # once: the current PyTorch from PyPI in its own venv
  PYTHONPATH=$(bash scripts/devpy.sh build/bench-py) .venv/bin/python bench/train.py [--quick]
        [--tasks mlp,cnn,gpt,gpt-sdpa,cnn-bf16,gpt-bf16,lstm,loader] [--epochs N] [--steps N] [--threads T] [--rounds R]

Tasks (the recipes of issue 5, same data in memory, same threads for every library):
  mlp     MLP 784-256-128-10, ReLU, Adam lr 1e-3, batch 128, Fashion-MNIST
  cnn     conv32(3x3,pad 1)-ReLU-maxpool2-conv64-ReLU-maxpool2-fc128-ReLU-fc10, Adam lr 1e-3, bs 128
  gpt     character transformer: 4 layers, 4 heads, width 128, context 128, batch 32, AdamW;
          median step time over --steps steps (after 2 warm-up steps); attention written out
          (q k^T * scale, masked_fill of the causal mask, softmax, @ v), as 1.x-era code does
  gpt-sdpa  the same model with F.scaled_dot_product_attention(q, k, v, is_causal=True), as
          nanoGPT and current code write it (each library's fused attention; PyTorch 1.13 has
          no such function and is left out of this row)
  cnn-bf16, gpt-bf16  the cnn / gpt recipes with the forward and loss under
          autocast(device_type="cpu", dtype=bfloat16): GEMMs and convolutions in bfloat16 with
          float32 accumulation, float32 master weights, the optimizer in float32
  lstm    pytorch/examples' word_language_model at its defaults (its own model.py, vendored in
          tests/programs): 2-layer LSTM, emsize = nhid = 200, dropout 0.2, bptt 35, batch 20,
          WikiText-2's 33 278-word vocabulary (random tokens), its training step (NLLLoss,
          clip_grad_norm_ 0.25, p.data.add_(p.grad, alpha=-lr)); median step time as for gpt
  loader  DataLoader throughput (lamina.utils.data vs torch.utils.data) over the training set as
          a TensorDataset, batch 128, shuffled: samples/s, set beside the MLP's training rate

Every (library, task, round) runs in its own process, so peak resident memory (VmHWM) is that
run's own and no two thread pools contend for the cores. The libraries take turns within each
round (lamina, PyTorch 2.x, PyTorch 1.13, then the next round), so a slow spell of the shared
machine falls on all of them; each figure is the median over --rounds rounds, printed with its
min-max spread. PyTorch 2.x runs under $LAMINA_TORCH_PYTHON or the venv bench/setup_torch_pypi.sh
makes (~/.cache/lamina/torch-pypi), 1.13 under /usr/bin/python3 (Debian's python3-torch); a
missing one is left out. Every library runs the same model code below: lamina keeps PyTorch's
names, so `T` is either module.

Epoch time is the median over epochs of the wall time of one pass over the 60 000 training
images (model step only: batches are gathered by index from tensors already in memory, the
same way for all). Accuracy is on the 10 000 test images after the last epoch. The output is a
markdown table for bench/RESULTS.md; "vs faster torch" is lamina's time / the faster PyTorch's
(below 1.0 is faster).
"""
import argparse
import contextlib
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


def autocast_or_not(T, amp):
    """The region a bf16 row's forward runs in: CPU autocast to bfloat16, or nothing."""
    return T.autocast(device_type="cpu", dtype=T.bfloat16) if amp else contextlib.nullcontext()


def run_classifier(T, kind, args, amp=False):
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
            with autocast_or_not(T, amp):
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

    def __init__(self, T, width, heads, sdpa=False):
        nn = T.nn
        self.T, self.heads, self.sdpa = T, heads, sdpa
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
        if self.sdpa:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = T.matmul(q, k.transpose(-2, -1)) * (1.0 / (c // h) ** 0.5)
            att = F.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
            y = T.matmul(att, v)
        y = y.transpose(1, 2).reshape(b, t, c)
        x = x + self.proj(y)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


def run_gpt(T, args, sdpa=False, amp=False):
    nn = T.nn
    vocab, width, heads, layers, ctx, batch = 96, 128, 4, 4, 128, 32
    T.manual_seed(0)
    tok, pos = nn.Embedding(vocab, width), nn.Embedding(ctx, width)
    blocks = [Block(T, width, heads, sdpa) for _ in range(layers)]
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
        with autocast_or_not(T, amp):
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


def run_lstm(T, lib, args):
    """word_language_model's RNNModel and training step at the program's default sizes."""
    import importlib
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "programs", "pytorch_examples",
                          "word_language_model")
    if lib == "lamina":
        import lamina.compat
        lamina.compat.install()  # model.py says `import torch`
    sys.path.insert(0, folder)
    model_py = importlib.import_module("model")
    ntokens, bptt, batch, lr, clip = 33278, 35, 20, 20.0, 0.25
    T.manual_seed(1111)
    model = model_py.RNNModel("LSTM", ntokens, 200, 200, 2, 0.2, False)
    criterion = T.nn.NLLLoss()
    rng = np.random.default_rng(0)
    data = T.from_numpy(rng.integers(0, ntokens, size=(bptt * (args.steps + 3) + 1, batch)).astype(np.int64))
    model.train()
    hidden = model.init_hidden(batch)
    times = []
    for step in range(args.steps + 2):
        i = step * bptt
        x, y = data[i:i + bptt], data[i + 1:i + 1 + bptt].reshape(-1)
        start = time.perf_counter()
        hidden = tuple(h.detach() for h in hidden)
        model.zero_grad()
        output, hidden = model(x, hidden)
        loss = criterion(output, y)
        loss.backward()
        T.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
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
    elif task == "cnn-bf16":
        res = run_classifier(T, "cnn", args, amp=True)
    elif task == "gpt-bf16":
        res = run_gpt(T, args, amp=True)
    elif task == "gpt":
        res = run_gpt(T, args)
    elif task == "gpt-sdpa":
        if not hasattr(T.nn.functional, "scaled_dot_product_attention"):
            print("RESULT " + json.dumps({"unsupported": True}))
            return
        res = run_gpt(T, args, sdpa=True)
    elif task == "lstm":
        res = run_lstm(T, lib, args)
    else:
        res = run_loader(T, lib, args)
    res["peak_rss_mb"] = peak_rss_mb()
    print("RESULT " + json.dumps(res))


def torch_pythons():
    """{label: interpreter} for the PyTorch builds present: the PyPI release and Debian's 1.13."""
    found = {}
    pypi = os.environ.get("LAMINA_TORCH_PYTHON") or os.path.expanduser("~/.cache/lamina/torch-pypi/bin/python")
    for python in (pypi, "/usr/bin/python3"):
        if not os.path.exists(python):
            continue
        out = subprocess.run([python, "-c", "import torch; print(torch.__version__.split('+')[0])"],
                             capture_output=True, text=True)
        if out.returncode == 0:
            found[f"torch {out.stdout.strip()}"] = python
    return found


def spawn(lib, python, task, args):
    cmd = [python, os.path.abspath(__file__), "--child", lib, "--task", task, "--epochs", str(args.epochs),
           "--steps", str(args.steps), "--threads", str(args.threads), "--limit", str(args.limit)]
    env = dict(os.environ, LAMINA_FORCE_CPU="1", OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{lib} {task} failed:\n{proc.stdout}\n{proc.stderr}")


def _figure(runs, key):
    """Median over rounds and the min-max spread of one result key."""
    values = [r[key] for r in runs]
    return statistics.median(values), min(values), max(values)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default="mlp,cnn,gpt,gpt-sdpa,cnn-bf16,gpt-bf16,lstm,loader")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--rounds", type=int, default=3, help="interleaved runs per library; figures are medians")
    p.add_argument("--limit", type=int, default=0, help="first N training images only (smoke runs)")
    p.add_argument("--quick", action="store_true", help="smoke run: 1 epoch on 2048 images, 3 steps, 1 round")
    p.add_argument("--child", choices=["lamina", "torch"])
    p.add_argument("--task")
    args = p.parse_args()
    if args.quick:
        args.epochs, args.steps, args.limit, args.rounds = 1, 3, 2048, 1
    if args.child:
        child(args.child, args.task, args)
        return
    libs = {"lamina": ("lamina", sys.executable)}
    libs.update({label: ("torch", py) for label, py in torch_pythons().items()})
    torches = [k for k in libs if k != "lamina"]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores; threads {args.threads}; load average at start "
          f"{load}; {datetime.datetime.now().isoformat(timespec='minutes')}; {args.rounds} interleaved rounds, "
          f"medians (min-max)")
    print(f"Command: {' '.join(shlex.quote(a) for a in sys.argv)}\n")
    print("| task | figure | " + " | ".join(libs) + " | vs faster torch | peak RSS (" + ", ".join(libs) +
          ") | acc / loss (" + ", ".join(libs) + ") |")
    print("|---|---|" + "---|" * len(libs) + "---|---|---|")
    mlp_rate = None
    for task in args.tasks.split(","):
        runs = {k: [] for k in libs}
        for _ in range(args.rounds):
            for k, (lib, python) in libs.items():
                runs[k].append(spawn(lib, python, task, args))
        if task == "loader":
            for w in (0, 2):
                key = f"samples_per_s_w{w}"
                figs = {k: _figure(v, key) for k, v in runs.items()}
                note = f" ({figs['lamina'][0] / mlp_rate:.0f}x the MLP's training rate)" if mlp_rate else ""
                best = max((figs[k][0] for k in torches), default=float("nan"))
                cells = " | ".join(f"{m:,.0f} ({lo:,.0f}-{hi:,.0f})" for m, lo, hi in figs.values())
                print(f"| loader, {w} workers | samples/s | {cells}{note} | {best / figs['lamina'][0]:.2f}x | | |")
            continue
        key, unit, scale = ("epoch_s", "s/epoch", 1.0) if task in ("mlp", "cnn", "cnn-bf16") else ("step_s", "ms/step", 1e3)
        runs = {k: v for k, v in runs.items() if not v[0].get("unsupported")}
        present = [k for k in runs if k != "lamina"]
        figs = {k: _figure(v, key) for k, v in runs.items()}
        if task == "mlp":
            mlp_rate = (args.limit or 60000) / figs["lamina"][0]
        best = min((figs[k][0] for k in present), default=float("nan"))
        fmt = "{:.2f}" if scale == 1.0 else "{:.0f}"
        cells = " | ".join(f"{fmt.format(figs[k][0] * scale)} ({fmt.format(figs[k][1] * scale)}-"
                           f"{fmt.format(figs[k][2] * scale)})" if k in figs else "(none)" for k in libs)
        rss = ", ".join(f"{statistics.median(r['peak_rss_mb'] for r in runs[k]):.0f}" if k in runs else "-"
                        for k in libs)
        quality = ", ".join("-" if k not in runs else f"{statistics.median(r['acc'] for r in runs[k]):.4f}"
                            if "acc" in runs[k][0] else f"{statistics.median(r['last_loss'] for r in runs[k]):.3f}"
                            for k in libs)
        print(f"| {task} | {unit} | {cells} | {figs['lamina'][0] / best:.2f}x | {rss} MB | {quality} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
