"""Runs a PyTorch program on lamina: `python -m lamina.compat script.py [args...]`.

For that process every `import torch` / `import torch.nn as nn` / `from torch.utils.data import
DataLoader` resolves to lamina's module of the same path (`torch.X.Y` -> `lamina.X.Y`). A torch
name lamina lacks is never replaced by something else: a module raises ModuleNotFoundError, an
attribute (`torch.nn.LSTM`, `tensor.data`) AttributeError, each naming the torch API and saying
that lamina does not have it (AttributeError keeps `hasattr(torch, "compile")`-style feature
checks working). `install()` does the same inside a running interpreter.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import runpy
import sys
import types

import lamina
from lamina import _lamina

__all__ = ["install", "main"]


def _missing(torch_name: str) -> str:
    return (f"{torch_name}: lamina does not have this PyTorch API (this process runs PyTorch code on lamina; see "
            "docs/TORCH_API.md for what is covered)")


class _TorchModule(types.ModuleType):
    """`torch.X` as seen by the program: lamina.X's attributes, and a clear error for the rest."""

    def __init__(self, torch_name: str, target: types.ModuleType):
        super().__init__(torch_name, getattr(target, "__doc__", None))
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_torch_name", torch_name)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        target = object.__getattribute__(self, "_target")
        torch_name = object.__getattribute__(self, "_torch_name")
        try:
            value = getattr(target, name)
        except AttributeError:
            # A submodule not imported yet (torch.nn.functional) resolves through the finder.
            try:
                return importlib.import_module(f"{torch_name}.{name}")
            except ModuleNotFoundError:
                raise AttributeError(_missing(f"{torch_name}.{name}")) from None
        if isinstance(value, types.ModuleType) and value.__name__.startswith("lamina"):
            return importlib.import_module(f"{torch_name}.{name}")
        return value

    def __setattr__(self, name, value):
        if name.startswith("__") and name.endswith("__"):  # the import system's own (__spec__, __path__)
            object.__setattr__(self, name, value)
        else:  # a program's monkey-patch reaches lamina's module
            setattr(object.__getattribute__(self, "_target"), name, value)

    def __dir__(self):
        return dir(object.__getattribute__(self, "_target"))


def _resolve(lamina_name):
    """lamina's module of that dotted name: imported, or an attribute module of the extension."""
    try:
        return importlib.import_module(lamina_name)
    except ModuleNotFoundError:
        parent_name, _, leaf = lamina_name.rpartition(".")
        return getattr(_resolve(parent_name), leaf)


class _Loader(importlib.abc.Loader):
    def __init__(self, target_name):
        self.target_name = target_name

    def create_module(self, spec):
        return _TorchModule(spec.name, _resolve(self.target_name))

    def exec_module(self, module):
        pass


class _Finder(importlib.abc.MetaPathFinder):
    """Maps torch and torch.* to lamina and lamina.*."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        lamina_name = "lamina" + fullname[len("torch"):]
        try:
            found = importlib.util.find_spec(lamina_name)
        except ModuleNotFoundError:
            found = None
        if found is None:
            parent_name, _, leaf = lamina_name.rpartition(".")
            try:
                is_module = isinstance(getattr(_resolve(parent_name), leaf, None), types.ModuleType)
            except (ModuleNotFoundError, AttributeError):
                is_module = False
            if not is_module:
                raise ModuleNotFoundError(_missing(fullname), name=fullname)
        spec = importlib.machinery.ModuleSpec(fullname, _Loader(lamina_name), is_package=True)
        spec.submodule_search_locations = []
        return spec


def _tensor_getattr(self, name):
    raise AttributeError(_missing(f"torch.Tensor.{name}"))


_installed = False


def install():
    """Makes `import torch` (and every torch.X) resolve to lamina in this interpreter. Idempotent;
    refuses when the real torch is already imported (the two would mix)."""
    global _installed
    if _installed:
        return
    real = sys.modules.get("torch")
    if real is not None and not isinstance(real, _TorchModule):
        raise _lamina.ConfigError("[compat] the real torch is already imported in this process; install lamina's "
                                  "torch before anything imports torch")
    sys.meta_path.insert(0, _Finder())
    if not hasattr(_lamina.Tensor, "__getattr__"):
        _lamina.Tensor.__getattr__ = _tensor_getattr
    _installed = True


def main(argv=None):
    """`python -m lamina.compat script.py [args...]`, or `-m module [args...]`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    install()
    if argv[0] == "-m":
        if len(argv) < 2:
            raise SystemExit("python -m lamina.compat -m MODULE [args...]")
        sys.argv = argv[1:]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = argv
        sys.path.insert(0, str(__import__("pathlib").Path(argv[0]).resolve().parent))
        runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
