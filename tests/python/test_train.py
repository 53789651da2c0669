"""lamina.metrics and lamina.train: metrics against NumPy references on random inputs, their
errors, the streaming Accumulator, seed_everything, and train_epoch / evaluate / fit (history,
callbacks, scheduler, validation, tqdm progress) on a small synthetic classification problem."""
import random

import numpy as np
import pytest

import lamina
import lamina.nn as nn
from lamina import metrics, train


def np_argmax_accuracy(scores, target):
    return float((scores.argmax(1) == target).mean())


def test_accuracy_matches_numpy(rng):
    scores = rng.standard_normal((53, 7)).astype(np.float32)
    target = rng.integers(0, 7, 53)
    expected = np_argmax_accuracy(scores, target)
    assert 0 < expected < 1
    assert metrics.accuracy(lamina.tensor(scores), lamina.tensor(target)) == pytest.approx(expected, abs=1e-15)
    assert metrics.accuracy(scores, target) == pytest.approx(expected, abs=1e-15)  # NumPy arrays directly
    preds = scores.argmax(1).astype(np.int32)
    assert metrics.accuracy(lamina.tensor(preds), lamina.tensor(target)) == pytest.approx(expected, abs=1e-15)
    # Classes along dim 1 with trailing dims, as for cross_entropy: (N, C, L) against (N, L).
    seq = rng.standard_normal((5, 4, 6))
    seq_target = rng.integers(0, 4, (5, 6))
    assert metrics.accuracy(lamina.tensor(seq), lamina.tensor(seq_target)) == pytest.approx(
        float((seq.argmax(1) == seq_target).mean()), abs=1e-15)


def test_top_k_accuracy_matches_numpy(rng):
    scores = rng.standard_normal((80, 9))
    target = rng.integers(0, 9, 80)
    ranked = np.argsort(-scores, axis=1)
    for k in (1, 2, 4, 9):
        expected = float((ranked[:, :k] == target[:, None]).any(1).mean())
        assert metrics.top_k_accuracy(lamina.tensor(scores), lamina.tensor(target), k) == pytest.approx(expected)
    assert metrics.top_k_accuracy(lamina.tensor(scores), lamina.tensor(target), 1) == metrics.accuracy(
        lamina.tensor(scores), lamina.tensor(target))


def test_confusion_matrix_matches_bincount(rng):
    n, c = 500, 6
    scores = rng.standard_normal((n, c)).astype(np.float32)
    target = rng.integers(0, c, n)
    preds = scores.argmax(1)
    expected = np.bincount(target * c + preds, minlength=c * c).reshape(c, c)
    cm = metrics.confusion_matrix(lamina.tensor(scores), lamina.tensor(target), c)
    assert cm.dtype == lamina.int64
    np.testing.assert_array_equal(cm.numpy(), expected)
    np.testing.assert_array_equal(metrics.confusion_matrix(lamina.tensor(preds), lamina.tensor(target), c).numpy(),
                                  expected)
    # num_classes inferred: the score columns, or 1 + the largest class seen.
    np.testing.assert_array_equal(metrics.confusion_matrix(lamina.tensor(scores), lamina.tensor(target)).numpy(),
                                  expected)
    small = metrics.confusion_matrix([0, 2, 2, 1], [0, 1, 2, 1])
    np.testing.assert_array_equal(small.numpy(), [[1, 0, 0], [0, 1, 1], [0, 0, 1]])
    assert int(cm.sum().item()) == n
    assert int(np.trace(cm.numpy())) == metrics._train.correct_count(lamina.tensor(scores), lamina.tensor(target))


def test_metric_errors():
    scores = lamina.randn(4, 3)
    target = lamina.tensor([0, 1, 2, 1])
    with pytest.raises(lamina.ShapeError, match=r"\[accuracy\]"):
        metrics.accuracy(scores, lamina.tensor([0, 1, 2]))
    with pytest.raises(lamina.DTypeError):
        metrics.accuracy(scores, target.float())
    with pytest.raises(TypeError):  # DTypeError is a TypeError: float "predictions"
        metrics.accuracy(lamina.randn(4), target)
    with pytest.raises(ValueError):
        metrics.accuracy(lamina.zeros(0, 3), lamina.zeros(0, dtype=lamina.int64))
    for k in (0, 4):
        with pytest.raises(lamina.ValueError):
            metrics.top_k_accuracy(scores, target, k)
    with pytest.raises(lamina.ShapeError):
        metrics.top_k_accuracy(lamina.randn(4, 3, 2), target, 1)
    with pytest.raises(ValueError, match="targets must lie in"):
        metrics.confusion_matrix(scores, target, 2)
    with pytest.raises(ValueError, match="predictions must lie in"):
        metrics.confusion_matrix(lamina.tensor([0, 1, 7, 1]), target, 3)
    with pytest.raises(ValueError):
        metrics.confusion_matrix(scores, target, 0)


def test_accumulator_sums_batches(rng):
    scores = rng.standard_normal((70, 4)).astype(np.float32)
    target = rng.integers(0, 4, 70)
    acc = metrics.Accumulator(num_classes=4)
    with pytest.raises(ValueError):
        acc.compute()
    losses, sizes = [0.8, 0.5, 0.2], [32, 32, 6]
    start = 0
    for loss, size in zip(losses, sizes):
        correct = acc.update(lamina.tensor(scores[start:start + size]), lamina.tensor(target[start:start + size]), loss)
        assert correct == int((scores[start:start + size].argmax(1) == target[start:start + size]).sum())
        start += size
    with pytest.raises(ValueError):  # a bad batch leaves the totals alone
        acc.update(lamina.tensor(scores[:2]), lamina.tensor([0, 9]), 1.0)
    s = acc.compute()
    assert s["samples"] == 70 == acc.samples
    assert s["accuracy"] == pytest.approx(np_argmax_accuracy(scores, target))
    assert s["loss"] == pytest.approx(np.dot(losses, sizes) / 70)
    np.testing.assert_array_equal(s["confusion_matrix"].numpy(),
                                  np.bincount(target * 4 + scores.argmax(1), minlength=16).reshape(4, 4))
    acc.reset()
    assert acc.samples == 0 and acc.correct == 0


def test_seed_everything_seeds_lamina_python_and_numpy():
    assert train.seed_everything(2024) == 2024
    assert train.recorded_seed() == 2024
    a = (lamina.randn(8).numpy(), random.random(), np.random.rand(3))
    train.seed_everything(2024)
    b = (lamina.randn(8).numpy(), random.random(), np.random.rand(3))
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    np.testing.assert_array_equal(a[2], b[2])
    train.seed_everything(2025)
    assert not np.array_equal(lamina.randn(8).numpy(), a[0])
    fresh = train.seed_everything()
    assert train.recorded_seed() == fresh and lamina.initial_seed() == fresh
    with pytest.raises(ValueError):
        train.seed_everything(-1)


def blobs(n, batch, seed):
    """Three Gaussian blobs in 2-d as a list of (inputs, targets) batches."""
    r = np.random.default_rng(seed)
    labels = r.integers(0, 3, n)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    x = (centers[labels] + 0.5 * r.standard_normal((n, 2))).astype(np.float32)
    return [(lamina.tensor(x[s:s + batch]), lamina.tensor(labels[s:s + batch])) for s in range(0, n, batch)]


def mlp():
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))


def test_fit_learns_with_callbacks_scheduler_and_validation(capsys):
    train.seed_everything(0)
    batches, val = blobs(240, 32, 1), blobs(90, 45, 2)
    model = mlp()
    opt = lamina.optim.SGD(model.parameters(), lr=0.2)
    sched = lamina.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    steps, epochs_seen = [], []

    class Recorder(train.Callback):
        def on_batch_end(self, m):
            steps.append(m)

    history = train.fit(model, nn.CrossEntropyLoss(), opt, batches, 4, callbacks=[Recorder(), epochs_seen.append],
                        val_loader=val, scheduler=sched, num_classes=3)
    assert len(history) == 4 and [e["epoch"] for e in epochs_seen] == [1, 2, 3, 4]
    assert len(steps) == 32
    assert (steps[7]["step"], steps[7]["total_steps"], steps[7]["batch_size"], steps[7]["samples"]) == (8, 8, 16, 240)
    assert steps[8]["epoch"] == 2 and steps[8]["step"] == 1
    last = [s["loss"] * s["batch_size"] for s in steps[24:]]
    assert history[3]["loss"] == pytest.approx(sum(last) / 240)
    assert history["lr"] == pytest.approx([0.2, 0.1, 0.05, 0.025])
    assert history["loss"][3] < 0.6 * history["loss"][0]
    assert history[3]["accuracy"] > 0.85 and history[3]["val_accuracy"] > 0.85
    assert history[3]["val_samples"] == 90
    assert int(history[3]["val_confusion_matrix"].sum().item()) == 90
    assert model.training
    res = train.evaluate(model, nn.CrossEntropyLoss(), val, num_classes=3)
    assert res["loss"] == pytest.approx(history[3]["val_loss"], rel=1e-6)
    np.testing.assert_array_equal(res["confusion_matrix"].numpy(), history[3]["val_confusion_matrix"].numpy())
    err = capsys.readouterr().err  # tqdm draws on stderr
    for part in ("epoch 1/4", "epoch 4/4", "8/8", "loss=", "acc=", "samples/s", "val_acc="):
        assert part in err, part


def test_early_stop_regression_and_errors(capsys):
    train.seed_everything(1)
    batches = blobs(64, 16, 3)
    model = mlp()
    opt = lamina.optim.Adam(model.parameters(), lr=0.01)
    ce = nn.functional.cross_entropy
    assert len(train.fit(model, ce, opt, batches, 10, callbacks=lambda e: e["epoch"] == 2, progress=False)) == 2
    assert train.fit(model, ce, opt, batches, 0, progress=False) == []
    with pytest.raises(ValueError):
        train.fit(model, ce, opt, batches, -1)
    assert capsys.readouterr().err == ""  # progress=False draws nothing

    regression = [(x, lamina.randn(x.shape[0], 3)) for x, _ in batches]
    epoch = train.train_epoch(model, nn.MSELoss(), opt, regression, progress=False)
    assert epoch["accuracy"] is None and epoch["samples"] == 64 and epoch["loss"] > 0
    model.eval()
    res = train.evaluate(model, nn.MSELoss(), regression)
    assert res["accuracy"] is None and res["loss"] > 0 and not model.training
    only_accuracy = train.evaluate(model, None, batches)
    assert only_accuracy["loss"] is None and 0 <= only_accuracy["accuracy"] <= 1

    with pytest.raises(ValueError, match="a batch must be"):
        train.train_epoch(model, ce, opt, [42], progress=False)
    with pytest.raises(lamina.ShapeError):
        train.train_epoch(model, nn.CrossEntropyLoss(reduction="none"), opt, batches, progress=False)
    with pytest.raises(ValueError):
        train.evaluate(model, ce, [])


def test_iterables_without_len_and_generators():
    train.seed_everything(2)
    batches = blobs(96, 32, 4)
    model = mlp()
    opt = lamina.optim.Adam(model.parameters(), lr=0.05)
    seen = []
    train.train_epoch(model, nn.CrossEntropyLoss(), opt, (b for b in batches), progress=False,
                      callbacks=lambda m: None)
    train.train_epoch(model, nn.CrossEntropyLoss(), opt, iter(batches), progress=True,
                      callbacks=type("C", (train.Callback,), {"on_batch_end": lambda self, m: seen.append(m)})())
    assert [m["total_steps"] for m in seen] == [None] * 3


def test_fit_through_the_data_loader():
    from lamina.utils import data
    train.seed_everything(3)
    r = np.random.default_rng(5)
    labels = r.integers(0, 3, 300)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    x = (centers[labels] + 0.5 * r.standard_normal((300, 2))).astype(np.float32)
    dataset = data.TensorDataset(lamina.tensor(x), lamina.tensor(labels))
    loader = data.DataLoader(dataset, batch_size=32, shuffle=True, num_workers=2)
    val = data.DataLoader(dataset, batch_size=100)
    model = mlp()
    opt = lamina.optim.Adam(model.parameters(), lr=0.02)
    totals = []

    class Count(train.Callback):
        def on_batch_end(self, m):
            totals.append(m["total_steps"])

    history = train.fit(model, nn.CrossEntropyLoss(), opt, loader, 5, callbacks=Count(), val_loader=val,
                        progress=False)
    assert totals == [10] * 50
    assert history["samples"] == [300] * 5 and history["val_samples"] == [300] * 5
    assert history["loss"][4] < history["loss"][0]
    assert history[4]["val_accuracy"] > 0.85

    class Stream(data.IterableDataset):
        def __iter__(self):
            return iter(zip(lamina.tensor(x), lamina.tensor(labels)))

    streamed = train.evaluate(model, nn.CrossEntropyLoss(), data.DataLoader(Stream(), batch_size=64), num_classes=3)
    assert streamed["samples"] == 300
    assert streamed["accuracy"] == pytest.approx(history[4]["val_accuracy"])
