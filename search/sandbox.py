"""Run untrusted parsing (text extraction, page rendering) in a child process with limits.

A hostile file — a PDF that loops, a zip bomb, a deeply nested document —
must cost at most a wall-clock time and an address-space limit, and must
never take the calling worker or web process down.

The child is a fresh interpreter started with :mod:`subprocess` (``python -I``
running ``sandbox_child.py``), not a :mod:`multiprocessing` process: a Celery
prefork pool's processes are daemonic, and a daemonic process may not start
multiprocessing children, while any process may exec one. It inherits no
threads, locks or connections of the caller, gets no environment beyond a few
neutral variables (no keys, no database URL), and runs in a session of its own
that is killed whole on timeout. The function and its arguments must be
picklable by reference (module-level functions); the result must be plain data
(str, bytes, numbers, tuples, lists, dicts), which is all the caller will load
from a child that has parsed a hostile file.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import select
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

CHILD = Path(__file__).with_name("sandbox_child.py")
READY = b"R"  # what the child sends once its limits are set (sandbox_child.READY)
# Starting the interpreter and importing the function's module is not the file's time:
# it has a deadline of its own, and missing it is a start failure (retryable).
START_TIMEOUT = 60.0
# The only variables the child sees; OPENBLAS_* are set on some machines to avoid
# kernels that crash there (the index imports numpy).
_PASSED_ENV = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)
_STDERR_KEPT = 4096
# The most a child may answer (the capped text of a file, a page image): a child that a
# hostile file took over must not fill the caller's memory either.
MAX_ANSWER = 256 * 1024 * 1024


class SandboxError(Exception):
    """The child did not return a result: ``reason`` says why, in a few words."""

    reason = "failed"


class SandboxStartFailed(SandboxError):
    """No child could be started, or it died before it was ready (nothing was parsed yet)."""

    reason = "start"


class SandboxTimeout(SandboxError):
    reason = "timeout"


class SandboxCrashed(SandboxError):
    reason = "crashed"


class SandboxFailed(SandboxError):
    """The function raised; the message carries the exception's type and text."""

    reason = "error"


def run_limited(
    fn: Callable[..., T], *args: Any, timeout: float = 60.0, memory_mb: int = 1024
) -> T:
    """``fn(*args)`` in a child process with ``timeout`` seconds and ``memory_mb`` of address
    space. Raises :class:`SandboxStartFailed`, :class:`SandboxTimeout`, :class:`SandboxCrashed`
    or :class:`SandboxFailed`."""
    request = child_request(fn, *args, timeout=timeout, memory_mb=memory_mb)
    try:
        proc = subprocess.Popen(  # noqa: S603 - our interpreter, our script
            _command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_child_env(),
            close_fds=True,
            start_new_session=True,
        )
    except OSError as exc:  # EAGAIN, ENOMEM: the machine is out of processes or memory
        raise SandboxStartFailed(f"the child could not be started: {exc}") from None
    try:
        outcome = _exchange(proc, request, timeout)
    finally:
        _kill(proc)
    if outcome.state == "not started":
        raise SandboxStartFailed(f"the child was not ready within {START_TIMEOUT:g} s")
    if outcome.state == "not ready":
        raise SandboxStartFailed(_start_failure(proc.returncode, outcome.stderr))
    if outcome.state == "timeout":
        raise SandboxTimeout(f"no result within {timeout:g} s")
    if outcome.state == "too large":
        raise SandboxCrashed(f"the child answered more than {MAX_ANSWER >> 20} MiB")
    try:
        ok, value = _PlainData(io.BytesIO(outcome.answer)).load()
    except _NotPlainData as exc:
        raise SandboxFailed(f"UnpicklingError: {exc}") from None
    except Exception:  # noqa: BLE001 - a cut-off or garbled answer
        raise SandboxCrashed(f"the child died ({_exit(proc.returncode)})") from None
    if not ok:
        raise SandboxFailed(str(value))
    return value  # type: ignore[no-any-return]


def child_request(
    fn: Callable[..., Any], *args: Any, timeout: float = 60.0, memory_mb: int = 1024
) -> bytes:
    """What the child reads on its stdin: the import path, the limits, the call."""
    call = pickle.dumps((fn, args), protocol=pickle.HIGHEST_PROTOCOL)
    return pickle.dumps((_import_path(), memory_mb, int(timeout) + 5, call))


def child_command() -> list[str]:
    """How the child is started (``python -I sandbox_child.py``)."""
    return _command()


class _NotPlainData(pickle.UnpicklingError):
    pass


class _PlainData(pickle.Unpickler):
    """Reads only built-in data (str, bytes, numbers, tuples, lists, dicts…): the child has
    parsed a hostile file, so its answer must not be able to name anything to call."""

    def find_class(self, module: str, name: str) -> Any:
        raise _NotPlainData(f"the result must be plain data, not {module}.{name}")


def _command() -> list[str]:
    flags = ["-I"]  # no PYTHON* variables, no user site, no script directory on the path
    if sys.flags.dont_write_bytecode:
        flags.append("-B")
    return [sys.executable, *flags, str(CHILD)]


def _import_path() -> list[str]:
    """The caller's import path, absolute: the child imports the same code as the caller."""
    return [os.path.abspath(p) if p else os.getcwd() for p in sys.path]


def _child_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    # One thread per numeric library: the child parses one file.
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


@dataclass
class _Outcome:
    # "done", "timeout", "too large", "not ready" (exited before READY), "not started" (slow)
    state: str
    answer: bytes = b""
    stderr: bytes = b""


def _exchange(proc: subprocess.Popen[bytes], request: bytes, timeout: float) -> _Outcome:
    """Send the request and collect the answer, in one loop over the three pipes so that
    neither side blocks on a full pipe. Until the child is ready the start deadline
    applies, then ``timeout``."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    pending = memoryview(request)
    answer = bytearray()
    stderr = bytearray()
    ready = False
    deadline = time.monotonic() + START_TIMEOUT
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdin, selectors.EVENT_WRITE)
        sel.register(proc.stdout, selectors.EVENT_READ)
        sel.register(proc.stderr, selectors.EVENT_READ)
        reading = 2
        while reading:
            left = deadline - time.monotonic()
            if left <= 0:
                return _Outcome("timeout" if ready else "not started")
            for key, _ in sel.select(left):
                if key.fileobj is proc.stdin:
                    try:
                        # At most PIPE_BUF: a pipe reported writable takes that without blocking.
                        pending = pending[os.write(key.fd, pending[: select.PIPE_BUF]) :]
                    except BrokenPipeError:
                        pending = pending[:0]
                    if not pending:
                        sel.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fileobj)
                    reading -= 1
                elif key.fileobj is proc.stderr:
                    if not ready:  # after READY it may quote the file: never kept
                        stderr = (stderr + chunk)[-_STDERR_KEPT:]
                else:
                    answer += chunk
                    if len(answer) > MAX_ANSWER + 1:
                        return _Outcome("too large")
                    if not ready and answer[:1] == READY:
                        ready = True
                        deadline = time.monotonic() + timeout
    proc.wait()
    if not ready:
        return _Outcome("not ready", stderr=bytes(stderr))
    return _Outcome("done", answer=bytes(answer[1:]))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """End the child's whole session (anything it started too) and reap it."""
    # Even after the child itself exited: whatever it started is in its session too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()
    proc.wait()


def _exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def _start_failure(code: int | None, stderr: bytes) -> str:
    """Why the child never got ready: its exit and the last line it printed (no file had
    been read yet, so that line holds no document content)."""
    lines = stderr.decode("utf-8", errors="replace").strip().splitlines()
    last = f": {lines[-1][:200]}" if lines else ""
    return f"the child stopped before it was ready ({_exit(code)}){last}"
