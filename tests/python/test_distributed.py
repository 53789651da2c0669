"""lamina.distributed over Gloo on localhost: every collective and dtype on 2 and 4 ranks
against NumPy, typed errors, stores (also fed hostile bytes), and a rank that dies or hangs
(the others fail within the timeout, the launcher names the rank). Each rank is its own
process (tests/python/dist_worker.py)."""
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import lamina as L
import lamina.distributed as dist

sys.path.insert(0, os.path.dirname(__file__))
from dist_worker import DTYPES, OPS, inputs, op_allowed  # noqa: E402

WORKER = os.path.join(os.path.dirname(__file__), "dist_worker.py")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(rank, size, port, **extra):
    env = dict(os.environ)
    env.update({"RANK": str(rank), "WORLD_SIZE": str(size), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
                "LAMINA_FORCE_CPU": "1", "LAMINA_NUM_THREADS": "1"})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_ranks(scenario, size, tmp_path, timeout=120, **extra):
    port = free_port()
    procs = [subprocess.Popen([sys.executable, WORKER, scenario, str(tmp_path)], env=env_for(r, size, port, **extra),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for r in range(size)]
    outs = []
    for p in procs:
        try:
            out, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise AssertionError(f"{scenario}: a rank hung past {timeout} s")
        outs.append((p.returncode, out))
    return outs


def reduce_ref(arrays, op, dtype):
    a = np.stack(arrays)
    if dtype == "bool":
        return a.all(0) if op == "MIN" else a.any(0)
    if op in ("SUM", "AVG"):
        r = a.sum(0, dtype=a.dtype)
        return r / len(arrays) if op == "AVG" else r
    if op == "PRODUCT":
        return a.prod(0, dtype=a.dtype)
    return a.min(0) if op == "MIN" else a.max(0)


def compare(got, want, dtype, what):
    tol = 1e-2 if dtype in ("float16", "bfloat16") else 0
    want = np.asarray(want)
    if dtype == "bool":
        want = want.astype(np.bool_)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol, err_msg=what)


@pytest.mark.parametrize("size", [2, 4])
def test_every_collective_and_dtype(size, tmp_path):
    outs = run_ranks("collectives", size, tmp_path)
    for rc, out in outs:
        assert rc == 0, out
    check_collectives(tmp_path, size)


def check_collectives(tmp_path, size):
    res = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(size)]
    get = lambda r, case: res[r][case.replace("/", "__")]  # noqa: E731
    shape = (3, 5)
    checked = 0
    for dtype in DTYPES:
        for op in OPS:
            if not op_allowed(dtype, op):
                continue
            case = f"all_reduce/{dtype}/{op}"
            want = reduce_ref([inputs(case, r, shape, dtype) for r in range(size)], op, dtype)
            for r in range(size):
                compare(get(r, case), want, dtype, f"{case} rank {r}")
                checked += 1
        case = f"broadcast/{dtype}"
        for r in range(size):
            compare(get(r, case), inputs(case, size - 1, shape, dtype), dtype, case)
        case = f"all_gather/{dtype}"
        want = np.stack([inputs(case, r, shape, dtype) for r in range(size)])
        for r in range(size):
            compare(get(r, case), want, dtype, case)
    for dtype in ("float32", "int64"):
        case = f"reduce/{dtype}"
        root = 1 % size
        want = reduce_ref([inputs(case, r, shape, dtype) for r in range(size)], "SUM", dtype)
        compare(get(root, case), want, dtype, case)
        for r in range(size):
            if r != root:  # the others keep their input
                compare(get(r, case), inputs(case, r, shape, dtype), dtype, case + " (non-root)")
        case = f"all_gather_into_tensor/{dtype}"
        want = np.concatenate([inputs(case, r, (2, 3), dtype) for r in range(size)])
        for r in range(size):
            compare(get(r, case), want, dtype, case)
        case = f"reduce_scatter_tensor/{dtype}"
        total = reduce_ref([inputs(case, r, (2 * size, 3), dtype) for r in range(size)], "SUM", dtype)
        for r in range(size):
            compare(get(r, case), total[2 * r:2 * r + 2], dtype, case)
        case = f"gather/{dtype}"
        compare(get(0, case), np.stack([inputs(case, r, shape, dtype) for r in range(size)]), dtype, case)
        case = f"scatter/{dtype}"
        for r in range(size):
            compare(get(r, case), inputs(case, r, shape, dtype), dtype, case)
    case = "reduce_scatter_tensor/float64/AVG"
    total = reduce_ref([inputs(case, r, (size, 4), "float64") for r in range(size)], "AVG", "float64")
    for r in range(size):
        compare(get(r, case), total[r:r + 1], "float64", case)
    case = "all_reduce/noncontiguous"
    bases = [inputs(case, r, (4, 6), "float32").astype(np.float32) for r in range(size)]
    for r in range(size):
        want = bases[r].copy()
        want.T[1:5:2] = sum(b.T[1:5:2] for b in bases)  # only the view's elements change
        compare(get(r, case), want, "float32", case)
    for r in range(size):
        assert get(r, "all_reduce/empty").shape == (0, 3)
        compare(get(r, "all_reduce/0d"), sum(range(1, size + 1)), "float32", "0-d")
    for i in range(3):
        case = f"async/{i}"
        want = sum(inputs(case, r, (1000,), "float32").astype(np.float32) for r in range(size))
        for r in range(size):
            compare(get(r, case), want, "float32", case)
    for r in range(size):
        left = (r - 1) % size
        compare(get(r, "ring/tag3"), inputs("ring", left, (7,), "float64"), "float64", "ring tag 3")
        compare(get(r, "ring/tag5"), 2 * inputs("ring", left, (7,), "float64"), "float64", "ring tag 5")
    odd = [r for r in range(size) if r % 2 == 1]
    for r in range(size):
        mine = inputs("subgroup", r, (4,), "float32")
        want = sum(inputs("subgroup", o, (4,), "float32") for o in odd) if r in odd else mine
        compare(get(r, "subgroup"), want, "float32", f"subgroup rank {r}")
    assert checked >= 2 * 30


def test_bad_arguments_raise_typed_errors(tmp_path):
    for rc, out in run_ranks("errors", 2, tmp_path):
        assert rc == 0, out


def test_a_dead_rank_fails_the_others_quickly(tmp_path):
    start = time.monotonic()
    outs = run_ranks("die", 3, tmp_path, timeout=90, DIST_TEST_TIMEOUT=60)
    took = time.monotonic() - start
    assert outs[1][0] == 17
    for r in (0, 2):
        rc, out = outs[r]
        assert rc != 0, out
        assert "DistributedError" in out or "DistTimeoutError" in out, out
        assert "rank" in out
    assert took < 45, f"the survivors took {took:.0f} s to notice (the timeout is 60 s: they did not wait it out)"


def test_a_hung_rank_times_out_the_others(tmp_path):
    outs = run_ranks("hang", 2, tmp_path, timeout=90, DIST_TEST_TIMEOUT=3)
    assert outs[0][0] == 3, outs[0][1]
    took, message = (tmp_path / "hang0.txt").read_text().split("\n", 1)
    assert 2.0 <= float(took) < 20, took
    assert "all_reduce" in message


def test_launcher_names_the_failed_rank(tmp_path):
    port = free_port()
    env = dict(os.environ, LAMINA_FORCE_CPU="1", DIST_TEST_TIMEOUT="60")
    p = subprocess.run([sys.executable, "-m", "lamina.distributed.run", "--nproc-per-node", "3", "--master-port",
                        str(port), WORKER, "die", str(tmp_path)], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stderr
    assert "rank 1 (local rank 1) failed first with exit status 17" in p.stderr, p.stderr


def test_launcher_environment_and_success(tmp_path):
    script = tmp_path / "show.py"
    script.write_text("import os\n"
                      "import lamina.distributed as dist\n"
                      "dist.init_process_group('gloo')\n"
                      "keys = ['RANK', 'LOCAL_RANK', 'WORLD_SIZE', 'LOCAL_WORLD_SIZE', 'GROUP_RANK', 'MASTER_ADDR',\n"
                      "        'MASTER_PORT', 'LAMINA_NUM_THREADS']\n"
                      "got = [None] * dist.get_world_size()\n"
                      "dist.all_gather_object(got, {k: os.environ[k] for k in keys})\n"
                      "if dist.get_rank() == 0:\n"
                      "    print('ENV', got)\n"
                      "dist.destroy_process_group()\n")
    env = dict(os.environ, LAMINA_FORCE_CPU="1")
    env.pop("LAMINA_NUM_THREADS", None)
    p = subprocess.run([sys.executable, "-m", "lamina.distributed.run", "--standalone", "--nproc-per-node", "2",
                        str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    got = eval(p.stdout.split("ENV", 1)[1])
    threads = str(max(1, (os.cpu_count() or 1) // 2))
    for r, e in enumerate(got):
        assert e["RANK"] == str(r) and e["LOCAL_RANK"] == str(r) and e["WORLD_SIZE"] == "2"
        assert e["LOCAL_WORLD_SIZE"] == "2" and e["GROUP_RANK"] == "0" and e["LAMINA_NUM_THREADS"] == threads


# ---- stores, in this process ----

def test_tcp_store_semantics():
    master = dist.TCPStore("127.0.0.1", 0, world_size=2, is_master=True, timeout=5, wait_for_workers=False)
    client = dist.TCPStore("127.0.0.1", master.port, world_size=2, timeout=5)
    master.set("a", "1")
    assert client.get("a") == b"1"
    client.set("b", b"\x00\xff")
    assert master.get("b") == b"\x00\xff"
    assert client.add("n", 5) == 5 and master.add("n", -2) == 3
    assert client.check(["a", "b"]) and not client.check(["a", "missing"])
    assert client.compare_set("c", "", "x") == b"x"
    assert client.compare_set("c", "y", "z") == b"x"
    assert client.compare_set("c", "x", "z") == b"z"
    assert client.delete_key("a") and not client.delete_key("a")
    client.set_timeout(0.3)
    t0 = time.monotonic()
    with pytest.raises(dist.DistTimeoutError):
        client.get("never")
    assert time.monotonic() - t0 < 5
    with pytest.raises(TimeoutError):
        client.wait(["never"], 0.2)
    with pytest.raises(L.ValueError):
        master.set("s", "text")
        client.add("s", 1)


def test_tcp_store_survives_hostile_bytes():
    master = dist.TCPStore("127.0.0.1", 0, is_master=True, timeout=5, wait_for_workers=False)
    rng = np.random.default_rng(0)
    payloads = [b"", b"\x00" * 3, b"LMST", (0x4c4d5354).to_bytes(4, "little") + (1).to_bytes(4, "little") +
                b"\x01" + (0xFFFFFFFF).to_bytes(4, "little"),
                (0x4c4d5354).to_bytes(4, "little") + (1).to_bytes(4, "little") + b"\x63garbage"]
    payloads += [rng.bytes(int(n)) for n in rng.integers(1, 4096, size=20)]
    for p in payloads:
        with socket.create_connection(("127.0.0.1", master.port), timeout=5) as s:
            s.sendall(p)
            s.shutdown(socket.SHUT_WR)
            s.settimeout(5)
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
    client = dist.TCPStore("127.0.0.1", master.port, timeout=5)
    client.set("after", "ok")
    assert master.get("after") == b"ok"


def test_tcp_store_unreachable_is_a_timeout():
    t0 = time.monotonic()
    with pytest.raises(dist.DistTimeoutError, match="cannot reach"):
        dist.TCPStore("127.0.0.1", free_port(), timeout=0.5)
    assert time.monotonic() - t0 < 5


def test_file_store_and_prefix_store(tmp_path):
    path = str(tmp_path / "store")
    a = dist.FileStore(path, 2)
    b = dist.FileStore(path, 2)
    a.set("k", "v")
    assert b.get("k") == b"v"
    assert b.add("n", 2) == 2 and a.add("n", 3) == 5
    p = dist.PrefixStore("grp", a)
    p.set("k", "other")
    assert b.get("grp/k") == b"other" and p.get("k") == b"other" and a.get("k") == b"v"
    b.set_timeout(0.2)
    with pytest.raises(dist.DistTimeoutError):
        b.get("missing")
    # a corrupt file is a FormatError, not garbage
    (tmp_path / "bad").write_bytes(b"\x01" + (1 << 30).to_bytes(4, "little") + b"k")
    with pytest.raises(L.FormatError):
        dist.FileStore(str(tmp_path / "bad"), 1)


def test_init_errors_are_typed(monkeypatch):
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "1")
    with pytest.raises(L.ConfigError, match="MASTER_ADDR"):
        dist.init_process_group("gloo")
    with pytest.raises(L.ConfigError, match="unknown backend"):
        dist.init_process_group("carrier-pigeon", init_method="tcp://127.0.0.1:1", rank=0, world_size=1)
    with pytest.raises(L.ConfigError, match="init_method"):
        dist.init_process_group("gloo", init_method="udp://x", rank=0, world_size=1)
    with pytest.raises(L.ConfigError, match="rank"):
        dist.init_process_group("gloo", init_method="tcp://127.0.0.1:1", rank=3, world_size=2)
    assert not dist.is_initialized()
    with pytest.raises(L.ValueError, match="not initialized"):
        dist.get_rank()


def test_single_process_world(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rdzv'}", rank=0, world_size=1, timeout=10)
    try:
        assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
        t = L.arange(5, dtype=L.float32)
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        assert t.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
        out = [L.zeros(5)]
        dist.all_gather(out, t)
        assert out[0].tolist() == t.tolist()
        with L.profiler.profile() as prof:  # collectives show in the profile, named by backend
            dist.all_reduce(t)
            dist.barrier()
        names = {e.name for e in prof.events()}
        assert {"gloo:all_reduce", "gloo:barrier"} <= names, names
        with pytest.raises(L.ValueError, match="already initialized"):
            dist.init_process_group("gloo", init_method="tcp://127.0.0.1:1", rank=0, world_size=1)
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()


# ---- DistributedDataParallel ----

@pytest.mark.parametrize("size", [2, 4])
def test_ddp_matches_one_process_with_the_whole_batch(size, tmp_path):
    """N ranks x batch B with DDP against 1 process x batch N*B, after 4 SGD-with-momentum steps:
    equal within float32 rounding, not bitwise (the ranks' mean gradients are averaged, where one
    process takes the mean over the whole batch: the same sum in another order). SyncBatchNorm
    against BatchNorm over the whole batch, no_sync accumulation, find_unused_parameters, and a
    checkpoint written by rank 0 and resumed by every rank (bitwise equal to training straight
    through: the same operations in the same order)."""
    outs = run_ranks("ddp", size, tmp_path, timeout=240)
    for rc, out in outs:
        assert rc == 0, out
    check_ddp_results(tmp_path, size)


def check_ddp_results(tmp_path, size):
    import dist_worker as w

    res = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(size)]
    for kind in ("plain", "bn", "unused", "accumulate"):
        model = w.build_model(L, "plain" if kind == "accumulate" else kind)
        opt = L.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        w.train_steps(L, model, opt, w.STEPS)
        want = w.params_of(L, model)
        for r in range(size):
            for k, v in want.items():
                np.testing.assert_allclose(res[r][f"{kind}__{k}"], v, rtol=2e-5, atol=2e-6,
                                           err_msg=f"{kind} {k} rank {r}")
        for r in range(1, size):  # every rank holds the same model
            for k in want:
                np.testing.assert_array_equal(res[r][f"{kind}__{k}"], res[0][f"{kind}__{k}"])
    for r in range(size):
        for k in w.params_of(L, w.build_model(L, "plain")):
            np.testing.assert_array_equal(res[r][f"resumed__{k}"], res[r][f"straight__{k}"], err_msg=k)


def _sh(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True)


def test_two_hosts_as_network_namespaces(tmp_path):
    """Two "hosts": network namespaces joined by a veth pair (10.77.x.1 and .2), one node of the
    launcher in each (--nnodes 2), training the DDP scenario together over that interface."""
    tag = f"{os.getpid() % 100000}"
    a, b = f"lamA{tag}", f"lamB{tag}"
    made = _sh("ip", "netns", "add", a)
    if made.returncode != 0:
        pytest.skip(f"network namespaces cannot be made here (ip netns add: {made.stderr.strip()})")
    try:
        subnet = f"10.77.{os.getpid() % 250}"
        for cmd in (["ip", "netns", "add", b],
                    ["ip", "link", "add", f"va{tag}", "type", "veth", "peer", "name", f"vb{tag}"],
                    ["ip", "link", "set", f"va{tag}", "netns", a], ["ip", "link", "set", f"vb{tag}", "netns", b],
                    ["ip", "-n", a, "addr", "add", f"{subnet}.1/24", "dev", f"va{tag}"],
                    ["ip", "-n", b, "addr", "add", f"{subnet}.2/24", "dev", f"vb{tag}"],
                    ["ip", "-n", a, "link", "set", f"va{tag}", "up"], ["ip", "-n", b, "link", "set", f"vb{tag}", "up"],
                    ["ip", "-n", a, "link", "set", "lo", "up"], ["ip", "-n", b, "link", "set", "lo", "up"]):
            r = _sh(*cmd)
            if r.returncode != 0:
                pytest.skip(f"network namespaces cannot be joined here ({' '.join(cmd)}: {r.stderr.strip()})")
        env = dict(os.environ, LAMINA_FORCE_CPU="1", DIST_TEST_TIMEOUT="60")
        nodes = []
        for ns, node in ((a, 0), (b, 1)):
            nodes.append(subprocess.Popen(
                ["ip", "netns", "exec", ns, sys.executable, "-m", "lamina.distributed.run", "--nnodes", "2",
                 "--node-rank", str(node), "--nproc-per-node", "1", "--master-addr", f"{subnet}.1",
                 "--master-port", "29700", WORKER, "ddp", str(tmp_path)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        for p in nodes:
            out, _ = p.communicate(timeout=300)
            assert p.returncode == 0, out
        check_ddp_results(tmp_path, 2)
    finally:
        _sh("ip", "netns", "del", a)
        _sh("ip", "netns", "del", b)


def test_fashion_mnist_example_trains_with_ddp():
    """examples/fashion_mnist.py under the launcher on 2 processes (each half of every 128-image
    batch) against one process: the same test accuracy within the noise of the data order
    (DistributedSampler's shuffle is not the single loader's)."""
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    example = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "fashion_mnist.py")
    common = ["--model", "cnn", "--epochs", "2", "--limit", "16384"]
    env = dict(os.environ, LAMINA_FORCE_CPU="1")

    def accuracy(cmd):
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr[-3000:]
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("test accuracy:")]
        assert len(lines) == 1, p.stdout[-2000:]  # rank 0 alone evaluates and prints
        return float(lines[0].split(":")[1])

    two = accuracy([sys.executable, "-m", "lamina.distributed.run", "--standalone", "--nproc-per-node", "2", example]
                   + common)
    one = accuracy([sys.executable, example] + common)
    assert two > 0.8 and one > 0.8, (two, one)
    assert abs(two - one) < 0.03, (two, one)


def test_cpp_example_trains_with_ddp():
    """The C++ example (build/cpp/lamina_fashion_mnist, built by `make test`'s C++ part) launched
    like a Python script, with --no-python: lamina::distributed::DistributedDataParallel."""
    binary = os.path.join(os.path.dirname(__file__), "..", "..", "build", "cpp", "lamina_fashion_mnist")
    if not os.path.exists(binary):
        pytest.skip("build/cpp/lamina_fashion_mnist is not built (make build, with LAMINA_BUILD_EXAMPLES)")
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    env = dict(os.environ, LAMINA_FORCE_CPU="1")
    p = subprocess.run([sys.executable, "-m", "lamina.distributed.run", "--standalone", "--nproc-per-node", "2",
                        "--no-python", binary, "--model", "mlp", "--epochs", "2", "--limit", "8192"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("test accuracy:")]
    assert len(lines) == 1, p.stdout[-2000:]
    assert float(lines[0].split(":")[1]) > 0.75


# ---- the MPI backend, launched by mpirun ----

def _mpirun():
    import shutil

    if not dist.is_mpi_available():
        pytest.skip("this lamina was built without MPI")
    exe = shutil.which("mpirun")
    if exe is None:
        pytest.skip("mpirun (openmpi-bin) is not installed")
    return [exe, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,tcp",
            "--mca", "btl_tcp_if_include", "lo", "--mca", "oob_tcp_if_include", "lo"]


@pytest.mark.parametrize("size", [2, 4])
def test_mpi_backend_every_collective(size, tmp_path):
    """The same collectives scenario as Gloo's, the ranks started by mpirun (RANK and WORLD_SIZE
    come from MPI)."""
    env = dict(os.environ, LAMINA_FORCE_CPU="1", LAMINA_NUM_THREADS="1", DIST_TEST_BACKEND="mpi",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    p = subprocess.run(_mpirun() + ["-np", str(size), "-x", "LAMINA_FORCE_CPU", "-x", "LAMINA_NUM_THREADS", "-x",
                                    "DIST_TEST_BACKEND", sys.executable, WORKER, "collectives", str(tmp_path)],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    check_collectives(tmp_path, size)
