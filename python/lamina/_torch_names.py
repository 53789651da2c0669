"""PyTorch names that are aliases or short compositions of lamina's ops: NumPy-style aliases
(arctan, absolute, ...), flatten / diag / multinomial at module level, the legacy typed
constructors (FloatTensor, LongTensor, ...), Size, finfo / iinfo, broadcast_shapes and the
Tensor methods of the same kind (new_zeros, type_as, nelement, ...). Aliases are the C++
functions themselves, so they cost nothing per call; compositions call lamina ops."""
import math

import numpy as _np

from . import _lamina
from ._lamina import Tensor

__all__ = ["arctan", "arcsin", "arccos", "arctan2", "absolute", "negative", "multiply", "subtract", "divide",
           "true_divide", "greater", "greater_equal", "less", "less_equal", "not_equal", "clip", "flatten", "squeeze",
           "numel", "diag", "multinomial", "bernoulli", "allclose", "isclose", "equal", "broadcast_shapes",
           "broadcast_tensors", "get_default_dtype", "is_floating_point", "Size", "finfo", "iinfo", "FloatTensor",
           "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor", "ByteTensor", "CharTensor",
           "BoolTensor"]

_ALIASES = {"arctan": "atan", "arcsin": "asin", "arccos": "acos", "arctan2": "atan2", "absolute": "abs",
            "negative": "neg", "multiply": "mul", "subtract": "sub", "divide": "div", "true_divide": "div",
            "greater": "gt", "greater_equal": "ge", "less": "lt", "less_equal": "le", "not_equal": "ne",
            "clip": "clamp"}
for _alias, _name in _ALIASES.items():
    globals()[_alias] = getattr(_lamina, _name)


class Size(tuple):
    """torch.Size: a tuple of dims with numel()."""

    def __new__(cls, iterable=()):
        return super().__new__(cls, (int(d) for d in iterable))

    def numel(self):
        """The product of the dims."""
        return math.prod(self)

    def __repr__(self):
        return f"lamina.Size({list(self)})"


def flatten(input, start_dim=0, end_dim=-1):
    """input.flatten(start_dim, end_dim) (torch.flatten)."""
    return input.flatten(start_dim, end_dim)


def squeeze(input, dim=None):
    """input.squeeze(dim) (torch.squeeze)."""
    return input.squeeze() if dim is None else input.squeeze(dim)


def numel(input):
    """The number of elements (torch.numel)."""
    return input.numel()


def is_floating_point(input):
    """Whether input's dtype is a floating type (torch.is_floating_point)."""
    return input.is_floating_point()


def get_default_dtype():
    """The dtype of new floating tensors: lamina.float32."""
    return _lamina.float32


def diag(input, diagonal=0):
    """A 1-D input's values on the `diagonal`-th diagonal of a square matrix, or a 2-D input's
    `diagonal`-th diagonal as 1-D (torch.diag); differentiable."""
    if input.dim() == 1:
        n, k = input.shape[0], abs(int(diagonal))
        square = _lamina.eye(n, dtype=input.dtype, device=input.device) * input
        if k == 0:
            return square
        # Shift right (k > 0) or down (k < 0) by padding the other sides.
        return _lamina.pad(square, [k, 0, 0, k] if diagonal > 0 else [0, k, k, 0])
    if input.dim() == 2:
        return input.diagonal(int(diagonal))
    raise _lamina.ShapeError(f"[diag] expected a 1-D or 2-D input, got shape {tuple(input.shape)}")


def multinomial(input, num_samples, replacement=False, generator=None):
    """Draws num_samples class indices per row of non-negative weights `input` (1-D or 2-D),
    as torch.multinomial: with replacement by inverse CDF, without by Gumbel-top-k. lamina's
    generator draws, so lamina.manual_seed reproduces the samples."""
    if generator is not None:
        raise _lamina.NotImplementedError("[multinomial] generator= is not supported; seed with lamina.manual_seed")
    if input.dim() not in (1, 2):
        raise _lamina.ShapeError(f"[multinomial] prob_dist must be 1 or 2 dim, got shape {tuple(input.shape)}")
    if not input.is_floating_point():
        raise _lamina.DTypeError(f"[multinomial] needs floating-point weights, got {input.dtype}")
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise _lamina.ValueError(f"[multinomial] num_samples must be positive, got {num_samples}")
    w = (input if input.dim() == 2 else input.unsqueeze(0)).detach().to(_lamina.float64)
    rows, classes = w.shape
    if classes == 0:
        raise _lamina.ShapeError("[multinomial] needs at least one category")
    if not bool(_lamina.isfinite(w).all()) or bool((w < 0).any()):
        raise _lamina.ValueError("[multinomial] probability tensor contains either inf, nan or element < 0")
    positive = (w > 0).sum(1)
    if bool((positive == 0).any()):
        raise _lamina.ValueError("[multinomial] invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement:
        if num_samples > classes:
            raise _lamina.ValueError(f"[multinomial] cannot sample n_sample > prob_dist.size(-1) "
                                     f"({num_samples} > {classes}) without replacement")
        if bool((positive < num_samples).any()):
            raise _lamina.ValueError("[multinomial] invalid multinomial distribution (with replacement=False, not "
                                     "enough non-negative category to sample)")
        u = _lamina.rand(rows, classes, dtype=_lamina.float64).clamp(1e-300, 1.0)
        keys = _lamina.log(w) - _lamina.log(-_lamina.log(u))  # zero weights give -inf: never drawn
        out = keys.topk(num_samples, dim=1)[1]
    else:
        cdf = w.cumsum(1)
        total = cdf[:, -1:]
        u = _lamina.rand(rows, num_samples, dtype=_lamina.float64) * total
        out = (cdf.unsqueeze(1) <= u.unsqueeze(2)).sum(2)
        # Rounding at the top must not pick a trailing zero-weight class: clamp to the last positive one.
        last = (w > 0).to(_lamina.int64) * _lamina.arange(classes, dtype=_lamina.int64)
        out = _lamina.minimum(out, last.amax(1, keepdim=True))
    out = out.to(_lamina.int64)
    return out if input.dim() == 2 else out.squeeze(0)


def bernoulli(input, p=None, generator=None):
    """0/1 draws with probability input (or p) per element (torch.bernoulli), in input's dtype."""
    if generator is not None:
        raise _lamina.NotImplementedError("[bernoulli] generator= is not supported; seed with lamina.manual_seed")
    probs = input if p is None else _lamina.full(tuple(input.shape), float(p), dtype=input.dtype)
    if not probs.is_floating_point():
        raise _lamina.DTypeError(f"[bernoulli] needs floating-point probabilities, got {probs.dtype}")
    if probs.numel() and (bool((probs < 0).any()) or bool((probs > 1).any())):
        raise _lamina.ValueError("[bernoulli] probabilities must lie in [0, 1]")
    return (_lamina.rand(*probs.shape, dtype=probs.dtype) < probs.detach()).to(probs.dtype)


def isclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False):
    """|input - other| <= atol + rtol * |other| elementwise (torch.isclose)."""
    close = (input == other) | ((input - other).abs() <= atol + rtol * other.abs())
    if equal_nan:
        close = close | (_lamina.isnan(input) & _lamina.isnan(other))
    return close


def allclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether isclose holds everywhere (torch.allclose)."""
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def equal(input, other):
    """True when both have the same shape and elements (torch.equal)."""
    return tuple(input.shape) == tuple(other.shape) and bool((input == other).all())


def broadcast_shapes(*shapes):
    """The shape the given shapes broadcast to (torch.broadcast_shapes); ShapeError otherwise."""
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    try:
        return Size(_np.broadcast_shapes(*shapes))
    except ValueError as e:
        raise _lamina.ShapeError(f"[broadcast_shapes] shapes {shapes} do not broadcast") from e


def broadcast_tensors(*tensors):
    """The tensors expanded to their common shape (torch.broadcast_tensors)."""
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(t.expand(*shape) for t in tensors)


class finfo:
    """Limits of a floating dtype (torch.finfo): bits, eps, max, min, tiny, resolution."""

    _NP = {"float32": _np.float32, "float64": _np.float64, "float16": _np.float16}

    def __init__(self, type=None):
        dt = _lamina.float32 if type is None else type
        name = str(dt).replace("lamina.", "")
        if name == "bfloat16":
            self.bits, self.eps, self.max, self.tiny, self.resolution = 16, 2.0 ** -7, 3.3895313892515355e38, \
                1.1754943508222875e-38, 0.01
        elif name in self._NP:
            info = _np.finfo(self._NP[name])
            self.bits, self.eps, self.max, self.tiny = info.bits, float(info.eps), float(info.max), \
                float(info.tiny)
            self.resolution = float(info.resolution)
        else:
            raise _lamina.DTypeError(f"[finfo] {dt} is not a floating dtype")
        self.min, self.smallest_normal, self.dtype = -self.max, self.tiny, name

    def __repr__(self):
        return f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, eps={self.eps}, " \
               f"tiny={self.tiny}, dtype={self.dtype})"


class iinfo:
    """Limits of an integer dtype (torch.iinfo): bits, max, min."""

    def __init__(self, type):
        name = str(type).replace("lamina.", "")
        if name not in ("int8", "uint8", "int32", "int64"):
            raise _lamina.DTypeError(f"[iinfo] {type} is not an integer dtype")
        info = _np.iinfo(getattr(_np, name))
        self.bits, self.max, self.min, self.dtype = info.bits, int(info.max), int(info.min), name

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"


class _TypedTensorType(type):
    """isinstance(t, lamina.FloatTensor) is True for float32 tensors, and so on."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype

    def __call__(cls, *args, device=None):
        if len(args) == 1 and not isinstance(args[0], int):
            data = args[0]
            if isinstance(data, Tensor):
                return data.to(cls.dtype)
            return _lamina.tensor(data, dtype=cls.dtype, device=device)
        if not all(isinstance(a, int) for a in args):
            raise TypeError(f"{cls.__name__}() takes sizes (ints) or one sequence of values, got {args!r}")
        return _lamina.empty(*args, dtype=cls.dtype, device=device) if args else \
            _lamina.empty(0, dtype=cls.dtype, device=device)


def _typed(name, dtype, doc):
    return _TypedTensorType(name, (), {"dtype": dtype, "__doc__": doc, "__module__": "lamina"})


FloatTensor = _typed("FloatTensor", _lamina.float32, "float32 tensors: FloatTensor(2, 3) (uninitialized) or FloatTensor([1, 2]).")
DoubleTensor = _typed("DoubleTensor", _lamina.float64, "float64 tensors (torch.DoubleTensor).")
HalfTensor = _typed("HalfTensor", _lamina.float16, "float16 tensors (torch.HalfTensor).")
BFloat16Tensor = _typed("BFloat16Tensor", _lamina.bfloat16, "bfloat16 tensors (torch.BFloat16Tensor).")
LongTensor = _typed("LongTensor", _lamina.int64, "int64 tensors (torch.LongTensor).")
IntTensor = _typed("IntTensor", _lamina.int32, "int32 tensors (torch.IntTensor).")
ByteTensor = _typed("ByteTensor", _lamina.uint8, "uint8 tensors (torch.ByteTensor).")
CharTensor = _typed("CharTensor", _lamina.int8, "int8 tensors (torch.CharTensor).")
BoolTensor = _typed("BoolTensor", _lamina.bool, "bool tensors (torch.BoolTensor).")


# ---- Tensor methods of the same kind ------------------------------------------------------
def _new_factory(make):
    def method(self, *size, dtype=None, device=None, requires_grad=False, **_):
        if len(size) == 1 and isinstance(size[0], (tuple, list)):
            size = tuple(size[0])
        t = make(self, size, dtype or self.dtype, device or self.device)
        return t.requires_grad_() if requires_grad else t
    return method


def _new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    """A new tensor from data with this tensor's dtype and device by default."""
    t = data.detach().clone().to(dtype or self.dtype) if isinstance(data, Tensor) else \
        _lamina.tensor(data, dtype=dtype or self.dtype, device=device or self.device)
    return t.requires_grad_() if requires_grad else t


def _new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of `size` filled with fill_value, this tensor's dtype and device by default."""
    t = _lamina.full(tuple(size), fill_value, dtype=dtype or self.dtype, device=device or self.device)
    return t.requires_grad_() if requires_grad else t


def _type(self, dtype=None, non_blocking=False, **_):
    """Without an argument the type name ("lamina.FloatTensor"); else this tensor cast to dtype
    (a dtype or a typed class such as lamina.LongTensor)."""
    if dtype is None:
        for cls in (FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, LongTensor, IntTensor, ByteTensor,
                    CharTensor, BoolTensor):
            if self.dtype == cls.dtype:
                return "lamina." + cls.__name__
    if isinstance(dtype, _TypedTensorType):
        dtype = dtype.dtype
    return self.to(dtype)


def _format(self, spec):
    """format(t, spec): a 0-d tensor formats as its Python number (f"{loss:.4f}"), as in PyTorch."""
    if self.dim() == 0:
        return format(self.item(), spec)
    if spec:
        raise TypeError(f"unsupported format string {spec!r} for a {self.dim()}-D tensor; format t.item() or "
                        "t.tolist() instead")
    return str(self)


# The largest integers random_() draws by default: every integer up to 2^digits is exact in a
# float dtype; integer dtypes go up to their maximum (int64's, exclusive).
_RANDOM_TOP = {"float16": 2 ** 11, "bfloat16": 2 ** 8, "float32": 2 ** 24, "float64": 2 ** 53,
               "uint8": 2 ** 8 - 1, "int8": 2 ** 7 - 1, "int32": 2 ** 31 - 1, "int64": 2 ** 63 - 2, "bool": 1}


def _random_(self, from_=0, to=None, *, generator=None):
    """Fills with integers drawn uniformly from [from_, to) (torch's Tensor.random_): random_(to)
    is [0, to), random_() [0, the dtype's largest exactly representable integer]."""
    if generator is not None:
        raise _lamina.ConfigError("[random_] generator= is not supported: lamina draws from its global generator")
    if to is None:
        low, high = (0, from_) if from_ else (0, _RANDOM_TOP[str(self.dtype).split(".")[-1]] + 1)
    else:
        low, high = from_, to
    if not low < high:
        raise _lamina.ValueError(f"[random_] expects from < to, got from={low}, to={high}")
    draws = _lamina.randint(int(low), int(high), tuple(self.shape), dtype=_lamina.int64, device=self.device)
    with _no_grad():
        return self.copy_(draws)


def _no_grad():
    from .autograd import no_grad
    return no_grad()


_TENSOR_METHODS = {
    "arctan": Tensor.atan, "arcsin": Tensor.asin, "arccos": Tensor.acos, "absolute": Tensor.abs,
    "arctan2": Tensor.atan2,
    "multinomial": multinomial, "diag": diag, "bernoulli": bernoulli,
    "allclose": allclose, "isclose": isclose, "equal": equal,
    "nelement": lambda self: self.numel(), "ndimension": lambda self: self.dim(),
    "type_as": lambda self, other: self.to(other.dtype),
    "new_zeros": _new_factory(lambda self, s, dt, dev: _lamina.zeros(*s, dtype=dt, device=dev)),
    "new_ones": _new_factory(lambda self, s, dt, dev: _lamina.ones(*s, dtype=dt, device=dev)),
    "new_empty": _new_factory(lambda self, s, dt, dev: _lamina.empty(*s, dtype=dt, device=dev)),
    "new_full": _new_full, "new_tensor": _new_tensor, "type": _type, "__format__": _format, "random_": _random_,
}
_REPLACED = ("type", "__format__")  # the extension's versions: a dtype-name string, object's format


def install_tensor_methods():
    """Adds the methods above to lamina.Tensor where it has none of that name."""
    for name, fn in _TENSOR_METHODS.items():
        if not hasattr(Tensor, name) or name in _REPLACED:
            setattr(Tensor, name, fn)
