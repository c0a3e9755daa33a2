"""Hold cases through the API: overlapping cases, customer-level cases that hold later
uploads and stop destruction, the per-document routes as single-document cases, and bad
input that changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from archive_service.archive.models import Document
from archive_service.archive.retention import add_years
from archive_service.audit.models import AuditEvent
from archive_service.runtime import Runtime
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_archive_api import upload

TODAY = datetime.now(UTC)
ELEVEN_YEARS_AGO = TODAY - timedelta(days=11 * 366)
NAMES = ("clara", "arch", "olga", "leo", "sven", "audrey")


@pytest.fixture
def org(people: People) -> None:
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    people.user("olga", "operations_head", department="OPS")
    people.user("leo", "leader", department="OPS")
    people.user("sven", "supervisor", department="OPS")
    people.user("audrey", "auditor", department="OPS")


def headers(client: Any) -> dict[str, dict[str, str]]:
    return {n: bearer(token_for(client, n)) for n in NAMES}


def _old_documents(people: People, customer_name: str, *titles: str) -> tuple[int, list[int]]:
    """A customer and its documents, filed eleven years ago (due for disposal now)."""
    with time_machine.travel(ELEVEN_YEARS_AGO, tick=True):
        customer = people.customer("clara", name=customer_name, credit_code=customer_name)
        ids = [
            people.document(
                "clara",
                customer,
                samples.pdf(t),
                title=t,
                filename=f"{t}.pdf",
                accepted_by=("arch",),
            )
            for t in titles
        ]
    return customer, ids


def _state(rt: Runtime, doc_id: int) -> tuple[bool, date | None, date | None]:
    with rt.db.unit_of_work() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None
        return doc.on_hold, doc.hold_released_on, doc.disposal_date


def _case(client: Any, h: dict[str, str], **body: Any) -> Any:
    return client.post(
        "/api/v1/holds", json={"basis": "litigation", "reason": "诉讼保全", **body}, headers=h
    )


def test_overlapping_cases_release_only_what_no_other_case_holds(
    client: Any, rt: Runtime, people: People, org: None
) -> None:
    _customer, (d1, d2, d3) = _old_documents(people, "华夏贸易", "d1", "d2", "d3")
    h = headers(client)
    x = _case(
        client, h["arch"], name="合同纠纷案", reference="(2026)沪01民初123号", document_ids=[d1, d2]
    )
    assert x.status_code == 201, x.get_json()
    x_id = x.get_json()["id"]
    # The operations head opens a case; documents she may not see are unknown to her.
    y = _case(client, h["olga"], name="税务审计", basis="audit", owner="arch")
    assert y.status_code == 201 and y.get_json()["owner"] == "arch"
    y_id = y.get_json()["id"]
    hidden = client.post(
        f"/api/v1/holds/{y_id}/items", json={"document_ids": [d2]}, headers=h["olga"]
    )
    assert hidden.status_code == 422 and hidden.get_json()["error"]["unknown"] == [d2]
    for step in ([d2], [d3, d2]):
        added = client.post(
            f"/api/v1/holds/{y_id}/items", json={"document_ids": step}, headers=h["arch"]
        )
        assert added.status_code == 200
    assert [i["document_id"] for i in added.get_json()["items"]] == [d2, d3]
    for d in (d1, d2, d3):
        assert _state(rt, d)[0] is True and _state(rt, d)[2] is None

    # The per-document routes: d1 is held by a named case only, so there is nothing of its
    # own to release (409 naming the case); a hold of its own outlives the named case.
    refused = client.delete(
        f"/api/v1/documents/{d1}/hold", json={"reason": "结案"}, headers=h["arch"]
    )
    assert refused.status_code == 409 and refused.get_json()["error"]["case_ids"] == [x_id]
    own = client.post(
        f"/api/v1/documents/{d1}/hold", json={"reason": "投诉未结"}, headers=h["arch"]
    )
    assert own.status_code == 200 and own.get_json()["on_hold"] is True

    released = client.post(
        f"/api/v1/holds/{x_id}/release", json={"reason": "已调解结案"}, headers=h["arch"]
    )
    assert released.status_code == 200 and released.get_json()["state"] == "released"
    assert _state(rt, d1)[0] is True  # its own single-document case
    assert _state(rt, d2)[0] is True and _state(rt, d2)[1] is None  # still in case Y
    again = client.post(f"/api/v1/holds/{x_id}/release", json={"reason": "x"}, headers=h["arch"])
    assert again.status_code == 409
    freed = client.delete(
        f"/api/v1/documents/{d1}/hold", json={"reason": "投诉已处理"}, headers=h["arch"]
    )
    assert freed.status_code == 200 and freed.get_json()["on_hold"] is False
    today = date.today()
    assert _state(rt, d1) == (False, today, add_years(today, 5))

    # Y released a year later: the years count from this, the last release.
    later = TODAY + timedelta(days=400)
    with time_machine.travel(later, tick=True):
        token = bearer(token_for(client, "olga"))
        done = client.post(
            f"/api/v1/holds/{y_id}/release", json={"reason": "审计完成"}, headers=token
        )
        assert done.status_code == 200
    for d in (d2, d3):
        assert _state(rt, d) == (False, later.date(), add_years(later.date(), 5))
    assert _state(rt, d1)[1] == today  # Y never held it: untouched

    listed = client.get("/api/v1/holds?state=released", headers=h["arch"]).get_json()
    assert {c["id"] for c in listed["items"]} >= {x_id, y_id}
    assert client.get("/api/v1/holds?state=open", headers=h["arch"]).get_json()["total"] == 0
    detail = client.get(f"/api/v1/holds/{y_id}", headers=h["olga"]).get_json()
    assert [e["action"] for e in detail["history"]] == [
        "created",
        "items_added",
        "items_added",
        "released",
    ]
    assert detail["history"][2]["document_ids"] == [d3] and detail["release_reason"] == "审计完成"
    with rt.db.unit_of_work() as s:
        actions = s.execute(
            select(AuditEvent.action).where(
                AuditEvent.target_type == "hold_case", AuditEvent.target_id == str(y_id)
            )
        ).scalars()
        assert list(actions) == [
            "hold.create",
            "hold.items_added",
            "hold.items_added",
            "hold.release",
        ]


def test_a_customer_case_holds_later_uploads_and_stops_destruction(
    client: Any, rt: Runtime, people: People, org: None
) -> None:
    _gone_customer, (due,) = _old_documents(people, "旧客户", "due")
    held_customer, (held,) = _old_documents(people, "涉诉客户", "held")
    h = headers(client)
    # Both are due: review, appraisal, approvals.
    review = client.post("/api/v1/retention-reviews", headers=h["arch"]).get_json()
    assert {i["document_id"] for i in review["items"]} == {due, held}
    rid = review["id"]
    assert (
        client.post(f"/api/v1/retention-reviews/{rid}/confirm", headers=h["olga"]).status_code
        == 200
    )
    for d in (due, held):
        r = client.post(
            f"/api/v1/retention-reviews/{rid}/items/{d}/appraisal",
            json={"decision": "destroy"},
            headers=h["arch"],
        )
        assert r.status_code == 200
    did = client.post(f"/api/v1/retention-reviews/{rid}/destruction", headers=h["arch"]).get_json()[
        "id"
    ]
    for who in ("olga", "leo"):
        r = client.post(
            f"/api/v1/destructions/{did}/decision", json={"decision": "approve"}, headers=h[who]
        )
        assert r.status_code == 200

    # After approval, a case takes the whole customer: its document is held at once...
    case = _case(client, h["arch"], name="涉诉客户全部档案", customer_ids=[held_customer])
    assert case.status_code == 201 and case.get_json()["customers"] == 1
    case_id = case.get_json()["id"]
    assert _state(rt, held)[0] is True
    # ... and so is a document uploaded later, from its upload on, and once accepted.
    new = upload(
        client, h["clara"], held_customer, samples.pdf("later"), title="补充协议"
    ).get_json()
    assert new["on_hold"] is True
    accepted = client.post(f"/api/v1/documents/{new['id']}/accept", headers=h["arch"]).get_json()
    assert accepted["on_hold"] is True and accepted["disposal_date"] is None

    # Destruction re-checks inside its transaction: the held one is skipped.
    started = client.post(
        f"/api/v1/destructions/{did}/execute",
        json={"supervisor": "sven", "place": "机房"},
        headers=h["arch"],
    )
    assert started.status_code == 202, started.get_json()
    record = client.get(f"/api/v1/destructions/{did}/record", headers=h["audrey"]).get_json()
    results = {i["title"]: i["result"] for i in record["record"]["items"]}
    assert results == {"due": "destroyed", "held": "skipped_hold"}
    assert client.get(f"/api/v1/documents/{held}", headers=h["arch"]).status_code == 200

    # A destroyed document cannot join a case; nothing is added.
    refused = client.post(
        f"/api/v1/holds/{case_id}/items", json={"document_ids": [due]}, headers=h["arch"]
    )
    assert refused.status_code == 409 and refused.get_json()["error"]["document_ids"] == [due]
    assert client.get(f"/api/v1/holds/{case_id}", headers=h["arch"]).get_json()["documents"] == 0

    # Released: the customer's documents, the later one too, are free.
    r = client.post(
        f"/api/v1/holds/{case_id}/release", json={"reason": "诉讼终结"}, headers=h["arch"]
    )
    assert r.status_code == 200
    assert _state(rt, held)[:2] == (False, date.today())
    assert _state(rt, new["id"])[:2] == (False, date.today())


def test_bad_input_changes_nothing(client: Any, rt: Runtime, people: People, org: None) -> None:
    customer = people.customer("clara")
    doc = people.document("clara", customer, samples.pdf("one"), accepted_by=("arch",))
    h = headers(client)
    assert _case(client, h["clara"], name="x").status_code == 403
    assert client.get("/api/v1/holds", headers=h["clara"]).status_code == 403
    assert client.get("/api/v1/holds", headers=h["audrey"]).status_code == 403
    assert _case(client, h["arch"], name="").status_code == 422
    assert _case(client, h["arch"], name="x", basis="whim").status_code == 422
    assert _case(client, h["arch"], name="x", reason="   ").status_code == 422
    assert _case(client, h["arch"], name="x", owner="nobody").status_code == 422
    unknown = _case(client, h["arch"], name="x", document_ids=[doc, 999999])
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["unknown"] == [999999]
    assert "999999" in unknown.get_json()["error"]["message"]
    assert client.get("/api/v1/holds", headers=h["arch"]).get_json()["total"] == 0  # all or none
    assert _state(rt, doc)[0] is False

    case_id = _case(client, h["arch"], name="审计", document_ids=[doc]).get_json()["id"]
    items = f"/api/v1/holds/{case_id}/items"
    for body in (
        {},
        {"customer_ids": [customer, 424242]},
        {"document_ids": ["x"]},
        {"document_ids": [0]},
    ):
        r = client.post(items, json=body, headers=h["arch"])
        assert r.status_code == 422, (body, r.get_json())
    assert client.post(
        items, json={"customer_ids": [customer, 424242]}, headers=h["arch"]
    ).get_json()["error"]["unknown"] == [424242]
    assert (
        client.post(
            "/api/v1/holds/999999/items", json={"document_ids": [doc]}, headers=h["arch"]
        ).status_code
        == 404
    )
    release = f"/api/v1/holds/{case_id}/release"
    for reason in ({}, {"reason": ""}, {"reason": "  "}):
        assert client.post(release, json=reason, headers=h["arch"]).status_code == 422
    assert client.post(release, json={"reason": "x"}, headers=h["clara"]).status_code == 403
    detail = client.get(f"/api/v1/holds/{case_id}", headers=h["arch"]).get_json()
    assert detail["state"] == "open" and detail["customers"] == 0 and _state(rt, doc)[0] is True
    assert client.post(release, json={"reason": "完成"}, headers=h["arch"]).status_code == 200
    assert client.post(release, json={"reason": "完成"}, headers=h["arch"]).status_code == 409
    assert client.post(items, json={"document_ids": [doc]}, headers=h["arch"]).status_code == 409
    assert client.get("/api/v1/holds/999999", headers=h["arch"]).status_code == 404
    assert client.get("/api/v1/holds?state=whatever", headers=h["arch"]).status_code == 422
