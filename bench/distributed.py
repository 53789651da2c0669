"""Distributed benchmarks, lamina.distributed beside torch.distributed, both on Gloo over loopback.

Usage:
  bash bench/setup_torch_pypi.sh        # once: the current PyTorch from PyPI in its own venv
  .venv/bin/python bench/distributed.py [--tasks allreduce,ddp-cnn,ddp-gpt] [--ranks 2] [--rounds 3] [--steps 10]

Tasks:
  allreduce  all_reduce (SUM) of float32 tensors of 4 KB ... 64 MB on --ranks ranks; per size the
             median time of repeated calls after warm-up, as algorithm bandwidth (bytes / time)
             and bus bandwidth (algbw x 2(n-1)/n, NCCL-tests' convention)
  ddp-cnn    bench/train.py's CNN under DistributedDataParallel, global batch 128 split over the
             ranks, Adam; median step time (forward, backward with the bucketed all_reduces,
             optimizer step) over --steps steps after 2 warm-up steps
  ddp-gpt    bench/train.py's character transformer (4 layers, width 128, context 128, attention
             written out, as its gpt row) as one module under DDP, global batch 32, AdamW; median step time as above

Each (library, task, round) is its own set of --ranks processes (rank 0 reports), one thread
per rank on this machine's cores divided by the ranks; the libraries take turns within each
round and figures are medians over rounds with the min-max spread. "ratio" columns are the
faster PyTorch's figure over lamina's for bandwidth (above 1.0 lamina is faster) and lamina's
time over the faster PyTorch's for steps (below 1.0 lamina is faster).
"""
import argparse
import datetime
import json
import os
import socket
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES = [4 << 10, 64 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_allreduce(T, dist, rank, size):
    out = {}
    for nbytes in SIZES:
        t = T.ones(nbytes // 4)
        calls = max(5, min(200, int(2e8 // nbytes)))
        for _ in range(3):
            dist.all_reduce(t)
        times = []
        for _ in range(calls):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(t)
            times.append(time.perf_counter() - start)
        out[str(nbytes)] = statistics.median(times)
    return out


class GPT:
    """bench/train.py's character transformer as one module (attention written out: PyTorch 1.13
    has no scaled_dot_product_attention)."""

    @staticmethod
    def make(T):
        nn, F = T.nn, T.nn.functional

        class Block(nn.Module):
            def __init__(self, width, heads):
                super().__init__()
                self.heads = heads
                self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
                self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
                self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

            def forward(self, x):
                b, t, c = x.shape
                h = self.heads
                q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
                q = q.reshape(b, t, h, c // h).transpose(1, 2)
                k = k.reshape(b, t, h, c // h).transpose(1, 2)
                v = v.reshape(b, t, h, c // h).transpose(1, 2)
                att = T.matmul(q, k.transpose(-2, -1)) * (1.0 / (c // h) ** 0.5)
                mask = T.ones(t, t, dtype=T.bool).triu(1)
                y = T.matmul(F.softmax(att.masked_fill(mask, float("-inf")), dim=-1), v)
                x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
                return x + self.out(F.gelu(self.fc(self.ln2(x))))

        class Net(nn.Module):
            def __init__(self, vocab=96, width=128, heads=4, layers=4, ctx=128):
                super().__init__()
                self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(ctx, width)
                self.blocks = nn.ModuleList([Block(width, heads) for _ in range(layers)])
                self.ln, self.head = nn.LayerNorm(width), nn.Linear(width, vocab)

            def forward(self, idx):
                x = self.tok(idx) + self.pos(T.arange(idx.shape[1]))
                for blk in self.blocks:
                    x = blk(x)
                return self.head(self.ln(x))

        return Net()


def child_ddp(T, dist, rank, size, kind, steps):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from train import make_model  # bench/train.py's CNN, the same code for both libraries

    T.manual_seed(0)
    DDP = T.nn.parallel.DistributedDataParallel
    rng = np.random.default_rng(rank)
    if kind == "cnn":
        model = DDP(make_model(T, "cnn"))
        opt = T.optim.Adam(model.parameters(), lr=1e-3)
        per = 128 // size

        def batch():
            return (T.from_numpy(rng.standard_normal((per, 1, 28, 28)).astype(np.float32)),
                    T.from_numpy(rng.integers(0, 10, per).astype(np.int64)))
    else:
        model = DDP(GPT.make(T))
        opt = T.optim.AdamW(model.parameters(), lr=3e-4)
        per = 32 // size

        def batch():
            x = rng.integers(0, 96, (per, 129))
            return T.from_numpy(x[:, :-1].astype(np.int64)), T.from_numpy(x[:, 1:].astype(np.int64))
    times = []
    for step in range(steps + 2):
        xb, yb = batch()
        dist.barrier()
        start = time.perf_counter()
        out = model(xb)
        loss = T.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), yb.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        float(loss.item())
        if step >= 2:
            times.append(time.perf_counter() - start)
    return {"step_s": statistics.median(times)}


def child(lib, task, steps):
    if lib == "lamina":
        import lamina as T
        import lamina.distributed as dist
        import lamina.nn.parallel  # noqa: F401
    else:
        import torch as T
        import torch.distributed as dist
        import torch.nn.parallel  # noqa: F401
    T.set_num_threads(int(os.environ["BENCH_THREADS"]))
    dist.init_process_group("gloo")
    rank, size = dist.get_rank(), dist.get_world_size()
    result = child_allreduce(T, dist, rank, size) if task == "allreduce" else \
        child_ddp(T, dist, rank, size, task.split("-")[1], steps)
    dist.barrier()
    dist.destroy_process_group()
    if rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


def torch_pythons():
    """bench/train.py's PyTorch interpreters, those whose build has Gloo."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from train import torch_pythons as all_torches

    return {k: py for k, py in all_torches().items()
            if subprocess.run([py, "-c", "import torch.distributed as d; assert d.is_gloo_available()"],
                              capture_output=True).returncode == 0}


def spawn(lib, python, task, args):
    port = free_port()
    threads = max(1, (os.cpu_count() or 1) // args.ranks)
    procs = []
    for r in range(args.ranks):
        env = dict(os.environ, LAMINA_FORCE_CPU="1", OMP_WAIT_POLICY="PASSIVE", RANK=str(r),
                   WORLD_SIZE=str(args.ranks), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                   BENCH_THREADS=str(threads), LAMINA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   GLOO_SOCKET_IFNAME="lo")
        procs.append(subprocess.Popen([python, os.path.abspath(__file__), "--child", lib, "--task", task,
                                       "--steps", str(args.steps)], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    result = None
    for p in procs:
        out, err = p.communicate(timeout=1800)
        if p.returncode != 0:
            raise RuntimeError(f"{lib} {task} failed:\n{out}\n{err}")
        for line in out.splitlines():
            if line.startswith("RESULT "):
                result = json.loads(line[7:])
    return result


def med(values):
    return statistics.median(values), min(values), max(values)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tasks", default="allreduce,ddp-cnn,ddp-gpt")
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--child")
    p.add_argument("--task")
    args = p.parse_args()
    if args.child:
        child(args.child, args.task, args.steps)
        return
    libs = {"lamina": ("lamina", sys.executable)}
    libs.update({k: ("torch", py) for k, py in torch_pythons().items()})
    torches = [k for k in libs if k != "lamina"]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"Machine: {os.cpu_count()} cores; {args.ranks} ranks, {max(1, (os.cpu_count() or 1) // args.ranks)} "
          f"thread(s) each, Gloo over loopback; load average at start {load}; "
          f"{datetime.datetime.now().isoformat(timespec='minutes')}; {args.rounds} interleaved rounds, medians "
          f"(min-max)")
    print(f"Command: {' '.join(sys.argv)}\n")
    for task in args.tasks.split(","):
        runs = {k: [] for k in libs}
        for _ in range(args.rounds):
            for k, (lib, python) in libs.items():
                runs[k].append(spawn(lib, python, task, args))
        if task == "allreduce":
            factor = 2 * (args.ranks - 1) / args.ranks
            print("| size | " + " | ".join(f"{k} algbw GB/s" for k in libs) + " | " +
                  " | ".join(f"{k} busbw GB/s" for k in libs) + " | lamina busbw / faster torch's |")
            print("|---|" + "---|" * (2 * len(libs) + 1))
            for nbytes in SIZES:
                figs = {k: med([nbytes / r[str(nbytes)] / 1e9 for r in v]) for k, v in runs.items()}
                alg = " | ".join(f"{m:.3f} ({lo:.3f}-{hi:.3f})" for m, lo, hi in figs.values())
                bus = " | ".join(f"{m * factor:.3f}" for m, _, _ in figs.values())
                best = max((figs[k][0] for k in torches), default=float("nan"))
                label = f"{nbytes >> 20} MB" if nbytes >= 1 << 20 else f"{nbytes >> 10} KB"
                print(f"| {label} | {alg} | {bus} | {figs['lamina'][0] / best:.2f}x |")
        else:
            figs = {k: med([r["step_s"] * 1e3 for r in v]) for k, v in runs.items()}
            best = min((figs[k][0] for k in torches), default=float("nan"))
            print("| task | " + " | ".join(f"{k} ms/step" for k in libs) + " | lamina / faster torch |")
            print("|---|" + "---|" * (len(libs) + 1))
            cells = " | ".join(f"{m:.0f} ({lo:.0f}-{hi:.0f})" for m, lo, hi in figs.values())
            print(f"| {task} | {cells} | {figs['lamina'][0] / best:.2f}x |")
        print()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
