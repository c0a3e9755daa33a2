"""Two real web processes (gunicorn ``wsgi:app``), each with its own index folder, search
replicas of the index the worker published: both find what it indexed, and neither finds
what it removed. The worker is this test's eager runtime, publishing to a shared folder."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from archive_service.config import Settings
from archive_service.indexing import maintenance
from archive_service.runtime import Runtime
from tests.e2e.test_one_command_start import _clean_env, _free_port
from tests.integration.test_search_api import filed  # noqa: F401 - the filed documents

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return replace(settings, search_publish_to=str(tmp_path / "shared-index"))


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - localhost
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def webs(settings: Settings, tmp_path: Path, rt: Runtime) -> Iterator[list[str]]:
    """Two gunicorn processes on the same database and store, their own index folders."""
    rt.search_index.count()  # the indexer publishes its (empty) index as it opens it
    procs, urls = [], []
    for n in (1, 2):
        port = _free_port()
        env = _clean_env(
            ARCHIVE_INSTANCE_DIR=str(settings.instance_dir),
            ARCHIVE_DATABASE_URL=settings.database_url,
            ARCHIVE_SECRET_KEY=settings.secret_key,
            ARCHIVE_KEYRING_FILE=settings.keyring_file,
            ARCHIVE_SEARCH_REPLICA_FROM=settings.search_publish_to,
            ARCHIVE_SEARCH_INDEX_DIR=str(tmp_path / f"web{n}" / "index"),
            ARCHIVE_SEARCH_SYNC_SECONDS="0",
            PYTHONPATH=str(ROOT),
        )
        log = (tmp_path / f"web{n}.log").open("wb")
        procs.append(
            subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-b",
                    f"127.0.0.1:{port}",
                    "-w",
                    "1",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url, proc in zip(urls, procs, strict=True):
            deadline = time.monotonic() + 90
            while True:
                try:
                    _get(f"{url}/api/v1/health")
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        logs = [
                            p.read_text(errors="replace")[-3000:]
                            for p in sorted(tmp_path.glob("web*.log"))
                        ]
                        pytest.fail(f"web process did not start: {logs}")
                    time.sleep(0.2)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)


def _found(url: str, who: dict[str, str], q: str) -> list[int]:
    status, body = _get(f"{url}/api/v1/documents?{urllib.parse.urlencode({'q': q})}", who)
    assert status == 200, body
    return [d["id"] for d in body["items"]]


def test_two_web_processes_search_their_own_replicas(
    rt: Runtime,
    filed: dict[str, Any],  # noqa: F811
    webs: list[str],
) -> None:
    h, docs = filed["h"], filed["docs"]
    contract = docs["docx"]["id"]
    for url in webs:
        assert _found(url, h["clara"], "离心泵") == [contract]
        assert _found(url, h["carl"], "离心泵") == []
    maintenance.remove(rt.indexing, [contract])
    for url in webs:
        assert _found(url, h["clara"], "离心泵") == []
        assert _found(url, h["clara"], "节能空调") == [docs["gbk"]["id"]]
    # Each process kept its own copy, in its own folder.
    shared = Path(rt.settings.search_publish_to)
    for n in (1, 2):
        assert (shared.parent / f"web{n}" / "index" / "CURRENT").exists()
