"""Metrics and logs: CSVLogger (one CSV row per step) and structured log lines

    2026-12-02T22:10:00.123Z INFO [trainer] epoch done epoch=3 loss=0.25

on stderr, filtered by a level (LAMINA_LOG_LEVEL=debug|info|warning|error|off, default info; a
bad value raises lamina.ConfigError at the first log call; set_level() overrides it). Both are
implemented in C++ (lamina/train/csv_logger.h, lamina/runtime/log.h)."""
import os

from .._lamina import _log

__all__ = ["CSVLogger", "log", "set_log_level", "get_log_level"]

_STDLIB_LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "error"}


def _level_name(level):
    if isinstance(level, int) and not isinstance(level, bool):
        if level not in _STDLIB_LEVELS:
            raise ValueError(f"log level {level} is not one of 10, 20, 30, 40, 50 (logging.DEBUG...CRITICAL)")
        return _STDLIB_LEVELS[level]
    return str(level)


def set_log_level(level):
    """Sets the threshold: 'debug' | 'info' | 'warning' | 'error' | 'off' (or logging.DEBUG...)."""
    _log.set_level(_level_name(level))


def get_log_level():
    """The current threshold's name: 'debug', 'info', 'warning', 'error' or 'off'."""
    return _log.get_level().lower()


class _Log:
    """``log.info("component", "message", key=value, ...)`` and friends; see the module doc."""

    @staticmethod
    def debug(component, message, **fields):
        """A DEBUG line."""
        _log.write("debug", str(component), str(message), fields)

    @staticmethod
    def info(component, message, **fields):
        """An INFO line."""
        _log.write("info", str(component), str(message), fields)

    @staticmethod
    def warning(component, message, **fields):
        """A WARNING line."""
        _log.write("warning", str(component), str(message), fields)

    warn = warning

    @staticmethod
    def error(component, message, **fields):
        """An ERROR line."""
        _log.write("error", str(component), str(message), fields)

    @staticmethod
    def enabled(level):
        """True when a line at ``level`` would be printed."""
        return _log.enabled(_level_name(level))

    set_level = staticmethod(set_log_level)
    get_level = staticmethod(get_log_level)

    @staticmethod
    def format_line(level, component, message, unix_ms, **fields):
        """The line a call would print at time ``unix_ms`` (milliseconds since the epoch)."""
        return _log.format_line(_level_name(level), str(component), str(message), fields, int(unix_ms))


log = _Log()


class CSVLogger:
    """Writes one CSV row per ``log(step, metrics)`` call: a header ``step,<names...>`` first,
    each row flushed. The columns are ``fieldnames`` when given, else the first row's keys
    (sorted); with ``append=True`` an existing file's header fixes them. A metric missing from a
    row leaves its cell empty; one that is not a column raises lamina.ValueError naming it."""

    def __init__(self, path, append=False, fieldnames=None):
        self._impl = _log.CSVLogger(os.fspath(path), bool(append),
                                    None if fieldnames is None else [str(f) for f in fieldnames])

    def log(self, step, metrics=None, **kwargs):
        """Appends the row for ``step``: ``metrics`` (a dict) and/or keyword metrics; values are
        numbers or one-element tensors."""
        row = dict(metrics or {})
        row.update(kwargs)
        values = {}
        for k, v in row.items():
            if hasattr(v, "item"):
                v = v.item()
            values[str(k)] = float(v)
        self._impl.log(int(step), values)

    @property
    def fieldnames(self):
        """The metric columns after 'step'."""
        return list(self._impl.fieldnames)

    @property
    def path(self):
        """The file's path."""
        return self._impl.path

    def close(self):
        """Closes the file."""
        self._impl.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
