"""Fixity as auditors and archivists see it (API, page, health), a clerk refused; the
orphan job; the command line."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from archive_service.audit.models import AuditEvent
from archive_service.cli import main
from archive_service.fixity.models import FixityFailure
from archive_service.fixity.orphans import clean_orphans
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.fixity_helpers import age, flip_byte, path_of, put, sweeper
from tests.integration.test_web_accounts import login

DATA = b"orphans and failures " * 10_000


def _damaged_document(rt: Any, people: People) -> tuple[int, Any]:
    """A document uploaded by a clerk whose stored version then rots."""
    from archive_service.archive.models import DocumentVersion
    from archive_service.vault.models import StoredObject

    people.user("clara", "clerk", department="SALES")
    customer = people.customer("clara")
    doc_id = people.document("clara", customer, samples.pdf("fixity"))
    with rt.db.unit_of_work() as s:
        version = s.execute(
            select(DocumentVersion).where(DocumentVersion.document_id == doc_id)
        ).scalar_one()
        obj = s.get(StoredObject, version.stored_object_id)
    flip_byte(rt, obj)
    return doc_id, obj


def test_auditors_and_archivists_see_failures_a_clerk_is_refused(
    client: Any, rt: Any, people: People
) -> None:
    doc_id, obj = _damaged_document(rt, people)
    sweeper(rt).run_all()
    people.user("audrey", "auditor", department="OPS")
    people.user("arch", "archivist", department="OPS")
    for who in ("audrey", "arch"):
        resp = client.get("/api/v1/fixity", headers=bearer(token_for(client, who)))
        assert resp.status_code == 200, resp.get_json()
        body = resp.get_json()
        assert body["summary"]["open_failures"] == 1 and body["total"] == 1
        [failure] = body["failures"]
        assert failure["kind"] == "mismatch" and failure["status"] == "open"
        assert failure["stored_object_id"] == obj.id
        assert failure["belongs_to"] == {
            "what": "version",
            "document_id": doc_id,
            "version": 1,
            "rendition": None,
        }
    refused = client.get("/api/v1/fixity", headers=bearer(token_for(client, "clara")))
    assert refused.status_code == 403
    assert refused.get_json()["error"]["rule"] == "fixity-reader"
    audrey = bearer(token_for(client, "audrey"))
    assert client.get("/api/v1/fixity?status=bogus", headers=audrey).status_code == 422
    resolved = client.get("/api/v1/fixity?status=resolved", headers=audrey).get_json()
    assert resolved["total"] == 0 and resolved["failures"] == []
    # The health check names the open failure without saying which.
    health = client.get("/api/v1/health").get_json()
    assert health["checks"]["fixity"] == {"ok": False, "open_failures": 1}


def test_the_page_shows_failures_in_both_languages_and_refuses_a_clerk(
    app: Any, rt: Any, people: People
) -> None:
    doc_id, obj = _damaged_document(rt, people)
    sweeper(rt).run_all()
    people.user("audrey", "auditor", department="OPS")
    auditor = app.test_client()
    assert login(auditor, "audrey").status_code == 302
    home = auditor.get("/").get_data(as_text=True)
    assert 'id="nav-fixity"' in home
    page = auditor.get("/fixity/").get_data(as_text=True)
    assert "固定性" in page and "内容与记录的摘要不符" in page and obj.object_name in page
    assert f"/documents/{doc_id}" in page
    english = auditor.get("/fixity/?lang=en").get_data(as_text=True)
    assert "content does not match its recorded digest" in english
    assert "Fixity of the stored files" in english
    clerk = app.test_client()
    assert login(clerk, "clara").status_code == 302
    assert clerk.get("/fixity/").status_code == 403
    assert 'id="nav-fixity"' not in clerk.get("/").get_data(as_text=True)


def test_an_old_orphan_goes_a_young_one_stays_a_lost_object_is_flagged(rt: Any) -> None:
    kept = put(rt, DATA)
    lost = put(rt, DATA + b"lost")
    path_of(rt, lost).unlink()
    old = rt.vault.store.store(io.BytesIO(b"a failed upload, long ago"))
    young = rt.vault.store.store(io.BytesIO(b"an upload whose row is on its way"))
    age(path_of(rt, old), 25 * 3600)
    age(path_of(rt, young), 23 * 3600)
    report = clean_orphans(rt.db, rt.vault, timedelta(hours=24))
    assert report.as_dict() == {
        "deleted": 1,
        "kept_young": 1,
        "rows_without_object": 1,
        "flagged": 1,
    }
    assert not path_of(rt, old).exists() and path_of(rt, young).exists()
    assert path_of(rt, kept).exists()
    with rt.db.unit_of_work() as s:
        [failure] = s.execute(select(FixityFailure)).scalars().all()
        assert (failure.stored_object_id, failure.kind, failure.found_by) == (
            lost.id,
            "missing",
            "orphans",
        )
        [event] = s.execute(
            select(AuditEvent).where(AuditEvent.action == "storage.orphans")
        ).scalars()
        assert event.details == report.as_dict()
        assert old.object_name not in json.dumps(event.details)
    # A second run flags nothing new and writes its own event.
    again = clean_orphans(rt.db, rt.vault, timedelta(hours=24))
    assert (again.deleted, again.flagged, again.rows_without_object) == (0, 0, 1)


@pytest.fixture
def cli_env(rt: Any, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(rt.settings.instance_dir))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", rt.settings.database_url)
    monkeypatch.setenv("ARCHIVE_KEYRING_FILE", rt.settings.keyring_file)
    monkeypatch.setenv("ARCHIVE_FIXITY_MB_PER_S", "0")
    return CliRunner()


def test_the_command_checks_all_or_a_sample_and_fails_while_failures_remain(
    rt: Any, cli_env: CliRunner
) -> None:
    objects = [put(rt, DATA + bytes([i])) for i in range(4)]
    ok = cli_env.invoke(main, ["storage", "fixity", "--sample", "2"], catch_exceptions=False)
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["checked"] == 2
    flip_byte(rt, objects[1])
    every = cli_env.invoke(main, ["storage", "fixity", "--all"], catch_exceptions=False)
    assert every.exit_code == 1
    summary = json.loads(every.output)
    assert summary["checked"] == 4 and summary["failed"] == 1 and summary["open_failures"] == 1
    with rt.db.unit_of_work() as s:
        [event] = s.execute(
            select(AuditEvent).where(AuditEvent.action == "fixity.failed")
        ).scalars()
        assert event.actor == "operator"
    both = cli_env.invoke(main, ["storage", "fixity", "--all", "--sample", "1"])
    assert both.exit_code == 2


def test_the_beat_runs_the_sweep_and_the_orphan_job_repairing_from_the_backup_folder(
    rt: Any, tmp_path: Any
) -> None:
    from dataclasses import replace

    from archive_service.fixity.sources import good_copies
    from storage.backends.local import LocalStore
    from workers import tasks
    from workers.celery_app import make_celery
    from workers.context import use_runtime

    schedule = make_celery(replace(rt.settings, fixity_slice_minutes=5)).conf.beat_schedule
    assert schedule["fixity-sweep"] == {"task": "workers.tasks.fixity_sweep", "schedule": 300.0}
    assert schedule["clean-orphans"]["task"] == "workers.tasks.clean_orphans"
    assert good_copies(rt.settings) is None  # no backup target
    obj = put(rt, DATA)
    backup = tmp_path / "backup"
    copies = LocalStore(backup / "objects", fsync=False)
    copies.ensure_ready()
    with open(path_of(rt, obj), "rb") as original:
        copies.put(obj.object_name, original)
    flip_byte(rt, obj)
    rt.settings = replace(rt.settings, backup_to=str(backup), fixity_mb_per_s=0)
    assert isinstance(good_copies(rt.settings), LocalStore)
    use_runtime(rt)
    try:
        swept = tasks.fixity_sweep()
        assert (swept["checked"], swept["failed"], swept["repaired"]) == (1, 1, 1)
        assert tasks.clean_orphans()["deleted"] == 0
    finally:
        use_runtime(None)
    with rt.db.unit_of_work() as s:
        assert b"".join(rt.vault.open(s.merge(obj))) == DATA
