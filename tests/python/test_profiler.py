"""lamina.profiler: a small MLP step under profile(), the table, key_averages, the Chrome trace
(json.load, fields, nesting), record_function, threads, and nothing recorded when off."""
import json
import threading

import numpy as np
import pytest

import lamina
import lamina.nn as nn
import lamina.nn.functional as F
import lamina.profiler as profiler


def _mlp_step():
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    opt = lamina.optim.SGD(model.parameters(), lr=0.1)
    x = lamina.randn(5, 8)
    y = lamina.tensor([0, 1, 2, 3, 0])
    return model, opt, x, y


def _train(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def test_mlp_step_table_and_key_averages():
    model, opt, x, y = _mlp_step()
    with profiler.profile(record_shapes=True) as p:
        with profiler.record_function("train_step"):
            _train(model, opt, x, y)
    names = {r.key: r for r in p.key_averages()}
    for op in ["linear", "addmm", "AddmmBackward0", "relu", "cross_entropy", "backward", "ReluBackward0", "SGD.step", "train_step"]:
        assert op in names, (op, sorted(names))
    assert names["linear"].count == 2
    assert names["relu"].count == 1
    assert any(n.endswith("Backward0") and n != "ReluBackward0" for n in names)
    for r in names.values():
        assert r.count >= 1
        assert 0 <= r.self_cpu_time_total <= r.cpu_time_total + 1e-6
    # The user range spans the whole step: the largest total.
    assert p.key_averages()[0].key == "train_step"

    table = p.table(sort_by="cpu_time_total", row_limit=10)
    assert "Name" in table and "Calls" in table and "Self ms" in table and "Avg us" in table
    assert "train_step" in table and "linear" in table
    rows = [line for line in table.splitlines() if line.startswith("linear ")]
    assert rows and rows[0].split()[1] == "2"
    assert len([line for line in p.table(row_limit=3).splitlines() if "%" in line and "Name" not in line]) == 3
    by_count = p.key_averages(sort_by="count")
    assert [r.count for r in by_count] == sorted((r.count for r in by_count), reverse=True)
    assert "train_step" in p.table(sort_by="self_cpu_time_total", row_limit=-1)
    assert p.key_averages().table(sort_by="count", row_limit=5).count("\n") > 3
    with pytest.raises(ValueError):
        p.table(sort_by="bogus")


def test_events_shapes_and_threads():
    a = lamina.ones(2, 3)
    b = lamina.ones(3, 4)
    with profiler.profile(record_shapes=True) as p:
        lamina.matmul(a, b)
    ev = [e for e in p.events() if e.name == "matmul"]
    assert len(ev) == 1
    assert ev[0].input_shapes == [[2, 3], [3, 4]]
    assert ev[0].input_dtypes == ["float32", "float32"]
    assert ev[0].depth == 0
    assert ev[0].cpu_time_total >= 0
    # Without record_shapes (torch's default) no shapes are kept.
    with profiler.profile() as q:
        lamina.matmul(a, b)
    assert [e.input_shapes for e in q.events() if e.name == "matmul"] == [[]]


def test_ops_on_other_threads():
    a = lamina.ones(4)
    with profiler.profile() as p:
        t = threading.Thread(target=lambda: [lamina.neg(a) for _ in range(3)])
        t.start()
        t.join()
        lamina.neg(a)
    neg = [e for e in p.events() if e.name == "neg"]
    assert len(neg) == 4
    assert len({e.thread for e in neg}) == 2


def test_chrome_trace(tmp_path):
    model, opt, x, y = _mlp_step()
    with profiler.profile(record_shapes=True) as p:
        with profiler.record_function("outer range"):
            _train(model, opt, x, y)
    path = tmp_path / "trace.json"
    p.export_chrome_trace(str(path))
    with open(path) as f:
        trace = json.load(f)
    assert trace["displayTimeUnit"] == "ms"
    events = trace["traceEvents"]
    assert len(events) == len(p.events()) > 10
    for e in events:
        for key in ("name", "ph", "ts", "dur", "pid", "tid"):
            assert key in e, (key, e)
        assert e["ph"] == "X"
        assert e["dur"] >= 0 and e["ts"] >= 0
    assert any(e["name"] == "outer range" and e["cat"] == "user_annotation" for e in events)
    mm = [e for e in events if e["name"] == "addmm"]  # linear's GEMM
    assert mm and all("shapes" in e["args"] for e in mm)
    # Nested events lie within their parents (same thread, depth + 1).
    by_thread = {}
    for e in events:
        by_thread.setdefault(e["tid"], []).append(e)
    checked = 0
    eps = 1e-3
    for evs in by_thread.values():
        evs.sort(key=lambda e: (e["ts"], e["args"]["depth"]))
        stack = []
        for e in evs:
            while stack and (stack[-1]["args"]["depth"] >= e["args"]["depth"]
                             or stack[-1]["ts"] + stack[-1]["dur"] < e["ts"] + e["dur"] - eps):
                stack.pop()
            if e["args"]["depth"] > 0:
                assert stack, e
                parent = stack[-1]
                assert parent["args"]["depth"] == e["args"]["depth"] - 1, (parent, e)
                assert parent["ts"] - eps <= e["ts"] and e["ts"] + e["dur"] <= parent["ts"] + parent["dur"] + eps
                checked += 1
            stack.append(e)
    assert checked > 5


def test_record_function_decorator_and_nesting():
    @profiler.record_function("decorated")
    def f(t):
        return lamina.exp(t)

    with profiler.profile() as p:
        with profiler.record_function("a"):
            with profiler.record_function("b"):
                f(lamina.ones(3))
    ev = {e.name: e for e in p.events()}
    assert ev["a"].depth == 0 and ev["b"].depth == 1 and ev["decorated"].depth == 2 and ev["exp"].depth == 3
    assert ev["a"].start_us <= ev["b"].start_us and ev["b"].end_us <= ev["a"].end_us
    assert ev["a"].self_cpu_time_total <= ev["a"].cpu_time_total


def test_off_records_nothing():
    a = lamina.ones(4)
    assert not profiler.is_enabled()
    with profiler.record_function("outside"):  # no session: a no-op
        a + a
    with profiler.profile(enabled=False) as p:
        a + a
    assert not profiler.is_enabled()
    with profiler.profile() as q:
        pass
    a + a  # after the session
    assert q.events() == []
    assert q.key_averages() == []


def test_nested_sessions_raise():
    with profiler.profile() as p:
        with pytest.raises(ValueError, match="already active"):
            with profiler.profile():
                pass
        lamina.ones(2) + 1
    assert any(e.name == "add" for e in p.events())
    with profiler.profile() as q:  # fine after the first ended
        lamina.ones(2) + 1
    assert any(e.name == "add" for e in q.events())


def test_not_started():
    p = profiler.profile()
    with pytest.raises(RuntimeError):
        p.table()


def test_values_unchanged_under_profiling():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = lamina.tensor(x)
    with profiler.profile(record_shapes=True):
        r = (t * 2 + 1).sum(1)
    np.testing.assert_allclose(r.numpy(), (x * 2 + 1).sum(1))
