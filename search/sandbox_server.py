"""The fork server of :mod:`search.sandbox`: limited children without a new interpreter each.

Starting a fresh interpreter and importing the parsers costs about a quarter of a second per
file, more than parsing a typical one. This process is started once per caller process, the
way the sandbox child is (``python -I``, a neutral environment, a session of its own), and
imports our parsing modules once; each call is then a ``fork`` of it, which costs a few
milliseconds and starts with the parsers already imported.

It never reads a file. It accepts a connection (a socket passed over ``control``, which only
its parent holds) and forks a *supervisor* for it, then imports the module named in the
request so that the next child finds it imported. The supervisor receives the three pipes of
the call, forks the child, tells the parent the child's process id, waits for it, tells the
exit status and reaps the child once the parent hangs up. The child starts a session of its
own, puts the pipes on its stdin, stdout and stderr, closes everything else and runs
:func:`search.sandbox_child.main`, exactly as the fresh interpreter would: the limits, the
bounded log and the answer are the same code.

The server ends when its stdin (a pipe from the parent) reaches end of file: the parent
exited, or closed it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import traceback

MAX_NAME = 512  # the module name of the call


def _supervise(conn: socket.socket) -> None:
    """Runs in the supervisor (a child of the server): one call, then ``os._exit``."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the server ignores it; we wait
    _, fds, _, _ = socket.recv_fds(conn, 1, 3)
    if len(fds) != 3:
        os._exit(1)
    try:
        pid = os.fork()
    except OSError:
        conn.sendall(b"-1\n")
        os._exit(1)
    if pid == 0:
        _become_child(fds)
    for fd in fds:  # only the child holds the pipes: the parent sees their ends close
        os.close(fd)
    conn.sendall(f"{pid}\n".encode())
    # The exit is told without reaping the child: until the parent has ended the child's
    # session and hung up, its process id stays taken (as a fresh interpreter's would).
    ended = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    assert ended is not None  # None only with WNOHANG
    code = ended.si_status if ended.si_code == os.CLD_EXITED else -ended.si_status
    conn.sendall(f"{code}\n".encode())
    conn.recv(1)
    os.waitpid(pid, 0)
    os._exit(0)


def _become_child(fds: list[int]) -> None:
    os.setsid()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    code = 1
    try:
        from search import sandbox_child  # imported by main() already

        code = sandbox_child.main()
    except BaseException:  # noqa: BLE001 - told on stderr, as an interpreter would
        traceback.print_exc()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _preload(name: str) -> None:
    """Import the module of a call in the server, for the calls after it, and the modules it
    names in ``SANDBOX_PRELOAD`` (those its children import lazily). Our own code, named by
    our parent; a module that cannot be imported here is left to the child to report."""
    try:
        module = importlib.import_module(name)
    except Exception:  # noqa: BLE001 - the child reports it, as without the server
        return
    for heavy in getattr(module, "SANDBOX_PRELOAD", ()):  # what its children import lazily
        with contextlib.suppress(Exception):
            importlib.import_module(heavy)


def serve(control: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # finished supervisors are reaped at once
    with selectors.DefaultSelector() as sel:
        sel.register(0, selectors.EVENT_READ)
        sel.register(control, selectors.EVENT_READ)
        while True:
            for key, _ in sel.select():
                if key.fileobj == 0:
                    if not os.read(0, 4096):
                        return
                    continue
                name, fds, _, _ = socket.recv_fds(control, MAX_NAME, 1)
                if not fds:
                    return  # the parent closed the control socket
                conn = socket.socket(fileno=fds[0])
                pid = os.fork()
                if pid == 0:
                    sel.close()
                    control.close()
                    _supervise(conn)
                conn.close()
                if name:
                    _preload(name.decode("utf-8", "replace"))


def main() -> int:
    sys.path[:] = json.loads(sys.argv[1])
    _preload("search.sandbox_child")
    control = socket.socket(fileno=int(sys.argv[2]))
    serve(control)
    return 0


if __name__ == "__main__":
    sys.exit(main())
