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
            self._discard(name)
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


def _lamina_no_grad():
    from ..autograd import no_grad
    return no_grad()
