"""The embedded server (``archive run``, waitress) keeps plaintext in the temp area and
bounds what a client may make it hold: a real server process, raw sockets.

``TMPDIR`` points the server at a folder of the test's own that stands for the system
``/tmp``; the request body waitress spools (over 512 KiB) must land in
``ARCHIVE_TEMP_DIR`` instead. Spooled files have no name (O_TMPFILE), so the test looks
where the server's open file descriptors point while the body is still arriving.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_one_command_start import _clean_env, _free_port

pytestmark = pytest.mark.slow

MAX_UPLOAD_MB = 2
CHANNEL_TIMEOUT = 2
CONNECTION_LIMIT = 3


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    port = _free_port()
    instance = tmp_path / "instance"
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "archive_service.cli", "run", "--port", str(port), "--no-worker"],
        env=_clean_env(
            ARCHIVE_INSTANCE_DIR=str(instance),
            ARCHIVE_MAX_UPLOAD_MB=str(MAX_UPLOAD_MB),
            ARCHIVE_WEB_CHANNEL_TIMEOUT_SECONDS=str(CHANNEL_TIMEOUT),
            ARCHIVE_WEB_CONNECTION_LIMIT=str(CONNECTION_LIMIT),
            TMPDIR=str(system_tmp),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = ""
        deadline = time.time() + 60
        assert proc.stdout is not None
        while "Admin account" not in output and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output += line
        assert re.search(r"running at http://", output), output
        yield {
            "port": port,
            "pid": proc.pid,
            "system_tmp": system_tmp,
            "temp_area": instance / "tmp",
        }
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _connect(port: int, timeout: float = 10.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def _open_files(pid: int) -> list[str]:
    """Where the process's file descriptors point (deleted files end in "(deleted)")."""
    found = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found.append(os.readlink(fd))
        except OSError:
            continue  # closed meanwhile
    return found


def _status(sock: socket.socket) -> int:
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    match = re.match(rb"HTTP/1\.[01] (\d{3})", head)
    assert match, head[:200]
    return int(match.group(1))


def test_a_large_upload_spools_only_inside_the_temp_area(server: dict[str, Any]) -> None:
    boundary = "archiveboundary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + b"%PDF-1.4\n"
        + b"\0" * (1536 * 1024)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    sock = _connect(server["port"])
    try:
        sock.sendall(
            b"POST /api/v1/documents HTTP/1.1\r\nHost: localhost\r\n"
            + f"Content-Type: multipart/form-data; boundary={boundary}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        half = len(body) * 2 // 3  # well past waitress's 512 KiB in-memory buffer
        sock.sendall(body[:half])
        spooled: list[str] = []
        deadline = time.time() + 10
        while time.time() < deadline:
            files = _open_files(server["pid"])
            spooled = [f for f in files if f.startswith(str(server["temp_area"]))]
            leaked = [f for f in files if f.startswith(str(server["system_tmp"]))]
            assert leaked == [], leaked
            if spooled:
                break
            time.sleep(0.1)
        assert spooled, "the body was not spooled at all (is it still under 512 KiB?)"
        sock.sendall(body[half:])
        assert 400 <= _status(sock) < 500  # anonymous: refused, but only once it was read
    finally:
        sock.close()
    assert list(server["system_tmp"].iterdir()) == []


def test_an_oversize_body_is_refused_before_it_is_read(server: dict[str, Any]) -> None:
    sock = _connect(server["port"])
    try:
        too_big = (MAX_UPLOAD_MB + 2) * 1024 * 1024
        sock.sendall(
            b"POST /api/v1/documents HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n"
            + f"Content-Length: {too_big}\r\n\r\n".encode()
        )
        # Not a byte of the body is sent: the answer comes from the Content-Length alone.
        assert _status(sock) == 413
    finally:
        sock.close()


def test_idle_connections_are_closed_and_their_number_is_bounded(
    server: dict[str, Any],
) -> None:
    port = server["port"]
    # Connections that send nothing hold the limit, then are closed by the server.
    idle = [_connect(port, timeout=CHANNEL_TIMEOUT * 5 + 10) for _ in range(CONNECTION_LIMIT)]
    time.sleep(0.5)  # let the server accept them
    waiting = _connect(port, timeout=1.0)
    try:
        waiting.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        with pytest.raises(TimeoutError):
            waiting.recv(1)  # not served while the limit is taken
        for sock in idle:
            assert sock.recv(1) == b""  # closed by the server, not by us
        waiting.settimeout(CHANNEL_TIMEOUT * 5 + 10)
        assert _status(waiting) in (200, 503)  # served once the idle ones are gone
    finally:
        waiting.close()
        for sock in idle:
            sock.close()
