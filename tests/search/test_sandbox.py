"""The limited child process: results come back; loops, memory hogs and crashes are contained."""

from __future__ import annotations

import os
import signal
import time

import pytest

from search.sandbox import SandboxCrashed, SandboxFailed, SandboxTimeout, run_limited


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
