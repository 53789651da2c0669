"""``python -m lamina.distributed.run``: torchrun's launcher for lamina programs.

Starts --nproc-per-node processes on this node, each with torchrun's environment (RANK,
LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, GROUP_RANK, MASTER_ADDR, MASTER_PORT) and a share of
the cores (LAMINA_NUM_THREADS / OMP_NUM_THREADS = cores / local ranks unless set), then watches
them: when one exits with a failure the others are stopped, and the launcher exits non-zero,
naming the rank and its exit status. Run it on every node with the same --nnodes,
--master-addr and --master-port and each node's --node-rank. A Python script runs under this
interpreter (``-m module`` for a module); ``--no-python`` runs any program (a C++ binary).
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lamina.distributed.run",
                                description="Launches a lamina program on several processes (torchrun's flags).")
    p.add_argument("--nproc-per-node", "--nproc_per_node", dest="nproc_per_node", default="1",
                   help="processes on this node: a number, or 'cpu' (one per core)")
    p.add_argument("--nnodes", default="1", help="number of nodes (a range 'a:b' is taken as b)")
    p.add_argument("--node-rank", "--node_rank", dest="node_rank", type=int, default=0, help="this node's index")
    p.add_argument("--master-addr", "--master_addr", dest="master_addr", default="127.0.0.1",
                   help="address of the node running rank 0 (its store)")
    p.add_argument("--master-port", "--master_port", dest="master_port", type=int, default=29500,
                   help="port of rank 0's store")
    p.add_argument("--standalone", action="store_true", help="one node, a free port chosen")
    p.add_argument("--rdzv-endpoint", "--rdzv_endpoint", dest="rdzv_endpoint", default="",
                   help="host:port, as --master-addr / --master-port")
    p.add_argument("--rdzv-backend", "--rdzv_backend", dest="rdzv_backend", default="static",
                   help="accepted for torchrun compatibility; the rendezvous is rank 0's store")
    p.add_argument("--rdzv-id", "--rdzv_id", dest="rdzv_id", default="none", help="a name for the run")
    p.add_argument("--max-restarts", "--max_restarts", dest="max_restarts", type=int, default=0,
                   help="restarts of the whole node's group after a failure")
    p.add_argument("--monitor-interval", "--monitor_interval", dest="monitor_interval", type=float, default=0.1,
                   help="accepted for torchrun compatibility (the launcher is woken by each exit)")
    p.add_argument("--grace-period", dest="grace_period", type=float, default=5.0,
                   help="seconds the others get to exit after SIGTERM before SIGKILL")
    p.add_argument("-m", "--module", action="store_true", help="run the program as a Python module")
    p.add_argument("--no-python", "--no_python", dest="no_python", action="store_true",
                   help="run the program directly, not under Python")
    p.add_argument("training_script", help="the program to run")
    p.add_argument("training_script_args", nargs=argparse.REMAINDER)
    return p


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log(msg: str) -> None:
    print(f"[lamina.distributed.run] {msg}", file=sys.stderr, flush=True)


def _start(args, nproc: int, world_size: int, master_addr: str, master_port: int, restart: int):
    cmd = ([args.training_script] if args.no_python else
           [sys.executable, "-u"] + (["-m"] if args.module else []) + [args.training_script])
    cmd += args.training_script_args
    threads = max(1, (os.cpu_count() or 1) // nproc)
    procs = []
    for local in range(nproc):
        rank = args.node_rank * nproc + local
        env = dict(os.environ)
        env.update({
            "RANK": str(rank), "LOCAL_RANK": str(local), "WORLD_SIZE": str(world_size),
            "LOCAL_WORLD_SIZE": str(nproc), "GROUP_RANK": str(args.node_rank), "ROLE_RANK": str(rank),
            "ROLE_WORLD_SIZE": str(world_size), "NODE_RANK": str(args.node_rank),
            "MASTER_ADDR": master_addr, "MASTER_PORT": str(master_port), "LAMINA_LAUNCHED": "1",
            "TORCHELASTIC_RESTART_COUNT": str(restart), "TORCHELASTIC_RUN_ID": str(args.rdzv_id),
        })
        env.setdefault("LAMINA_NUM_THREADS", str(threads))
        env.setdefault("OMP_NUM_THREADS", str(threads))
        procs.append((rank, subprocess.Popen(cmd, env=env, start_new_session=True)))
    return procs


def _stop(procs, grace: float) -> None:
    for _, p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + grace
    for _, p in procs:
        left = max(0.0, deadline - time.monotonic())
        try:
            p.wait(timeout=left)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name} ({-code})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _watch(procs, grace: float):
    """Waits for every process; on the first failure stops the rest. Returns (rank, code) of
    the first failure, or None. Children are reaped as they end (waitpid on any child), so the
    first to fail is told apart from the ranks that fail because of it."""
    by_pid = {p.pid: (rank, p) for rank, p in procs}
    left = set(by_pid)
    while left:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        if pid not in by_pid:
            continue
        rank, p = by_pid[pid]
        p.returncode = os.waitstatus_to_exitcode(status)
        left.discard(pid)
        if p.returncode != 0:
            _stop(procs, grace)
            return rank, p.returncode
    return None


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.no_python and args.module:
        _log("--no-python and -m exclude each other")
        return 2
    nproc = (os.cpu_count() or 1) if args.nproc_per_node in ("cpu", "auto") else int(args.nproc_per_node)
    nnodes = int(str(args.nnodes).split(":")[-1])
    if nproc < 1 or nnodes < 1 or not 0 <= args.node_rank < nnodes:
        _log(f"bad sizes: --nproc-per-node {nproc}, --nnodes {nnodes}, --node-rank {args.node_rank}")
        return 2
    master_addr, master_port = args.master_addr, args.master_port
    if args.rdzv_endpoint:
        host, _, port = args.rdzv_endpoint.rpartition(":")
        master_addr, master_port = (host or master_addr), int(port or master_port)
    if args.standalone:
        if nnodes != 1:
            _log("--standalone runs one node")
            return 2
        master_addr, master_port = "127.0.0.1", _free_port()
    world_size = nproc * nnodes

    procs = []

    def forward(signum, _frame):
        for _, p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signum)
                except ProcessLookupError:
                    pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for attempt in range(args.max_restarts + 1):
        procs[:] = _start(args, nproc, world_size, master_addr, master_port, attempt)
        failure = _watch(procs, args.grace_period)
        if failure is None:
            return 0
        rank, code = failure
        others = ", ".join(f"rank {r}: {_describe(p.returncode)}" for r, p in procs if r != rank)
        _log(f"rank {rank} (local rank {rank - args.node_rank * nproc}) failed first with {_describe(code)}; "
             f"the others were stopped ({others or 'none'})")
        if attempt < args.max_restarts:
            _log(f"restarting the node's processes ({attempt + 1} of {args.max_restarts})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
