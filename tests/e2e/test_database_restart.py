"""PostgreSQL restarted while requests run: those requests fail cleanly, the next succeed.

A private cluster (initdb + pg_ctl on a free port in a temporary folder; never the shared
server) is restarted (``pg_ctl restart -m fast``: every connection is cut) while clients
read and write through the API. A request the restart catches answers 503 in both
languages, never 500; what it was writing is not in the database; and once the server is
back every request succeeds on the same process, whose pool throws the cut connections
away (``pool_pre_ping``). The audit chain still verifies.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from archive_service.app import create_app
from archive_service.archive.models import Customer
from archive_service.audit import services as audit
from archive_service.audit.services import Actor
from archive_service.cli.start import initialise
from archive_service.config import Settings
from storage.keyring import Keyring
from tests.conftest import CHEAP_HASHING, People, bearer, token_for, unavailable
from tests.integration.test_web_accounts import login
from tests.storage.conftest import free_port

pytestmark = pytest.mark.slow


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        unavailable("no PostgreSQL server binaries under /usr/lib/postgresql")
    return found[-1]


class Cluster:
    """A PostgreSQL cluster of this test's own (as the postgres user when run as root:
    the server refuses to run as root)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self._user: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(folder, pw.pw_uid, pw.pw_gid)
            self._user = ["runuser", "-u", "postgres", "--"]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._user, *argv], check=True, capture_output=True, timeout=120)  # noqa: S603

    def init(self) -> None:
        self._run(_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-N")

    def ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off"
        )
        self._run(
            _bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "log"),
            "-o",
            options,
            "-w",
            action,
            *extra,
        )


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    # Not under pytest's folder: the postgres user may not enter root's 0700 temp tree.
    folder = Path(tempfile.mkdtemp(prefix="archive-pg-"))
    pg = Cluster(folder)
    pg.init()
    pg.ctl("start")
    try:
        yield pg
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # stopped already
            pg.ctl("stop", "-m", "immediate")
        shutil.rmtree(folder, ignore_errors=True)


def test_requests_survive_a_database_restart(tmp_path: Path, cluster: Cluster) -> None:
    instance = tmp_path / "instance"
    instance.mkdir()
    Keyring.generate().save(instance / "keyring.json")
    settings = Settings(
        instance_dir=instance,
        keyring_file=str(instance / "keyring.json"),
        database_url=cluster.url,
        secret_key="restart-secret",
        admin_password="restart root pass",
        celery_always_eager=True,
        **CHEAP_HASHING,
    ).with_defaults()
    rt, _ = initialise(settings)
    try:
        app = create_app(settings, runtime=rt)
        People(rt).user("clara", "clerk", department="SALES")
        h = bearer(token_for(app.test_client(), "clara"))
        answers: list[tuple[str, int, Any]] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client_loop(n: int) -> None:
            client = app.test_client()
            i = 0
            while not stop.is_set():
                name = f"客户 {n}-{i}"
                resp = client.post(
                    "/api/v1/customers",
                    headers=h,
                    json={"name": name, "customer_type": "enterprise", "department": "SALES"},
                )
                listed = client.get("/api/v1/customers", headers=h)
                with lock:
                    answers.append((name, resp.status_code, resp.get_json()))
                    answers.append(("", listed.status_code, listed.get_json()))
                i += 1

        threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        cluster.ctl("restart", "-m", "fast")
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads)

        codes = [code for _n, code, _b in answers]
        assert set(codes) <= {200, 201, 503}, sorted(set(codes))
        assert 503 in codes, "no request was caught by the restart"
        assert codes[-1] in (200, 201)
        for _name, code, body in answers:
            if code == 503:
                error = body["error"]
                assert error["code"] == "database_unavailable"
                assert error["message_zh"] == "数据库暂不可用；未做任何更改，请稍后重试"
        # Created exactly when the answer said so.
        made = {name for name, code, _b in answers if name and code == 201}
        refused = {name for name, code, _b in answers if name and code == 503}
        with rt.db.unit_of_work() as s:
            names = set(s.execute(select(Customer.name)).scalars())
        assert made <= names and not (refused & names)

        # The next requests succeed, on the same process and pool.
        client = app.test_client()
        for n in range(10):
            resp = client.post(
                "/api/v1/customers",
                headers=h,
                json={"name": f"之后 {n}", "customer_type": "enterprise", "department": "SALES"},
            )
            assert resp.status_code == 201, resp.get_json()
        with rt.db.unit_of_work() as s:
            result = audit.verify_and_record(s, Actor.system("test"), rt.anchor)
        assert result.ok, result.as_dict()

        # The server is down for a while: the API and the pages say so (503), not 500.
        web = app.test_client()
        assert login(web, "clara").status_code == 302
        cluster.ctl("stop", "-m", "fast")
        down = client.get("/api/v1/customers", headers=h)
        assert down.status_code == 503 and down.get_json()["error"]["code"] == (
            "database_unavailable"
        )
        page = web.get("/customers?lang=zh")
        assert page.status_code == 503
        assert "数据库暂不可用" in page.get_data(as_text=True)
        cluster.ctl("start")
        assert client.get("/api/v1/customers", headers=h).status_code == 200
        assert web.get("/customers").status_code == 200
    finally:
        rt.close()
