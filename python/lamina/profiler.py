"""lamina.profiler: the op-level profiler, with torch.profiler's names.

    with lamina.profiler.profile(record_shapes=True) as p:
        with lamina.profiler.record_function("step"):
            loss = model(x).sum(); loss.backward(); opt.step()
    print(p.table(sort_by="cpu_time_total", row_limit=10))
    p.export_chrome_trace("trace.json")   # chrome://tracing or https://ui.perfetto.dev

Every op (and every autograd node, as "<Op>Backward0", and each optimizer step, as
"<Optimizer>.step") is recorded with its start/end time, thread, nesting depth and, with
record_shapes=True, its input shapes and dtypes. Only one session can be active at a time;
starting a second one raises ValueError. Off, an op pays one flag test.
"""
from __future__ import annotations

import functools

from ._lamina import _profiler as _P

__all__ = ["profile", "record_function", "is_enabled", "FunctionEventAvg", "FunctionEvent"]


def is_enabled():
    """True while a profiling session records."""
    return _P.enabled()


class FunctionEvent:
    """One recorded event. Times in microseconds (``start_us`` relative to the session start)."""

    __slots__ = ("name", "kind", "start_us", "end_us", "cpu_time_total", "self_cpu_time_total", "thread",
                 "depth", "input_shapes", "input_dtypes")

    def __init__(self, d, origin_ns):
        self.name = d["name"]
        self.kind = d["kind"]
        self.start_us = (d["start_ns"] - origin_ns) / 1e3
        self.end_us = (d["end_ns"] - origin_ns) / 1e3
        self.cpu_time_total = (d["end_ns"] - d["start_ns"]) / 1e3
        self.self_cpu_time_total = d["self_ns"] / 1e3
        self.thread = d["thread_id"]
        self.depth = d["depth"]
        self.input_shapes = [list(s) for s in d["shapes"]]
        self.input_dtypes = list(d["dtypes"])

    def __repr__(self):
        return (f"FunctionEvent(name={self.name!r}, thread={self.thread}, depth={self.depth}, "
                f"start_us={self.start_us:.3f}, cpu_time_total={self.cpu_time_total:.3f}, "
                f"input_shapes={self.input_shapes})")


class FunctionEventAvg:
    """The events of one name: count and times in microseconds (torch's field names)."""

    __slots__ = ("key", "count", "cpu_time_total", "self_cpu_time_total")

    def __init__(self, d):
        self.key = d["name"]
        self.count = d["count"]
        self.cpu_time_total = d["total_ns"] / 1e3
        self.self_cpu_time_total = d["self_ns"] / 1e3

    @property
    def name(self):
        """The op name (alias of key)."""
        return self.key

    @property
    def cpu_time(self):
        """Average time per call, microseconds."""
        return self.cpu_time_total / self.count if self.count else 0.0

    def __repr__(self):
        return (f"FunctionEventAvg(key={self.key!r}, count={self.count}, cpu_time_total={self.cpu_time_total:.3f}, "
                f"self_cpu_time_total={self.self_cpu_time_total:.3f})")


class _KeyAverages(list):
    """The rows of key_averages(), with a table() like torch's EventList."""

    def __init__(self, rows, session):
        super().__init__(rows)
        self._session = session

    def table(self, sort_by="cpu_time_total", row_limit=10):
        """The aggregate table as text (see profile.table)."""
        return self._session.table(sort_by, row_limit)


class profile:
    """A profiling session, as a context manager (or start()/stop()).

    record_shapes: also record each op's input shapes and dtypes (default False, as torch).
    enabled: False makes the whole block a no-op (nothing is recorded).
    """

    def __init__(self, record_shapes=False, enabled=True, **_torch_options):
        self.record_shapes = bool(record_shapes)
        self.enabled = bool(enabled)
        self._session = None
        self._events = None

    def start(self):
        """Starts recording; ValueError if another session is active."""
        if self.enabled and self._session is None:
            self._session = _P.Profile(self.record_shapes)
        return self

    def stop(self):
        """Stops recording (the results stay readable)."""
        if self._session is not None:
            self._session.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def _require(self):
        if self._session is None:
            raise RuntimeError("lamina.profiler: the profiler was not started (use `with profile() as p:`)")
        self._session.stop()
        return self._session

    def events(self):
        """The recorded events (FunctionEvent), ordered by start time."""
        s = self._require()
        if self._events is None:
            raw = s.events()
            origin = min((d["start_ns"] for d in raw), default=0)
            self._events = [FunctionEvent(d, origin) for d in raw]
        return self._events

    def key_averages(self, sort_by="cpu_time_total"):
        """Per-name rows (FunctionEventAvg: key/name, count, cpu_time_total, self_cpu_time_total in us)."""
        s = self._require()
        return _KeyAverages([FunctionEventAvg(d) for d in s.key_averages(sort_by)], s)

    def table(self, sort_by="cpu_time_total", row_limit=10):
        """Text table (name / calls / total ms / self ms / avg us / % of self time), top row_limit rows.

        sort_by: "cpu_time_total" (or "total"), "self_cpu_time_total" ("self"), "count" ("calls"),
        "cpu_time" ("avg") or "name". row_limit < 0 shows every row.
        """
        return self._require().table(sort_by, row_limit)

    def export_chrome_trace(self, path):
        """Writes the events as Chrome trace JSON (chrome://tracing, Perfetto) to path."""
        self._require().export_chrome_trace(str(path))

    def __str__(self):
        return self.table() if self._session is not None else "lamina.profiler.profile (not started)"


class record_function:
    """A named user range recorded while profiling is on: a context manager or a decorator."""

    def __init__(self, name):
        self.name = str(name)
        self._range = _P.RecordFunction(self.name)

    def __enter__(self):
        self._range.enter()
        return self

    def __exit__(self, *exc):
        self._range.exit()
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)

        return wrapper
