"""The Alembic migrations and the models describe the same schema, on both backends."""

from __future__ import annotations

import sqlite3
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import archive_service.models  # noqa: F401
from archive_service.db import Base
from archive_service.runtime import Runtime


def test_models_match_migrations(rt: Runtime) -> None:
    with rt.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_0006_classifies_the_failures_recorded_before_it(
    rt: Runtime, client: Any, people: Any
) -> None:
    """Extractions that failed under the first release (every one, under the prefork
    worker: "error: AssertionError: daemonic processes…") get a reason class on upgrade,
    so `archive search check` and the health page can tell them; none is retried yet."""
    from alembic import command
    from sqlalchemy import text

    from archive_service.migrate import alembic_config
    from tests import samples
    from tests.conftest import bearer, token_for
    from tests.integration.test_archive_api import new_customer, upload

    people.user("clara", "clerk", department="SALES")
    h = bearer(token_for(client, "clara"))
    customer = new_customer(client, h)
    ids = [
        upload(client, h, customer, samples.pdf(f"file {n}"), title=f"f{n}").get_json()["id"]
        for n in range(4)
    ]
    old = {
        ids[0]: "error: AssertionError: daemonic processes are not allowed to have children",
        ids[1]: "timeout: no result within 60 s",
        ids[2]: "parse error: ValueError: zip bomb suspected",
    }
    url = rt.settings.database_url
    rt.db.engine.dispose()
    command.downgrade(alembic_config(url), "0005")
    try:
        with rt.db.engine.begin() as conn:
            for doc_id, error in old.items():
                conn.execute(
                    text(
                        "UPDATE documents SET extraction = 'failed', extraction_error = :e "
                        "WHERE id = :i"
                    ),
                    {"e": error, "i": doc_id},
                )
    finally:
        rt.db.engine.dispose()
        command.upgrade(alembic_config(url), "head")
    with rt.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, extraction_reason, extraction_attempts, extraction_retry_at "
                "FROM documents ORDER BY id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [
        (ids[0], "sandbox_start", 1, None),
        (ids[1], "timeout", 1, None),
        (ids[2], "parse_error", 1, None),
        (ids[3], None, 0, None),
    ]


def test_a_migrated_database_is_already_in_wal_mode(tmp_path: Any) -> None:
    """Set once by ``upgrade``, not by the first connections under load: a fresh file in
    rollback-journal mode makes each of them take the write lock to switch it."""
    from archive_service.migrate import upgrade

    path = tmp_path / "fresh.sqlite3"
    upgrade(f"sqlite:///{path}")
    probe = sqlite3.connect(path)
    try:
        assert probe.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        probe.close()


def test_0017_turns_each_hold_into_a_single_document_case(
    rt: Runtime, client: Any, people: Any
) -> None:
    """A hold placed before 0017 is a single-document case after it (and back again on a
    downgrade), with its placing and release kept."""
    from alembic import command
    from sqlalchemy import text

    from archive_service.archive.holds import place_hold
    from archive_service.migrate import alembic_config
    from tests import samples

    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    doc = people.document(
        "clara", people.customer("clara"), samples.pdf("held"), accepted_by=("arch",)
    )
    with rt.db.unit_of_work() as s:
        place_hold(s, people.caller(s, "arch"), doc, "诉讼未结", rt.archive.retention)
    url = rt.settings.database_url
    rt.db.engine.dispose()
    command.downgrade(alembic_config(url), "0016")
    try:
        with rt.db.engine.connect() as conn:
            old = conn.execute(text("SELECT document_id, reason, released_at FROM holds")).all()
        assert [tuple(r) for r in old] == [(doc, "诉讼未结", None)]
    finally:
        rt.db.engine.dispose()
        command.upgrade(alembic_config(url), "head")
    with rt.db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.name, c.basis, c.per_document, c.released_at, i.document_id "
                "FROM hold_cases c JOIN hold_items i ON i.case_id = c.id"
            )
        ).all()
    assert [tuple(r) for r in rows] == [("诉讼未结", "open_matter", True, None, doc)]
