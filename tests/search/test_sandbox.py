"""The limited child process: results come back; loops, memory hogs and crashes are contained,
from any caller — a daemonic process (a Celery prefork child) as much as a plain one."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from search import sandbox
from search.sandbox import (
    SandboxCrashed,
    SandboxFailed,
    SandboxStartFailed,
    SandboxTimeout,
    run_limited,
)


@pytest.fixture(autouse=True, params=["fork server", "fresh interpreter"])
def how(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Every test runs both ways a child is started: forked by the fork server, and as a
    fresh interpreter (the fork server's fallback)."""
    monkeypatch.setattr(sandbox, "USE_FORK_SERVER", request.param == "fork server")
    yield request.param


def _add(a: int, b: int) -> int:
    return a + b


def _loop() -> None:
    while True:
        time.sleep(0.01)


def _hog() -> bytes:
    return b"x" * (2 * 1024 * 1024 * 1024)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _raise() -> None:
    raise ValueError("broken file")


def _environment() -> dict[str, str]:
    return dict(os.environ)


def _noisy(n: int) -> int:
    print("a library that prints to stdout " * 1000)
    sys.stderr.write("and to stderr\n" * 10_000)
    return n


def _big(n: int) -> str:
    return "合" * n


def _leave_a_grandchild(pid_file: str) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    Path(pid_file).write_text(str(sleeper.pid))
    while True:
        time.sleep(0.01)


def _who() -> tuple[int, int]:
    return os.getpid(), os.getsid(0)


def _not_plain_data() -> Path:
    return Path("/etc/passwd")


def _from_a_daemonic_process(results: Any) -> None:
    try:
        results.put(("ok", run_limited(_add, 20, 22, timeout=60)))
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_result_comes_back() -> None:
    assert run_limited(_add, 2, 3, timeout=30) == 5


def test_a_loop_costs_the_timeout_and_no_more() -> None:
    started = time.monotonic()
    with pytest.raises(SandboxTimeout):
        run_limited(_loop, timeout=1.5)
    assert time.monotonic() - started < 10


def test_memory_limit_is_enforced() -> None:
    with pytest.raises(SandboxFailed, match="MemoryError"):
        run_limited(_hog, timeout=30, memory_mb=512)


def test_a_crash_is_reported() -> None:
    with pytest.raises(SandboxCrashed):
        run_limited(_die, timeout=30)


def test_an_exception_is_reported_with_its_type() -> None:
    with pytest.raises(SandboxFailed, match="ValueError: broken file"):
        run_limited(_raise, timeout=30)


def test_a_daemonic_caller_gets_its_result() -> None:
    """A Celery prefork pool's processes are daemonic: they may not start multiprocessing
    children, and every extraction under the production worker failed that way."""
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=_from_a_daemonic_process, args=(results,), daemon=True)
    proc.start()
    try:
        assert results.get(timeout=120) == ("ok", 42)
    finally:
        proc.join(30)


def test_the_child_gets_no_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHIVE_SECRET_KEY", "s3cret")
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", "postgresql://u:pw@db/x")
    seen = run_limited(_environment, timeout=30)
    assert not [k for k in seen if k.startswith("ARCHIVE_")]
    assert "s3cret" not in repr(seen)


def test_output_of_the_function_does_not_corrupt_the_result() -> None:
    assert run_limited(_noisy, 7, timeout=30) == 7


def test_a_large_result_comes_back_whole() -> None:
    assert run_limited(_big, 3_000_000, timeout=60) == "合" * 3_000_000


def test_a_timeout_ends_everything_the_child_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    with pytest.raises(SandboxTimeout):
        run_limited(_leave_a_grandchild, str(pid_file), timeout=3)
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(grandchild)


def test_a_child_that_cannot_start_is_told_apart_from_a_bad_file() -> None:
    """A function whose module the child cannot import: nothing was parsed, so the failure
    is the sandbox's (a caller may retry it), not the file's."""
    ghost = types.ModuleType("ghost_module_only_in_the_parent")
    exec("def work():\n    return 1\n", ghost.__dict__)  # noqa: S102 - a module the child lacks
    sys.modules[ghost.__name__] = ghost
    try:
        with pytest.raises(SandboxStartFailed, match="ModuleNotFoundError"):
            run_limited(ghost.work, timeout=30)
    finally:
        del sys.modules[ghost.__name__]


def test_only_plain_data_comes_back() -> None:
    """The child has parsed a hostile file: an answer that names a class to build (the way a
    malicious pickle runs code) is refused, not loaded."""
    with pytest.raises(SandboxFailed, match="plain data"):
        run_limited(_not_plain_data, timeout=30)


def test_each_child_is_a_new_process_in_a_session_of_its_own() -> None:
    first, second = run_limited(_who, timeout=30), run_limited(_who, timeout=30)
    assert first[0] != second[0] and os.getpid() not in (first[0], second[0])
    assert first[0] == first[1] and second[0] == second[1]  # each leads its own session


def test_many_callers_at_once_each_get_their_own_answer() -> None:
    """Web threads and worker threads call at the same time: no answer goes to another."""
    answers: dict[int, int] = {}

    def call(n: int) -> None:
        answers[n] = run_limited(_add, n, 1000, timeout=60)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert answers == {n: n + 1000 for n in range(8)}


@pytest.mark.parametrize("how", ["fork server"], indirect=True)
def test_the_fork_server_outlives_a_crashed_child_and_is_restarted_if_it_dies(how: str) -> None:
    assert run_limited(_add, 1, 1, timeout=30) == 2
    server = sandbox._SERVER._proc
    assert server is not None and server.poll() is None
    with pytest.raises(SandboxCrashed, match="SIGKILL"):
        run_limited(_die, timeout=30)
    assert run_limited(_add, 2, 2, timeout=30) == 4
    assert sandbox._SERVER._proc is server  # the same server forked both
    server.kill()
    server.wait()
    assert run_limited(_add, 3, 3, timeout=30) == 6  # a new server (or a fresh child) answers
    assert sandbox._SERVER._proc is not None and sandbox._SERVER._proc.poll() is None
