"""Shared fixtures: a migrated database on SQLite *and* PostgreSQL, an app, users.

Every test that takes ``app`` (or ``rt``) runs once per database backend.
PostgreSQL is 127.0.0.1:5432, database ``test`` (override with
``ARCHIVE_TEST_PG_URL``); each test session migrates a schema of its own and
each test starts from empty tables. Without a reachable PostgreSQL the
PostgreSQL half is skipped, unless ``ARCHIVE_TEST_REQUIRE_PG=1`` (CI) makes
that a failure.
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sqlalchemy import create_engine, insert, select, text

from archive_service.accounts import departments, tokens, users
from archive_service.archive import customers, documents, review
from archive_service.archive.models import Category
from archive_service.audit.chain import GENESIS
from archive_service.config import Settings
from archive_service.db import Base
from archive_service.migrate import upgrade
from archive_service.policy import Caller
from archive_service.runtime import Runtime, build_runtime
from storage.keyring import Keyring
from workers.sender import connect

PG_BASE_URL = os.environ.get("ARCHIVE_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
PASSWORD = "correct horse battery 9"
# argon2 at its lowest cost: the suite signs in thousands of times; production keeps the
# recommended cost (tests/unit/test_account_rules.py checks the default).
CHEAP_HASHING: dict[str, Any] = {
    "password_hash_time_cost": 1,
    "password_hash_memory_kib": 8,
    "password_hash_parallelism": 1,
}


def unavailable(what: str) -> NoReturn:
    """A part the suite runs against is missing here. On a developer's machine the tests
    that need it are skipped; CI sets ``ARCHIVE_TEST_REQUIRE_PG=1`` (PostgreSQL, Redis,
    Chromium and LibreOffice must all be present there), which makes it a failure."""
    if os.environ.get("ARCHIVE_TEST_REQUIRE_PG") == "1":
        pytest.fail(f"{what} (required in CI)")
    pytest.skip(what)


def break_sandbox(mp: pytest.MonkeyPatch, where: Path) -> None:
    """As an installation without the sandbox's scripts: no limited child can start, neither
    forked by the fork server nor as a fresh interpreter, until ``mp`` is undone."""
    from search import sandbox

    mp.setattr(sandbox, "CHILD", where / "sandbox_child.py")
    mp.setattr(sandbox, "SERVER", where / "sandbox_server.py")
    sandbox.stop_fork_server()


def require_redis(*flush_dbs: int) -> None:
    """Redis at 127.0.0.1:6379 answers (else `unavailable`); empty the given databases."""
    try:
        import redis

        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
        for db in flush_dbs:
            redis.Redis(host="127.0.0.1", port=6379, db=db).flushdb()
    except Exception as exc:  # noqa: BLE001 (any failure to reach it)
        unavailable(f"Redis unreachable: {exc}")


def _pg_reachable() -> bool:
    try:
        engine = create_engine(PG_BASE_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    if not _pg_reachable():
        unavailable(f"PostgreSQL unreachable at {PG_BASE_URL}")
    schema = f"archive_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_BASE_URL else "?"
    url = f"{PG_BASE_URL}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        _SEEDED_CATEGORIES[:] = [dict(r._mapping) for r in conn.execute(select(Category.__table__))]
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


# The category tree as the migrations seed it: a test may extend it or add triggers.
_SEEDED_CATEGORIES: list[dict[str, Any]] = []


def _reset_pg(url: str) -> None:
    engine = create_engine(url)
    # Seeded reference data (the chain head, the category tree) is restored; the rest is
    # emptied.
    keep = {"audit_chain"}
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name not in keep)
    with engine.begin() as conn:
        # Tests start empty; the append-only triggers are bypassed only here.
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(insert(Category), _SEEDED_CATEGORIES)
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('categories', 'id'), max(id)) FROM categories"
            )
        )
        conn.execute(text("UPDATE audit_chain SET last_seq = 0, last_hash = :g"), {"g": GENESIS})
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "archive.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_schema_url")
    _reset_pg(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    instance = tmp_path / "instance"
    instance.mkdir()
    keyring_file = instance / "keyring.json"
    Keyring.generate().save(keyring_file)
    return Settings(
        instance_dir=instance,
        database_url=database_url,
        secret_key="test-secret-key",
        keyring_file=str(keyring_file),
        celery_always_eager=True,
        **CHEAP_HASHING,
    ).with_defaults()


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = connect(build_runtime(settings))
    yield runtime
    runtime.close()


@pytest.fixture
def app(settings: Settings, rt: Runtime) -> Any:
    from archive_service.app import create_app

    application = create_app(settings, runtime=rt)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


OPERATOR = Caller.cli()


@dataclass
class People:
    """A small organisation built through the services, as a real admin would."""

    rt: Runtime

    def department(self, code: str, name: str | None = None) -> None:
        with self.rt.db.unit_of_work() as s:
            if not any(d.code == code for d in departments.list_departments(s)):
                departments.create_department(s, OPERATOR, code, name or code)

    def user(self, username: str, *roles: str, department: str | None = "SALES") -> Any:
        if department:
            self.department(department)
        with self.rt.db.unit_of_work() as s:
            return users.create_user(
                s,
                OPERATOR,
                username=username,
                password=PASSWORD,
                display_name=username.title(),
                department=department,
                roles=roles,
                settings=self.rt.accounts,
            )

    def caller(self, session: Any, username: str) -> Caller:
        return Caller.of(users.user_by_username(session, username))

    def customer(self, clerk: str, **fields: Any) -> int:
        """A customer's archive opened by ``clerk`` (fields as the API takes them)."""
        body = {"name": "华夏贸易有限公司", "customer_type": "enterprise", **fields}
        body.setdefault("department", "SALES")
        with self.rt.db.unit_of_work() as s:
            return customers.create_customer(s, self.caller(s, clerk), body).id

    def document(
        self,
        clerk: str,
        customer_id: int,
        data: bytes,
        *,
        title: str = "营业执照",
        filename: str = "营业执照.pdf",
        category: str = "basic.profile",
        retention_class: str = "short",
        facts: dict[str, Any] | None = None,
        accepted_by: tuple[str, ...] = (),
    ) -> int:
        """A document ``clerk`` uploads; each of ``accepted_by`` then accepts it (a core
        customer's documents need two archivists)."""
        with self.rt.db.unit_of_work() as s:
            doc_id = documents.upload(
                s,
                self.caller(s, clerk),
                self.rt.vault,
                documents.Upload(
                    customer_id=customer_id,
                    category=category,
                    title=title,
                    retention_class=retention_class,
                    document_date=None,
                    filename=filename,
                    stream=io.BytesIO(data),
                    facts=facts or {},
                ),
                self.rt.archive,
            ).id
        for archivist in accepted_by:
            with self.rt.db.unit_of_work() as s:
                review.accept(
                    s, self.caller(s, archivist), doc_id, self.rt.archive, self.rt.checking
                )
        return doc_id


@pytest.fixture
def people(rt: Runtime) -> People:
    return People(rt)


def token_for(client: Any, username: str, password: str | None = None) -> str:
    """A bearer token for ``username``. Fixtures get it from the service, as a signed-in
    caller would; with ``password`` it is asked for over HTTP (``POST /api/v1/auth/token``,
    which the accounts tests cover in full)."""
    if password is not None:
        resp = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert resp.status_code == 201, resp.get_json()
        return str(resp.get_json()["token"])
    rt: Runtime = client.application.extensions["archive"]
    with rt.db.unit_of_work() as s:
        user = users.user_by_username(s, username)
        assert user is not None and user.is_active_account, username
        plain, _token = tokens.issue_token(s, Caller.of(user), rt.accounts)
    return plain


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
