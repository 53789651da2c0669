"""ONNX export by tracing one forward pass at the Python level.

While ``export`` runs, the lamina functions (``lamina.X`` / ``lamina._lamina.X`` and
``lamina._lamina._nn.functional.X``), the Tensor methods and operators, and ``Module.__call__``
are replaced by wrappers. A wrapper whose arguments hold no *traced* tensor (one derived from the
example input) calls the original directly. Otherwise it runs the original with tracing suspended
(so the real value is computed as usual) and asks the op's converter (``_ops.OPS`` for functions
and methods, ``_ops.MODULES`` for leaf layers) to append the ONNX nodes that compute that value;
the result is then traced under the converter's output name. Tensors that are not traced (model
parameters and buffers, masks built in forward) become initializers with their current values, and
Python numbers (including ints read from ``x.shape``) become constants: shapes are static except a
batch axis declared in ``dynamic_axes``. An op on a traced tensor without a converter raises
``lamina.NotImplementedError`` naming it. Every patched attribute is restored afterwards."""
import contextlib

import numpy as np

from .. import _lamina
from .._lamina import Tensor

_NotImpl = _lamina.NotImplementedError

# Tensor attributes that are never intercepted: metadata queries (static under tracing),
# autograd bookkeeping and the Python object protocol.
_PASS = {
    "size", "dim", "numel", "element_size", "is_contiguous", "is_floating_point", "is_cuda", "is_leaf",
    "data_ptr", "storage_offset", "stride", "requires_grad_", "retain_grad", "register_hook", "backward",
    "is_set_to", "__len__", "__repr__", "__str__", "__format__", "__hash__", "__getstate__", "__setattr__",
    "__getattribute__", "__init__", "__new__", "__dir__", "__sizeof__", "__reduce__", "__reduce_ex__",
    "__dlpack__", "__dlpack_device__", "__init_subclass__", "__subclasshook__", "__class__", "__delattr__",
    "__doc__", "__module__",
}
# Properties that compute tensors.
_TENSOR_PROPS = ("T", "mT")

_TRACER = None  # the active _Graph while export runs


class _Graph:
    """The ONNX graph being built, and which Python tensor objects carry which value name."""

    def __init__(self, opset, batch_size=None):
        import onnx  # noqa: F401 - fail early with a clear ImportError
        self.opset = opset
        self.batch = batch_size  # the example's batch size when axis 0 is dynamic, else None
        self.nodes, self.inits = [], []
        self.values = {}  # id(tensor) -> (tensor, name); holding the tensor keeps its id unique
        self.suspended = 0
        self._n = 0
        self._np_dtypes = {}

    # ---- names and values -------------------------------------------------------------
    def fresh(self, hint):
        self._n += 1
        return f"{hint}_{self._n}"

    def is_traced(self, t):
        e = self.values.get(id(t))
        return e is not None and e[0] is t

    def bind(self, t, name):
        self.values[id(t)] = (t, name)

    def any_traced(self, args, kwargs):
        for a in args:
            if isinstance(a, Tensor):
                if self.is_traced(a):
                    return True
            elif isinstance(a, (list, tuple)):
                if any(isinstance(b, Tensor) and self.is_traced(b) for b in a):
                    return True
        for a in kwargs.values():
            if isinstance(a, Tensor) and self.is_traced(a):
                return True
        return False

    def np_dtype(self, dtype):
        d = self._np_dtypes.get(str(dtype))
        if d is None:
            try:
                d = _lamina.empty(0, dtype=dtype).numpy().dtype
            except Exception as e:  # noqa: BLE001
                raise _NotImpl(f"onnx export: dtype {dtype} has no ONNX equivalent here") from e
            self._np_dtypes[str(dtype)] = d
        return d

    def onnx_dtype(self, dtype):
        from onnx import helper
        return helper.np_dtype_to_tensor_dtype(self.np_dtype(dtype))

    def const(self, array, hint="const"):
        from onnx import numpy_helper
        name = self.fresh(hint)
        self.inits.append(numpy_helper.from_array(np.array(array, order="C", copy=True), name))
        return name

    def ints(self, values, hint="shape"):
        return self.const(np.asarray(list(values), dtype=np.int64), hint)

    def array(self, t):
        """A copy of an untraced tensor's values."""
        return np.array(t.detach().cpu().contiguous().numpy(), copy=True)

    def value(self, v, dtype=None, hint="const"):
        """The value name of v (traced tensor, other tensor or Python number), cast to the lamina
        dtype `dtype` when given. A str is already a value name."""
        if isinstance(v, str):
            return v
        if isinstance(v, Tensor):
            if self.is_traced(v):
                name = self.values[id(v)][1]
                if dtype is not None and v.dtype != dtype:
                    name = self.op("Cast", [name], to=self.onnx_dtype(dtype))
                return name
            arr = self.array(v)
            if dtype is not None:
                arr = arr.astype(self.np_dtype(dtype))
            return self.const(arr, hint)
        if isinstance(v, (bool, int, float)):
            if dtype is None:
                dtype = _lamina.bool if isinstance(v, bool) else (_lamina.int64 if isinstance(v, int) else
                                                                  _lamina.float32)
            return self.const(np.asarray(v, dtype=self.np_dtype(dtype)), hint)
        raise _NotImpl(f"onnx export: cannot use a {type(v).__name__} as a tensor operand")

    def op(self, op_type, inputs, n_out=1, **attrs):
        """Appends a node; returns its output name (or list of names when n_out > 1)."""
        from onnx import helper
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=self.fresh("n_" + op_type),
                                           **{k: v for k, v in attrs.items() if v is not None}))
        return outs[0] if n_out == 1 else outs

    # ---- running converters -----------------------------------------------------------
    @contextlib.contextmanager
    def suspend(self):
        self.suspended += 1
        try:
            yield
        finally:
            self.suspended -= 1

    def bind_result(self, out, names, what):
        if names is None:  # a value that does not depend on the input (e.g. zeros_like): a constant
            return
        if isinstance(out, Tensor):
            self.bind(out, names if isinstance(names, str) else names[0])
            return
        if isinstance(out, (tuple, list)):
            if isinstance(names, str) or len(names) != len(out):
                raise RuntimeError(f"onnx export: converter of {what} returned {names!r} for {len(out)} outputs")
            for o, n in zip(out, names):
                if n is not None and isinstance(o, (Tensor, tuple, list)):
                    self.bind_result(o, n, what)  # nested: an LSTM's (output, (h_n, c_n))
            return
        raise _NotImpl(f"onnx export: {what} returned a {type(out).__name__}, which cannot be traced")

    def call_op(self, name, orig, args, kwargs):
        from ._ops import lookup
        conv = lookup(name)
        name = name[7:] if name.startswith("Tensor.") else name
        if conv is None:
            raise _NotImpl(f"onnx export: op '{name}' is not supported")
        with self.suspend():
            out = orig(*args, **kwargs)
            names = conv(self, out, *args, **kwargs)
            self.bind_result(out, names, f"op '{name}'")
        return out

    def call_module(self, module, conv, orig_call, args, kwargs):
        with self.suspend():
            out = orig_call(module, *args, **kwargs)
            names = conv(self, module, out, *args, **kwargs)
            self.bind_result(out, names, f"module {type(module).__name__}")
        return out


# ---- patching ---------------------------------------------------------------------------

def _fn_wrapper(name, orig, method=False):
    key = "Tensor." + name if method else name

    def wrapper(*args, **kwargs):
        g = _TRACER
        if g is None or g.suspended or not g.any_traced(args, kwargs):
            return orig(*args, **kwargs)
        return g.call_op(key, orig, args, kwargs)
    wrapper.__name__ = getattr(orig, "__name__", name)
    wrapper.__doc__ = getattr(orig, "__doc__", None)
    wrapper.__wrapped__ = orig
    return wrapper


def _prop_wrapper(name, prop):
    def fget(self):
        g = _TRACER
        if g is None or g.suspended or not g.is_traced(self):
            return prop.fget(self)
        return g.call_op("Tensor." + name, prop.fget, (self,), {})
    return property(fget, prop.fset, prop.fdel, prop.__doc__)


def _module_call_wrapper(orig_call):
    from ._ops import module_converter

    def __call__(self, *args, **kwargs):
        g = _TRACER
        if g is None or g.suspended or not g.any_traced(args, kwargs):
            return orig_call(self, *args, **kwargs)
        conv = module_converter(self)
        if conv is None:
            return orig_call(self, *args, **kwargs)  # a user module or container: trace its forward
        return g.call_module(self, conv, orig_call, args, kwargs)
    return __call__


def _is_function(obj):
    return type(obj).__name__ in ("nb_func", "nb_method", "builtin_function_or_method")


class _Patcher:
    """Replaces attributes and puts every one back (also on errors)."""

    def __init__(self):
        self.saved = []

    def set(self, owner, name, value):
        self.saved.append((owner, name, owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)))
        setattr(owner, name, value)

    def restore(self):
        errors = []
        while self.saved:
            owner, name, old = self.saved.pop()
            try:
                setattr(owner, name, old)
            except Exception as e:  # noqa: BLE001 - keep restoring the rest
                errors.append(e)
        if errors:
            raise errors[0]


def _patch_all(p):
    import lamina
    from ..nn.module import Module
    wrappers = {}
    for ns in (_lamina, lamina, _lamina._nn.functional):
        for name, obj in list(vars(ns).items()):
            if name.startswith("_") or not _is_function(obj):
                continue
            # One wrapper per function object, so lamina.X and _lamina.X stay the same object.
            w = wrappers.get(id(obj))
            if w is None:
                w = wrappers[id(obj)] = (obj, _fn_wrapper(name, obj))
            p.set(ns, name, w[1])
    for name, obj in list(Tensor.__dict__.items()):
        if name in _PASS:
            continue
        if isinstance(obj, property):
            if name in _TENSOR_PROPS:
                p.set(Tensor, name, _prop_wrapper(name, obj))
            continue
        if not _is_function(obj):
            continue
        p.set(Tensor, name, _fn_wrapper(name, obj, method=True))
    p.set(Module, "__call__", _module_call_wrapper(Module.__dict__["__call__"]))


# ---- export -----------------------------------------------------------------------------

def _flatten(value):
    """The tensors (and other leaves) of nested tuples / lists, depth first: torch.onnx.export's
    order for inputs such as (tokens, (h_0, c_0)) and outputs such as (logits, (h_n, c_n))."""
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _flatten(v)]
    return [value]


def _unflatten(structure, leaves):
    if isinstance(structure, (tuple, list)):
        return type(structure)(_unflatten(v, leaves) for v in structure)
    return next(leaves)


def _names(given, n, default):
    if given is None:
        return [default if i == 0 else f"{default}_{i}" for i in range(n)]
    given = list(given)
    if len(given) != n:
        raise _lamina.ValueError(f"onnx export: {len(given)} names given for {n} {default}s")
    return given


def _dynamic_batch(dynamic_axes, io_names, inputs):
    """The example batch size when dynamic_axes declares axis 0 (only) dynamic, else None."""
    if not dynamic_axes:
        return None, {}
    names = {}
    for key, axes in dynamic_axes.items():
        if key not in io_names:
            raise _lamina.ValueError(f"onnx export: dynamic_axes names {key!r}, which is not an input or output name")
        axes = dict(axes) if isinstance(axes, dict) else {int(a): f"{key}_dynamic_axis_{a}" for a in axes}
        if set(axes) - {0}:
            raise _NotImpl("onnx export: only axis 0 (the batch axis) can be dynamic; the other shapes are static")
        names[key] = axes[0]
    sizes = {int(t.shape[0]) for t in inputs if t.ndim > 0}
    if len(sizes) != 1:
        raise _NotImpl("onnx export: a dynamic batch axis needs every input to have the same size along axis 0")
    return sizes.pop(), names


def export(model, example_input, path, input_names=None, output_names=None, opset_version=17,
           dynamic_axes=None, verbose=False):
    """Writes `model` (a lamina.nn.Module) as an ONNX model to `path` (a path or a binary file).

    One forward pass on `example_input` (a tensor or a tuple of arguments, which may nest tuples
    of tensors such as an LSTM's (h_0, c_0)) is traced in eval mode
    (the training flags are restored afterwards). Inputs are named ``input``, ``input_1``, ...
    and outputs ``output``, ``output_1``, ... unless `input_names` / `output_names` are given.
    Nested inputs and outputs are flattened in order (torch.onnx.export's convention).
    Shapes are static, except axis 0 of the inputs and outputs named in `dynamic_axes`
    (torch's format: ``{"input": {0: "batch"}, "output": {0: "batch"}}``); reshapes keep a
    traced batch size symbolic, but a Python int computed from the batch size elsewhere stays
    the example's value. Returns the onnx.ModelProto. Raises lamina.NotImplementedError naming
    the first op or module that has no ONNX mapping."""
    global _TRACER
    import onnx
    from onnx import helper
    from ..autograd import no_grad
    from ..nn.module import Module

    if not isinstance(model, Module):
        raise _lamina.ValueError(f"onnx export: model must be a lamina.nn.Module, got {type(model).__name__}")
    args = tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)
    inputs = _flatten(args)
    if not inputs or not all(isinstance(t, Tensor) for t in inputs):
        raise _lamina.ValueError("onnx export: example_input must be a tensor or a (nested) tuple of tensors")
    if opset_version < 13:
        raise _NotImpl(f"onnx export: opset_version {opset_version} is not supported (13 or later)")
    if _TRACER is not None:
        raise RuntimeError("onnx export: an export is already running")
    in_names = _names(input_names, len(inputs), "input")

    modes = [(m, m.training) for m in model.modules()]
    p = _Patcher()
    try:
        model.eval()
        with no_grad():
            # Fresh handles, so an input passed twice or aliased by the model is traced once each.
            inputs = [t.detach() for t in inputs]
            args = _unflatten(args, iter(inputs))
            probe_names = set(in_names) | set(output_names or []) | {"output"}
            batch, dyn = _dynamic_batch(dynamic_axes, probe_names | set(dynamic_axes or {}), inputs)
            g = _Graph(opset_version, batch)
            for t, n in zip(inputs, in_names):
                g.bind(t, n)
            _patch_all(p)
            _TRACER = g
            try:
                result = model(*args)
            finally:
                _TRACER = None
                p.restore()
    finally:
        p.restore()
        for m, mode in modes:
            m.train(mode)

    outputs = _flatten(result) if isinstance(result, (tuple, list)) else [result]
    out_names = _names(output_names, len(outputs), "output")
    for i, o in enumerate(outputs):
        if not isinstance(o, Tensor):
            raise _NotImpl(f"onnx export: output {i} is a {type(o).__name__}, not a tensor")
        if not g.is_traced(o):
            raise _NotImpl(f"onnx export: output {i} does not depend on the input through traced ops (an op "
                           "called through a reference saved before export, or a constant output)")
    if dynamic_axes:
        unknown = set(dynamic_axes) - set(in_names) - set(out_names)
        if unknown:
            raise _lamina.ValueError(f"onnx export: dynamic_axes names {sorted(unknown)}, which are not input "
                                     "or output names")
    for o, n in zip(outputs, out_names):
        g.nodes.append(helper.make_node("Identity", [g.values[id(o)][1]], [n], name=g.fresh("n_output")))

    def info(t, n):
        with g.suspend():
            shape = [dyn[n] if (i == 0 and n in dyn) else int(d) for i, d in enumerate(t.shape)]
            return helper.make_tensor_value_info(n, g.onnx_dtype(t.dtype), shape)

    graph = helper.make_graph(g.nodes, type(model).__name__, [info(t, n) for t, n in zip(inputs, in_names)],
                              [info(t, n) for t, n in zip(outputs, out_names)], initializer=g.inits)
    opset = [helper.make_opsetid("", opset_version)]
    proto = helper.make_model(graph, opset_imports=opset, producer_name="lamina",
                              ir_version=helper.find_min_ir_version_for(opset, True))
    if verbose:
        print(helper.printable_graph(graph))
    onnx.save(proto, path)
    return proto


def supported_ops():
    """Names of the lamina functions and Tensor methods that export maps to ONNX."""
    from ._ops import OPS
    return sorted(OPS)


def supported_modules():
    """Names of the lamina.nn layers exported as ONNX nodes (containers and user modules are traced
    through)."""
    from ._ops import MODULES
    return sorted(MODULES)
