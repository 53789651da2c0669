"""Train an MLP or a CNN on Fashion-MNIST (Debian's dataset-fashion-mnist) with lamina.

    .venv/bin/python examples/fashion_mnist.py --model cnn --epochs 2

Prints a progress line per epoch part, the test accuracy and a confusion matrix."""
import argparse
import os
import sys
import time

import lamina
import lamina.nn as nn
from lamina.utils import data


def load(split):
    prefix = "train" if split == "train" else "t10k"
    images = data.read_idx(os.path.join(data.FASHION_MNIST_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = data.read_idx(os.path.join(data.FASHION_MNIST_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    x = (images.to(lamina.float32) / 255.0 - 0.2860) / 0.3530  # the training set's mean and std
    return x.unsqueeze(1), labels.to(lamina.int64)


def make_model(kind):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def progress(epoch, done, total, loss, correct, seen, started):
    width = 30
    filled = width * done // total
    rate = seen / max(time.perf_counter() - started, 1e-9)
    sys.stdout.write(f"\repoch {epoch} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
                     f"loss {loss:.4f} acc {correct / max(seen, 1):.4f} {rate:,.0f} samples/s")
    sys.stdout.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", choices=["mlp", "cnn"], default="cnn")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images (smoke runs)")
    args = p.parse_args()
    if not os.path.isdir(data.FASHION_MNIST_DIR):
        raise SystemExit(f"{data.FASHION_MNIST_DIR} not found: install Debian's dataset-fashion-mnist")
    lamina.manual_seed(args.seed)
    x_train, y_train = load("train")
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    x_test, y_test = load("test")
    model = make_model(args.model)
    opt = lamina.optim.Adam(model.parameters(), lr=args.lr)
    n = x_train.shape[0]
    batches = (n + args.batch_size - 1) // args.batch_size
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = lamina.randperm(n)
        started, total_loss, correct, seen = time.perf_counter(), 0.0, 0, 0
        for b in range(batches):
            idx = order[b * args.batch_size:(b + 1) * args.batch_size]
            xb, yb = x_train[idx], y_train[idx]
            opt.zero_grad()
            logits = model(xb)
            loss = nn.functional.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            total_loss += loss.item() * yb.shape[0]
            seen += yb.shape[0]
            correct += int((logits.argmax(1) == yb).sum().item())
            if b % 20 == 0 or b == batches - 1:
                progress(epoch, b + 1, batches, total_loss / seen, correct, seen, started)
        print()
    model.eval()
    confusion = lamina.zeros(10, 10, dtype=lamina.int64)
    correct = 0
    with lamina.no_grad():
        for b in range(0, x_test.shape[0], 1000):
            pred = model(x_test[b:b + 1000]).argmax(1)
            truth = y_test[b:b + 1000]
            correct += int((pred == truth).sum().item())
            confusion = lamina.index_put(confusion, (truth, pred), lamina.ones(truth.shape[0], dtype=lamina.int64), True)
    print(f"test accuracy: {correct / x_test.shape[0]:.4f}")
    print("confusion matrix (rows: true class, columns: predicted):")
    print(confusion)


if __name__ == "__main__":
    main()
