"""Helpers shared by the distributions: parameter broadcasting, probs <-> logits, dtype limits."""
from numbers import Number

import numpy as np

import lamina

__all__ = ["broadcast_shapes", "broadcast_all", "as_tensor", "probs_to_logits", "logits_to_probs",
           "clamp_probs", "finfo", "lazy_property"]

_NUMPY_FLOATS = {lamina.float16: np.float16, lamina.float32: np.float32, lamina.float64: np.float64}
# NumPy has no bfloat16: its limits written out (8 exponent bits, 7 mantissa bits).
_BFLOAT16 = {"eps": 2.0 ** -7, "min": -3.3895313892515355e38, "tiny": 1.1754943508222875e-38}


class finfo:
    """Limits of a lamina floating dtype (torch.finfo's eps, min, max, tiny)."""

    def __init__(self, dtype):
        if dtype == lamina.bfloat16:
            self.eps, self.min, self.tiny = _BFLOAT16["eps"], _BFLOAT16["min"], _BFLOAT16["tiny"]
        elif dtype in _NUMPY_FLOATS:
            info = np.finfo(_NUMPY_FLOATS[dtype])
            self.eps, self.min, self.tiny = float(info.eps), float(info.min), float(info.tiny)
        else:
            raise lamina.DTypeError(f"finfo: {dtype} is not a floating dtype; pass float16, bfloat16, "
                                    "float32 or float64")
        self.max = -self.min


def broadcast_shapes(*shapes):
    """The shape that all of `shapes` broadcast to, by NumPy's rules; ShapeError when they do not."""
    ndim = max((len(s) for s in shapes), default=0)
    result = [1] * ndim
    for shape in shapes:
        for i, size in enumerate(shape, start=ndim - len(shape)):
            if size != 1 and result[i] != 1 and size != result[i]:
                raise lamina.ShapeError(f"broadcast_shapes: shapes {', '.join(str(tuple(s)) for s in shapes)} "
                                        f"do not broadcast (size {result[i]} vs {size} at dim {i}); "
                                        "make every dim equal or 1")
            if size != 1:
                result[i] = size
    return tuple(result)


def as_tensor(value, like=None, name="value"):
    """`value` as a tensor: tensors pass through, numbers take `like`'s dtype/device (else float32)."""
    if isinstance(value, lamina.Tensor):
        return value
    if isinstance(value, Number):
        if like is None:
            return lamina.tensor(float(value), dtype=lamina.float32)
        return lamina.tensor(value, dtype=like.dtype, device=like.device)
    raise lamina.ValueError(f"{name}: expected a lamina.Tensor or a Python number, got "
                            f"{type(value).__name__}; wrap it with lamina.tensor(...)")


def broadcast_all(*values):
    """torch.distributions.utils.broadcast_all: numbers become tensors (dtype/device of the first
    tensor, else float32), then all are expanded to one broadcast shape (no copy)."""
    if not all(isinstance(v, (lamina.Tensor, Number)) for v in values):
        raise lamina.ValueError("Input arguments must all be instances of numbers.Number or lamina.Tensor; "
                                "got " + ", ".join(type(v).__name__ for v in values))
    like = next((v for v in values if isinstance(v, lamina.Tensor)), None)
    tensors = [as_tensor(v, like) for v in values]
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(t if t.shape == shape else t.expand(*shape) for t in tensors)


def clamp_probs(probs):
    """Probabilities clamped into [eps, 1 - eps] of their dtype, so their logs stay finite."""
    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def probs_to_logits(probs, is_binary=False):
    """Log-probabilities (or log-odds when is_binary) of clamped probabilities."""
    clamped = clamp_probs(probs)
    if is_binary:
        return lamina.log(clamped) - lamina.log1p(-clamped)
    return lamina.log(clamped)


def logits_to_probs(logits, is_binary=False):
    """Probabilities from log-odds (sigmoid, is_binary) or unnormalized log-probabilities (softmax)."""
    if is_binary:
        return lamina.sigmoid(logits)
    return lamina.softmax(logits, -1)


class lazy_property:
    """A property computed on first access and then stored on the instance (so it shows in __dict__)."""

    def __init__(self, compute):
        self.compute = compute
        self.__doc__ = compute.__doc__
        self.__name__ = compute.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.compute(instance)
        instance.__dict__[self.compute.__name__] = value
        return value
