"""Train an MLP or a CNN on Fashion-MNIST (Debian's dataset-fashion-mnist) with lamina.

    .venv/bin/python examples/fashion_mnist.py --model cnn --epochs 3

A TensorDataset behind a DataLoader whose C++ worker threads prepare the batches (--augment adds
a random crop and flip per sample), lamina.train.fit with a tqdm progress bar, then the test
loss, accuracy and confusion matrix from lamina.train.evaluate / lamina.metrics."""
import argparse
import json
import os

import lamina
import lamina.nn as nn
from lamina import metrics, train
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


def report_epoch(e):
    print(f"epoch {e['epoch']}: loss {e['loss']:.4f}, accuracy {e['accuracy']:.4f}, {e['seconds']:.1f} s, "
          f"{e['samples_per_second']:,.0f} samples/s", flush=True)


class RunLogger(train.Callback):
    """Writes the run to TensorBoard (<log_dir>) and to <log_dir>/metrics.csv, with a log line per
    epoch: the step loss every `every` steps, epoch metrics and weight histograms per epoch."""

    def __init__(self, log_dir, model, config, every=50):
        from lamina.utils.tensorboard import SummaryWriter
        self.writer = SummaryWriter(log_dir)
        self.csv = train.CSVLogger(os.path.join(log_dir, "metrics.csv"), append=True,
                                   fieldnames=["epoch", "loss", "accuracy", "lr", "samples_per_second",
                                               "test_loss", "test_accuracy"])
        self.model, self.every = model, every
        self.writer.add_text("config", "```\n" + json.dumps(config, indent=2, sort_keys=True) + "\n```", 0)
        self.step = 0

    def on_batch_end(self, m):
        self.step = m["global_step"]
        if self.step % self.every == 0:
            self.writer.add_scalar("train/step_loss", m["loss"], self.step)

    def on_epoch_end(self, e):
        for key in ("loss", "accuracy", "lr", "samples_per_second"):
            self.writer.add_scalar(f"train/{key}", e[key], e["epoch"])
        for name, p in self.model.named_parameters():
            self.writer.add_histogram(f"weights/{name}", p, e["epoch"])
        self.csv.log(e["global_step"], {k: e[k] for k in ("epoch", "loss", "accuracy", "lr", "samples_per_second")})
        train.log.info("fashion_mnist", "epoch done", epoch=e["epoch"], loss=round(e["loss"], 5),
                       accuracy=round(e["accuracy"], 5), step=e["global_step"])

    def finish(self, config, result):
        self.writer.add_scalar("test/loss", result["loss"], self.step)
        self.writer.add_scalar("test/accuracy", result["accuracy"], self.step)
        self.csv.log(self.step, {"test_loss": result["loss"], "test_accuracy": result["accuracy"]})
        self.writer.add_hparams({k: v for k, v in config.items() if isinstance(v, (int, float, str, bool))},
                                {"hparam/test_accuracy": result["accuracy"], "hparam/test_loss": result["loss"]})

    def close(self):
        self.writer.close()
        self.csv.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=["mlp", "cnn"], default="cnn")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, default=0, help="use only the first N training images (smoke runs)")
    p.add_argument("--workers", type=int, default=1, help="DataLoader worker threads (0: load on this thread)")
    p.add_argument("--augment", action="store_true", help="RandomCrop(28, padding=2) + RandomHorizontalFlip")
    p.add_argument("--cosine", action="store_true", help="cosine learning-rate decay to 0 over the epochs")
    p.add_argument("--checkpoint-dir", default="", help="save checkpoints here (every --checkpoint-every steps, "
                   "each epoch's end and the last step; the newest 3 are kept)")
    p.add_argument("--checkpoint-every", type=int, default=200, help="steps between checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --checkpoint-dir")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps in all")
    p.add_argument("--skip-test", action="store_true", help="no test-set evaluation at the end")
    p.add_argument("--log-dir", default="", help="write TensorBoard event files and metrics.csv here")
    args = p.parse_args()
    # Launched on several processes (python -m lamina.distributed.run --nproc-per-node N ...):
    # data-parallel training, each rank a 1/N share of every batch, so the global batch and the
    # learning rate stay those of one process.
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = 0
    if world > 1:
        import lamina.distributed as dist

        dist.init_process_group("gloo")
        rank = dist.get_rank()
        if args.batch_size % world:
            raise SystemExit(f"--batch-size {args.batch_size} does not split over {world} processes")
        if args.checkpoint_dir or args.log_dir:
            raise SystemExit("--checkpoint-dir / --log-dir: run on one process (rank 0 would write, "
                             "the others would not)")
    if not os.path.isdir(data.FASHION_MNIST_DIR):
        raise SystemExit(f"{data.FASHION_MNIST_DIR} not found: install Debian's dataset-fashion-mnist")
    train.seed_everything(args.seed)
    x_train, y_train = load("train")
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    x_test, y_test = load("test")

    train_set = data.TensorDataset(x_train, y_train)
    if args.augment:
        t = data.transforms
        train_set = t.TransformDataset(train_set, t.Compose([t.RandomCrop(28, padding=2), t.RandomHorizontalFlip()]))
    if world > 1:
        sampler = data.DistributedSampler(train_set, seed=args.seed)
        train_loader = data.DataLoader(train_set, batch_size=args.batch_size // world, sampler=sampler,
                                       num_workers=args.workers)
    else:
        train_loader = data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True, num_workers=args.workers)
    test_loader = data.DataLoader(data.TensorDataset(x_test, y_test), batch_size=1000)

    model = make_model(args.model)
    if world > 1:
        from lamina.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model)
    optimizer = lamina.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    scheduler = lamina.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs) if args.cosine else None
    config = {k: v for k, v in vars(args).items() if k not in ("resume", "checkpoint_dir", "log_dir")}
    callbacks = [report_epoch] if rank == 0 else []
    logger = None
    if args.log_dir:
        logger = RunLogger(args.log_dir, model, config)
        callbacks.append(logger)
    checkpointer = None
    if args.checkpoint_dir:
        checkpointer = train.Checkpointer(args.checkpoint_dir, model=model, optimizer=optimizer, scheduler=scheduler,
                                          loader=train_loader, config=config, every_steps=args.checkpoint_every)
    elif args.resume:
        raise SystemExit("--resume needs --checkpoint-dir")
    history = train.fit(model, loss_fn, optimizer, train_loader, args.epochs, callbacks=callbacks,
                        scheduler=scheduler, checkpointer=checkpointer, resume=args.resume, max_steps=args.max_steps,
                        progress=rank == 0)
    if world > 1:
        dist.destroy_process_group()
        if rank != 0:
            return
    if history.resumed_from:
        print(f"resumed from {history.resumed_from}")
    if checkpointer is not None:
        print(f"checkpoint: {checkpointer.latest()} (step {history.global_step})")
    if args.skip_test:
        if logger is not None:
            logger.close()
        return

    result = train.evaluate(model, loss_fn, test_loader, num_classes=10)
    print(f"test loss: {result['loss']:.4f}")
    print(f"test accuracy: {result['accuracy']:.4f}")
    print("confusion matrix (rows: true class, columns: predicted):")
    print(result["confusion_matrix"])
    model.eval()
    with lamina.no_grad():
        scores = model(x_test[:1000])
    print(f"top-2 accuracy on the first 1000 test images: {metrics.top_k_accuracy(scores, y_test[:1000], 2):.4f}")
    if logger is not None:
        logger.finish(config, result)
        logger.close()
        print(f"TensorBoard logs: {args.log_dir} (view: tensorboard --logdir {args.log_dir}); "
              f"CSV: {os.path.join(args.log_dir, 'metrics.csv')}")


if __name__ == "__main__":
    main()
