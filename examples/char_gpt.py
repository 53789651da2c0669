"""Train a small character-level GPT on any text file with lamina, then sample from it.

    .venv/bin/python examples/char_gpt.py --steps 200 --prompt "This program"

The model: token + position embeddings, `--layers` pre-LayerNorm blocks (causal self-attention
and a GELU MLP), a final LayerNorm and a linear head; trained with AdamW on random windows of
the text (read as bytes through a memory map, lamina.utils.data.read_tokens). Prints the loss
and the step time, then `--sample-len` characters continuing `--prompt`."""
import argparse
import math
import os
import statistics
import sys
import time

import lamina
import lamina.nn as nn
import lamina.nn.functional as F
from lamina import train
from lamina.utils import data

DEFAULT_TEXT = "/usr/share/common-licenses/GPL-3"  # in base-files: on every Debian system


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t sees positions <= t. `mha=True` uses
    nn.MultiheadAttention with a causal attn_mask; otherwise one fused qkv projection and the
    attention written with matmul + softmax (the faster of the two here)."""

    def __init__(self, width, heads, mha):
        super().__init__()
        self.heads, self.mha = heads, mha
        if mha:
            self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        else:
            self.qkv = nn.Linear(width, 3 * width)
            self.proj = nn.Linear(width, width)

    def forward(self, x, mask):
        if self.mha:
            return self.attn(x, x, x, need_weights=False, attn_mask=mask)[0]
        b, t, c = x.shape
        h = self.heads
        q, k, v = self.qkv(x).reshape(b, t, 3, h, c // h).permute(2, 0, 3, 1, 4).unbind(0)
        att = lamina.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(c // h))
        att = F.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = lamina.matmul(att, v).transpose(1, 2).reshape(b, t, c)
        return self.proj(y)


class Block(nn.Module):
    """x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, width, heads, mha):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads, mha)
        self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, x, mask):
        x = x + self.attn(self.ln1(x), mask)
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class CharGPT(nn.Module):
    """A GPT over `vocab` symbols with a context of `context` positions."""

    def __init__(self, vocab, context=128, width=128, layers=4, heads=4, mha=False):
        super().__init__()
        self.context = context
        self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(context, width)
        self.blocks = nn.ModuleList([Block(width, heads, mha) for _ in range(layers)])
        self.ln, self.head = nn.LayerNorm(width), nn.Linear(width, vocab)
        self.register_buffer("mask", lamina.ones(context, context, dtype=lamina.bool).triu(1), persistent=False)
        self.register_buffer("positions", lamina.arange(context), persistent=False)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(self.positions[:t])
        mask = self.mask[:t, :t]
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.ln(x))


def load_text(path):
    """The file's bytes (a zero-copy uint8 view), its distinct bytes, and the text as int64 ids."""
    raw = data.read_tokens(path, lamina.uint8)
    if raw.numel() < 2:
        raise SystemExit(f"{path}: need at least 2 bytes of text")
    symbols = sorted(set(bytes(raw.numpy())))
    table = lamina.zeros(256, dtype=lamina.int64)
    table[lamina.tensor(symbols)] = lamina.arange(len(symbols))
    return symbols, table[raw.to(lamina.int64)]


def batch(ids, batch_size, context):
    """Random windows: inputs (B, T) and the next-symbol targets (B, T)."""
    starts = lamina.randint(0, ids.numel() - context, (batch_size, 1))
    idx = starts + lamina.arange(context + 1)
    windows = ids[idx]
    return windows[:, :-1], windows[:, 1:]


def sample(model, symbols, prompt, length, temperature=1.0):
    """`length` bytes continuing `prompt`, drawn from the model's softmax (unknown bytes dropped)."""
    lookup = {s: i for i, s in enumerate(symbols)}
    ids = [lookup[b] for b in prompt.encode() if b in lookup] or [0]
    model.eval()
    with lamina.no_grad():
        for _ in range(length):
            ctx = lamina.tensor([ids[-model.context:]])
            logits = model(ctx)[0, -1] / temperature
            cdf = F.softmax(logits, dim=-1).cumsum(0)
            # Inverse-CDF draw: the first symbol whose cumulative probability exceeds u.
            u = lamina.rand(1) * cdf[-1]
            ids.append(min(int((cdf <= u).sum().item()), len(symbols) - 1))
    model.train()
    return bytes(symbols[i] for i in ids).decode("utf-8", errors="replace")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", default=DEFAULT_TEXT, help="training text file (default: %(default)s)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--context", type=int, default=128)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--attention", choices=["manual", "mha"], default="manual",
                   help="matmul+softmax attention, or nn.MultiheadAttention with a causal mask")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--prompt", default="The ")
    p.add_argument("--sample-len", type=int, default=200)
    p.add_argument("--log-dir", default="", help="write TensorBoard event files and metrics.csv here")
    args = p.parse_args(argv)

    lamina.manual_seed(args.seed)
    symbols, ids = load_text(args.text)
    context = min(args.context, ids.numel() - 1)
    model = CharGPT(len(symbols), context, args.width, args.layers, args.heads, args.attention == "mha")
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.text}: {ids.numel()} bytes, {len(symbols)} symbols; model {n_params:,} parameters")
    opt = lamina.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    writer = csv_log = None
    if args.log_dir:
        from lamina.utils.tensorboard import SummaryWriter
        writer = SummaryWriter(args.log_dir)
        csv_log = train.CSVLogger(os.path.join(args.log_dir, "metrics.csv"), fieldnames=["loss", "ms_per_step"])
        writer.add_text("config", str(vars(args)), 0)
    times, losses = [], []
    for step in range(1, args.steps + 1):
        x, y = batch(ids, args.batch_size, context)
        start = time.perf_counter()
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(symbols)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        value = loss.item()
        times.append(time.perf_counter() - start)
        losses.append(value)
        if step % args.log_every == 0 or step == 1 or step == args.steps:
            recent = times[-10:]
            print(f"step {step:5d}  loss {value:.4f}  {statistics.median(recent) * 1e3:.1f} ms/step")
            sys.stdout.flush()
            if writer is not None:
                writer.add_scalar("train/loss", value, step)
                writer.add_scalar("train/ms_per_step", statistics.median(recent) * 1e3, step)
                csv_log.log(step, {"loss": value, "ms_per_step": statistics.median(recent) * 1e3})
    if times:
        steady = times[1:] or times
        print(f"median step time {statistics.median(steady[-10:]) * 1e3:.1f} ms "
              f"(batch {args.batch_size} x context {context})")
    text = sample(model, symbols, args.prompt, args.sample_len)
    print("--- sample ---")
    print(text)
    if writer is not None:
        writer.add_text("sample", text, args.steps)
        writer.add_hparams({k: v for k, v in vars(args).items() if isinstance(v, (int, float, str))},
                           {"hparam/final_loss": losses[-1] if losses else float("nan")})
        writer.close()
        csv_log.close()
        train.log.info("char_gpt", "logs written", tensorboard=args.log_dir,
                       csv=os.path.join(args.log_dir, "metrics.csv"))
    return losses


if __name__ == "__main__":
    main()
