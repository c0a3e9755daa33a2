"""Recurring reviews (定期检查) on a calendar: the daily job opens each department's monthly
ledger check, yearly review of core customers and quarterly tier re-evaluation once their
period has ended (due a number of working days later, holidays skipped), tells who does
them, chases the late ones — the assignees once, then the operations head — and never
twice; the one who does a review records it, and a re-evaluation that changes a tier files
the change request. Each department sees its own reviews; the wrong people are refused."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from archive_service.accounts.models import Department
from archive_service.audit.models import AuditEvent
from archive_service.changes.models import ChangeRequest
from archive_service.duties.models import DutyTask
from archive_service.duties.services import run_daily
from archive_service.notifications.models import Notification
from archive_service.runtime import Runtime
from archive_service.workdays import Calendar
from tests.conftest import People, bearer, token_for
from tests.integration.test_web_accounts import csrf, login

CALENDAR = Calendar.load()  # the shipped one: China's 2026 holidays


@pytest.fixture
def offices(people: People, rt: Runtime) -> dict[str, Any]:
    people.user("hana", "department_head", department="SALES")
    people.user("clara", "clerk", department="SALES")
    people.user("fiona", "clerk", department="FIN")
    people.user("olga", "operations_head", department="OPS")
    people.user("audrey", "auditor", department="OPS")
    customer = people.customer("clara", name="等级客户", tier="ordinary")
    with rt.db.unit_of_work() as s:  # the departments have been here since last year
        s.execute(update(Department).values(created_at=datetime(2025, 1, 1, tzinfo=UTC)))
    return {"customer": customer}


def _tasks(rt: Runtime, dept: str) -> dict[str, DutyTask]:
    with rt.db.session() as s:
        rows = s.scalars(select(DutyTask).join(Department).where(Department.code == dept)).all()
        return {t.kind: t for t in rows}


def _told(rt: Runtime, kind: str) -> list[tuple[str, str]]:
    from archive_service.accounts.models import User

    with rt.db.session() as s:
        rows = s.execute(
            select(User.username, Notification.subject)
            .join(User, User.id == Notification.recipient_id)
            .where(Notification.kind == kind)
            .order_by(Notification.id)
        ).all()
        return [(u, str(sub)) for u, sub in rows]


def test_reviews_open_when_their_period_ends_and_late_ones_are_chased(
    rt: Runtime, offices: dict[str, Any]
) -> None:
    done = run_daily(rt.db, CALENDAR, date(2026, 12, 8))
    # Three kinds × SALES, FIN, OPS, all late already: their assignees are told at once,
    # and the operations head of the core and tier reviews, weeks late.
    assert done == {"opened": 3 * 3, "reminded": 3 * 3, "escalated": 3 * 2}
    sales = _tasks(rt, "SALES")
    assert {k: t.period for k, t in sales.items()} == {
        "ledger_check": "2026-11",
        "core_review": "2025",
        "tier_review": "2026-Q3",
    }
    assert sales["ledger_check"].due_on == date(2026, 12, 7)  # 5 working days after Nov 30
    # 10 working days after 30 September: the National Day week is off, Saturday 10
    # October is a make-up working day.
    assert sales["tier_review"].due_on == date(2026, 10, 20)
    due = _told(rt, "duty_due")
    assert ("hana", "ledger_check") in due and ("clara", "tier_review") in due
    assert ("fiona", "tier_review") in due and ("clara", "ledger_check") not in due

    # The next day: nothing opens twice; the late ones were told once already.
    assert run_daily(rt.db, CALENDAR, date(2026, 12, 9)) == {
        "opened": 0,
        "reminded": 0,
        "escalated": 0,
    }
    assert _tasks(rt, "SALES")["ledger_check"].escalated_on is None  # 2 working days late
    later = run_daily(rt.db, CALENDAR, date(2026, 12, 10))
    assert later == {"opened": 0, "reminded": 0, "escalated": 3}  # the ledger checks now
    olga = [sub for who, sub in _told(rt, "duty_overdue") if who == "olga"]
    assert sorted(olga) == sorted(["ledger_check", "core_review", "tier_review"] * 3)
    assert run_daily(rt.db, CALENDAR, date(2026, 12, 11)) == {
        "opened": 0,
        "reminded": 0,
        "escalated": 0,
    }
    with rt.db.session() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("duty.%"))).all()
    assert actions.count("duty.open") == 9 and actions.count("duty.reminded") == 9
    assert actions.count("duty.escalated") == 9


def test_doing_a_review_and_a_tier_change_filed(
    app: Any, client: Any, rt: Runtime, offices: dict[str, Any]
) -> None:
    run_daily(rt.db, CALENDAR, date(2026, 12, 8))
    sales, fin = _tasks(rt, "SALES"), _tasks(rt, "FIN")
    h = {u: bearer(token_for(client, u)) for u in ("hana", "clara", "fiona", "audrey")}

    # Each department sees its own reviews; the auditor all of them.
    assert client.get("/api/v1/duties", headers=h["clara"]).get_json()["total"] == 3
    assert client.get("/api/v1/duties", headers=h["audrey"]).get_json()["total"] == 9
    other = client.get(f"/api/v1/duties/{fin['ledger_check'].id}", headers=h["clara"])
    assert other.status_code == 403

    ledger = f"/api/v1/duties/{sales['ledger_check'].id}/complete"
    assert client.post(ledger, json={"result": "核对无误"}, headers=h["clara"]).status_code == 403
    assert client.post(ledger, json={"result": ""}, headers=h["hana"]).status_code == 422
    got = client.post(ledger, json={"result": "台账 12 户，核对无误"}, headers=h["hana"])
    assert got.status_code == 200 and got.get_json()["state"] == "done"
    assert got.get_json()["done_by"] == "hana"
    assert client.post(ledger, json={"result": "again"}, headers=h["hana"]).status_code == 409
    wrong = client.post(
        ledger.replace(str(sales["ledger_check"].id), str(sales["core_review"].id)),
        json={
            "result": "x",
            "tier_changes": [{"customer_id": offices["customer"], "tier": "core"}],
        },
        headers=h["clara"],
    )
    assert wrong.status_code == 422  # this review changes no tiers

    # The tier re-evaluation, in the browser: a changed tier files the change request.
    browser = app.test_client()
    assert login(browser, "clara").status_code == 302
    page = f"/duties/{sales['tier_review'].id}"
    shown = browser.get(page).get_data(as_text=True)
    assert 'id="tiers"' in shown and "等级客户" in shown
    cid = offices["customer"]
    sent = browser.post(
        f"{page}/complete",
        data={
            "csrf_token": csrf(browser, page),
            "result": "季度评估：一户升为重要",
            f"was-{cid}": "ordinary",
            f"tier-{cid}": "important",
            "reason": "交易额增长",
        },
    )
    assert sent.status_code == 302
    with rt.db.session() as s:
        task = s.get(DutyTask, sales["tier_review"].id)
        assert task is not None and task.state == "done" and task.filed
        req = s.get(ChangeRequest, task.filed[0]["change_id"])
        assert req is not None and req.target_id == cid
        assert req.changes["tier"]["after"] == "important" and "交易额增长" in req.reason
    assert "季度评估" in browser.get(page).get_data(as_text=True)
