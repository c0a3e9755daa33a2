"""The limited child of :mod:`search.sandbox`: one call of a function, then exit.

Started as a script (``python -I .../sandbox_child.py``), never imported by the
parent. It reads one pickled request from stdin — the parent's ``sys.path``, the
limits, the function and its arguments — sets the limits, answers ``READY`` on
the result channel, runs the function and writes the pickled outcome. Only the
standard library is used until the request has put the parent's ``sys.path`` in
place. The result channel is the original stdout; fd 1 is pointed at stderr, so
a library that prints cannot corrupt the answer.

A hostile file can make a parser warn once per broken object (pypdf: thousands of
lines for one PDF). Every logger's records and every :mod:`warnings` warning go
through one bounded handler: the first ``MAX_LOG_LINES`` lines, each cut to
``MAX_LINE_CHARS``, then one line saying how many more were suppressed.
"""

from __future__ import annotations

import logging
import os
import pickle
import resource
import sys

READY = b"R"
MAX_LOG_LINES = 20
MAX_LINE_CHARS = 300


class BoundedLog(logging.Handler):
    """Writes at most ``limit`` records, one line each and cut short; counts the rest."""

    def __init__(self, limit: int = MAX_LOG_LINES, width: int = MAX_LINE_CHARS) -> None:
        super().__init__(logging.WARNING)
        self.limit, self.width, self.written, self.suppressed = limit, width, 0, 0
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if self.written >= self.limit:
            self.suppressed += 1
            return
        try:
            line = " ".join(self.format(record).split())[: self.width]
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is still counted
            line = f"{record.levelname} {record.name}: (unprintable message)"
        self.written += 1
        _write(2, line.encode("utf-8", "replace") + b"\n")

    def summary(self) -> None:
        if self.suppressed:
            _write(2, f"{self.suppressed} further parser warnings suppressed\n".encode())


def _bound_logging() -> BoundedLog:
    handler = BoundedLog()
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.captureWarnings(True)  # warnings.warn(...) becomes a record of "py.warnings"
    return handler


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main() -> int:
    out = os.dup(1)
    os.dup2(2, 1)
    # Two layers: the outer one holds only built-in types, the inner one names our modules,
    # which can be found once the parent's import path is in place.
    path, memory_mb, cpu_seconds, call = pickle.loads(sys.stdin.buffer.read())  # noqa: S301
    sys.path[:] = path
    # The function's module is imported here, before the limits: it is our code, and
    # imports (numpy's, for one) may reserve more address space than a file may use.
    fn, args = pickle.loads(call)  # noqa: S301 - written by our parent
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # A backstop for a child whose parent died: a busy loop ends even if nobody kills it.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    log = _bound_logging()
    _write(out, READY)
    try:
        outcome = (True, fn(*args))
    except MemoryError:
        outcome = (False, "MemoryError: the memory limit was reached")
    except BaseException as exc:  # noqa: BLE001 - everything becomes a recorded failure
        outcome = (False, f"{type(exc).__name__}: {str(exc)[:500]}")
    log.summary()
    try:
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except MemoryError:
        data = pickle.dumps((False, "MemoryError: the memory limit was reached"))
    except Exception as exc:  # noqa: BLE001 - a result that cannot be sent is a failure too
        data = pickle.dumps((False, f"{type(exc).__name__}: the result cannot be sent back"))
    _write(out, data)
    os.close(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
