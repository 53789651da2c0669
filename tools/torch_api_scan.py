#!/usr/bin/env python3
"""Which PyTorch APIs do real programs use, and which does lamina lack? Reads every .py file under
the folders given (nothing is run), resolves import aliases (`import torch.nn as nn`,
`from torch import optim`, `from torch.nn import functional as F`, ...) and counts each use of a
`torch.*` name (modules, classes, functions: `torch.nn.LSTM`, `torch.nn.functional.relu`,
`torch.save`) and each call of a Tensor method (`x.view(...)`, by name: any `.name(` whose name
is a method of torch.Tensor). Each name is looked up in lamina (`torch.a.b` -> `lamina.a.b`,
Tensor methods on `lamina.Tensor`), and the report lists what is missing, most used first.

Usage: tools/torch_api_scan.py [--markdown] [--top N] FOLDER [FOLDER ...]
  runs under the interpreter that imports lamina (.venv/bin/python); the list of Tensor methods
  comes from torch when this interpreter or /usr/bin/python3 can import it, else from the names
  lamina's own Tensor has plus the programs' calls of torch-only names found by attribute use.
"""
from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import pathlib
import subprocess
import sys

os.environ.setdefault("LAMINA_FORCE_CPU", "1")


def tensor_method_names() -> set[str]:
    code = "import torch, json; print(json.dumps([n for n in dir(torch.Tensor) if not n.startswith('__')]))"
    for python in (sys.executable, "/usr/bin/python3"):
        try:
            out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0:
            return set(json.loads(out.stdout))
    raise SystemExit("torch_api_scan: no interpreter here imports torch (needed for the Tensor method list)")


class Uses(ast.NodeVisitor):
    """Collects torch names (dotted, resolved through the file's import aliases) and method calls."""

    def __init__(self):
        self.aliases: dict[str, str] = {}  # local name -> dotted torch path
        self.names = collections.Counter()
        self.methods = collections.Counter()

    def visit_Import(self, node):
        for a in node.names:
            if a.name == "torch" or a.name.startswith("torch."):
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    self.aliases["torch"] = "torch"
                self.names[a.name] += 1

    def visit_ImportFrom(self, node):
        if node.module and (node.module == "torch" or node.module.startswith("torch.")) and node.level == 0:
            for a in node.names:
                if a.name == "*":
                    continue
                full = f"{node.module}.{a.name}"
                self.aliases[a.asname or a.name] = full
                self.names[full] += 1

    def dotted(self, node):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return ".".join([self.aliases[node.id]] + parts[::-1])
        return None

    def visit_Attribute(self, node):
        path = self.dotted(node)
        if path is not None:
            self.names[path] += 1
            return  # the chain is counted once, as its longest name
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in self.aliases and isinstance(node.ctx, ast.Load):
            self.names[self.aliases[node.id]] += 1

    def visit_Call(self, node):
        if isinstance(node.func, ast.Attribute) and self.dotted(node.func) is None:
            self.methods[node.func.attr] += 1
        self.generic_visit(node)


def lamina_has(path: str, lamina) -> bool:
    obj = lamina
    for part in path.split(".")[1:]:
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


# Families the coverage bar leaves out: graph capture, RPC and sharded / tensor-parallel internals
# (named in the report, not planned) and, until the distributed issue lands, the distributed API.
OUT_OF_SCOPE = ("torch.fx", "torch.distributed.rpc", "torch.distributed.fsdp", "torch.distributed.tensor",
                "torch.distributed._tensor", "torch.distributed.algorithms", "torch.distributed.autograd",
                "torch.distributed.optim", "torch.distributed.checkpoint", "torch.futures", "torch._dynamo",
                "torch._inductor", "torch.jit")
PENDING = ("torch.distributed", "torch.multiprocessing", "torch.nn.parallel.DistributedDataParallel",
           "torch.utils.data.distributed")


def in_family(path: str, families) -> bool:
    return any(path == f or path.startswith(f + ".") for f in families)


def scan(folders, top, markdown):
    import lamina

    torch_methods = tensor_method_names()
    names, methods, files = collections.Counter(), collections.Counter(), 0
    for folder in folders:
        for file in sorted(pathlib.Path(folder).rglob("*.py")):
            try:
                tree = ast.parse(file.read_text(encoding="utf-8", errors="replace"))
            except SyntaxError:
                continue
            files += 1
            uses = Uses()
            uses.visit(tree)
            names.update(uses.names)
            methods.update({m: c for m, c in uses.methods.items() if m in torch_methods})
    # A chain like torch.nn.Module.zero_grad resolves as far as lamina goes: count the missing head.
    rows = []
    for path, count in names.items():
        rows.append(("name", path, count, lamina_has(path, lamina)))
    for m, count in methods.items():
        rows.append(("Tensor method", f"Tensor.{m}", count, hasattr(lamina.Tensor, m)))
    total = sum(r[2] for r in rows)
    covered = sum(r[2] for r in rows if r[3])
    name_total = sum(r[2] for r in rows if r[0] == "name")
    name_covered = sum(r[2] for r in rows if r[0] == "name" and r[3])
    kept = [r for r in rows if not in_family(r[1], OUT_OF_SCOPE + PENDING)]
    kept_total, kept_covered = sum(r[2] for r in kept), sum(r[2] for r in kept if r[3])
    kept_names = [r for r in kept if r[0] == "name"]
    kn_total, kn_covered = sum(r[2] for r in kept_names), sum(r[2] for r in kept_names if r[3])
    missing = sorted((r for r in rows if not r[3]), key=lambda r: (-r[2], r[1]))
    print(f"{files} files; {total} uses of {len(rows)} torch APIs; lamina resolves {covered} "
          f"({100.0 * covered / max(total, 1):.1f}%); torch.* names alone: {name_covered} / {name_total} "
          f"({100.0 * name_covered / max(name_total, 1):.1f}%)")
    print(f"without the families left out ({', '.join(OUT_OF_SCOPE)}) and those of the distributed issue "
          f"({', '.join(PENDING)}): {kept_covered} / {kept_total} ({100.0 * kept_covered / max(kept_total, 1):.1f}%); "
          f"torch.* names alone: {kn_covered} / {kn_total} ({100.0 * kn_covered / max(kn_total, 1):.1f}%)")
    if markdown:
        print("\n| missing in lamina | kind | uses |\n|---|---|---|")
        for kind, path, count, _ in missing[:top]:
            print(f"| `{path}` | {kind} | {count} |")
    else:
        for kind, path, count, _ in missing[:top]:
            print(f"{count:6d}  {path}  ({kind})")
    if len(missing) > top:
        print(f"... and {len(missing) - top} more ({sum(r[2] for r in missing[top:])} uses)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+")
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    scan(args.folders, args.top, args.markdown)


if __name__ == "__main__":
    main()
