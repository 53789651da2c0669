"""Driver for bench/callgrind_overhead.sh: N iterations of a 4-element op under callgrind, with
instrumentation switched on only around the timed loop (client requests from a tiny C library
loaded with ctypes, so it works the same for lamina's nanobind extension, NumPy and PyTorch).

Usage (under valgrind --tool=callgrind --instr-atstart=no):
  python bench/callgrind_overhead.py LIB OP N MARKER_SO
LIB: lamina | numpy | torch.  OP: add | relu | exp | empty (the bare loop, subtracted as baseline);
exp_after_autocast: exp after an autocast region has been entered and left once (not NumPy), i.e.
the op's full autocast check, which a program that never uses autocast skips.
"""
import ctypes
import os
import sys

os.environ.setdefault("LAMINA_FORCE_CPU", "1")


def main():
    lib, op, n, marker = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    cg = ctypes.CDLL(marker)
    if lib == "lamina":
        import lamina as L
        x, y = L.ones(4), L.ones(4)
        relu = L.relu
    elif lib == "numpy":
        import numpy as L
        x, y = L.ones(4, L.float32), L.ones(4, L.float32)
        relu = None  # np.maximum(x, 0), called inline below (no extra Python frame)
    elif lib == "torch":
        import torch as L
        x, y = L.ones(4), L.ones(4)
        relu = L.relu
    else:
        raise SystemExit(f"unknown library {lib}")

    # Same loop shape for every op, so the "empty" run is the loop's own cost.
    def loop_add(k):
        for _ in range(k):
            x + y

    def loop_relu(k):
        for _ in range(k):
            relu(x)

    if relu is None:
        maximum = L.maximum

        def loop_relu(k):  # noqa: F811
            for _ in range(k):
                maximum(x, 0)

    exp = L.exp

    def loop_exp(k):
        for _ in range(k):
            exp(x)

    def loop_empty(k):
        for _ in range(k):
            x

    if op == "exp_after_autocast" and hasattr(L, "autocast"):
        with L.autocast("cpu"):
            pass
    fn = {"add": loop_add, "relu": loop_relu, "exp": loop_exp, "exp_after_autocast": loop_exp,
          "empty": loop_empty}[op]
    fn(max(n, 1000))  # warm-up: caches, allocator pools, lazy initialisation
    cg.lamina_cg_start()
    fn(n)
    cg.lamina_cg_stop()


if __name__ == "__main__":
    main()
