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
import json
import os
import pickle
import select
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

T = TypeVar("T")

CHILD = Path(__file__).with_name("sandbox_child.py")
SERVER = Path(__file__).with_name("sandbox_server.py")
# Children are forked by a fork server that has the parsers imported (a few milliseconds each)
# rather than started as fresh interpreters (a quarter of a second each); False starts every
# child fresh, as the fork server's fallback does.
USE_FORK_SERVER = True
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
    proc = _start(fn)
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


def _start(fn: Callable[..., Any]) -> _Child:
    """A limited child for one call: forked by the fork server, or (without one) a fresh
    interpreter."""
    if USE_FORK_SERVER:
        try:
            return _SERVER.fork(getattr(fn, "__module__", "") or "")
        except _ServerUnavailable:
            pass  # a fresh interpreter does the same, only slower
    try:
        return subprocess.Popen(  # noqa: S603 - our interpreter, our script
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


def _command(script: Path | None = None) -> list[str]:
    """How a child (or, given its script, the fork server) is started."""
    flags = ["-I"]  # no PYTHON* variables, no user site, no script directory on the path
    if sys.flags.dont_write_bytecode:
        flags.append("-B")
    return [sys.executable, *flags, str(script or CHILD)]


def _import_path() -> list[str]:
    """The caller's import path, absolute: the child imports the same code as the caller."""
    return [os.path.abspath(p) if p else os.getcwd() for p in sys.path]


def _child_env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    # One thread per numeric library: the child parses one file.
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return env


class _Child(Protocol):
    """What the exchange needs of a child: a :class:`subprocess.Popen`, or :class:`_Forked`."""

    pid: int
    returncode: int | None
    stdin: IO[bytes] | None
    stdout: IO[bytes] | None
    stderr: IO[bytes] | None

    def wait(self) -> int | None: ...


class _ServerUnavailable(Exception):
    """The fork server could not be reached: the call goes to a fresh interpreter."""


class _Forked:
    """A child forked by the fork server, seen through its pipes and its supervisor's
    connection (which tells its process id, then its exit)."""

    def __init__(self, conn: socket.socket, pid: int, pipes: tuple[int, int, int]) -> None:
        self._conn, self.pid = conn, pid
        self.returncode: int | None = None
        self.stdin: IO[bytes] | None = os.fdopen(pipes[0], "wb", buffering=0)
        self.stdout: IO[bytes] | None = os.fdopen(pipes[1], "rb", buffering=0)
        self.stderr: IO[bytes] | None = os.fdopen(pipes[2], "rb", buffering=0)

    def wait(self) -> int | None:
        if self._conn.fileno() != -1:
            self._conn.settimeout(None)
            line = _line(self._conn)
            self.returncode = int(line) if line.lstrip("-").isdigit() else None
            self._conn.close()  # the supervisor reaps the child and ends
        return self.returncode


def _line(conn: socket.socket) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(64)
        if not chunk:
            break
        data += chunk
    return data.decode("ascii", "replace").strip()


class _ForkServer:
    """One fork server per process (see :mod:`search.sandbox_server`), started on first use
    and again if it died; a forked caller (a Celery prefork child) starts its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        os.register_at_fork(after_in_child=self._forget)

    def fork(self, module: str) -> _Forked:
        with self._lock:
            control = self._running()
            mine, theirs = socket.socketpair()
            try:
                socket.send_fds(control, [module.encode()[:512]], [theirs.fileno()])
            except OSError:
                mine.close()
                self._stop()
                raise _ServerUnavailable from None
            finally:
                theirs.close()
        ends = [os.pipe() for _ in range(3)]  # the child's stdin, stdout and stderr
        try:
            socket.send_fds(mine, [b"p"], [ends[0][0], ends[1][1], ends[2][1]])
            mine.settimeout(START_TIMEOUT)
            line = _line(mine)
        except OSError:
            line = ""
        finally:
            for fd in (ends[0][0], ends[1][1], ends[2][1]):
                os.close(fd)
        if not line.isdigit():
            mine.close()
            for fd in (ends[0][1], ends[1][0], ends[2][0]):
                os.close(fd)
            raise _ServerUnavailable
        return _Forked(mine, int(line), (ends[0][1], ends[1][0], ends[2][0]))

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _running(self) -> socket.socket:
        if self._proc is not None and self._control is not None and self._proc.poll() is None:
            return self._control
        self._stop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - our interpreter, our script
                [*_command(SERVER), json.dumps(_import_path()), str(theirs.fileno())],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=_child_env(),
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
            )
        except OSError:
            ours.close()
            raise _ServerUnavailable from None
        finally:
            theirs.close()
        self._control = ours
        return ours

    def _stop(self) -> None:
        if self._control is not None:
            self._control.close()
        if self._proc is not None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()  # the server's end of file: it exits
            self._proc.wait()
        self._proc = self._control = None

    def _forget(self) -> None:
        """In a forked child: the server is the parent's; close our copies of its channels."""
        if self._control is not None:
            self._control.close()
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc = self._control = None
        self._lock = threading.Lock()


_SERVER = _ForkServer()


def stop_fork_server() -> None:
    """Stop this process's fork server; the next call starts a new one (with the code and
    scripts installed then)."""
    _SERVER.stop()


@dataclass
class _Outcome:
    # "done", "timeout", "too large", "not ready" (exited before READY), "not started" (slow)
    state: str
    answer: bytes = b""
    stderr: bytes = b""


def _exchange(proc: _Child, request: bytes, timeout: float) -> _Outcome:
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


def _kill(proc: _Child) -> None:
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
