"""The production stack's processes, started here as docker-compose.yml starts them.

One place for what the end-to-end tests need to run real processes: a Celery
worker (or any command) in its own session with a log, and — so the tests cannot
drift from the stack — the commands and environment of docker-compose.yml's
services, read from the file itself. A test gives the values ``.env`` would give
(database, broker, keys) and a host folder for each path the stack mounts; the
commands run unchanged, with this interpreter for ``celery`` and ``archive``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests import compose
from tests.compose import ROOT

# How the image runs a program (the venv's entry points); here: this interpreter.
_PROGRAMS = {"celery": ["-m", "celery"], "archive": ["-m", "archive_service.cli"]}


def service(name: str) -> dict[str, Any]:
    """A service of docker-compose.yml as written (anchors and merges resolved)."""
    services: dict[str, dict[str, Any]] = compose.load()["services"]
    return services[name]


def command(name: str, values: Mapping[str, str] | None = None) -> list[str]:
    """The service's command, as argv for this machine."""
    raw = service(name)["command"]
    argv = [compose.interpolate(str(a), values or {}) for a in raw]
    return [sys.executable, *_PROGRAMS[argv[0]], *argv[1:]] if argv[0] in _PROGRAMS else argv


def environment(name: str, values: Mapping[str, str], mounts: Mapping[str, Path]) -> dict[str, str]:
    """The service's environment: interpolated from ``values``, each path under a mounted
    container path moved to its host folder in ``mounts``. Secrets are mounted too:
    ``/run/secrets/<name>`` is the file the test made for that secret."""
    env: dict[str, str] = {}
    for key, raw in (service(name).get("environment") or {}).items():
        value = compose.interpolate(str(raw), values)
        for inside, outside in sorted(mounts.items(), key=lambda m: -len(m[0])):
            if value == inside or value.startswith(inside.rstrip("/") + "/"):
                value = str(outside) + value[len(inside.rstrip("/")) :]
                break  # the deepest mount holds the path
        env[str(key)] = value
    return env


def process_env(service_env: Mapping[str, str]) -> dict[str, str]:
    """This machine's environment less any ``ARCHIVE_*`` of its own, plus the service's,
    importing this checkout's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(service_env)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def start(argv: list[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A process in a session of its own (so a kill reaches its pool children too), its
    output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - fixed commands from the tests and compose
            argv,
            env=dict(env),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Warm shutdown (SIGTERM, as ``docker compose stop``), then SIGKILL to the session."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"
