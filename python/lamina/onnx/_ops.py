"""Converters from lamina ops and layers to ONNX nodes.

A function/method converter is ``conv(g, out, *args, **kwargs)``: `g` is the _Graph, `out` the
value lamina computed, and args/kwargs exactly what the op was called with (Tensor methods get
the tensor first, so most share one converter with the function of the same name). It appends
nodes with ``g.op(...)`` and returns the output's value name (a list of names for a tuple
result; None leaves the result untraced, i.e. a constant). Register it with ``@op("name", ...)``;
"Tensor.name" registers a method only (when the function of that name differs). In-place
variants (``add_``, ``__iadd__``) fall back to the out-of-place converter.

A layer converter is ``conv(g, module, out, *args)`` registered with ``@module("ClassName")``."""
import ast
import math
import re

import numpy as np

from .. import _lamina
from .._lamina import Tensor

_NotImpl = _lamina.NotImplementedError

OPS = {}
MODULES = {}


def op(*names):
    def deco(fn):
        for n in names:
            OPS[n] = fn
        return fn
    return deco


def module(*names):
    def deco(fn):
        for n in names:
            MODULES[n] = fn
        return fn
    return deco


def lookup(key):
    c = OPS.get(key)
    if c is not None:
        return c
    name = key[7:] if key.startswith("Tensor.") else key
    c = OPS.get(name)
    if c is None and name.startswith("__i") and name.endswith("__"):
        c = OPS.get("__" + name[3:])  # __iadd__ -> __add__
    if c is None and name.endswith("_") and not name.startswith("_"):
        c = OPS.get(name[:-1])  # add_ -> add
    return c


def module_converter(m):
    """The converter of a built-in layer (None for user modules and containers, which are traced
    through); raises for a built-in C++ layer without one."""
    from ..nn import modules as M
    for cls in type(m).__mro__:
        if cls.__module__.startswith("lamina.nn") and cls.__name__ in MODULES:
            if type(m).forward is not cls.forward:
                return None  # a subclass with its own forward: trace it
            return MODULES[cls.__name__]
    if isinstance(m, M._Wrapped) and type(m).forward is M._Wrapped.forward or type(m) in (
            M.MultiheadAttention, M.RMSNorm, M.GroupNorm, M.ConvTranspose2d):
        raise _NotImpl(f"onnx export: module '{type(m).__name__}' is not supported")
    return None


def unsupported(what):
    raise _NotImpl(f"onnx export: {what} is not supported")


# ---- helpers --------------------------------------------------------------------------------

def _norm(d, n):
    d = int(d)
    return d + n if d < 0 else d


def _dims(dim, n):
    """A dim argument (None: all dims; int; sequence) as a sorted list of non-negative dims."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return list(range(n))
    if isinstance(dim, (tuple, list)):
        return sorted(_norm(d, n) for d in dim)
    return [_norm(dim, n)]


def _varargs(args):
    """(*sizes) or (sizes,) as a list."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return list(args[0])
    return list(args)


def _static_shape(g, x, shape, fill_batch):
    """A target shape; with a dynamic batch, axis 0 equal to the input's batch axis becomes
    `fill_batch` (0: copy the input's dim in Reshape, 1: keep it in Expand)."""
    shape = [int(d) for d in shape]
    if g.batch is not None and shape and x.ndim > 0 and int(x.shape[0]) == g.batch and shape[0] == g.batch:
        shape[0] = fill_batch
    return shape


def _reduce(g, onnx_op, x, axes, keepdims):
    """Reduce* over `axes` (None: all) following the opset's form (axes attribute or input)."""
    keep = 1 if keepdims else 0
    if onnx_op == "ReduceSum" or g.opset >= 18:
        inputs = [x] + ([g.ints(axes, "axes")] if axes is not None else [])
        return g.op(onnx_op, inputs, keepdims=keep)
    return g.op(onnx_op, [x], keepdims=keep, axes=list(axes) if axes is not None else None)


def _unsqueeze(g, x, axes):
    return g.op("Unsqueeze", [x, g.ints(axes, "axes")])


def _squeeze(g, x, axes):
    return g.op("Squeeze", [x, g.ints(axes, "axes")])


def _scalar_index(g, i):
    return g.const(np.asarray(int(i), dtype=np.int64), "index")


def _compute_dtype(a, b):
    """The dtype both operands of a comparison are converted to (lamina's promotion)."""
    try:
        return _lamina.add(a, b).dtype
    except Exception:  # noqa: BLE001
        return a.dtype if isinstance(a, Tensor) else b.dtype


def _float_input(g, x, out):
    """x's value, cast to out's dtype (a float op on an integer tensor)."""
    return g.value(x, out.dtype)


# ---- elementwise ----------------------------------------------------------------------------

def _binary(onnx_op, reverse=False):
    def conv(g, out, a, b, alpha=1, rounding_mode=None):
        if reverse:
            a, b = b, a
        dt = out.dtype
        A, B = g.value(a, dt), g.value(b, dt)
        if alpha != 1:
            B = g.op("Mul", [B, g.value(alpha, dt)])
        y = g.op(onnx_op, [A, B])
        if rounding_mode is not None:
            if rounding_mode != "floor" or not out.is_floating_point():
                unsupported(f"div with rounding_mode={rounding_mode!r}")
            y = g.op("Floor", [y])
        return y
    return conv


for _names, _onnx in ((("add", "__add__"), "Add"), (("sub", "subtract", "__sub__"), "Sub"),
                      (("mul", "multiply", "__mul__"), "Mul"), (("div", "divide", "true_divide", "__truediv__"), "Div"),
                      (("pow", "__pow__"), "Pow"), (("maximum",), "Max"), (("minimum",), "Min")):
    op(*_names)(_binary(_onnx))
for _names, _onnx in ((("__radd__",), "Add"), (("__rsub__",), "Sub"), (("__rmul__",), "Mul"),
                      (("__rtruediv__",), "Div"), (("__rpow__",), "Pow")):
    op(*_names)(_binary(_onnx, reverse=True))


@op("hypot")
def _hypot(g, out, a, b):
    A, B = g.value(a, out.dtype), g.value(b, out.dtype)
    return g.op("Sqrt", [g.op("Add", [g.op("Mul", [A, A]), g.op("Mul", [B, B])])])


@op("logaddexp")
def _logaddexp(g, out, a, b):
    # max(a, b) + log(1 + exp(-|a - b|)): no overflow for large inputs.
    A, B = g.value(a, out.dtype), g.value(b, out.dtype)
    m = g.op("Max", [A, B])
    d = g.op("Neg", [g.op("Abs", [g.op("Sub", [A, B])])])
    return g.op("Add", [m, g.op("Log", [g.op("Add", [g.value(1.0, out.dtype), g.op("Exp", [d])])])])


@op("copysign")
def _copysign(g, out, a, b):
    # |a| with b's sign bit; 1 / b tells -0.0 from +0.0 (ONNX has no sign-bit op).
    A, B = g.value(a, out.dtype), g.value(b, out.dtype)
    negative = g.op("Less", [g.op("Div", [g.value(1.0, out.dtype), B]), g.value(0.0, out.dtype)])
    magnitude = g.op("Abs", [A])
    return g.op("Where", [negative, g.op("Neg", [magnitude]), magnitude])


def _compare(onnx_op, negate=False, reverse=False):
    def conv(g, out, a, b):
        if reverse:
            a, b = b, a
        dt = _compute_dtype(a, b)
        y = g.op(onnx_op, [g.value(a, dt), g.value(b, dt)])
        return g.op("Not", [y]) if negate else y
    return conv


op("eq", "__eq__")(_compare("Equal"))
op("ne", "__ne__")(_compare("Equal", negate=True))
op("lt", "less", "__lt__")(_compare("Less"))
op("le", "__le__")(_compare("LessOrEqual"))
op("gt", "greater", "__gt__")(_compare("Greater"))
op("ge", "__ge__")(_compare("GreaterOrEqual"))


def _logical(onnx_op, bool_only=False):
    def conv(g, out, a, b):
        if bool_only and not (out.dtype == _lamina.bool):
            unsupported(f"bitwise {onnx_op} of integer tensors")
        B = _lamina.bool
        return g.op(onnx_op, [g.value(a, B), g.value(b, B)])
    return conv


op("logical_and")(_logical("And"))
op("logical_or")(_logical("Or"))
op("logical_xor")(_logical("Xor"))
op("__and__", "__rand__", "bitwise_and")(_logical("And", True))
op("__or__", "__ror__", "bitwise_or")(_logical("Or", True))
op("__xor__", "__rxor__", "bitwise_xor")(_logical("Xor", True))


@op("logical_not")
def _logical_not(g, out, x):
    return g.op("Not", [g.value(x, _lamina.bool)])


@op("__invert__", "bitwise_not")
def _invert(g, out, x):
    if out.dtype != _lamina.bool:
        unsupported("bitwise_not of integer tensors")
    return g.op("Not", [g.value(x)])


def _unary(onnx_op):
    def conv(g, out, x):
        return g.op(onnx_op, [_float_input(g, x, out)])
    return conv


for _names, _onnx in ((("neg", "negative", "__neg__"), "Neg"), (("abs", "absolute", "__abs__"), "Abs"),
                      (("exp",), "Exp"), (("log",), "Log"), (("sqrt",), "Sqrt"), (("tanh",), "Tanh"),
                      (("sigmoid",), "Sigmoid"), (("relu",), "Relu"), (("sin",), "Sin"), (("cos",), "Cos"),
                      (("tan",), "Tan"), (("asin",), "Asin"), (("acos",), "Acos"), (("atan",), "Atan"),
                      (("sinh",), "Sinh"), (("cosh",), "Cosh"), (("erf",), "Erf"), (("floor",), "Floor"),
                      (("ceil",), "Ceil"), (("round",), "Round"), (("sign",), "Sign"),
                      (("reciprocal",), "Reciprocal")):
    op(*_names)(_unary(_onnx))


@op("isnan")
def _isnan(g, out, x):
    return g.op("IsNaN", [g.value(x)])


@op("isinf")
def _isinf(g, out, x):
    return g.op("IsInf", [g.value(x)])


@op("isfinite")
def _isfinite(g, out, x):
    v = g.value(x)
    return g.op("Not", [g.op("Or", [g.op("IsNaN", [v]), g.op("IsInf", [v])])])


@op("rsqrt")
def _rsqrt(g, out, x):
    return g.op("Reciprocal", [g.op("Sqrt", [_float_input(g, x, out)])])


@op("square")
def _square(g, out, x):
    v = _float_input(g, x, out)
    return g.op("Mul", [v, v])


@op("exp2")
def _exp2(g, out, x):
    return g.op("Pow", [g.value(2.0, out.dtype), _float_input(g, x, out)])


def _log_base(base):
    def conv(g, out, x):
        return g.op("Div", [g.op("Log", [_float_input(g, x, out)]), g.value(math.log(base), out.dtype)])
    return conv


op("log2")(_log_base(2.0))
op("log10")(_log_base(10.0))


@op("log1p")
def _log1p(g, out, x):
    return g.op("Log", [g.op("Add", [_float_input(g, x, out), g.value(1.0, out.dtype)])])


@op("expm1")
def _expm1(g, out, x):
    return g.op("Sub", [g.op("Exp", [_float_input(g, x, out)]), g.value(1.0, out.dtype)])


@op("silu")
def _silu(g, out, x):
    v = _float_input(g, x, out)
    return g.op("Mul", [v, g.op("Sigmoid", [v])])


def gelu(g, x, dtype, approximate="none"):
    if approximate not in ("none", "tanh"):
        unsupported(f"gelu with approximate={approximate!r}")
    if g.opset >= 20:
        return g.op("Gelu", [x], approximate=approximate)
    c = lambda v: g.value(float(v), dtype)  # noqa: E731
    if approximate == "tanh":
        cube = g.op("Mul", [g.op("Mul", [x, x]), x])
        inner = g.op("Mul", [g.op("Add", [x, g.op("Mul", [cube, c(0.044715)])]), c(math.sqrt(2.0 / math.pi))])
        t = g.op("Tanh", [inner])
    else:
        t = g.op("Erf", [g.op("Div", [x, c(math.sqrt(2.0))])])
    return g.op("Mul", [g.op("Mul", [x, g.op("Add", [t, c(1.0)])]), c(0.5)])


@op("gelu")
def _gelu(g, out, x, approximate="none"):
    return gelu(g, _float_input(g, x, out), out.dtype, approximate)


@op("softplus")
def _softplus(g, out, x, beta=1.0, threshold=20.0):
    v = _float_input(g, x, out)
    if beta == 1.0:
        sp = g.op("Softplus", [v])
    else:
        bx = g.op("Mul", [v, g.value(float(beta), out.dtype)])
        sp = g.op("Div", [g.op("Softplus", [bx]), g.value(float(beta), out.dtype)])
        v = bx
    # Linear above the threshold (as lamina / PyTorch).
    return g.op("Where", [g.op("Greater", [v, g.value(float(threshold), out.dtype)]), g.value(x, out.dtype), sp])


@op("clamp", "clip")
def _clamp(g, out, x, min=None, max=None):
    y = g.value(x, out.dtype)
    if min is not None:
        y = g.op("Max", [y, g.value(min, out.dtype)])
    if max is not None:
        y = g.op("Min", [y, g.value(max, out.dtype)])
    return y


@op("where")
def _where(g, out, condition, input, other):
    return g.op("Where", [g.value(condition, _lamina.bool), g.value(input, out.dtype), g.value(other, out.dtype)])


@op("Tensor.where")
def _where_method(g, out, self, condition, other):
    return _where(g, out, condition, self, other)


@op("masked_fill")
def _masked_fill(g, out, input, mask, value):
    return g.op("Where", [g.value(mask, _lamina.bool), g.value(value, out.dtype), g.value(input, out.dtype)])


# ---- activations along a dim ----------------------------------------------------------------

@op("softmax")
def _softmax(g, out, input, dim, dtype=None):
    return g.op("Softmax", [g.value(input, out.dtype)], axis=int(dim))


@op("log_softmax")
def _log_softmax(g, out, input, dim, dtype=None):
    return g.op("LogSoftmax", [g.value(input, out.dtype)], axis=int(dim))


# ---- copies, casts, views -------------------------------------------------------------------

@op("contiguous", "clone", "detach", "__pos__", "cpu", "cuda")
def _identity(g, out, x, *args, **kwargs):
    return g.value(x)


@op("to", "type", "float", "double", "half", "bfloat16", "long", "int", "bool", "byte", "char")
def _cast(g, out, x, *args, **kwargs):
    if not isinstance(out, Tensor):
        return None
    return g.value(x, out.dtype)


@op("reshape", "view", "reshape_as", "view_as")
def _reshape(g, out, x, *args):
    if len(args) == 1 and isinstance(args[0], Tensor) and not isinstance(out, Tensor):
        unsupported("view(dtype)")
    return g.op("Reshape", [g.value(x), g.ints(_static_shape(g, x, out.shape, 0))])


@op("flatten")
def _flatten(g, out, x, start_dim=0, end_dim=-1):
    n = x.ndim
    if n >= 2 and _norm(start_dim, n) == 1 and _norm(end_dim, n) == n - 1:
        return g.op("Flatten", [g.value(x)], axis=1)
    return _reshape(g, out, x)


@op("unsqueeze")
def _unsqueeze_op(g, out, x, dim):
    return _unsqueeze(g, g.value(x), [_norm(dim, out.ndim)])


@op("squeeze")
def _squeeze_op(g, out, x, dim=None):
    axes = [d for d in _dims(dim, x.ndim) if int(x.shape[d]) == 1] if x.ndim else []
    if not axes:
        return g.value(x)
    return _squeeze(g, g.value(x), axes)


def _transpose_perm(g, x, perm):
    if list(perm) == list(range(len(perm))):
        return g.value(x)
    return g.op("Transpose", [g.value(x)], perm=[int(p) for p in perm])


@op("transpose", "swapaxes")
def _transpose(g, out, x, dim0, dim1):
    n = x.ndim
    perm = list(range(n))
    a, b = _norm(dim0, n), _norm(dim1, n)
    perm[a], perm[b] = perm[b], perm[a]
    return _transpose_perm(g, x, perm)


@op("t")
def _t(g, out, x):
    return _transpose_perm(g, x, list(range(x.ndim))[::-1])


@op("Tensor.T")
def _T(g, out, x):
    return _transpose_perm(g, x, list(range(x.ndim))[::-1])


@op("Tensor.mT")
def _mT(g, out, x):
    return _transpose(g, out, x, -2, -1)


@op("permute")
def _permute(g, out, x, *dims):
    return _transpose_perm(g, x, [_norm(d, x.ndim) for d in _varargs(dims)])


@op("movedim", "moveaxis")
def _movedim(g, out, x, source, destination):
    n = x.ndim
    src = [_norm(d, n) for d in (source if isinstance(source, (tuple, list)) else [source])]
    dst = [_norm(d, n) for d in (destination if isinstance(destination, (tuple, list)) else [destination])]
    perm = [None] * n
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(d for d in range(n) if d not in src)
    perm = [p if p is not None else next(rest) for p in perm]
    return _transpose_perm(g, x, perm)


@op("expand", "broadcast_to", "expand_as")
def _expand(g, out, x, *args):
    return g.op("Expand", [g.value(x), g.ints(_static_shape(g, x, out.shape, 1))])


@op("repeat")
def _repeat(g, out, x, *sizes):
    sizes = [int(s) for s in _varargs(sizes)]
    v = g.value(x)
    if len(sizes) > x.ndim:
        v = g.op("Reshape", [v, g.ints([1] * (len(sizes) - x.ndim) + [int(d) for d in x.shape])])
    return g.op("Tile", [v, g.ints(sizes)])


@op("unbind")
def _unbind(g, out, x, dim=0):
    v, axis = g.value(x), _norm(dim, x.ndim)
    return [g.op("Gather", [v, _scalar_index(g, i)], axis=axis) for i in range(len(out))]


@op("split", "chunk")
def _split(g, out, x, size_or_sections, dim=0):
    axis = _norm(dim, x.ndim)
    sizes = [int(o.shape[axis]) for o in out]
    if len(out) == 1:
        return [g.value(x)]
    names = g.op("Split", [g.value(x), g.ints(sizes, "split")], n_out=len(out), axis=axis)
    return names


@op("narrow")
def _narrow(g, out, x, dim, start, length):
    axis = _norm(dim, x.ndim)
    start = _norm(start, int(x.shape[axis]))
    return g.op("Slice", [g.value(x), g.ints([start]), g.ints([start + int(length)]), g.ints([axis])])


@op("select")
def _select(g, out, x, dim, index):
    axis = _norm(dim, x.ndim)
    return g.op("Gather", [g.value(x), _scalar_index(g, _norm(index, int(x.shape[axis])))], axis=axis)


@op("__getitem__")
def _getitem(g, out, x, key):
    key = key if isinstance(key, tuple) else (key,)
    consuming = sum(1 for k in key if k is not None and k is not Ellipsis and not isinstance(k, bool))
    if any(isinstance(k, Tensor) and k.dtype == _lamina.bool for k in key) or any(isinstance(k, bool) for k in key):
        unsupported("indexing with a boolean mask")
    if sum(1 for k in key if isinstance(k, (Tensor, list))) > 1:
        unsupported("indexing with more than one index tensor")
    expanded = []
    for k in key:
        if k is Ellipsis:
            expanded.extend([slice(None)] * (x.ndim - consuming))
        else:
            expanded.append(k)
    v, axis, src = g.value(x), 0, 0
    for k in expanded:
        if k is None:
            v = _unsqueeze(g, v, [axis])
            axis += 1
        elif isinstance(k, int):
            v = g.op("Gather", [v, _scalar_index(g, _norm(k, int(x.shape[src])))], axis=axis)
            src += 1
        elif isinstance(k, slice):
            size = int(x.shape[src])
            start, stop, step = k.indices(size)
            if (start, stop, step) != (0, size, 1):
                if step < 0 and stop < 0:
                    stop = -(2 ** 63)
                v = g.op("Slice", [v, g.ints([start]), g.ints([stop]), g.ints([axis]), g.ints([step])])
            axis += 1
            src += 1
        elif isinstance(k, (Tensor, list)):
            idx = g.value(k, _lamina.int64) if isinstance(k, Tensor) else g.const(np.asarray(k, dtype=np.int64))
            nd = k.ndim if isinstance(k, Tensor) else np.asarray(k).ndim
            # Negative indices count from the end, as in ONNX Gather.
            v = g.op("Gather", [v, idx], axis=axis)
            axis += nd
            src += 1
        else:
            unsupported(f"indexing with a {type(k).__name__}")
    return v


@op("cat", "concat", "concatenate")
def _cat(g, out, tensors, dim=0):
    return g.op("Concat", [g.value(t, out.dtype) for t in tensors], axis=_norm(dim, out.ndim))


@op("stack")
def _stack(g, out, tensors, dim=0):
    axis = _norm(dim, out.ndim)
    return g.op("Concat", [_unsqueeze(g, g.value(t, out.dtype), [axis]) for t in tensors], axis=axis)


def _trilu(upper):
    def conv(g, out, x, diagonal=0):
        return g.op("Trilu", [g.value(x), g.const(np.asarray(int(diagonal), dtype=np.int64), "k")], upper=upper)
    return conv


op("tril")(_trilu(0))
op("triu")(_trilu(1))


@op("gather")
def _gather(g, out, x, dim, index):
    return g.op("GatherElements", [g.value(x), g.value(index, _lamina.int64)], axis=_norm(dim, x.ndim))


@op("index_select")
def _index_select(g, out, x, dim, index):
    return g.op("Gather", [g.value(x), g.value(index, _lamina.int64)], axis=_norm(dim, x.ndim))


@op("zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like")
def _constant_like(g, out, *args, **kwargs):
    return None  # depends only on the (static) shape: exported as a constant


# ---- linear algebra -------------------------------------------------------------------------

@op("matmul", "mm", "bmm", "mv", "dot", "__matmul__")
def _matmul(g, out, a, b):
    return g.op("MatMul", [g.value(a, out.dtype), g.value(b, out.dtype)])


@op("__rmatmul__")
def _rmatmul(g, out, a, b):
    return _matmul(g, out, b, a)


def linear(g, x, weight, bias, dtype):
    if isinstance(weight, Tensor) and not g.is_traced(weight):
        w = g.const(g.array(weight).T.astype(g.np_dtype(dtype)), "weight_t")
    else:
        w = g.op("Transpose", [g.value(weight, dtype)], perm=[1, 0])
    y = g.op("MatMul", [g.value(x, dtype), w])
    if bias is not None:
        y = g.op("Add", [y, g.value(bias, dtype, "bias")])
    return y


# ---- reductions -----------------------------------------------------------------------------

def _reduction(onnx_op):
    def conv(g, out, x, dim=None, keepdim=False, dtype=None):
        n = x.ndim
        axes = None if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0) else _dims(dim, n)
        return _reduce(g, onnx_op, g.value(x, out.dtype), axes, keepdim)
    return conv


op("sum")(_reduction("ReduceSum"))
op("mean")(_reduction("ReduceMean"))
op("prod")(_reduction("ReduceProd"))
op("amax")(_reduction("ReduceMax"))
op("amin")(_reduction("ReduceMin"))


@op("logsumexp")
def _logsumexp(g, out, x, dim, keepdim=False):
    return _reduce(g, "ReduceLogSumExp", g.value(x, out.dtype), _dims(dim, x.ndim), keepdim)


def _maxmin(onnx_reduce, onnx_arg, onnx_elem):
    def conv(g, out, x, dim=None, keepdim=False):
        if isinstance(dim, Tensor):
            return g.op(onnx_elem, [g.value(x, out.dtype), g.value(dim, out.dtype)])
        if dim is None:
            return _reduce(g, onnx_reduce, g.value(x), None, False)
        axis = _norm(dim, x.ndim)
        v = g.value(x)
        return [_reduce(g, onnx_reduce, v, [axis], keepdim),
                g.op(onnx_arg, [v], axis=axis, keepdims=1 if keepdim else 0)]
    return conv


op("max")(_maxmin("ReduceMax", "ArgMax", "Max"))
op("min")(_maxmin("ReduceMin", "ArgMin", "Min"))


def _arg(onnx_arg):
    def conv(g, out, x, dim=None, keepdim=False):
        v = g.value(x)
        if dim is None:
            y = g.op(onnx_arg, [g.op("Reshape", [v, g.ints([-1])])], axis=0, keepdims=0)
            if keepdim:
                y = g.op("Reshape", [y, g.ints([1] * x.ndim)])
            return y
        return g.op(onnx_arg, [v], axis=_norm(dim, x.ndim), keepdims=1 if keepdim else 0)
    return conv


op("argmax")(_arg("ArgMax"))
op("argmin")(_arg("ArgMin"))


# ---- nn.functional --------------------------------------------------------------------------

@op("linear")
def _linear(g, out, input, weight, bias=None):
    return linear(g, input, weight, bias, out.dtype)


@op("dropout")
def _dropout(g, out, input, p=0.5, training=True, *args):
    if training and p > 0:
        unsupported("dropout in training mode")
    return g.value(input)


def layer_norm(g, x, shape, weight, bias, eps, dtype):
    if g.opset < 17:
        unsupported(f"layer_norm at opset {g.opset} (LayerNormalization needs opset 17)")
    shape = [int(d) for d in shape]
    if weight is None:
        weight = np.ones(shape, dtype=g.np_dtype(dtype))
        w = g.const(weight, "ln_scale")
    else:
        w = g.value(weight, dtype, "ln_scale")
    inputs = [g.value(x, dtype), w] + ([g.value(bias, dtype, "ln_bias")] if bias is not None else [])
    return g.op("LayerNormalization", inputs, axis=-len(shape), epsilon=float(eps))


@op("layer_norm")
def _layer_norm(g, out, input, normalized_shape, weight=None, bias=None, eps=1e-5):
    return layer_norm(g, input, normalized_shape, weight, bias, eps, out.dtype)


@op("embedding")
def _embedding(g, out, input, weight, padding_idx=None):
    return g.op("Gather", [g.value(weight, out.dtype, "embedding"), g.value(input, _lamina.int64)], axis=0)


def _tuple(v, n):
    if isinstance(v, int):
        return [v] * n
    v = [int(d) for d in v]
    return v * n if len(v) == 1 else v


def conv(g, x, weight, bias, stride, padding, dilation, groups, dtype, nd):
    w = g.value(weight, dtype, "conv_weight")
    k = [int(d) for d in weight.shape[2:]]
    if isinstance(padding, str):
        unsupported(f"convolution with padding={padding!r}")
    pads = _tuple(padding, nd)
    inputs = [g.value(x, dtype), w] + ([g.value(bias, dtype, "conv_bias")] if bias is not None else [])
    return g.op("Conv", inputs, kernel_shape=k, strides=_tuple(stride, nd), pads=pads + pads,
                dilations=_tuple(dilation, nd), group=int(groups))


@op("conv2d")
def _conv2d(g, out, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return conv(g, input, weight, bias, stride, padding, dilation, groups, out.dtype, 2)


@op("conv1d")
def _conv1d(g, out, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return conv(g, input, weight, bias, stride, padding, dilation, groups, out.dtype, 1)


def max_pool(g, x, kernel, stride, padding, dilation):
    kernel = _tuple(kernel, 2)
    stride = kernel if stride is None else _tuple(stride, 2)
    pads = _tuple(padding, 2)
    return g.op("MaxPool", [g.value(x)], kernel_shape=kernel, strides=stride, pads=pads + pads,
                dilations=_tuple(dilation, 2))


def avg_pool(g, x, kernel, stride, padding, count_include_pad):
    kernel = _tuple(kernel, 2)
    stride = kernel if stride is None else _tuple(stride, 2)
    pads = _tuple(padding, 2)
    return g.op("AveragePool", [g.value(x)], kernel_shape=kernel, strides=stride, pads=pads + pads,
                count_include_pad=1 if count_include_pad else 0)


def adaptive_avg_pool(g, x, out):
    h, w = int(x.shape[-2]), int(x.shape[-1])
    oh, ow = int(out.shape[-2]), int(out.shape[-1])
    if (oh, ow) == (1, 1):
        return g.op("GlobalAveragePool", [g.value(x)])
    if h % oh or w % ow:
        unsupported(f"adaptive_avg_pool2d from {h}x{w} to {oh}x{ow} (not a whole multiple)")
    return avg_pool(g, x, [h // oh, w // ow], [h // oh, w // ow], 0, True)


@op("max_pool2d")
def _max_pool2d(g, out, input, kernel_size, stride=None, padding=0, dilation=1):
    return max_pool(g, input, kernel_size, stride, padding, dilation)


@op("avg_pool2d")
def _avg_pool2d(g, out, input, kernel_size, stride=None, padding=0, count_include_pad=True):
    return avg_pool(g, input, kernel_size, stride, padding, count_include_pad)


@op("adaptive_avg_pool2d")
def _adaptive_avg_pool2d(g, out, input, output_size):
    return adaptive_avg_pool(g, input, out)


def batch_norm(g, x, mean, var, weight, bias, eps, dtype):
    c = int(x.shape[1])
    npd = g.np_dtype(dtype)
    if mean is None or var is None:
        unsupported("batch_norm without running statistics (batch statistics in eval)")
    scale = g.value(weight, dtype, "bn_scale") if weight is not None else g.const(np.ones(c, npd), "bn_scale")
    b = g.value(bias, dtype, "bn_bias") if bias is not None else g.const(np.zeros(c, npd), "bn_bias")
    return g.op("BatchNormalization", [g.value(x, dtype), scale, b, g.value(mean, dtype, "bn_mean"),
                                       g.value(var, dtype, "bn_var")], epsilon=float(eps))


@op("batch_norm")
def _batch_norm(g, out, input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
                eps=1e-5):
    if training:
        unsupported("batch_norm in training mode")
    return batch_norm(g, input, running_mean, running_var, weight, bias, eps, out.dtype)


# ---- layers ---------------------------------------------------------------------------------

_REPR_ARG = re.compile(r"(\w+)=(\([^)]*\)|'[^']*'|[^,]+)")


def _repr_args(m):
    """The key=value settings in a layer's extra_repr (the C++ layers expose few attributes)."""
    out = {}
    for k, v in _REPR_ARG.findall(m.extra_repr()):
        try:
            out[k] = ast.literal_eval(v.strip())
        except (ValueError, SyntaxError):
            out[k] = v.strip()
    return out


def _param(m, name):
    return getattr(m, name, None)


@module("Linear")
def _m_linear(g, m, out, x):
    return linear(g, x, m.weight, _param(m, "bias"), out.dtype)


@module("Conv2d", "Conv1d")
def _m_conv(g, m, out, x):
    a = _repr_args(m)
    nd = 2 if type(m).__name__ == "Conv2d" or "Conv2d" in [c.__name__ for c in type(m).__mro__] else 1
    return conv(g, x, m.weight, _param(m, "bias"), a.get("stride", 1), a.get("padding", 0), a.get("dilation", 1),
                a.get("groups", 1), out.dtype, nd)


@module("MaxPool2d")
def _m_max_pool(g, m, out, x):
    a = _repr_args(m)
    if a.get("ceil_mode"):
        unsupported("MaxPool2d with ceil_mode=True")
    return max_pool(g, x, a["kernel_size"], a.get("stride"), a.get("padding", 0), a.get("dilation", 1))


@module("AvgPool2d")
def _m_avg_pool(g, m, out, x):
    a = _repr_args(m)
    padding = _tuple(a.get("padding", 0), 2)
    include = True
    if any(padding):
        # count_include_pad is not in the layer's repr: probe it on ones (a padded corner
        # averages to 1 only when the padding is not counted).
        k = _tuple(a["kernel_size"], 2)
        probe = m(_lamina.ones(1, 1, k[0] + padding[0], k[1] + padding[1]))
        include = float(probe[0, 0, 0, 0].item()) < 1.0 - 1e-6
    return avg_pool(g, x, a["kernel_size"], a.get("stride"), padding, include)


@module("AdaptiveAvgPool2d")
def _m_adaptive_avg_pool(g, m, out, x):
    return adaptive_avg_pool(g, x, out)


@module("BatchNorm1d", "BatchNorm2d")
def _m_batch_norm(g, m, out, x):
    a = _repr_args(m)
    if m.training:
        unsupported("BatchNorm in training mode")
    if not a.get("track_running_stats", True):
        unsupported(f"{type(m).__name__} with track_running_stats=False")
    return batch_norm(g, x, m.running_mean, m.running_var, _param(m, "weight"), _param(m, "bias"),
                      a.get("eps", 1e-5), out.dtype)


@module("LayerNorm")
def _m_layer_norm(g, m, out, x):
    return layer_norm(g, x, m.normalized_shape, _param(m, "weight"), _param(m, "bias"), m.eps, out.dtype)


@module("Embedding")
def _m_embedding(g, m, out, x):
    return g.op("Gather", [g.value(m.weight, out.dtype, "embedding"), g.value(x, _lamina.int64)], axis=0)


@module("ReLU")
def _m_relu(g, m, out, x):
    return g.op("Relu", [g.value(x, out.dtype)])


@module("GELU")
def _m_gelu(g, m, out, x):
    return gelu(g, g.value(x, out.dtype), out.dtype, m.approximate)


@module("SiLU")
def _m_silu(g, m, out, x):
    return _silu(g, out, x)


@module("Tanh")
def _m_tanh(g, m, out, x):
    return g.op("Tanh", [g.value(x, out.dtype)])


@module("Sigmoid")
def _m_sigmoid(g, m, out, x):
    return g.op("Sigmoid", [g.value(x, out.dtype)])


@module("Softmax")
def _m_softmax(g, m, out, x):
    return g.op("Softmax", [g.value(x, out.dtype)], axis=int(m.dim))


@module("LogSoftmax")
def _m_log_softmax(g, m, out, x):
    return g.op("LogSoftmax", [g.value(x, out.dtype)], axis=int(m.dim))


@module("Flatten")
def _m_flatten(g, m, out, x):
    return _flatten(g, out, x, m.start_dim, m.end_dim)


@module("Dropout", "Identity")
def _m_identity(g, m, out, x, *args, **kwargs):
    if type(m).__name__ == "Dropout" and m.training:
        unsupported("Dropout in training mode")
    return g.value(x)


@module("MultiheadAttention")
def _m_mha(g, m, out, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
           average_attn_weights=True, is_causal=False):
    """Attention as MatMul / Softmax / Where: per-head projections, scaled scores, masks, the
    weighted sum and the output projection (torch.nn.MultiheadAttention's eval forward)."""
    dt = out[0].dtype
    e, h = int(m.embed_dim), int(m.num_heads)
    d = e // h
    w = g.array(m.in_proj_weight).astype(g.np_dtype(dt))
    b = m.in_proj_bias
    b = g.array(b).astype(g.np_dtype(dt)) if b is not None else None

    def heads(x, i):
        v = g.value(x, dt)
        if not m.batch_first:
            v = g.op("Transpose", [v], perm=[1, 0, 2])
        y = g.op("MatMul", [v, g.const(w[i * e:(i + 1) * e].T, "in_proj_t")])
        if b is not None:
            y = g.op("Add", [y, g.const(b[i * e:(i + 1) * e], "in_proj_bias")])
        y = g.op("Reshape", [y, g.ints([0, 0, h, d])])           # (B, L, H, D)
        return g.op("Transpose", [y], perm=[0, 2, 1, 3])          # (B, H, L, D)

    q, k, v = heads(query, 0), heads(key, 1), heads(value, 2)
    scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]),
                          g.value(1.0 / math.sqrt(d), dt)])     # (B, H, L, S)
    neg_inf = g.value(float("-inf"), dt)
    if attn_mask is not None:
        if attn_mask.ndim == 3:
            unsupported("MultiheadAttention with a 3-d attn_mask")
        if attn_mask.dtype == _lamina.bool:
            scores = g.op("Where", [g.value(attn_mask), neg_inf, scores])
        else:
            scores = g.op("Add", [scores, g.value(attn_mask, dt)])
    if key_padding_mask is not None:
        kpm = g.op("Unsqueeze", [g.value(key_padding_mask), g.ints([1, 2])])  # (B, 1, 1, S)
        if key_padding_mask.dtype == _lamina.bool:
            scores = g.op("Where", [kpm, neg_inf, scores])
        else:
            scores = g.op("Add", [scores, g.op("Cast", [kpm], to=g.onnx_dtype(dt))])
    attn = g.op("Softmax", [scores], axis=-1)
    y = g.op("MatMul", [attn, v])                                  # (B, H, L, D)
    y = g.op("Reshape", [g.op("Transpose", [y], perm=[0, 2, 1, 3]), g.ints([0, 0, e])])
    ow = m.out_proj.weight
    y = linear(g, y, ow, m.out_proj.bias, dt)
    if not m.batch_first:
        y = g.op("Transpose", [y], perm=[1, 0, 2])
    weights = None
    if need_weights and out[1] is not None:
        weights = _reduce(g, "ReduceMean", attn, [1], False) if average_attn_weights else attn
    return [y, weights]


# ---- recurrent layers: ONNX's RNN / LSTM / GRU ops, one node per layer ----------------------

# PyTorch's gate blocks in ONNX's order: LSTM (i, f, g, o) -> (i, o, f, c); GRU (r, z, n) -> (z, r, h).
_GATE_ORDER = {"RNN": [0], "LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2]}


def _rnn_kind(m):
    for cls in type(m).__mro__:
        for kind in ("LSTM", "GRU", "RNN"):
            if cls.__name__ in (kind, kind + "Cell"):
                return kind
    raise RuntimeError(f"onnx export: {type(m).__name__} is not a recurrent layer")


def _rnn_node(g, m, kind, x, h0, c0, suffix, directions, dt):
    """One ONNX recurrent node over x (L, N, In): its W, R, B from the layer's weights named
    weight_ih{suffix}, ... (and {suffix}_reverse for the backward direction). Returns
    (Y (L, N, dirs*H), Y_h (dirs, N, H), Y_c or None)."""
    hidden = int(m.hidden_size)
    order = _GATE_ORDER[kind]
    npdt = g.np_dtype(dt)

    def gates(a):
        return np.concatenate([a[k * hidden:(k + 1) * hidden] for k in order], axis=0).astype(npdt)

    ws, rs, bs = [], [], []
    for d in range(directions):
        sfx = suffix + ("_reverse" if d else "")
        ws.append(gates(g.array(getattr(m, "weight_ih" + sfx))))
        rs.append(gates(g.array(getattr(m, "weight_hh" + sfx))))
        if m.bias:
            bs.append(np.concatenate([gates(g.array(getattr(m, "bias_ih" + sfx))),
                                      gates(g.array(getattr(m, "bias_hh" + sfx)))]))
        else:
            bs.append(np.zeros(2 * len(order) * hidden, dtype=npdt))
    inputs = [x, g.const(np.stack(ws), "rnn_W"), g.const(np.stack(rs), "rnn_R"), g.const(np.stack(bs), "rnn_B")]
    if h0 is not None or c0 is not None:
        inputs += ["", h0 or ""]
        if c0 is not None:
            inputs.append(c0)
    attrs = {"hidden_size": hidden, "direction": "bidirectional" if directions == 2 else "forward"}
    if kind == "RNN":
        attrs["activations"] = ["Relu" if m.nonlinearity == "relu" else "Tanh"] * directions
    if kind == "GRU":
        attrs["linear_before_reset"] = 1  # PyTorch's n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    outs = g.op(kind, inputs, n_out=3 if kind == "LSTM" else 2, **attrs)
    y = g.op("Transpose", [outs[0]], perm=[0, 2, 1, 3])          # (L, dirs, N, H) -> (L, N, dirs, H)
    y = g.op("Reshape", [y, g.ints([0, 0, directions * hidden])])
    return y, outs[1], outs[2] if kind == "LSTM" else None


@module("RNN", "LSTM", "GRU")
def _m_rnn(g, m, out, input, hx=None):
    """The stack as one ONNX node per layer (both directions in one), states sliced per layer."""
    from ..nn.utils.rnn import PackedSequence
    if isinstance(input, PackedSequence):
        unsupported(f"{type(m).__name__} on a PackedSequence")
    kind = _rnn_kind(m)
    dt = out[0].dtype
    layers, dirs = int(m.num_layers), 2 if m.bidirectional else 1
    unbatched = input.ndim == 2
    x = g.value(input, dt)
    if unbatched:
        x = _unsqueeze(g, x, [1])
    elif m.batch_first:
        x = g.op("Transpose", [x], perm=[1, 0, 2])
    h_all, c_all = (hx if kind == "LSTM" else (hx, None)) if hx is not None else (None, None)

    def state(t, layer):
        if t is None:
            return None
        v = g.value(t, dt)
        if unbatched:
            v = _unsqueeze(g, v, [1])
        return g.op("Slice", [v, g.ints([layer * dirs]), g.ints([(layer + 1) * dirs]), g.ints([0])])

    hs, cs = [], []
    for layer in range(layers):
        x, y_h, y_c = _rnn_node(g, m, kind, x, state(h_all, layer), state(c_all, layer), f"_l{layer}", dirs, dt)
        hs.append(y_h)
        cs.append(y_c)
    if unbatched:
        x = _squeeze(g, x, [1])
    elif m.batch_first:
        x = g.op("Transpose", [x], perm=[1, 0, 2])

    def stacked(parts):
        v = parts[0] if len(parts) == 1 else g.op("Concat", parts, axis=0)
        return _squeeze(g, v, [1]) if unbatched else v
    h_n = stacked(hs)
    return [x, [h_n, stacked(cs)]] if kind == "LSTM" else [x, h_n]


@module("RNNCell", "LSTMCell", "GRUCell")
def _m_rnn_cell(g, m, out, input, hx=None):
    """One step: the layer's ONNX op over a sequence of length 1."""
    kind = _rnn_kind(m)
    dt = (out[0] if isinstance(out, (tuple, list)) else out).dtype
    unbatched = input.ndim == 1
    x = g.value(input, dt)
    x = _unsqueeze(g, x, [0, 1] if unbatched else [0])               # (1, N, In)
    h0 = c0 = None
    if hx is not None:
        h, c = hx if kind == "LSTM" else (hx, None)
        lead = [0, 1] if unbatched else [0]
        h0 = _unsqueeze(g, g.value(h, dt), lead)
        c0 = _unsqueeze(g, g.value(c, dt), lead) if c is not None else None
    _, y_h, y_c = _rnn_node(g, m, kind, x, h0, c0, "", 1, dt)
    drop = [0, 1] if unbatched else [0]
    h1 = _squeeze(g, y_h, drop)
    return [h1, _squeeze(g, y_c, drop)] if kind == "LSTM" else h1
