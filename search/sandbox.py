"""Run untrusted parsing (text extraction, page rendering) in a child process with limits.

A hostile file — a PDF that loops, a zip bomb, a deeply nested document —
must cost at most a wall-clock time and an address-space limit, and must
never take the calling worker or web process down. The child is *spawned*
(not forked), so it inherits no threads, locks or database connections of
the parent; the function and its arguments must be picklable.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class SandboxError(Exception):
    """The child did not return a result: ``reason`` says why, in a few words."""

    reason = "failed"


class SandboxTimeout(SandboxError):
    reason = "timeout"


class SandboxCrashed(SandboxError):
    reason = "crashed"


class SandboxFailed(SandboxError):
    """The function raised; the message carries the exception's type and text."""

    reason = "error"


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...], memory_mb: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        result = fn(*args)
    except MemoryError:
        conn.send((False, "MemoryError: the memory limit was reached"))
    except BaseException as exc:  # noqa: BLE001 - everything becomes a recorded failure
        conn.send((False, f"{type(exc).__name__}: {str(exc)[:500]}"))
    else:
        conn.send((True, result))
    finally:
        conn.close()


def run_limited(
    fn: Callable[..., T], *args: Any, timeout: float = 60.0, memory_mb: int = 1024
) -> T:
    """``fn(*args)`` in a spawned child with ``timeout`` seconds and ``memory_mb`` of address
    space. Raises :class:`SandboxTimeout`, :class:`SandboxCrashed` or :class:`SandboxFailed`."""
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, memory_mb), daemon=True)
    proc.start()
    send.close()
    try:
        if not receive.poll(timeout):
            raise SandboxTimeout(f"no result within {timeout:g} s")
        try:
            ok, value = receive.recv()
        except (EOFError, OSError) as exc:
            raise SandboxCrashed(f"the child died (exit {proc.exitcode})") from exc
    finally:
        receive.close()
        if proc.is_alive():
            proc.kill()
        proc.join(5)
    if not ok:
        raise SandboxFailed(str(value))
    return value  # type: ignore[no-any-return]
