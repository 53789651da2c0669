"""lamina.nn.Module: PyTorch's module protocol in Python.

A Module keeps its own parameters, buffers and submodules in registration order; attribute
assignment registers them (a leaf tensor with requires_grad=True, e.g. from nn.Parameter,
becomes a parameter; a Module becomes a submodule). Built-in layers hold a C++ layer
(lamina._lamina._nn) in ``_c``; its parameters and buffers are listed first, with the same
names as PyTorch's, so state_dict keys and layouts match torch.nn.
"""
from collections import OrderedDict, namedtuple

from .. import _lamina
from .._lamina import Tensor

__all__ = ["Module", "Parameter"]


class _ParameterType(type):
    """isinstance(t, Parameter) is True for tensors marked as module parameters."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj._is_parameter


class Parameter(metaclass=_ParameterType):
    """A leaf tensor sharing `data`'s storage with requires_grad set, marked as a module parameter
    (torch.nn.Parameter). The result is a lamina.Tensor; isinstance(p, Parameter) holds for it and
    for every parameter a module registers, and its repr starts "Parameter containing:"."""

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            data = _lamina.empty(0)
        p = data.detach()
        p.requires_grad_(requires_grad)
        p._mark_parameter()
        return p


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _as_tensor(value):
    if isinstance(value, Tensor):
        return value
    try:
        import numpy as np
        return _lamina.tensor(np.ascontiguousarray(np.asarray(value)))
    except Exception as e:  # noqa: BLE001 - report what could not be converted
        raise _lamina.ValueError(f"state_dict values must be tensors or arrays, got {type(value).__name__}") from e


def _addindent(s, n):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


class Module:
    """Base class of all layers and user models (torch.nn.Module)."""

    _c = None

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"Module.__init__() takes no arguments, got {args} {kwargs}")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()

    # ---- registration -------------------------------------------------------------------
    def _check_init(self):
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign to a Module before Module.__init__() call")

    def register_parameter(self, name, param):
        """Adds a parameter (None registers an absent one, like bias=False)."""
        self._check_init()
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f'parameter name must be a non-empty string without ".", got {name!r}')
        if param is not None and not isinstance(param, Tensor):
            raise TypeError(f"cannot assign '{type(param).__name__}' as parameter '{name}' (lamina.Tensor or None required)")
        if self._c is not None and self._c.has_param(name):
            self._c.register_parameter(name, param)
            return
        self._discard(name)
        if param is not None:
            param._mark_parameter()
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Adds a buffer: saved in state_dict (unless persistent=False), not a parameter."""
        self._check_init()
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f'buffer name must be a non-empty string without ".", got {name!r}')
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' as buffer '{name}' (lamina.Tensor or None required)")
        self._discard(name)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name, module):
        """Adds a submodule (None allowed)."""
        self._check_init()
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if not isinstance(name, str) or "." in name or not name:
            raise KeyError(f'module name must be a non-empty string without ".", got {name!r}')
        self._discard(name, keep_module=True)
        self._modules[name] = module

    register_module = add_module

    def _discard(self, name, keep_module=False):
        d = self.__dict__
        d.get("_parameters", {}).pop(name, None)
        d.get("_buffers", {}).pop(name, None)
        if not keep_module:
            d.get("_modules", {}).pop(name, None)
        d.pop(name, None)

    def __setattr__(self, name, value):
        d = self.__dict__
        if isinstance(value, Module):
            self._check_init()
            self._discard(name, keep_module=True)  # a replaced child keeps its place (torch's order)
            self._modules[name] = value
        elif isinstance(value, Tensor) and value.is_leaf and value.requires_grad and name not in d.get("_buffers", {}):
            self.register_parameter(name, value)
        elif name in d.get("_parameters", {}) or (self._c is not None and self._c.has_param(name)):
            self.register_parameter(name, value)
        elif name in d.get("_buffers", {}):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}'")
            self._buffers[name] = value
        elif name in d.get("_modules", {}):
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}'")
            self._modules[name] = None
        elif self._c is not None and not name.startswith("_") and name not in d and hasattr(type(self._c), name):
            setattr(self._c, name, value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        c = d.get("_c") or type(self)._c
        if c is not None and not name.startswith("_"):
            try:
                return c.get(name)
            except KeyError:
                pass
            if hasattr(c, name):
                return getattr(c, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if name in d.get(store, {}):
                del d[store][name]
                d["_non_persistent"].discard(name)
                return
        object.__delattr__(self, name)

    # ---- own tensors (C++ layer first, then Python-registered) ---------------------------
    def _own_parameters(self):
        out = list(self._c.named_parameters()) if self._c is not None else []
        out += [(k, v) for k, v in self._parameters.items() if v is not None]
        return out

    def _own_buffers(self, persistent_only=False):
        out = list(self._c.named_buffers()) if self._c is not None else []
        out += [(k, v) for k, v in self._buffers.items()
                if v is not None and not (persistent_only and k in self._non_persistent)]
        return out

    # ---- traversal -----------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(name, module) for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        """This module and every descendant."""
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """(name, module) for the direct submodules."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        """The direct submodules."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, getter, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for k, v in getter(mod):
                if remove_duplicate:
                    key = id(v) if v.data_ptr() == 0 else (v.data_ptr(), v.shape, v.stride(), v.dtype)
                    if key in seen:
                        continue
                    seen.add(key)
                yield (mod_prefix + ("." if mod_prefix else "") + k), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, parameter) pairs, PyTorch's names and order."""
        yield from self._named_members(lambda m: m._own_parameters(), prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """The parameters (what optimizers take)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, buffer) pairs."""
        yield from self._named_members(lambda m: m._own_buffers(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """The buffers."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    # ---- state ---------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """OrderedDict of parameters and persistent buffers by dotted name (detached unless keep_vars)."""
        if destination is None:
            destination = OrderedDict()
        for k, v in self._own_parameters():
            destination[prefix + k] = v if keep_vars else v.detach()
        for k, v in self._own_buffers(persistent_only=True):
            destination[prefix + k] = v if keep_vars else v.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copies tensors in by name. Returns (missing_keys, unexpected_keys); with strict,
        either raises lamina.ValueError. A shape mismatch raises lamina.ShapeError naming the key."""
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            msg = f"Error(s) in loading state_dict for {type(self).__name__}:"
            if missing:
                msg += " Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + "."
            if unexpected:
                msg += " Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + "."
            raise _lamina.ValueError(msg)
        pairs = []
        for k, dst in own.items():
            if k not in state_dict:
                continue
            src = _as_tensor(state_dict[k])
            if tuple(src.shape) != tuple(dst.shape):
                raise _lamina.ShapeError(
                    f"size mismatch for {k}: copying a param with shape {list(src.shape)} from checkpoint, "
                    f"the shape in current model is {list(dst.shape)}.")
            pairs.append((dst, src))
        with _lamina_no_grad():
            for dst, src in pairs:
                dst.copy_(src)
        return _IncompatibleKeys(missing, unexpected)

    # ---- pickling (lamina.save(model) / lamina.load with safe_globals) ---------------------
    def __getstate__(self):
        state = dict(self.__dict__)
        c = state.pop("_c", None)
        init = state.pop("_init_args", None)
        if c is not None:
            # A C++ layer is not picklable: it is rebuilt from its constructor's arguments (or,
            # for a layer owned by its parent's C++ layer, by the parent) and given these tensors.
            state["_lamina_layer"] = {
                "init": init, "parameters": [(k, v) for k, v in c.named_parameters()],
                "buffers": [(k, v) for k, v in c.named_buffers()], "settings": _layer_settings(c)}
        return state

    def __setstate__(self, state):
        import pickle
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise pickle.UnpicklingError(f"{type(self).__name__}: a pickled module's state must be a dict of names")
        state = dict(state)
        if "_non_persistent_buffers_set" in state:  # written by torch.save(model): PyTorch's attributes
            state = _from_torch_state(self, state)
        for store, kind in (("_parameters", Tensor), ("_buffers", Tensor), ("_modules", Module)):
            v = state.get(store)
            if not isinstance(v, dict) or not all(isinstance(k, str) and (x is None or isinstance(x, kind))
                                                  for k, x in v.items()):
                raise pickle.UnpicklingError(f"{type(self).__name__}: '{store}' in the pickled state must map "
                                             f"names to {kind.__name__}s")
        if not isinstance(state.get("_non_persistent", set()), set) or not isinstance(state.get("training"), bool):
            raise pickle.UnpicklingError(f"{type(self).__name__}: bad '_non_persistent' or 'training' in the state")
        layer = state.pop("_lamina_layer", None)
        if layer is None:
            self.__dict__.update(state)
        elif layer.get("init") is None:
            # Owned by the parent's C++ layer (MultiheadAttention.out_proj): the parent adopts the tensors.
            self.__dict__.update(state)
            self.__dict__["_lamina_pending_layer"] = _checked_layer(layer, type(self).__name__)
        else:
            _rebuild_layer(self, _checked_layer(layer, type(self).__name__))
            fresh = self.__dict__["_modules"]
            for name, child in list(state["_modules"].items()):
                pending = child.__dict__.pop("_lamina_pending_layer", None) if child is not None else None
                owned = fresh.get(name)
                if owned is None or owned._c is None or "_init_args" in owned.__dict__:
                    continue
                # A child the rebuilt C++ layer owns (MultiheadAttention.out_proj) takes the saved tensors.
                if pending is None and child is not None and child._c is not None:
                    pending = {"parameters": list(child._c.named_parameters()),
                               "buffers": list(child._c.named_buffers()), "settings": {}}
                if pending is not None:
                    _adopt_tensors(owned, pending)
                    state["_modules"][name] = owned
            self.__dict__.update(state)
            self._c.train(self.training)
        for p in self._parameters.values():
            if p is not None:
                p._mark_parameter()

    # ---- modes, dtype, grads -------------------------------------------------------------
    def train(self, mode=True):
        """Sets training mode here and in every descendant; returns self."""
        if not isinstance(mode, bool):
            raise _lamina.ValueError("training mode is expected to be boolean")
        self.__dict__["training"] = mode
        if self._c is not None:
            self._c.train(mode)
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """train(False)."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Sets requires_grad on every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clears (set_to_none) or zeroes every parameter's .grad."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                with _lamina_no_grad():
                    p.grad.zero_()

    def _apply_tensors(self, fn):
        for m in self.modules():
            for k, p in m._own_parameters():
                new = fn(p).detach()
                if new is not p:
                    new.requires_grad_(p.requires_grad)
                    m.register_parameter(k, new)
            for k, b in list(m._buffers.items()):
                if b is not None:
                    m._buffers[k] = fn(b)
            if m._c is not None:
                for k, b in m._c.named_buffers():
                    m._c.register_buffer(k, fn(b))
        return self

    def to(self, *args, **kwargs):
        """Converts floating parameters and buffers to a dtype and/or moves them to a device
        (module.to(lamina.float64), .to("cpu"), .to(device=..., dtype=...)); returns self.
        Parameters are replaced by new leaf tensors: build optimizers after to()."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, _lamina.dtype):
                dtype = a
            elif isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif a is not None:
                device = a
        if dtype is not None and not dtype.is_floating_point:
            raise _lamina.DTypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")

        def convert(t):
            r = t
            if dtype is not None and t.is_floating_point():
                r = r.to(dtype)
            if device is not None:
                r = r.to(device)
            return r
        return self._apply_tensors(convert)

    def float(self):
        """to(lamina.float32)."""
        return self.to(_lamina.float32)

    def double(self):
        """to(lamina.float64)."""
        return self.to(_lamina.float64)

    def half(self):
        """to(lamina.float16)."""
        return self.to(_lamina.float16)

    def cpu(self):
        """to("cpu")."""
        return self.to("cpu")

    def cuda(self, device=None):
        """to(device), by default "cuda" (the current GPU)."""
        if isinstance(device, int):
            device = f"cuda:{device}"
        return self.to(device if device is not None else "cuda")

    def apply(self, fn):
        """Calls fn on every submodule (children first), then on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ---- calling and printing ------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """The computation; subclasses define it."""
        if self._c is not None:
            return self._c.forward(*args, **kwargs)
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self):
        """Settings shown inside the parentheses of repr."""
        return self._c.extra_repr() if self._c is not None else ""

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        for name, m in self._modules.items():
            lines.append(f"({name}): " + _addindent(repr(m), 2))
        main = type(self).__name__ + "("
        if lines:
            if len(lines) == 1 and not self._modules:
                main += lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self):
        keys = set(super().__dir__())
        keys.update(self._parameters, self._buffers, self._modules)
        keys.update(k for k, _ in self._own_parameters())
        return sorted(keys)


_PLAIN = (bool, int, float, str, type(None))


def _layer_settings(c):
    """The C++ layer's settable attributes (LayerNorm.eps, Dropout.p, ...) with plain values."""
    out = {}
    for klass in type(c).__mro__:
        for name, attr in vars(klass).items():
            if isinstance(attr, property) and attr.fset is not None and name not in out:
                value = getattr(c, name)
                if isinstance(value, _PLAIN):
                    out[name] = value
    return out


def _plain_args(value):
    """True for what a layer constructor may take from a file: plain values, dtypes, tensors and
    tuples / lists / dicts of them."""
    if isinstance(value, (_PLAIN, _lamina.dtype, Tensor)):
        return True
    if isinstance(value, (tuple, list)):
        return all(_plain_args(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain_args(v) for k, v in value.items())
    return False


def _checked_layer(layer, what):
    import pickle
    ok = isinstance(layer, dict) and set(layer) == {"init", "parameters", "buffers", "settings"}
    if ok:
        init = layer["init"]
        ok = init is None or (isinstance(init, tuple) and len(init) == 2 and isinstance(init[0], tuple)
                              and isinstance(init[1], dict) and _plain_args(init))
        for key in ("parameters", "buffers"):
            ok = ok and isinstance(layer[key], list) and all(
                isinstance(e, tuple) and len(e) == 2 and isinstance(e[0], str) and isinstance(e[1], Tensor)
                for e in layer[key])
        ok = ok and isinstance(layer["settings"], dict) and all(
            isinstance(k, str) and isinstance(v, _PLAIN) for k, v in layer["settings"].items())
    if not ok:
        raise pickle.UnpicklingError(f"{what}: malformed layer state in the pickle")
    return layer


def _recording_ctor(cls):
    return next((k.__dict__["__init__"] for k in cls.__mro__
                 if getattr(k.__dict__.get("__init__"), "_lamina_records_init", False)), None)


# Constructor flags PyTorch keeps only as the presence of a parameter.
_FLAG_PARAMETERS = {"bias": ("bias", "bias_ih_l0", "bias_ih", "in_proj_bias"), "add_bias_kv": ("bias_k",)}


def _from_torch_state(module, state):
    """A torch.nn module's pickled __dict__ as lamina's: the hooks and caches dropped, and for a
    built-in layer its constructor's arguments read from PyTorch's attributes of the same names
    (in_features, hidden_size, p, ...; bias from the presence of the bias parameter), so the C++
    layer is rebuilt as for lamina's own pickles."""
    import inspect
    import pickle
    params = state.get("_parameters")
    buffers = state.get("_buffers")
    if not isinstance(params, dict) or not isinstance(buffers, dict):
        raise pickle.UnpicklingError(f"{type(module).__name__}: a PyTorch module state without _parameters / _buffers")
    non_persistent = state.get("_non_persistent_buffers_set")
    out = {k: v for k, v in state.items() if not k.startswith("_")}
    out.update(_parameters=params, _buffers=buffers, _modules=state.get("_modules", {}),
               _non_persistent=set(non_persistent) if isinstance(non_persistent, (set, frozenset)) else set())
    ctor = _recording_ctor(type(module))
    if ctor is None:
        return out
    kwargs = {}
    for name, p in inspect.signature(ctor).parameters.items():
        if name in ("self", "device", "dtype") or name.startswith("_") or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if name in state and isinstance(state[name], _PLAIN + (tuple, list)) and _plain_args(state[name]):
            kwargs[name] = state[name]
        elif name in _FLAG_PARAMETERS:
            kwargs[name] = any(params.get(k) is not None or state.get(k) is not None for k in _FLAG_PARAMETERS[name])
        elif p.default is inspect.Parameter.empty:
            raise pickle.UnpicklingError(f"{type(module).__name__}: the PyTorch module state has no '{name}'")
    tensors = {"parameters": [(k, v) for k, v in params.items() if v is not None],
               "buffers": [(k, v) for k, v in buffers.items() if v is not None]}
    for store in ("_parameters", "_buffers"):
        out[store] = {}
    out["_lamina_layer"] = {"init": ((), kwargs), "settings": {}, **tensors}
    return out


def _rebuild_layer(module, layer):
    """Calls the built-in constructor again with the recorded arguments, then swaps in the saved
    tensors. The constructor may allocate a few times what the saved tensors hold and no more, so
    a file naming huge sizes it does not back fails (UnpicklingError, FormatError from load); the
    global generator is left as it was (PyTorch's torch.load draws no random numbers)."""
    import pickle
    ctor = _recording_ctor(type(module))
    if ctor is None:
        raise pickle.UnpicklingError(f"{type(module).__name__}: no built-in layer constructor to rebuild it with")
    saved = layer["parameters"] + layer["buffers"]
    budget = 4 * sum(t.numel() * t.element_size() for _, t in saved) + (1 << 20)
    args, kwargs = layer["init"]
    rng = _lamina.get_rng_state()
    try:
        with _lamina._AllocationBudget(budget):
            Module.__init__(module)
            ctor(module, *args, **kwargs)
    except (_lamina.Error, TypeError, ValueError) as e:
        # Arguments from a file: a constructor that refuses them (or would pass the budget) makes
        # the file malformed, reported as such by load.
        raise pickle.UnpicklingError(f"rebuilding {type(module).__name__} from the arguments in the file failed: "
                                     f"{type(e).__name__}: {e}") from None
    finally:
        _lamina.set_rng_state(rng)
    _adopt_tensors(module, layer)


def _adopt_tensors(module, layer):
    import pickle
    c = module._c
    for kind, current, register in (("parameters", dict(c.named_parameters()), c.register_parameter),
                                    ("buffers", dict(c.named_buffers()), c.register_buffer)):
        saved = dict(layer[kind])
        if set(saved) != set(current):
            raise pickle.UnpicklingError(f"{type(module).__name__}: the pickle has {kind} {sorted(saved)}, the layer "
                                         f"built from its arguments has {sorted(current)}")
        for name, t in saved.items():
            if tuple(t.shape) != tuple(current[name].shape):
                raise pickle.UnpicklingError(f"{type(module).__name__}.{name}: saved shape {list(t.shape)}, the layer "
                                             f"built from its arguments has {list(current[name].shape)}")
            register(name, t)
    settable = _layer_settings(c)
    for name, value in layer["settings"].items():
        if name in settable:
            setattr(c, name, value)


def _lamina_no_grad():
    from ..autograd import no_grad
    return no_grad()
