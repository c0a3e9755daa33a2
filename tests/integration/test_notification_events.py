"""Who is told of what, through the services as the areas' users drive them (the
notification centre; no mail server is configured here, so e-mail is skipped, never
failed): a returned and an accepted document, a change request's chain, a grant about to
end, a fixity failure."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from archive_service.accounts import users
from archive_service.notifications import reminders
from archive_service.notifications.models import Delivery
from archive_service.notifications.vocabulary import DeliveryStatus
from archive_service.runtime import Runtime
from tests import samples
from tests.conftest import OPERATOR, PASSWORD, People, bearer, token_for


def _inbox(client: Any, who: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/notifications", headers=who).get_json()[
        "items"
    ]
    return items


def test_documents_changes_and_grants_tell_the_people_they_concern(
    client: Any, rt: Runtime, people: People
) -> None:
    people.department("OPS")
    people.department("SALES")
    with rt.db.unit_of_work() as s:  # an e-mail address, and no mail server: skipped
        users.create_user(
            s,
            OPERATOR,
            username="clara",
            password=PASSWORD,
            display_name="Clara",
            department="SALES",
            roles=["clerk"],
            email="clara@example.com",
            settings=rt.accounts,
        )
    people.user("arch", "archivist", department="OPS")
    people.user("olga", "operations_head", department="OPS")
    people.user("audrey", "auditor", department="OPS")
    h = {n: bearer(token_for(client, n)) for n in ("clara", "arch", "olga", "audrey")}
    customer = people.customer("clara")
    returned = people.document("clara", customer, samples.pdf("first"))
    resp = client.post(
        f"/api/v1/documents/{returned}/return", headers=h["arch"], json={"reason": "缺少盖章页"}
    )
    assert resp.status_code == 200, resp.get_json()
    [told] = _inbox(client, h["clara"])
    assert (
        told["kind"] == "document_returned" and told["text_zh"] == "您的文件被退回修改：缺少盖章页"
    )
    assert told["link"] == f"/documents/{returned}"

    accepted = people.document("clara", customer, samples.pdf("second"), accepted_by=("arch",))
    news = _inbox(client, h["clara"])[0]
    number = client.get(f"/api/v1/documents/{accepted}", headers=h["clara"]).get_json()[
        "archive_number"
    ]
    assert news["kind"] == "document_accepted" and news["archive_number"] == number
    assert news["text"] == f"Your document was accepted as {number}"
    with rt.db.session() as s:
        statuses = set(s.execute(select(Delivery.status)).scalars())
    assert statuses == {DeliveryStatus.SKIPPED}  # no mail server: nothing failed

    # A change request: the archivist's step waits, then the operations head's; the end
    # goes back to the clerk who filed it.
    resp = client.post(
        "/api/v1/change-requests",
        headers=h["clara"],
        content_type="multipart/form-data",
        data={
            "target_type": "document",
            "target_id": str(accepted),
            "reason": "标题有误",
            "values": json.dumps({"title": "营业执照（副本）"}),
            "evidence": [(io.BytesIO(samples.pdf("evidence")), "证明.pdf")],
        },
    )
    assert resp.status_code == 201, resp.get_json()
    change = resp.get_json()["id"]
    assert _inbox(client, h["arch"])[0]["text"] == (
        f"An approval waits for you: change request {change}"
    )
    assert _inbox(client, h["olga"]) == []
    for who in ("arch", "olga"):
        resp = client.post(
            f"/api/v1/change-requests/{change}/decision",
            headers=h[who],
            json={"decision": "approve", "comment": "同意"},
        )
        assert resp.status_code == 200, resp.get_json()
    assert _inbox(client, h["olga"])[0]["link"] == "/changes/inbox"
    assert _inbox(client, h["clara"])[0]["text_zh"] == (
        f"您的申请已有结果：变更申请 {change}，已批准"
    )


def test_a_grant_ending_within_three_days_is_told_once(
    client: Any, rt: Runtime, people: People
) -> None:
    people.department("OPS")
    people.user("clara", "clerk")
    people.user("arch", "archivist", department="OPS")
    people.user("sam", "department_head")
    people.user("sue", "requester")
    h = {n: bearer(token_for(client, n)) for n in ("sam", "sue")}
    customer = people.customer("clara", name="华夏贸易")
    people.document("clara", customer, samples.pdf("x"), accepted_by=("arch",))
    now = datetime.now(UTC)
    resp = client.post(
        "/api/v1/access-requests",
        headers=h["sue"],
        json={
            "purpose": "核对",
            "mode": "view",
            "customer": "华夏贸易",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=5)).isoformat(),
        },
    )
    request_id = resp.get_json()["id"]
    client.post(
        f"/api/v1/access-requests/{request_id}/decision",
        headers=h["sam"],
        json={"decision": "approve"},
    )
    assert reminders.grants_ending(rt.db, now) == 0  # five days left
    assert reminders.grants_ending(rt.db, now + timedelta(days=2, hours=1)) == 1
    assert reminders.grants_ending(rt.db, now + timedelta(days=3)) == 0
    kinds = [n["kind"] for n in _inbox(client, h["sue"])]
    assert kinds == ["grant_ending", "application_decided"]


def test_fixity_failures_tell_auditors_and_archivists_once_until_read(
    client: Any, rt: Runtime, people: People
) -> None:
    from tests.integration.fixity_helpers import flip_byte, put, sweeper

    people.department("OPS")
    people.user("arch", "archivist", department="OPS")
    people.user("audrey", "auditor", department="OPS")
    people.user("clara", "clerk")
    h = {n: bearer(token_for(client, n)) for n in ("arch", "audrey", "clara")}
    for data in (b"first object", b"second object"):
        flip_byte(rt, put(rt, data * 100))
    sweeper(rt).run_all()
    for who in ("arch", "audrey"):
        [told] = _inbox(client, h[who])
        assert told["kind"] == "fixity_failure" and told["link"] == "/fixity/"
    assert _inbox(client, h["clara"]) == []
    client.post("/api/v1/notifications/read", headers=h["audrey"])
    flip_byte(rt, put(rt, b"third object" * 100))
    sweeper(rt).run_all()
    assert len(_inbox(client, h["audrey"])) == 2 and len(_inbox(client, h["arch"])) == 1
