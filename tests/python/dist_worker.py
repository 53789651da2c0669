"""One rank of the distributed tests (tests/python/test_distributed.py starts N of these, or the
launcher does). Usage: dist_worker.py SCENARIO OUT_DIR, with torchrun's environment (RANK,
WORLD_SIZE, MASTER_ADDR, MASTER_PORT). Each scenario writes this rank's results to
OUT_DIR/rank<r>.npz; the test recomputes every expected value with NumPy from the same inputs
(inputs(case, rank, ...) below, imported by the test)."""
import os
import sys
import time
import zlib

import numpy as np

DTYPES = ["float32", "float64", "float16", "bfloat16", "int32", "int64", "int8", "uint8", "bool"]
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX"]


def op_allowed(dtype, op):
    if dtype == "bool":
        return op in ("MIN", "MAX")
    if op == "AVG":
        return dtype in ("float32", "float64", "float16", "bfloat16")
    return True


def inputs(case, rank, shape, dtype):
    """The input of `case` on `rank`: small values so products and sums stay exact."""
    rng = np.random.default_rng([zlib.crc32(case.encode()), rank])
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype in ("int8", "uint8", "int32", "int64"):
        lo = 0 if dtype == "uint8" else -3
        return rng.integers(lo, 4, size=shape).astype(dtype)
    v = rng.integers(-4, 5, size=shape).astype(np.float64) / 2  # exact in every float dtype
    return v


def to_lamina(L, a, dtype):
    t = L.tensor(np.asarray(a, dtype=np.float64 if dtype in ("float16", "bfloat16") else a.dtype))
    return t.to(getattr(L, dtype))


def to_numpy(L, t):
    if t.dtype in (L.float16, L.bfloat16):
        t = t.to(L.float64)
    return t.numpy().copy()


def scenario_collectives(L, dist, rank, size, out):
    res = {}
    shape = (3, 5)
    for dtype in DTYPES:
        for op in OPS:
            if not op_allowed(dtype, op):
                continue
            case = f"all_reduce/{dtype}/{op}"
            t = to_lamina(L, inputs(case, rank, shape, dtype), dtype)
            dist.all_reduce(t, op=getattr(dist.ReduceOp, op))
            res[case] = to_numpy(L, t)
        case = f"broadcast/{dtype}"
        t = to_lamina(L, inputs(case, rank, shape, dtype), dtype)
        dist.broadcast(t, src=size - 1)
        res[case] = to_numpy(L, t)
        case = f"all_gather/{dtype}"
        t = to_lamina(L, inputs(case, rank, shape, dtype), dtype)
        outs = [L.zeros(shape, dtype=getattr(L, dtype)) for _ in range(size)]
        dist.all_gather(outs, t)
        res[case] = np.stack([to_numpy(L, o) for o in outs])
    # reduce, gather, scatter, reduce_scatter and all_gather_into_tensor in float32 and int64
    for dtype in ("float32", "int64"):
        case = f"reduce/{dtype}"
        t = to_lamina(L, inputs(case, rank, shape, dtype), dtype)
        dist.reduce(t, dst=1 % size, op=dist.ReduceOp.SUM)
        res[case] = to_numpy(L, t)
        case = f"all_gather_into_tensor/{dtype}"
        t = to_lamina(L, inputs(case, rank, (2, 3), dtype), dtype)
        o = L.zeros((2 * size, 3), dtype=getattr(L, dtype))
        dist.all_gather_into_tensor(o, t)
        res[case] = to_numpy(L, o)
        case = f"reduce_scatter_tensor/{dtype}"
        t = to_lamina(L, inputs(case, rank, (2 * size, 3), dtype), dtype)
        o = L.zeros((2, 3), dtype=getattr(L, dtype))
        dist.reduce_scatter_tensor(o, t)
        res[case] = to_numpy(L, o)
        case = f"gather/{dtype}"
        t = to_lamina(L, inputs(case, rank, shape, dtype), dtype)
        gl = [L.zeros(shape, dtype=getattr(L, dtype)) for _ in range(size)] if rank == 0 else None
        dist.gather(t, gl, dst=0)
        if rank == 0:
            res[case] = np.stack([to_numpy(L, g) for g in gl])
        case = f"scatter/{dtype}"
        o = L.zeros(shape, dtype=getattr(L, dtype))
        sl = [to_lamina(L, inputs(case, r, shape, dtype), dtype) for r in range(size)] if rank == 0 else None
        dist.scatter(o, sl, src=0)
        res[case] = to_numpy(L, o)
    # AVG through reduce_scatter
    case = "reduce_scatter_tensor/float64/AVG"
    t = to_lamina(L, inputs(case, rank, (size, 4), "float64"), "float64")
    o = L.zeros((1, 4), dtype=L.float64)
    dist.reduce_scatter_tensor(o, t, op=dist.ReduceOp.AVG)
    res[case] = to_numpy(L, o)
    # non-contiguous tensors are staged and written back in place
    case = "all_reduce/noncontiguous"
    base = to_lamina(L, inputs(case, rank, (4, 6), "float32"), "float32")
    view = base.t()[1:5:2]
    dist.all_reduce(view)
    res[case] = to_numpy(L, base)
    # empty and 0-d tensors
    e = L.zeros((0, 3))
    dist.all_reduce(e)
    res["all_reduce/empty"] = to_numpy(L, e)
    case = "all_reduce/0d"
    z = L.tensor(float(rank + 1))
    dist.all_reduce(z)
    res[case] = to_numpy(L, z)
    # async: several in flight, waited out of order
    works, ts = [], []
    for i in range(3):
        case = f"async/{i}"
        t = to_lamina(L, inputs(case, rank, (1000,), "float32"), "float32")
        works.append(dist.all_reduce(t, async_op=True))
        ts.append((case, t))
    for w in reversed(works):
        w.wait()
        assert w.is_completed() and w.is_success()
    for case, t in ts:
        res[case] = to_numpy(L, t)
    # point to point around a ring, tags kept apart
    case = "ring"
    right, left = (rank + 1) % size, (rank - 1) % size
    mine = to_lamina(L, inputs(case, rank, (7,), "float64"), "float64")
    got_a, got_b = L.zeros(7, dtype=L.float64), L.zeros(7, dtype=L.float64)
    works = [dist.isend(mine, right, tag=3), dist.isend(mine * 2, right, tag=5),
             dist.irecv(got_b, left, tag=5), dist.irecv(got_a, left, tag=3)]
    for w in works:
        w.wait()
    res["ring/tag3"] = to_numpy(L, got_a)
    res["ring/tag5"] = to_numpy(L, got_b)
    # objects
    objs = [None] * size
    dist.all_gather_object(objs, {"rank": rank, "name": f"r{rank}"})
    assert objs == [{"rank": r, "name": f"r{r}"} for r in range(size)], objs
    lst = [f"from{rank}", rank] if rank == 0 else [None, None]
    dist.broadcast_object_list(lst, src=0)
    assert lst == ["from0", 0], lst
    # a subgroup of the odd ranks (new_group is called by every rank)
    odd = [r for r in range(size) if r % 2 == 1]
    g = dist.new_group(odd)
    case = "subgroup"
    t = to_lamina(L, inputs(case, rank, (4,), "float32"), "float32")
    if rank % 2 == 1:
        assert dist.get_rank(g) == odd.index(rank) and dist.get_world_size(g) == len(odd)
        dist.all_reduce(t, group=g)
        dist.broadcast(t, src=odd[-1], group=g)
    else:
        assert dist.get_rank(g) == -1
    res[case] = to_numpy(L, t)
    dist.barrier()
    np.savez(os.path.join(out, f"rank{rank}.npz"), **{k.replace("/", "__"): v for k, v in res.items()})


def scenario_errors(L, dist, rank, size, out):
    """Bad arguments raise typed errors and leave the tensors and the group usable."""
    t = L.ones(4)
    msgs = []
    for fn in (lambda: dist.all_reduce(L.ones(3, dtype=L.int32), op=dist.ReduceOp.AVG),
               lambda: dist.all_reduce(L.ones(3, dtype=L.bool), op=dist.ReduceOp.SUM),
               lambda: dist.broadcast(t, src=size),
               lambda: dist.all_gather([L.zeros(4)], t),
               lambda: dist.all_gather_into_tensor(L.zeros(3), t),
               lambda: dist.send(t, rank),
               lambda: dist.new_group([0, 0])):
        try:
            fn()
            msgs.append("no error")
        except (L.DTypeError, L.ValueError, L.ShapeError, ValueError) as e:
            msgs.append(type(e).__name__)
    assert "no error" not in msgs, msgs
    assert t.tolist() == [1.0] * 4
    dist.all_reduce(t)
    assert t.tolist() == [float(size)] * 4
    np.savez(os.path.join(out, f"rank{rank}.npz"), ok=np.array(1))


def scenario_die(L, dist, rank, size, out):
    """Rank 1 dies in the middle of a loop of all_reduces; the others must fail, not hang."""
    t = L.ones(1 << 16)
    for step in range(1000):
        if rank == 1 and step == 3:
            os._exit(17)
        dist.all_reduce(t)
        t.fill_(1.0)
    raise SystemExit("the loop ended without an error")


def scenario_hang(L, dist, rank, size, out):
    """Rank 1 stops taking part; the others get DistTimeoutError within the group's timeout."""
    t = L.ones(8)
    dist.all_reduce(t)
    if rank == 1:
        time.sleep(8)  # past the others' 3 s timeout
        os._exit(0)
    start = time.monotonic()
    try:
        dist.all_reduce(t)
    except L.DistTimeoutError as e:
        took = time.monotonic() - start
        with open(os.path.join(out, f"hang{rank}.txt"), "w") as f:
            f.write(f"{took:.2f}\n{e}\n")
        os._exit(3)


GLOBAL_BATCH = 16
STEPS = 4


def build_model(L, kind):
    """The DDP tests' model: an MLP, with BatchNorm (converted to SyncBatchNorm under DDP) and an
    unused branch in the variants."""
    nn = L.nn
    L.manual_seed(1234)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 16)
            self.bn = nn.BatchNorm1d(16) if kind == "bn" else nn.Identity()
            self.fc2 = nn.Linear(16, 3)
            self.unused = nn.Linear(16, 3) if kind == "unused" else None

        def forward(self, x):
            return self.fc2(L.relu(self.bn(self.fc1(x))))

    return Net()


def batch(L, step):
    rng = np.random.default_rng(step)
    x = rng.standard_normal((GLOBAL_BATCH, 6)).astype(np.float32)
    y = rng.integers(0, 3, GLOBAL_BATCH)
    return L.tensor(x), L.tensor(y)


def train_steps(L, model, opt, steps, part=None, first=0, accumulate=1):
    """`steps` SGD steps on the global batches (rank `part` = (r, n) takes its 1/n of each)."""
    F = L.nn.functional
    for step in range(first, first + steps):
        x, y = batch(L, step)
        if part is not None:
            r, n = part
            b = GLOBAL_BATCH // n
            x, y = x[r * b:(r + 1) * b], y[r * b:(r + 1) * b]
        opt.zero_grad()
        chunks = accumulate
        b = x.shape[0] // chunks
        for c in range(chunks):
            xs, ys = x[c * b:(c + 1) * b], y[c * b:(c + 1) * b]
            ctx = model.no_sync() if (accumulate > 1 and c < chunks - 1) else None
            if ctx is not None:
                with ctx:
                    (F.cross_entropy(model(xs), ys) / chunks).backward()
            else:
                (F.cross_entropy(model(xs), ys) / chunks).backward()
        opt.step()


def params_of(L, model):
    return {k.replace(".", "__"): v.detach().numpy().copy() for k, v in model.state_dict().items()
            if v.dtype == L.float32}


def scenario_ddp(L, dist, rank, size, out):
    from lamina.nn.parallel import DistributedDataParallel as DDP

    res = {}
    for kind in ("plain", "bn", "unused", "accumulate"):
        model = build_model(L, "plain" if kind == "accumulate" else kind)
        if kind == "bn":
            model = L.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        ddp = DDP(model, bucket_cap_mb=0.0002, find_unused_parameters=(kind == "unused"))
        assert len(ddp.reducer.bucket_indices) > 1  # several buckets at this tiny cap
        opt = L.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
        train_steps(L, ddp, opt, STEPS, part=(rank, size), accumulate=2 if kind == "accumulate" else 1)
        for k, v in params_of(L, model).items():
            res[f"{kind}/{k}"] = v
        if kind == "unused":
            assert model.unused.weight.grad is None  # no rank used it: its .grad is left alone
    # a parameter the forward leaves out, without find_unused_parameters: a clear error
    model = build_model(L, "unused")
    ddp = DDP(model)
    x, y = batch(L, 0)
    try:
        L.nn.functional.cross_entropy(ddp(x), y).backward()
        raise SystemExit("no error for an unused parameter")
    except L.ValueError as e:
        assert "unused" in str(e) and "find_unused_parameters" in str(e), e
    # checkpoint: rank 0 saves after 2 steps, every rank resumes; the result is bitwise that of 4 steps
    model = build_model(L, "plain")
    ddp = DDP(model)
    opt = L.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    train_steps(L, ddp, opt, 2, part=(rank, size))
    path = os.path.join(out, "ckpt.pt")
    if rank == 0:
        L.save({"model": ddp.module.state_dict(), "opt": opt.state_dict()}, path)
    dist.barrier()
    resumed = build_model(L, "plain")
    state = L.load(path)
    resumed.load_state_dict(state["model"])
    ddp2 = DDP(resumed)
    opt2 = L.optim.SGD(ddp2.parameters(), lr=0.1, momentum=0.9)
    opt2.load_state_dict(state["opt"])
    train_steps(L, ddp2, opt2, 2, part=(rank, size), first=2)
    for k, v in params_of(L, resumed).items():
        res[f"resumed/{k}"] = v
    model = build_model(L, "plain")
    ddp = DDP(model)
    opt = L.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    train_steps(L, ddp, opt, 4, part=(rank, size))
    for k, v in params_of(L, model).items():
        res[f"straight/{k}"] = v
    np.savez(os.path.join(out, f"rank{rank}.npz"), **{k.replace("/", "__"): v for k, v in res.items()})


def main():
    scenario, out = sys.argv[1], sys.argv[2]
    import lamina as L
    import lamina.distributed as dist

    timeout = float(os.environ.get("DIST_TEST_TIMEOUT", "60"))
    dist.init_process_group(os.environ.get("DIST_TEST_BACKEND", "gloo"), timeout=timeout)
    rank, size = dist.get_rank(), dist.get_world_size()
    globals()[f"scenario_{scenario}"](L, dist, rank, size, out)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
