"""Review and destruction end to end through the API, with a controlled clock.

Documents filed eleven years ago (one on hold, one permanent), one of a core
customer filed six years ago (not due); review, confirmation, appraisal,
approvals and execution; then the erased objects are gone from the store,
their keys from the database, and the held, permanent and not-due ones are
untouched. Wrong roles get 403, wrong states 409, and the signed record verifies.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import select, text

from archive_service.archive.models import Document, Rendition
from archive_service.disposal import records
from archive_service.runtime import Runtime
from archive_service.vault.models import StoredObject
from tests import samples
from tests.conftest import People, bearer, token_for

TODAY = datetime.now(UTC)
ELEVEN_YEARS_AGO = TODAY - timedelta(days=11 * 366)
SIX_YEARS_AGO = TODAY - timedelta(days=6 * 366)
NAMES = ("clara", "arch", "arch2", "olga", "leo", "sven", "audrey", "mona")


@pytest.fixture
def org(people: People) -> None:
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    people.user("arch2", "archivist", department="OPS")
    people.user("olga", "operations_head", department="OPS")
    people.user("leo", "leader", department="OPS")
    people.user("sven", "supervisor", department="OPS")
    people.user("audrey", "auditor", department="OPS")
    people.user("mona", "manager", department="OPS")


def headers(client: Any) -> dict[str, dict[str, str]]:
    return {n: bearer(token_for(client, n)) for n in NAMES}


def _file(people: People, customer: int, title: str, retention: str = "short") -> int:
    """Uploaded by the clerk and accepted (a core customer's by two archivists)."""
    return people.document(
        "clara",
        customer,
        samples.pdf(title),
        title=title,
        filename=f"{title}.pdf",
        retention_class=retention,
        accepted_by=("arch", "arch2") if title == "core" else ("arch",),
    )


@pytest.fixture
def archive(people: People, org: None, rt: Runtime) -> dict[str, int]:
    """Documents filed in the past: due, held, permanent, retained, later held; and one not due."""
    from archive_service.archive.holds import place_hold

    docs: dict[str, int] = {}
    with time_machine.travel(ELEVEN_YEARS_AGO, tick=True):
        ordinary = people.customer("clara", name="旧客户")
        for name in ("due", "held", "kept", "late_hold"):
            docs[name] = _file(people, ordinary, name)
        docs["permanent"] = _file(people, ordinary, "permanent", retention="permanent")
        with rt.db.unit_of_work() as s:
            place_hold(s, people.caller(s, "arch"), docs["held"], "诉讼未结", rt.archive.retention)
    with time_machine.travel(SIX_YEARS_AGO, tick=True):
        core = people.customer("clara", tier="core", name="核心客户", credit_code="X1")
        docs["core"] = _file(people, core, "core")
    return docs


def _object_names(rt: Runtime, document_id: int) -> list[str]:
    """The document's versions and its preview renditions (a PDF's preview is the PDF)."""
    with rt.db.unit_of_work() as s:
        doc = s.get(Document, document_id)
        assert doc is not None
        ids = [v.stored_object_id for v in doc.versions]
        made = s.execute(
            select(Rendition.stored_object_id).where(Rendition.document_id == document_id)
        ).scalars()
        ids += [i for i in made if i is not None and i not in ids]
        return [s.get(StoredObject, i).object_name for i in ids]  # type: ignore[union-attr]


def _run_to_approval(client: Any, h: Any, archive: dict[str, int]) -> tuple[int, int]:
    review = client.post("/api/v1/retention-reviews", headers=h["arch"])
    assert review.status_code == 201, review.get_json()
    body = review.get_json()
    listed = {i["document_id"] for i in body["items"]}
    assert listed == {archive["due"], archive["kept"], archive["late_hold"]}
    rid = body["id"]
    item = f"/api/v1/retention-reviews/{rid}/items"
    early = client.post(
        f"{item}/{archive['due']}/appraisal", json={"decision": "destroy"}, headers=h["arch"]
    )
    assert early.status_code == 409  # not confirmed yet
    assert (
        client.post(f"/api/v1/retention-reviews/{rid}/confirm", headers=h["arch"]).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/retention-reviews/{rid}/confirm", headers=h["olga"]).status_code
        == 200
    )
    assert (
        client.post(f"/api/v1/retention-reviews/{rid}/confirm", headers=h["olga"]).status_code
        == 409
    )
    assert (
        client.post(
            f"{item}/{archive['due']}/appraisal", json={"decision": "destroy"}, headers=h["olga"]
        ).status_code
        == 403
    )
    for name in ("due", "late_hold"):
        resp = client.post(
            f"{item}/{archive[name]}/appraisal", json={"decision": "destroy"}, headers=h["arch"]
        )
        assert resp.status_code == 200, resp.get_json()
    no_reason = client.post(
        f"{item}/{archive['kept']}/appraisal",
        json={"decision": "retain", "retain_until": "2099-01-01"},
        headers=h["arch"],
    )
    assert no_reason.status_code == 422 and no_reason.get_json()["error"]["field"] == "reason"
    early_apply = client.post(f"/api/v1/retention-reviews/{rid}/destruction", headers=h["arch"])
    assert early_apply.status_code == 409  # one item not appraised yet
    keep = (TODAY + timedelta(days=900)).date().isoformat()
    kept = client.post(
        f"{item}/{archive['kept']}/appraisal",
        json={"decision": "retain", "retain_until": keep, "reason": "仍有往来"},
        headers=h["arch"],
    )
    assert kept.status_code == 200
    doc = client.get(f"/api/v1/documents/{archive['kept']}", headers=h["arch"]).get_json()
    assert doc["disposal_date"] == keep
    history = client.get(f"/api/v1/documents/{archive['kept']}/history", headers=h["arch"])
    assert history.status_code == 200
    assert history.get_json()["retention"][-1]["new"] == keep
    dest = client.post(f"/api/v1/retention-reviews/{rid}/destruction", headers=h["arch"])
    assert dest.status_code == 201, dest.get_json()
    body = dest.get_json()
    assert body["status"] == "pending" and body["count"] == 2
    assert [s["role"] for s in body["approval_steps"]] == ["operations_head", "leader"]
    did = body["id"]
    decide = f"/api/v1/destructions/{did}/decision"
    assert (
        client.post(
            f"/api/v1/destructions/{did}/execute",
            json={"supervisor": "sven", "place": "机房"},
            headers=h["arch"],
        ).status_code
        == 409
    )  # not approved
    assert client.post(decide, json={"decision": "approve"}, headers=h["leo"]).status_code == 403
    assert client.post(decide, json={"decision": "approve"}, headers=h["arch"]).status_code == 403
    assert client.post(decide, json={"decision": "approve"}, headers=h["olga"]).status_code == 200
    assert client.post(decide, json={"decision": "approve"}, headers=h["olga"]).status_code == 403
    resp = client.post(decide, json={"decision": "approve"}, headers=h["leo"])
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved"
    assert client.post(decide, json={"decision": "approve"}, headers=h["leo"]).status_code == 409
    return rid, did


def test_review_to_destruction_cycle(
    client: Any, rt: Runtime, archive: dict[str, int], settings: Any, monkeypatch: Any
) -> None:
    h = headers(client)
    before = {name: _object_names(rt, doc) for name, doc in archive.items()}
    _, did = _run_to_approval(client, h, archive)
    # A hold placed after approval wins over the approval.
    assert (
        client.post(
            f"/api/v1/documents/{archive['late_hold']}/hold",
            json={"reason": "新的投诉"},
            headers=h["arch"],
        ).status_code
        == 200
    )
    execute = f"/api/v1/destructions/{did}/execute"
    assert (
        client.post(
            execute, json={"supervisor": "sven", "place": "机房"}, headers=h["olga"]
        ).status_code
        == 403
    )
    same = client.post(execute, json={"supervisor": "arch", "place": "机房"}, headers=h["arch"])
    assert same.status_code == 422 and same.get_json()["error"]["field"] == "supervisor"
    no_place = client.post(execute, json={"supervisor": "sven", "place": ""}, headers=h["arch"])
    assert no_place.status_code == 422
    started = client.post(
        execute, json={"supervisor": "sven", "place": "档案室 B1"}, headers=h["arch"]
    )
    assert started.status_code == 202, started.get_json()
    status = client.get(f"/api/v1/destructions/{did}", headers=h["audrey"]).get_json()
    assert status["status"] == "completed"
    assert (
        client.post(
            execute, json={"supervisor": "sven", "place": "x"}, headers=h["arch"]
        ).status_code
        == 409
    )  # already executed

    # The destroyed document: objects gone from the store, keys gone, a tombstone answers 410.
    # Its thumbnail went with it (the file and its preview, which is the PDF itself).
    backend = rt.vault.backend
    assert len(before["due"]) == 2
    assert before["due"] and not any(backend.exists(n) for n in before["due"])
    for route in ("preview", "thumbnail"):
        shown = client.get(f"/api/v1/documents/{archive['due']}/{route}", headers=h["arch"])
        assert shown.status_code == 410
    with rt.db.unit_of_work() as s:
        rows = (
            s.execute(select(StoredObject).where(StoredObject.object_name.in_(before["due"])))
            .scalars()
            .all()
        )
        assert rows and all(r.wrapped_key is None and r.erased_at for r in rows)
    gone = client.get(f"/api/v1/documents/{archive['due']}", headers=h["arch"])
    assert gone.status_code == 410
    tomb = gone.get_json()["error"]["tombstone"]
    assert tomb["title"] == "due" and tomb["destruction"] == f"D{did}" and tomb["sha256"]
    assert (
        client.get(f"/api/v1/documents/{archive['due']}/content", headers=h["arch"]).status_code
        == 410
    )
    # The index no longer holds it; the others are still found.
    assert archive["due"] not in rt.search_index.ids()
    assert archive["held"] in rt.search_index.ids()
    found = client.get("/api/v1/documents?q=due", headers=h["arch"]).get_json()
    assert archive["due"] not in [d["id"] for d in found["items"]]
    with rt.db.unit_of_work() as s:
        from archive_service.indexing.maintenance import check

        assert check(rt.indexing, s).ok
    # Everything else is untouched and readable.
    for name in ("held", "permanent", "kept", "core", "late_hold"):
        assert all(backend.exists(n) for n in before[name]), name
        content = client.get(f"/api/v1/documents/{archive[name]}/content", headers=h["arch"])
        assert content.status_code == 200 and content.data.startswith(b"%PDF"), name

    # The record: per item the number, title, checksum, size and result; signed.
    resp = client.get(f"/api/v1/destructions/{did}/record", headers=h["audrey"])
    assert resp.status_code == 200
    signed = resp.get_json()
    rec = signed["record"]
    results = {i["title"]: i["result"] for i in rec["items"]}
    assert results == {"due": "destroyed", "late_hold": "skipped_hold"}
    assert rec["executor"] == "arch" and rec["supervisor"] == "sven"
    assert rec["place"] == "档案室 B1" and "cryptographic erase" in rec["method"]
    assert [a["by"] for a in rec["approvals"]] == ["olga", "leo"]
    assert all(len(i["sha256"]) == 64 and i["size"] > 0 for i in rec["items"])
    # Kept permanently by default (销毁清册 永久保存): no keep date, said in both languages.
    assert rec["keep_until"] is None
    assert signed["kept"] == {"until": None, "label": "permanent", "label_zh": "永久"}
    assert rec["format"] == 2
    assert [(a["role"], a["department"]) for a in rec["approvals"]] == [
        ("operations_head", "OPS"),
        ("leader", None),
    ]
    verified = client.get(f"/api/v1/destructions/{did}/record/verify", headers=h["audrey"])
    assert verified.get_json()["ok"] is True
    # Every face that hands out the record says so in the audit trail (the API did not).
    exported = client.get(
        "/api/v1/audit",
        query_string={"action": "destruction.export", "target": f"destruction:{did}"},
        headers=h["audrey"],
    ).get_json()
    assert [e["actor"] for e in exported["items"]] == ["audrey"]

    # Nothing is left to review: destroyed, held, retained, permanent, not due.
    again = client.post("/api/v1/retention-reviews", headers=h["olga"]).get_json()
    assert again["items"] == [] and again["status"] == "closed"

    # Anyone with the public key checks an exported record offline.
    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", settings.database_url)
    _cli_verifies(did, signed)
    _format_1_still_verifies(rt, did)

    # An altered record no longer verifies.
    with rt.db.unit_of_work() as s:
        s.execute(text("UPDATE destruction_items SET title = 'forged' WHERE title = 'due'"))
    verified = client.get(f"/api/v1/destructions/{did}/record/verify", headers=h["audrey"])
    assert verified.get_json()["ok"] is False


def _format_1_still_verifies(rt: Runtime, destruction_id: int) -> None:
    """A record signed in the first release's layout (no departments, no format field)
    keeps verifying after the layout changed."""
    from archive_service.disposal.models import Destruction
    from archive_service.disposal.records import FORMATS
    from archive_service.policy import Caller

    with rt.db.unit_of_work() as s:
        dest = s.get(Destruction, destruction_id)
        assert dest is not None
        old_body = FORMATS[1](dest)
        assert "format" not in old_body and "department" not in old_body["approvals"][0]
        dest.record_format, dest.signature = 1, rt.signer.sign(old_body)
    with rt.db.unit_of_work() as s:
        assert records.verify_record(s, Caller.cli(), rt.signer, destruction_id)
        dest = s.get(Destruction, destruction_id)
        assert dest is not None
        dest.record_format = 2  # read in the other layout, the same signature fails
    with rt.db.unit_of_work() as s:
        assert not records.verify_record(s, Caller.cli(), rt.signer, destruction_id)
        dest = s.get(Destruction, destruction_id)
        assert dest is not None
        dest.record_format = 1


def _cli_verifies(destruction_id: int, signed: dict[str, Any]) -> None:
    import tempfile

    from archive_service.cli import main

    runner = CliRunner()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "record.json"
        exported = runner.invoke(
            main, ["destruction", "export", str(destruction_id), "--out", str(path)]
        )
        assert exported.exit_code == 0, exported.output
        assert json.loads(path.read_text())["signature"] == signed["signature"]
        ok = runner.invoke(main, ["destruction", "verify", str(path)])
        assert ok.exit_code == 0 and "valid" in ok.output, ok.output
        key = Path(folder) / "key.pem"
        key.write_text(signed["public_key"])
        forged = dict(signed, record=dict(signed["record"], place="别处"))
        path.write_text(json.dumps(forged, ensure_ascii=False))
        bad = runner.invoke(main, ["destruction", "verify", str(path), "--public-key", str(key)])
        assert bad.exit_code == 1 and "NOT valid" in bad.output


def test_nothing_is_listed_twice_and_rejection_frees_the_items(
    client: Any, archive: dict[str, int]
) -> None:
    h = headers(client)
    first = client.post("/api/v1/retention-reviews", headers=h["arch"]).get_json()
    assert len(first["items"]) == 3
    second = client.post("/api/v1/retention-reviews", headers=h["arch"]).get_json()
    assert second["items"] == []
    rid = first["id"]
    client.post(f"/api/v1/retention-reviews/{rid}/confirm", headers=h["olga"])
    for item in first["items"]:
        client.post(
            f"/api/v1/retention-reviews/{rid}/items/{item['document_id']}/appraisal",
            json={"decision": "destroy"},
            headers=h["arch"],
        )
    did = client.post(f"/api/v1/retention-reviews/{rid}/destruction", headers=h["arch"]).get_json()[
        "id"
    ]
    # Pending destruction: still not listed again.
    assert client.post("/api/v1/retention-reviews", headers=h["arch"]).get_json()["items"] == []
    no_reason = client.post(
        f"/api/v1/destructions/{did}/decision", json={"decision": "reject"}, headers=h["olga"]
    )
    assert no_reason.status_code == 422
    rejected = client.post(
        f"/api/v1/destructions/{did}/decision",
        json={"decision": "reject", "comment": "范围有误"},
        headers=h["olga"],
    )
    assert rejected.get_json()["status"] == "rejected"
    assert client.get(f"/api/v1/destructions/{did}/record", headers=h["arch"]).status_code == 409
    # Rejected: the documents are due again at the next review.
    third = client.post("/api/v1/retention-reviews", headers=h["arch"]).get_json()
    assert len(third["items"]) == 3


def test_roles_that_may_not_touch_disposal(client: Any, archive: dict[str, int]) -> None:
    h = headers(client)
    for who in ("clara", "mona"):
        assert client.post("/api/v1/retention-reviews", headers=h[who]).status_code == 403
        assert client.get("/api/v1/retention-reviews", headers=h[who]).status_code == 403
        assert client.get("/api/v1/destructions", headers=h[who]).status_code == 403
    assert client.post("/api/v1/retention-reviews").status_code == 401
    listed = client.get("/api/v1/retention-reviews", headers=h["audrey"])
    assert listed.status_code == 200 and listed.get_json()["total"] == 0
    assert client.get("/api/v1/retention-reviews/999", headers=h["arch"]).status_code == 404
    key = client.get("/api/v1/signing-key").get_json()
    assert key["public_key"].startswith("-----BEGIN PUBLIC KEY-----")


def test_the_beat_task_compiles_only_when_something_is_due(
    rt: Runtime, archive: dict[str, int]
) -> None:
    from workers.context import use_runtime
    from workers.tasks import compile_retention_review

    use_runtime(rt)
    try:
        review_id = compile_retention_review.run()
        assert review_id is not None
        assert compile_retention_review.run() is None  # all due documents are on the open list
    finally:
        use_runtime(None)
