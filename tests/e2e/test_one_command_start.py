"""The one-command start, as a new user runs it, and a Celery worker on the production path.

These start real processes: ``archive run`` (web server, Celery worker and
beat on the embedded broker) and a Celery worker on Redis with PostgreSQL.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from archive_service.config import Settings
from storage.keyring import Keyring
from tests.conftest import require_redis
from workers.celery_app import make_celery

if TYPE_CHECKING:
    from archive_service.runtime import Runtime

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(extra)
    return env


@contextmanager
def embedded_instance(instance: Path) -> Iterator[Runtime]:
    """``archive run`` on the embedded default in ``instance`` (web, worker and beat), and a
    runtime of another process of the same instance, as the web server is: its jobs go to
    the embedded broker, and the worker that `archive run` started does them."""
    from archive_service.runtime import build_runtime
    from workers.sender import connect

    proc = subprocess.Popen(
        [sys.executable, "-m", "archive_service.cli", "run", "--port", str(_free_port())],
        env=_clean_env(ARCHIVE_INSTANCE_DIR=str(instance)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        output, deadline = "", time.time() + 60
        while "running at" not in output and time.time() < deadline:
            output += proc.stdout.readline() or ""
        assert "running at" in output, output
        rt = connect(build_runtime(Settings.from_env({"ARCHIVE_INSTANCE_DIR": str(instance)})))
        assert not rt.settings.celery_always_eager
        try:
            yield rt
        finally:
            rt.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _http(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(  # noqa: S310 - localhost only
        url,
        data=json.dumps(body).encode() if body else None,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - localhost only
            raw = resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


def _processes_naming(text: str) -> list[str]:
    """Command lines of running processes that mention ``text`` (the instance folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline}")
    return found


def test_archive_run_on_a_busy_port_fails_and_leaves_no_worker(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "archive_service.cli", "run", "--port", str(port)],
            env=_clean_env(ARCHIVE_INSTANCE_DIR=str(instance)),
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert done.returncode != 0, done.stdout
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr, done.stderr
    assert "running at" not in done.stdout
    assert _processes_naming(str(instance)) == []


def test_archive_run_starts_web_worker_and_beat(tmp_path: Path) -> None:
    port = _free_port()
    instance = tmp_path / "instance"
    proc = subprocess.Popen(
        [sys.executable, "-m", "archive_service.cli", "run", "--port", str(port)],
        env=_clean_env(ARCHIVE_INSTANCE_DIR=str(instance)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = ""
        deadline = time.time() + 60
        assert proc.stdout is not None
        while "password" not in output and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output += line
        url = re.search(r"running at (http://\S+)", output)
        password = re.search(r"password '([^']+)'", output)
        assert url and password, output
        assert "WARNING: embedded default" in output
        # The login page works.
        status, page = _http(url.group(1) + "login")
        assert status == 200 and "登录" in page
        # The admin credentials printed work.
        status, body = _http(
            url.group(1) + "api/v1/auth/token", {"username": "admin", "password": password.group(1)}
        )
        assert status == 201 and body["token"]
        status, health = _http(url.group(1) + "api/v1/health")
        assert status == 200 and all(c["ok"] for c in health["checks"].values()), health
        # The Celery worker started by the same command consumes the embedded broker.
        settings = Settings.from_env({"ARCHIVE_INSTANCE_DIR": str(instance)})
        celery = make_celery(settings)
        assert celery.send_task("workers.tasks.ping").get(timeout=60) == "pong"
        # Secrets in the instance folder are private.
        assert (instance / "secret_key").stat().st_mode & 0o077 == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    log = (instance / "worker.log").read_text()
    assert "beat: Starting" in log


def test_celery_worker_on_redis_and_postgresql(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The production path: a real worker on Redis runs a scheduled task against PostgreSQL."""
    pg_url: str = request.getfixturevalue("pg_schema_url")
    from tests.conftest import _reset_pg

    _reset_pg(pg_url)
    require_redis()
    env = _clean_env(
        ARCHIVE_INSTANCE_DIR=str(tmp_path / "instance"),
        ARCHIVE_DATABASE_URL=pg_url,
        ARCHIVE_BROKER_URL="redis://127.0.0.1:6379/14",
        ARCHIVE_RESULT_BACKEND="redis://127.0.0.1:6379/15",
        ARCHIVE_SECRET_KEY="x",
        ARCHIVE_KEYRING=Keyring.generate().to_json(),
    )
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app:celery",
            "worker",
            "--pool",
            "solo",
            "--queues",
            "default",
            "--hostname",
            f"test-{os.getpid()}@%h",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        settings = Settings.from_env(env)
        celery = make_celery(settings)
        result = celery.send_task("workers.tasks.verify_audit_chain").get(timeout=60)
        assert result["ok"] is True
        from archive_service.audit import services as audit
        from archive_service.runtime import build_runtime

        rt = build_runtime(settings)
        with rt.db.unit_of_work() as s:
            rows, total = audit.search(s, audit.AuditFilter(action="audit.verify"))
        rt.close()
        assert total == 1 and rows[0].actor == "scheduler"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
