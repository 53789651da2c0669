#!/usr/bin/env python3
"""Checks lamina's layer order from the code's own #include lines.

Every folder belongs to one floor (docs/ARCHITECTURE.md, "Layers"). An include may point to
its own floor's folder, or down; never up, never from one backend to another, never from a
sibling on the libraries' floor to another, nothing above the backends includes a backend
(only the bindings do, to expose lamina.cuda), the floors above the ops (nn, optim, data, io,
train) include nothing that launches kernels (the dispatch table, launch, loop builders, the
device interface, the kernel interface): they call ops; a public header (include/lamina/)
includes only public headers; and from the ops up no code looks a kernel up, makes a device
current or splits work over the thread pool itself (find_kernel, DeviceGuard, parallel_for...):
the runtime's launch entries (runtime/launch.h) own that. There is no exception list: a new folder must be given a floor here before
its code can include anything.

Usage: tools/check_layers.py [ROOT]   (exit status 1 and one line per bad include)
"""
from __future__ import annotations

import pathlib
import re
import sys

# (floor, unit) for each path prefix under the repository root; the longest prefix wins.
# Units on one floor are siblings: they may not include each other.
FLOORS: list[tuple[str, int, str]] = [
    ("include/lamina/core/", 1, "core"),
    ("lamina/core/", 1, "core"),
    ("include/lamina/kernels/", 2, "kernels"),
    ("lamina/kernels/", 2, "kernels"),  # the kernel interface: top-level headers only
    ("include/lamina/runtime/", 3, "runtime"),
    ("lamina/runtime/", 3, "runtime"),
    ("lamina/kernels/cpu/", 4, "backend:cpu"),
    ("include/lamina/cuda/", 4, "backend:cuda"),
    ("lamina/cuda/", 4, "backend:cuda"),
    ("lamina/kernels/cuda/", 4, "backend:cuda"),
    ("include/lamina/autograd/", 5, "autograd"),  # the graph ops record into (and the engine's API)
    ("lamina/autograd/", 5, "autograd"),
    ("include/lamina/ops/", 6, "ops"),
    ("lamina/ops/", 6, "ops"),
    ("lamina/backward/", 7, "backward"),  # the engine and gradcheck: they run ops over the graph
    ("include/lamina/nn/", 7, "nn"),
    ("lamina/nn/", 7, "nn"),
    ("include/lamina/optim/", 7, "optim"),
    ("lamina/optim/", 7, "optim"),
    ("include/lamina/data/", 7, "data"),
    ("lamina/data/", 7, "data"),
    ("include/lamina/io/", 7, "io"),
    ("lamina/io/", 7, "io"),
    ("include/lamina/train/", 8, "train"),
    ("lamina/train/", 8, "train"),
    ("include/lamina/distributed/", 8, "distributed"),  # process groups, stores, DDP (wraps nn modules)
    ("lamina/distributed/", 8, "distributed"),
    ("include/lamina/lamina.h", 9, "api"),
    ("lamina/lamina.h", 9, "api"),
    ("python/src/", 10, "bindings"),
]
FLOOR_NAMES = {1: "core", 2: "kernel interface", 3: "runtime", 4: "backends", 5: "autograd", 6: "ops",
               7: "libraries", 8: "train and distributed", 9: "public umbrella", 10: "bindings"}
BACKEND_FLOOR = 4
AUTOGRAD_FLOOR = 5
OPS_FLOOR = 6
UMBRELLA_FLOOR = 9
BINDINGS_FLOOR = 10
# What launching a kernel takes: above the ops (nn, optim, data, io, train) none of it is
# included, so those folders call ops and never kernels.
KERNEL_REACH = {"lamina/runtime/dispatch.h", "lamina/runtime/launch.h", "lamina/runtime/loops.h",
                "lamina/runtime/device_backend.h"}

# What only the runtime's launch entries call: from the ops up, code launches through them.
HAND_LAUNCH = re.compile(r"\b(find_kernel|find_kernel_raw|DeviceGuard|parallel_for|parallel_run|parallel_parts|"
                         r"for_each_part)\b")
# Comments (blanked, keeping their line breaks) and string literals (kept, so a "/*" in one
# starts no comment).
COMMENT = re.compile(r'"(?:\\.|[^"\\\n])*"|//[^\n]*|/\*.*?\*/', re.S)
INCLUDE = re.compile(r'^\s*#\s*include\s*["<](lamina/[^">]+)[">]', re.M)
SOURCES = (".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh")


def place(path: str) -> tuple[int, str] | None:
    best = None
    for prefix, floor, unit in FLOORS:
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, floor, unit)
    return None if best is None else (best[1], best[2])


def resolve(root: pathlib.Path, target: str) -> str:
    """The repository path an include names (public headers live under include/)."""
    for candidate in (target, "include/" + target):
        if (root / candidate).exists():
            return candidate
    return target


def problems(root: pathlib.Path) -> list[str]:
    found = []
    files = [p for base in ("lamina", "include", "python/src") if (root / base).is_dir()
             for p in sorted((root / base).rglob("*")) if p.suffix in SOURCES]
    for file in files:
        rel = file.relative_to(root).as_posix()
        here = place(rel)
        if here is None:
            found.append(f"{rel}: folder has no floor in tools/check_layers.py")
            continue
        text = file.read_text(encoding="utf-8", errors="replace")
        if AUTOGRAD_FLOOR <= here[0] < BINDINGS_FLOOR:
            code = COMMENT.sub(lambda c: c.group(0) if c.group(0).startswith('"') else "\n" * c.group(0).count("\n"),
                               text)
            for m in HAND_LAUNCH.finditer(code):
                line = code.count("\n", 0, m.start()) + 1
                found.append(f"{rel}:{line}: calls {m.group(1)} from {FLOOR_NAMES[here[0]]} "
                             "(launch through runtime/launch.h)")
        for m in INCLUDE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            target = resolve(root, m.group(1))
            there = place(target)
            where = f"{rel}:{line}: includes {m.group(1)}"
            if there is None:
                found.append(f"{where}, which has no floor")
                continue
            if rel.startswith("include/") and not target.startswith("include/"):
                found.append(f"{where}: a public header includes an internal one (not installed)")
                continue
            (f_here, u_here), (f_there, u_there) = here, there
            if OPS_FLOOR < f_here < UMBRELLA_FLOOR and m.group(1).startswith("lamina/kernels/"):
                found.append(f"{where}: reaches the kernel interface from {FLOOR_NAMES[f_here]} (call an op instead)")
            elif f_there > f_here:
                found.append(f"{where}: points up ({FLOOR_NAMES[f_here]} -> {FLOOR_NAMES[f_there]})")
            elif u_here.startswith("backend:") and u_there.startswith("backend:") and u_here != u_there:
                found.append(f"{where}: crosses backends ({u_here[8:]} -> {u_there[8:]})")
            elif f_there == f_here and u_here != u_there:
                found.append(f"{where}: sideways between siblings ({u_here} -> {u_there})")
            elif OPS_FLOOR < f_here < UMBRELLA_FLOOR and m.group(1) in KERNEL_REACH:
                found.append(f"{where}: calls kernels from {FLOOR_NAMES[f_here]} (call an op instead)")
            elif f_there == BACKEND_FLOOR and BACKEND_FLOOR < f_here < BINDINGS_FLOOR:
                found.append(f"{where}: reaches into a backend from {FLOOR_NAMES[f_here]} "
                             "(go through the runtime's dispatch table and device interface)")
    return found


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[1])
    found = problems(root)
    for line in found:
        print(line)
    print(f"check_layers: {len(found)} include(s) or launch(es) against the layer order")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
