"""The issue's fault: the broker (Redis) stops while documents are accepted.

A private redis-server on a free port (the shared one is never stopped); ``init``,
``worker``, ``indexer`` and ``beat`` run with the commands and environment of their
docker-compose.yml services against PostgreSQL, that Redis and an S3 server (moto); the
web side is the app in this process. With Redis stopped, documents are filed and accepted
(both succeed; their jobs wait in the outbox); once Redis is started again on the same port,
every extraction and indexing job runs — the documents are found by a word of their body —
with no manual step: beat's outbox relay sends what waited.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from archive_service.app import create_app
from archive_service.archive.models import Document
from archive_service.config import Settings
from archive_service.runtime import build_runtime
from tests.conftest import People, bearer, token_for
from tests.e2e import stack
from tests.e2e.test_prefork_extraction import _stack
from tests.integration.test_archive_api import new_customer, upload
from tests.storage.conftest import moto_endpoint  # noqa: F401 - the S3 server fixture
from workers.sender import connect

pytestmark = pytest.mark.slow
WORDS = ("离心泵", "液压缸", "warehouse")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis(port: int, log: Path) -> subprocess.Popen[bytes]:
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    proc = stack.start([*argv, "--appendonly", "no"], {}, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    raise AssertionError(stack.tail(log))


def test_documents_accepted_while_the_broker_is_down_are_extracted_once_it_is_back(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pg_url: str = request.getfixturevalue("pg_schema_url")
    from tests.conftest import _reset_pg

    _reset_pg(pg_url)
    port = _free_port()
    log = tmp_path / "stack.log"
    redis = _redis(port, tmp_path / "redis.log")
    envs, _settings = _stack(tmp_path, pg_url, request.getfixturevalue("moto_endpoint"))
    (tmp_path / "beat").mkdir()
    for env in envs.values():
        env["ARCHIVE_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
        env["ARCHIVE_RESULT_BACKEND"] = f"redis://127.0.0.1:{port}/1"
    # beat has the app services' common environment; its relay runs every 2 s here.
    envs["beat"] = {**envs["worker"], "ARCHIVE_OUTBOX_RELAY_SECONDS": "2"}
    settings = Settings.from_env(envs["worker"])
    init = stack.start(stack.command("init"), stack.process_env(envs["init"]), log)
    assert init.wait(timeout=120) == 0, stack.tail(log)
    beat_argv = stack.command("beat")
    beat_argv[beat_argv.index("--schedule") + 1] = str(tmp_path / "beat" / "schedule")
    procs = [
        stack.start(stack.command(name), stack.process_env(envs[name]), log)
        for name in ("worker", "indexer")
    ]
    procs.append(stack.start(beat_argv, stack.process_env(envs["beat"]), log))
    rt = connect(build_runtime(settings))
    try:
        client = create_app(settings, runtime=rt).test_client()
        people = People(rt)
        people.user("clara", "clerk", department="SALES")
        people.user("arch", "archivist", department="OPS")
        clara, arch = (bearer(token_for(client, n)) for n in ("clara", "arch"))
        customer = new_customer(client, clara)

        stack.stop(redis)  # the broker goes down
        started = time.monotonic()
        docs = {}
        for n, word in enumerate(WORDS):
            data = f"客户来函 {n}：关于{word}的供货安排。".encode()
            resp = upload(client, clara, customer, data, filename=f"来函{n}.txt", title=f"函{n}")
            assert resp.status_code == 201, resp.get_json()
            docs[word] = resp.get_json()["id"]
            accepted = client.post(f"/api/v1/documents/{docs[word]}/accept", headers=arch)
            assert accepted.status_code == 200, accepted.get_json()
        outage_seconds = time.monotonic() - started
        health = client.get("/api/v1/health").get_json()
        assert health["checks"]["broker"]["ok"] is False
        assert health["checks"]["outbox"]["backlog"] >= len(WORDS), health
        with rt.db.unit_of_work() as s:
            states = set(s.execute(select(Document.extraction)).scalars())
        assert states == {"pending"}

        redis = _redis(port, tmp_path / "redis.log")  # back, on the same port
        back = time.monotonic()

        def found(word: str) -> list[int]:
            resp = client.get("/api/v1/documents", query_string={"q": word}, headers=clara)
            assert resp.status_code == 200, resp.get_json()
            return [item["id"] for item in resp.get_json()["items"]]

        deadline = back + 180
        while time.monotonic() < deadline:
            if all(found(word) == [doc] for word, doc in docs.items()):
                break
            for proc in procs:
                assert proc.poll() is None, f"a process stopped:\n{stack.tail(log)}"
            time.sleep(1)
        assert {w: found(w) for w in docs} == {w: [d] for w, d in docs.items()}, stack.tail(log)
        with rt.db.unit_of_work() as s:
            assert set(s.execute(select(Document.extraction)).scalars()) == {"done"}
        while time.monotonic() < deadline:
            if client.get("/api/v1/health").get_json()["checks"]["outbox"]["backlog"] == 0:
                break
            time.sleep(1)
        assert client.get("/api/v1/health").get_json()["checks"]["outbox"]["backlog"] == 0
        after = time.monotonic() - back
        print(
            f"broker down: {len(WORDS)} filed+accepted in {outage_seconds:.1f} s; found {after:.1f} s after"
        )
    finally:
        rt.close()
        for proc in procs:
            stack.stop(proc)
        stack.stop(redis)
