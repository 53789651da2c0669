"""Classification metrics (torchmetrics-style functions over lamina tensors, NumPy arrays or lists).

``input`` is either class scores shaped (N, C, ...) — the prediction is the argmax over dim 1, as
for ``cross_entropy`` — or integer predictions shaped like ``target``. The computation is the C++
core's (lamina/train/metrics.h); errors are lamina.ShapeError / DTypeError / ValueError."""
from ._lamina import _train

__all__ = ["accuracy", "top_k_accuracy", "confusion_matrix", "Accumulator"]

Accumulator = _train.Accumulator
"""Streaming metrics: ``update(input, target, loss=None)`` per batch, ``compute()`` at the end
(a dict with loss, accuracy, samples, correct and, with ``num_classes``, confusion_matrix)."""


def accuracy(input, target):
    """Fraction of samples whose prediction equals the target, as a float."""
    return _train.accuracy(input, target)


def top_k_accuracy(input, target, k=5):
    """Fraction of samples whose target is among the ``k`` highest scores of ``input`` (N, C)."""
    return _train.top_k_accuracy(input, target, k)


def confusion_matrix(input, target, num_classes=None):
    """(num_classes, num_classes) int64 tensor of counts: row = true class, column = predicted.

    Without ``num_classes`` it is the number of score columns, or 1 + the largest class seen."""
    if num_classes is None:
        num_classes = _infer_num_classes(input, target)
    return _train.confusion_matrix(input, target, num_classes)


def _infer_num_classes(input, target):
    from . import tensor, Tensor
    x = input if isinstance(input, Tensor) else tensor(input)
    t = target if isinstance(target, Tensor) else tensor(target)
    if x.dim() == t.dim() + 1:
        return x.shape[1 if x.dim() > 1 else 0]
    largest = [int(v.max().item()) for v in (x, t) if v.numel() > 0]
    return max(largest, default=0) + 1
