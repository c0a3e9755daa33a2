"""Event-driven retention: a category's clock starts at the latest of the dates it names —
filing, date facts, the last hold release, the end of the customer relationship (waited
for) — the relationship ends by change request, every recomputation is recorded, triggers
are only added, and a review re-checks each date before listing it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import time_machine

from archive_service.archive.models import Document, RetentionChange
from archive_service.runtime import Runtime
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_changes_api import decide, file
from tests.integration.test_web_accounts import login


def _today() -> date:
    """Asked each time: a suite that runs past midnight must not carry yesterday's date."""
    return date.today()


def _org(client: Any, people: People) -> dict[str, dict[str, str]]:
    people.department("OPS", "运营部")
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    people.user("olga", "operations_head", department="OPS")
    people.user("leo", "leader", department="OPS")
    people.user("root", "admin", department=None)
    return {n: bearer(token_for(client, n)) for n in ("clara", "arch", "olga", "leo", "root")}


def _doc(client: Any, h: Any, doc_id: int) -> dict[str, Any]:
    got = client.get(f"/api/v1/documents/{doc_id}", headers=h["clara"])
    assert got.status_code == 200
    return dict(got.get_json())


def _through_the_chain(client: Any, h: Any, change_id: int, *deciders: str) -> None:
    for who in deciders:
        assert decide(client, h[who], change_id).status_code == 200, who


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def test_the_clock_waits_for_the_relationship_to_end(
    client: Any, people: People, rt: Runtime
) -> None:
    h = _org(client, people)
    today = _today()
    made = client.post(
        "/api/v1/categories",
        headers=h["root"],
        json={
            "code": "business.framework",
            "name_zh": "框架协议",
            "name_en": "Framework agreements",
            "retention_triggers": ["relationship_end", "valid_until"],
            "facts": [{"name": "valid_until", "type": "date", "label_zh": "有效期至"}],
        },
    )
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["retention_triggers"] == ["filing", "relationship_end", "valid_until"]
    bad = client.post(
        "/api/v1/categories",
        headers=h["root"],
        json={"code": "business.x", "name_zh": "x", "name_en": "x", "retention_triggers": ["y"]},
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "retention_triggers"

    customer = people.customer("clara")
    expiry = today + timedelta(days=400)
    doc = people.document(
        "clara",
        customer,
        samples.pdf("framework"),
        category="business.framework",
        retention_class="short",
        facts={"valid_until": expiry.isoformat()},
        accepted_by=("arch",),
    )
    assert _doc(client, h, doc)["disposal_date"] is None  # the relationship goes on
    login(client, "clara")
    page = client.get(f"/documents/{doc}").get_data(as_text=True)
    assert "尚未确定：保管期限自客户关系终止起计算" in page
    listing = client.get(f"/customers/{customer}").get_data(as_text=True)
    assert "合作中" in listing and "自合作终止起计算" in listing

    # Ending it: by change request, with a date and a reason; no future end, no silent one.
    ended = today - timedelta(days=30)
    future = file(
        client,
        h["clara"],
        "customer",
        customer,
        values={"relationship_ended_on": (today + timedelta(days=1)).isoformat()},
    )
    assert future.status_code == 422
    assert future.get_json()["error"]["field"] == "relationship_ended_on"
    silent = file(
        client,
        h["clara"],
        "customer",
        customer,
        values={"relationship_ended_on": ended.isoformat()},
    )
    assert silent.status_code == 422
    assert silent.get_json()["error"]["field"] == "relationship_end_reason"
    assert _doc(client, h, doc)["disposal_date"] is None  # a refused request changes nothing
    req = file(
        client,
        h["clara"],
        "customer",
        customer,
        reason="合作终止",
        values={"relationship_ended_on": ended.isoformat(), "relationship_end_reason": "合同到期"},
    ).get_json()
    assert [s["role"] for s in req["steps"]] == ["archivist", "operations_head"]
    _through_the_chain(client, h, req["id"], "arch", "olga")

    shown = client.get(f"/api/v1/customers/{customer}", headers=h["clara"]).get_json()
    assert shown["relationship"] == "ended"
    assert shown["relationship_ended_on"] == ended.isoformat()
    assert shown["relationship_end_reason"] == "合同到期"
    assert f"已于 {ended.isoformat()} 终止：合同到期" in client.get(
        f"/customers/{customer}"
    ).get_data(as_text=True)
    # The latest of filing, expiry and the end: here the contract's expiry.
    assert _doc(client, h, doc)["disposal_date"] == _add_years(expiry, 5).isoformat()
    with rt.db.unit_of_work() as s:
        causes = [
            c.cause for c in s.query(RetentionChange).filter(RetentionChange.document_id == doc)
        ]
    assert any(c.startswith("customer relationship ended (change request") for c in causes)

    # An earlier end would start the clocks sooner: a leader decides it too.
    earlier = file(
        client,
        h["clara"],
        "customer",
        customer,
        reason="更正终止日期",
        values={"relationship_ended_on": (ended - timedelta(days=10)).isoformat()},
    ).get_json()
    assert [s["role"] for s in earlier["steps"]][-1] == "leader"


def test_triggers_are_only_added_and_the_dates_follow(
    client: Any, people: People, rt: Runtime
) -> None:
    h = _org(client, people)
    customer = people.customer("clara")
    doc = people.document("clara", customer, samples.pdf("licence"), accepted_by=("arch",))
    assert _doc(client, h, doc)["disposal_date"] is not None
    url = "/api/v1/categories/basic.profile/retention-triggers"
    assert (
        client.post(url, json={"retention_triggers": ["relationship_end"]}, headers=h["arch"])
    ).status_code == 403
    unknown = client.post(url, json={"retention_triggers": ["contract_end"]}, headers=h["root"])
    assert unknown.status_code == 422
    added = client.post(url, json={"retention_triggers": ["relationship_end"]}, headers=h["root"])
    assert added.status_code == 200, added.get_json()
    assert added.get_json()["retention_triggers"] == ["filing", "relationship_end"]
    assert _doc(client, h, doc)["disposal_date"] is None  # now waits for the end
    again = client.post(url, json={"retention_triggers": ["filing"]}, headers=h["root"])
    assert again.status_code == 422  # nothing to add; removing is not offered
    tree = client.get("/api/v1/categories", headers=h["clara"]).get_json()["items"]
    profile = next(c for t in tree for c in t["children"] if c["code"] == "basic.profile")
    assert profile["retention_triggers"] == ["filing", "relationship_end"]


def test_a_review_rechecks_each_date_before_listing_it(
    client: Any, people: People, rt: Runtime
) -> None:
    h = _org(client, people)
    today = _today()
    with time_machine.travel(today - timedelta(days=6 * 366), tick=True):
        customer = people.customer("clara")
        due = people.document("clara", customer, samples.pdf("old"), accepted_by=("arch",))
        stale = people.document(
            "clara",
            customer,
            samples.pdf("contract"),
            category="business.contract",
            facts={"contract_number": "HT-9"},
            accepted_by=("arch",),
        )
    later = _add_years(today + timedelta(days=30), 0)
    with rt.db.unit_of_work() as s:
        # The contract's expiry was recorded after it was filed, and its stored date is of
        # the first release's rule (the expiry alone), which the latest-of rule lengthens.
        doc = s.get(Document, stale)
        assert doc is not None
        doc.facts = {**doc.facts, "valid_until": (later - timedelta(days=5 * 366)).isoformat()}
        doc.disposal_date = today - timedelta(days=300)
    listed = client.post("/api/v1/retention-reviews", headers=h["arch"])
    assert listed.status_code == 201, listed.get_json()
    assert [i["document_id"] for i in listed.get_json()["items"]] == [due]
    stored = _doc(client, h, stale)["disposal_date"]
    assert stored is not None and date.fromisoformat(stored) > today
