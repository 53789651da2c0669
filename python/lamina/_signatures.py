"""inspect.signature for lamina's C++ functions, methods and classes.

nanobind's callables (``nanobind.nb_func`` for functions, ``nb_method`` for methods,
``nb_bound_method`` for a method taken from an object) carry no Python signature: they have no
``__signature__``, no ``__text_signature__`` and no ``__dict__`` to set one in, so
``inspect.signature(lamina.optim.AdamW)`` raised ValueError. They do describe themselves in
``__nb_signature__``: one ``(signature_string, docstring, default_values)`` per overload, e.g.
``('def add(input: object, other: object, *, alpha: object = \\\\0) -> Tensor', '...', (1,))``,
where ``\\N`` stands for ``default_values[N]`` (and ``\\=N`` for a default whose text
``default_values[N]`` is).

``install()`` gives those three types a ``__signature__`` descriptor that parses
``__nb_signature__`` on first use (then caches it), which is the first thing inspect.signature
looks up. Nothing is wrapped: the functions stay the same objects and their calls go through
nanobind's vectorcall exactly as before (``__signature__`` is only read by introspection). The
types are immutable (Py_TPFLAGS_IMMUTABLETYPE: setattr refuses), so the descriptor goes into their
type dict directly and the type's attribute cache is invalidated with PyType_Modified (CPython's C
API, via ctypes). Both happen once, at import.
Because nanobind's types are shared by every nanobind extension of the same ABI in the process,
their functions gain correct signatures too.

What follows from it:

- functions: ``inspect.signature(lamina.add)`` -> ``(input, other, *, alpha=1)``;
- unbound methods keep ``self`` (``Tensor.view`` -> ``(self, *args)``), bound ones drop it;
- nanobind classes: inspect.signature(cls) reads ``cls.__init__`` (an nb_method) and drops
  ``self``, so ``AdamW`` -> ``(params, lr=0.001, ...)``; subclasses are unaffected;
- exception classes made in the extension (``lamina.ShapeError`` ...) have only the built-in
  ``BaseException.__init__``; ``install()`` gives each a ``__signature__`` of ``(*args)``, and the
  classes nanobind gives no constructor (``Tensor``, ``dtype``, ``GradFn``, the C++ base classes
  ``Optimizer`` and ``LRScheduler``) one of ``(*args, **kwargs)``; each answers for that class
  alone (a subclass with an ``__init__`` of its own still gets that one's).

Parameters come without annotations (nanobind's are C++ type names, often ``object``); defaults
are the Python values nanobind stores. Of several overloads the first is used (the one nanobind
tries first), unless one takes ``(*args, **kwargs)``, which then is the most general.
"""
import ast
import gc
import inspect
import keyword
import re
import types

__all__ = ["install", "signature_from_nb"]

_P = inspect.Parameter
_POS_ONLY, _POS_KW, _VAR_POS, _KW_ONLY, _VAR_KW = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD,
                                                   _P.VAR_POSITIONAL, _P.KEYWORD_ONLY, _P.VAR_KEYWORD)
_PLACEHOLDER = re.compile(r"\\(=?)(\d+)\Z")
_OPEN, _CLOSE = "([{", ")]}"


class _Default:
    """A default known only by its source text (a custom nb::sig, or nb::arg().sig()): shown as that text."""
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _scan(s, start=0):
    """(index, char, depth) for each character of s from `start` that stands outside quotes;
    depth counts the brackets open before it (a closing bracket reports the depth it leaves)."""
    depth, quote = 0, None
    for i in range(start, len(s)):
        c = s[i]
        if quote:
            if c == quote and s[i - 1] != "\\":
                quote = None
        elif c in "'\"":
            quote = c
        elif c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            yield i, c, depth
        else:
            yield i, c, depth


def _split_top(s, seps):
    """Splits s at the characters in seps that stand outside brackets and quotes."""
    parts, start = [], 0
    for i, c, depth in _scan(s):
        if depth == 0 and c in seps:
            parts.append(s[start:i])
            start = i + 1
    parts.append(s[start:])
    return parts


def _closing(s, i):
    """Index of the bracket closing the one at s[i] (quotes respected), or -1."""
    for j, c, depth in _scan(s, i):
        if c in _CLOSE and depth == 0:
            return j
    return -1


def _literal(text):
    text = text.strip()
    try:
        return ast.literal_eval(text)
    except Exception:  # not a literal (a name such as lamina.float32): keep the text
        return _Default(text)


def _default(text, values):
    """The Python value of a default's text: a placeholder indexes nanobind's values."""
    m = _PLACEHOLDER.match(text.strip())
    if m and values is not None and int(m.group(2)) < len(values):
        value = values[int(m.group(2))]
        return _literal(value) if m.group(1) else value
    return _literal(text)


def _split_default(item):
    """(name_and_annotation, default_text or None): the first top-level '=' that is no operator."""
    for i, c, depth in _scan(item):
        if c == "=" and depth == 0 and item[i - 1:i] not in ("=", "!", "<", ">") and item[i + 1:i + 2] != "=":
            return item[:i], item[i + 1:]
    return item, None


def _param(name, kind, default=_P.empty):
    """inspect.Parameter(name, ...), also for a name that is a Python keyword (Tensor.uniform_'s
    ``from``, which C++ takes by keyword as PyTorch does): inspect.Parameter refuses those names, so
    the parameter is made under another and given its real name after."""
    if not keyword.iskeyword(name):
        return _P(name, kind, default=default)
    param = _P(name + "_", kind, default=default)
    param._name = name
    return param


def _parameters(text, values):
    """The parameters of one nanobind signature string, or None if it does not parse."""
    line = text.strip().rsplit("\n", 1)[-1].strip()  # a custom nb::sig may start with decorators
    if line.startswith("def "):
        line = line[4:]
    start = line.find("(")
    end = _closing(line, start) if start >= 0 else -1
    if end < 0:
        return None
    params, kind = [], _POS_KW
    for item in _split_top(line[start + 1:end], ","):
        item = item.strip()
        if not item:
            continue
        if item == "/":
            params = [p.replace(kind=_POS_ONLY) if p.kind is _POS_KW else p for p in params]
        elif item == "*":
            kind = _KW_ONLY
        elif item.startswith("**"):
            params.append(_param(_split_top(item[2:], ":")[0].strip(), _VAR_KW))
        elif item.startswith("*"):
            params.append(_param(_split_top(item[1:], ":")[0].strip(), _VAR_POS))
            kind = _KW_ONLY
        else:
            head, default = _split_default(item)
            name = _split_top(head, ":")[0].strip()
            params.append(_param(name, kind, _P.empty if default is None else _default(default, values)))
    return params


def _signature(params):
    try:
        return inspect.Signature(params)
    except ValueError:  # e.g. a default before a non-default: keep nanobind's order as it is
        return inspect.Signature(params, __validate_parameters__=False)


def signature_from_nb(nb_signature):
    """An inspect.Signature from a nanobind ``__nb_signature__`` tuple, or None if none parses."""
    overloads = []
    for entry in nb_signature or ():
        try:
            params = _parameters(entry[0], entry[2] if len(entry) > 2 else None)
        except (ValueError, TypeError, IndexError):  # e.g. a parameter name that is no identifier
            params = None
        if params is not None:
            overloads.append(params)
    if not overloads:
        return None
    chosen = overloads[0]
    if len(overloads) > 1:
        for params in overloads:
            kinds = {p.kind for p in params}
            if _VAR_POS in kinds and _VAR_KW in kinds:
                chosen = params
                break
    try:
        return _signature(chosen)
    except (ValueError, TypeError):
        return None


_cache = {}  # id(function) -> (function, signature); holding the function keeps its id unique


def _nb_func_signature(func):
    entry = _cache.get(id(func))
    if entry is not None and entry[0] is func:
        return entry[1]
    try:
        sig = signature_from_nb(func.__nb_signature__)
    except Exception:  # introspection must not raise: inspect then reports "no signature"
        sig = None
    if len(_cache) > 8192:
        _cache.clear()
    _cache[id(func)] = (func, sig)
    return sig


def _bound_signature(method):
    """The signature of method.__func__ without its first parameter (self), as inspect does."""
    sig = _nb_func_signature(method.__func__)
    if sig is None:
        return None
    params = tuple(sig.parameters.values())
    if not params or params[0].kind in (_KW_ONLY, _VAR_KW):
        return None
    if params[0].kind is _VAR_POS:
        return sig
    return sig.replace(parameters=params[1:])


class _SignatureOf:
    """``__signature__`` of nanobind's function types: computed from the function's ``__nb_signature__``
    (None on the type itself, so inspect.signature(nb_func) behaves as before)."""
    __slots__ = ("getter",)

    def __init__(self, getter):
        self.getter = getter

    def __get__(self, instance, owner=None):
        return None if instance is None else self.getter(instance)


class _ClassSignature:
    """``__signature__`` of one class: answers for that class only (None for its subclasses and its
    instances), so a subclass with an ``__init__`` of its own keeps that one's signature."""

    def __init__(self, cls, sig):
        self.cls, self.sig = cls, sig

    def __get__(self, instance, owner=None):
        return self.sig if instance is None and owner is self.cls else None


_ARGS_ONLY = inspect.Signature([_P("args", _VAR_POS)])
_ANY = inspect.Signature([_P("args", _VAR_POS), _P("kwargs", _VAR_KW)])
_C_CALLABLES = (types.WrapperDescriptorType, types.MethodWrapperType, types.ClassMethodDescriptorType,
                types.BuiltinFunctionType)


def _has_constructor_signature(cls):
    """Whether inspect.signature(cls) finds a readable __call__ (metaclass), __new__ or __init__."""
    for owner, name in ((type(cls), "__call__"), (cls, "__new__"), (cls, "__init__")):
        method = getattr(owner, name, None)
        if method is not None and not isinstance(method, _C_CALLABLES):
            return True
    return False


def _set_type_attribute(tp, name, value):
    """Sets an attribute of an immutable (C) type: writes its type dict and calls PyType_Modified."""
    import ctypes
    dicts = [r for r in gc.get_referents(tp.__dict__) if type(r) is dict]
    if len(dicts) != 1:
        raise RuntimeError(f"cannot reach the type dict of {tp!r}")
    dicts[0][name] = value
    ctypes.pythonapi.PyType_Modified(ctypes.py_object(tp))


def _nanobind_types():
    from . import _lamina
    func = _lamina.add
    method = _lamina.Tensor.add
    bound = _lamina.empty(0).add
    return type(func), type(method), type(bound)


def _walk_namespaces():
    import lamina
    from . import _lamina
    spaces = [lamina, _lamina, lamina.nn, lamina.nn.functional, lamina.optim, lamina.optim.lr_scheduler,
              lamina.utils.data]
    for space in spaces:
        for name in dir(space):
            if not name.startswith("_"):
                yield getattr(space, name, None)


_installed = False


def install():
    """Makes inspect.signature work on lamina's nanobind functions, methods and classes (once).
    Returns whether it is in place; never raises, so that ``import lamina`` cannot fail on it
    (on an interpreter whose type dicts it cannot reach, the callables stay without signatures)."""
    global _installed
    if _installed:
        return True
    try:
        nb_func, nb_method, nb_bound_method = _nanobind_types()
        for tp, getter in ((nb_func, _nb_func_signature), (nb_method, _nb_func_signature),
                           (nb_bound_method, _bound_signature)):
            if "__signature__" not in tp.__dict__:
                _set_type_attribute(tp, "__signature__", _SignatureOf(getter))
        # Classes of the extension whose constructor inspect cannot read: the exceptions (only
        # BaseException's C __init__) and the classes nanobind gives no constructor (Tensor, dtype, ...).
        for obj in _walk_namespaces():
            if (isinstance(obj, type) and obj.__module__.startswith("lamina") and "__signature__" not in obj.__dict__
                    and not _has_constructor_signature(obj)):
                obj.__signature__ = _ClassSignature(obj, _ARGS_ONLY if issubclass(obj, BaseException) else _ANY)
    except Exception:  # noqa: BLE001 - introspection is optional; importing lamina is not
        return False
    _installed = True
    return True
