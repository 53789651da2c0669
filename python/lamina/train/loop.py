"""train_epoch / evaluate / fit: the training loop most scripts write, with callbacks, a tqdm
progress bar (epoch, loss, accuracy, samples/s) and a history. Loaders are any iterable of
(inputs, targets, ...) batches, e.g. lamina.utils.data.DataLoader or a list of tuples. The
per-batch bookkeeping (argmax, correct counts, confusion matrix) runs in C++
(lamina.metrics.Accumulator); this module only sequences the calls."""
import time

from .. import no_grad
from ..metrics import Accumulator

__all__ = ["Callback", "History", "train_epoch", "evaluate", "fit"]


class Callback:
    """Base of fit's callbacks: override the hooks you need. A plain callable given as a callback
    is used as on_epoch_end."""

    def on_batch_end(self, metrics):
        """After every optimizer step, with a dict: epoch, step (in the epoch), global_step (in
        the run, counting resumed steps under fit), total_steps, batch_size, loss,
        accuracy, running_loss, running_accuracy, samples, samples_per_second, lr."""

    def on_epoch_end(self, metrics):
        """After each epoch and its validation, with the epoch's history entry; return True to
        stop training."""


class History(list):
    """fit's result: one dict per epoch (epoch, loss, accuracy, samples, seconds,
    samples_per_second, lr and, with a val_loader, val_loss, val_accuracy, val_samples).
    ``history["loss"]`` gives one column as a list."""

    def __getitem__(self, key):
        if isinstance(key, str):
            return [entry.get(key) for entry in self]
        return super().__getitem__(key)


class _FuncCallback(Callback):
    def __init__(self, fn):
        self.fn = fn

    def on_epoch_end(self, metrics):
        return self.fn(metrics)


def _callbacks(callbacks):
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or callable(callbacks):
        callbacks = [callbacks]
    return [c if isinstance(c, Callback) else _FuncCallback(c) for c in callbacks]


def _split(batch):
    try:
        inputs, targets = batch[0], batch[1]
    except (TypeError, IndexError, KeyError):
        raise ValueError(f"a batch must be a sequence (inputs, targets, ...), got {type(batch).__name__}") from None
    return inputs, targets


def _batch_size(targets):
    shape = getattr(targets, "shape", None)
    return shape[0] if shape else 1


def _is_classification(output, targets):
    dtype = getattr(targets, "dtype", None)
    return (dtype is not None and not dtype.is_floating_point and str(dtype) != "lamina.bool"
            and output.dim() == targets.dim() + 1)


def _scalar(loss):
    if loss.numel() != 1:
        from .. import ShapeError
        raise ShapeError(f"[train_epoch] the loss must be a single value (reduction 'mean' or 'sum'), got shape "
                         f"{list(loss.shape)}")
    return loss.item()


def _lr(optimizer):
    groups = optimizer.param_groups
    return groups[0]["lr"] if len(groups) else 0.0


def _len(loader):
    try:
        return len(loader)
    except (TypeError, NotImplementedError):  # streams of unknown length
        return None


def _bar(progress, total, desc):
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="batch", dynamic_ncols=True, mininterval=0.1, leave=True)


def _postfix(loss, accuracy, samples_per_second, val=None):
    text = f"loss={loss:.4f}"
    if accuracy is not None:
        text += f", acc={accuracy:.4f}"
    text += f", {samples_per_second:,.0f} samples/s"
    if val is not None:
        text += f", val_loss={val['loss']:.4f}" if val.get("loss") is not None else ""
        text += f", val_acc={val['accuracy']:.4f}" if val.get("accuracy") is not None else ""
    return text


def _run_epoch(model, loss_fn, optimizer, loader, epoch, callbacks, bar, batch_scheduler, clip_grad_norm,
               after_step=None, step_base=0):
    model.train()
    totals = Accumulator()
    classification = True
    total_steps = _len(loader)
    step = samples = 0
    lr = _lr(optimizer)
    start = time.perf_counter()
    for batch in loader:
        inputs, targets = _split(batch)
        optimizer.zero_grad()
        output = model(inputs)
        loss = loss_fn(output, targets)
        loss_value = _scalar(loss)
        lr = _lr(optimizer)
        loss.backward()
        if clip_grad_norm is not None:
            from ..nn.utils import clip_grad_norm_
            clip_grad_norm_(model.parameters(), clip_grad_norm)
        optimizer.step()
        if batch_scheduler is not None:
            batch_scheduler.step()
        n = _batch_size(targets)
        classification = classification and _is_classification(output, targets)
        if classification:
            correct = totals.update(output, targets, loss_value)
            batch_accuracy = correct / max(targets.numel(), 1)
        else:
            totals.add_loss(loss_value, n)
            batch_accuracy = None
        step += 1
        samples += n
        elapsed = time.perf_counter() - start
        running_accuracy = totals.accuracy if classification else None
        rate = samples / elapsed if elapsed > 0 else 0.0
        if bar is not None:
            bar.set_postfix_str(_postfix(totals.mean_loss, running_accuracy, rate), refresh=False)
            bar.update(1)
        if callbacks:
            metrics = {"epoch": epoch, "step": step, "global_step": step_base + step, "total_steps": total_steps,
                       "batch_size": n, "loss": loss_value,
                       "accuracy": batch_accuracy, "running_loss": totals.mean_loss,
                       "running_accuracy": running_accuracy, "samples": samples, "samples_per_second": rate, "lr": lr}
            for c in callbacks:
                c.on_batch_end(metrics)
        if after_step is not None and after_step():
            break
    seconds = time.perf_counter() - start
    return {"epoch": epoch, "loss": totals.mean_loss, "accuracy": totals.accuracy if classification and step else None,
            "samples": samples, "seconds": seconds, "samples_per_second": samples / seconds if seconds > 0 else 0.0,
            "lr": lr}


def train_epoch(model, loss_fn, optimizer, loader, *, epoch=1, epochs=None, callbacks=None, scheduler=None,
                clip_grad_norm=None, progress=True):
    """One pass of training: for each (inputs, targets) batch zero_grad, forward, loss, backward,
    step (and ``scheduler.step()`` after every step when given: per-iteration schedules). The
    model is put in training mode. Returns a dict: epoch, loss (mean per sample; ``loss_fn``
    should reduce by mean), accuracy (None unless the outputs are class scores for integer
    targets), samples, seconds, samples_per_second, lr."""
    desc = f"epoch {epoch}" + (f"/{epochs}" if epochs else "")
    bar = _bar(progress, _len(loader), desc)
    try:
        return _run_epoch(model, loss_fn, optimizer, loader, epoch, _callbacks(callbacks), bar, scheduler,
                          clip_grad_norm)
    finally:
        if bar is not None:
            bar.close()


def evaluate(model, loss_fn, loader, *, num_classes=None, progress=False):
    """The model's mean loss and accuracy over ``loader`` in eval mode under no_grad (the model's
    mode is restored afterwards). Returns a dict: loss (None without ``loss_fn``), accuracy (None
    unless classification), samples and, with ``num_classes``, confusion_matrix (an int64 tensor,
    rows = true class)."""
    was_training = model.training
    totals = Accumulator(num_classes or 0)
    classification = True
    samples = 0
    bar = _bar(progress, _len(loader), "eval")
    model.eval()
    try:
        with no_grad():
            for batch in loader:
                inputs, targets = _split(batch)
                output = model(inputs)
                loss_value = _scalar(loss_fn(output, targets)) if loss_fn is not None else None
                n = _batch_size(targets)
                classification = classification and _is_classification(output, targets)
                if classification:
                    totals.update(output, targets, loss_value)
                elif loss_value is not None:
                    totals.add_loss(loss_value, n)
                samples += n
                if bar is not None:
                    bar.set_postfix_str(_postfix(totals.mean_loss, totals.accuracy if classification else None,
                                                 bar.format_dict["rate"] or 0.0), refresh=False)
                    bar.update(1)
    finally:
        model.train(was_training)
        if bar is not None:
            bar.close()
    if samples == 0:
        raise ValueError("[evaluate] the loader gave no batches")
    result = {"loss": totals.mean_loss if loss_fn is not None else None,
              "accuracy": totals.accuracy if classification else None, "samples": samples}
    if num_classes:
        result["confusion_matrix"] = totals.compute()["confusion_matrix"] if classification else None
    return result


def fit(model, loss_fn, optimizer, loader, epochs, callbacks=None, val_loader=None, scheduler=None, progress=True,
        *, num_classes=None, scheduler_per_batch=False, clip_grad_norm=None, checkpointer=None, resume=False,
        max_steps=None):
    """Trains for ``epochs`` epochs with train_epoch, evaluating on ``val_loader`` after each one
    (its loss and accuracy end the epoch's progress line) and stepping ``scheduler`` once per
    epoch (or after every step with ``scheduler_per_batch``). ``callbacks``: Callback objects or
    callables (used as on_epoch_end; returning True stops).

    ``checkpointer`` (a lamina.train.Checkpointer tracking this model, optimizer, scheduler and
    loader) gets ``maybe_save(step, epochs_done)`` after every optimizer step and a final
    ``save`` when training ends; with ``resume=True`` the newest checkpoint is loaded first and
    training continues from its step, mid-epoch when it was saved there. ``max_steps`` stops
    after that many optimizer steps in all (counting the resumed ones). Returns a History."""
    if epochs < 0:
        raise ValueError(f"[fit] epochs must be >= 0, got {epochs}")
    if max_steps is not None and max_steps < 0:
        raise ValueError(f"[fit] max_steps must be >= 0, got {max_steps}")
    if resume and checkpointer is None:
        raise ValueError("[fit] resume=True needs a checkpointer")
    callbacks = _callbacks(callbacks)
    history = History()
    history.resumed_from = None
    state = {"step": 0, "done": 0}
    if resume:
        info = checkpointer.load_latest()
        if info is not None:
            state["step"], state["done"] = info["step"], info["epoch"]
            history.resumed_from = info["path"]

    def after_step():
        state["step"] += 1
        if checkpointer is not None:
            checkpointer.maybe_save(state["step"], state["done"])
        return max_steps is not None and state["step"] >= max_steps

    for epoch in range(state["done"] + 1, epochs + 1):
        if max_steps is not None and state["step"] >= max_steps:
            break
        bar = _bar(progress, _len(loader), f"epoch {epoch}/{epochs}")
        try:
            entry = _run_epoch(model, loss_fn, optimizer, loader, epoch, callbacks, bar,
                               scheduler if scheduler_per_batch else None, clip_grad_norm, after_step, state["step"])
            if max_steps is not None and state["step"] >= max_steps and _stopped_mid_epoch(loader):
                break  # the epoch is unfinished: no validation, scheduler step or epoch callbacks
            if val_loader is not None:
                val = evaluate(model, loss_fn, val_loader, num_classes=num_classes)
                entry.update({"val_" + k: v for k, v in val.items()})
                if bar is not None:
                    bar.set_postfix_str(_postfix(entry["loss"], entry["accuracy"], entry["samples_per_second"], val),
                                        refresh=True)
        finally:
            if bar is not None:
                bar.close()
        if scheduler is not None and not scheduler_per_batch:
            scheduler.step()
        state["done"] = epoch
        entry["global_step"] = state["step"]
        history.append(entry)
        stop = False
        for c in callbacks:
            stop = bool(c.on_epoch_end(entry)) or stop
        if checkpointer is not None:
            checkpointer.maybe_save(state["step"], state["done"])
        if stop:
            break
    if checkpointer is not None and checkpointer.latest() != checkpointer.path_for(state["step"]):
        checkpointer.save(state["step"], state["done"])
    history.global_step = state["step"]
    return history


def _stopped_mid_epoch(loader):
    """True when the loader has batches of its current epoch left (it was left early)."""
    state_dict = getattr(loader, "state_dict", None)
    if state_dict is None:
        return True
    s = state_dict()
    return 0 < s["batches_consumed"] < _len(loader) if _len(loader) else s["batches_consumed"] > 0
