"""Data that leaked around the rules (issue 14): personal details in change histories,
requests, evidence and forms; per-category counts; applying for access as an existence
oracle. Each test is one finding of the hostile test; the grant holder is a requester of
another department whose only grant is one document, in view mode."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_web_accounts import csrf, login

OLD_PHONE, NEW_PHONE = "021-5550001", "021-5559999"
OLD_CODE, NEW_CODE = "91310000MA1OLD0001", "91310000MA1NEW0002"
SECRETS = (OLD_PHONE, NEW_PHONE, OLD_CODE, NEW_CODE)


@pytest.fixture
def org(client: Any, people: People) -> dict[str, Any]:
    people.department("FIN", "财务部")
    people.department("OPS", "运营部")
    people.user("clara", "clerk", department="SALES")
    people.user("carl", "clerk", department="FIN")
    people.user("fay", "requester", department="FIN")
    people.user("finn", "requester", department="FIN")
    people.user("fred", "department_head", department="FIN")
    people.user("olga", "operations_head", department="OPS")
    people.user("arch", "archivist", department="OPS")
    h = {
        n: bearer(token_for(client, n))
        for n in ("clara", "carl", "fay", "finn", "fred", "olga", "arch")
    }
    cid = people.customer("clara", name="华夏贸易", phone=OLD_PHONE, credit_code=OLD_CODE)
    docs = {
        name: people.document(
            "clara",
            cid,
            samples.pdf(name),
            title=name,
            category=category,
            facts=facts,
            accepted_by=("arch",),
        )
        for name, category, facts in (
            ("contract", "business.contract", {"contract_number": "HT-1"}),
            ("licence", "basic.profile", None),
            ("report", "basic.profile", None),
        )
    }
    numbers = {
        name: client.get(f"/api/v1/documents/{d}", headers=h["clara"]).get_json()["archive_number"]
        for name, d in docs.items()
    }
    # The phone number and the credit code change, with the notice as evidence.
    filed = client.post(
        "/api/v1/change-requests",
        headers=h["clara"],
        content_type="multipart/form-data",
        data={
            "target_type": "customer",
            "target_id": str(cid),
            "reason": "工商变更",
            "values": json.dumps({"phone": NEW_PHONE, "credit_code": NEW_CODE}),
            "evidence": [(io.BytesIO(samples.pdf("notice")), "变更通知.pdf")],
        },
    )
    assert filed.status_code == 201, filed.get_json()
    change = filed.get_json()
    for who in ("arch", "olga"):
        decided = client.post(
            f"/api/v1/change-requests/{change['id']}/decision",
            headers=h[who],
            json={"decision": "approve"},
        )
        assert decided.status_code == 200, decided.get_json()
    assert decided.get_json()["status"] == "applied"
    # fay's only grant: the contract, view mode (applied for in the browser, by number).
    browser = client.application.test_client()
    assert login(browser, "fay").status_code == 302
    today = datetime.now(UTC).date()
    applied = browser.post(
        "/access/apply",
        data={
            "csrf_token": csrf(browser, "/access/apply"),
            "purpose": "核对合同",
            "numbers": numbers["contract"],
            "mode": "view",
            "starts": today.isoformat(),
            "ends": (today + timedelta(days=7)).isoformat(),
        },
    )
    assert applied.status_code == 302, applied.get_data(as_text=True)[-800:]
    mine = client.get("/api/v1/access-requests", headers=h["fay"]).get_json()["items"]
    for who in ("fred", "olga"):
        client.post(
            f"/api/v1/access-requests/{mine[0]['id']}/decision",
            headers=h[who],
            json={"decision": "approve"},
        )
    assert client.get(f"/api/v1/documents/{docs['contract']}", headers=h["fay"]).status_code == 200
    return {
        "h": h,
        "customer": cid,
        "docs": docs,
        "numbers": numbers,
        "change": change["id"],
        "evidence": change["evidence"][0]["id"],
        "browser": browser,
    }


def _no_secret(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def test_personal_details_and_evidence_follow_the_customer_rule(client: Any, org: Any) -> None:
    h, cid, change = org["h"], org["customer"], org["change"]
    evidence = f"/api/v1/change-requests/{change}/evidence/{org['evidence']}"
    # The grant holder sees the customer, its history and the request, but none of the
    # personal values, and not the evidence.
    record = client.get(f"/api/v1/customers/{cid}", headers=h["fay"])
    assert record.status_code == 200 and _no_secret(record.get_data(as_text=True)) == []
    history = client.get(f"/api/v1/customers/{cid}/history", headers=h["fay"])
    assert history.status_code == 200
    assert _no_secret(history.get_data(as_text=True)) == []
    item = history.get_json()["items"][0]
    assert item["changes"]["phone"] == {"before": None, "after": None, "hidden": True}
    assert item["evidence"] == []
    one = client.get(f"/api/v1/change-requests/{change}", headers=h["fay"])
    assert one.status_code == 200 and _no_secret(one.get_data(as_text=True)) == []
    refused = client.get(evidence, headers=h["fay"])
    assert refused.status_code == 403
    assert refused.get_json()["error"]["rule"] == "personal-details"
    browser = org["browser"]
    page = browser.get(f"/customers/{cid}")
    assert page.status_code == 200 and _no_secret(page.get_data(as_text=True)) == []
    form = browser.get(f"/changes/new?target_type=customer&target_id={cid}")
    assert form.status_code == 403 and _no_secret(form.get_data(as_text=True)) == []
    # The customer's own department sees everything and reads the evidence.
    own = client.get(f"/api/v1/customers/{cid}/history", headers=h["clara"]).get_json()
    assert own["items"][0]["changes"]["phone"] == {"before": OLD_PHONE, "after": NEW_PHONE}
    assert client.get(evidence, headers=h["clara"]).data == samples.pdf("notice")
    # Whoever a step named decided on exactly these values and this evidence.
    decider = client.get(f"/api/v1/change-requests/{change}", headers=h["olga"]).get_json()
    assert decider["changes"]["credit_code"] == {"before": OLD_CODE, "after": NEW_CODE}
    assert client.get(evidence, headers=h["olga"]).data == samples.pdf("notice")
    # Without any grant, the customer's history is not even there.
    assert client.get(f"/api/v1/customers/{cid}/history", headers=h["carl"]).status_code == 404
    assert client.get(f"/api/v1/change-requests/{change}", headers=h["carl"]).status_code == 404


def test_counts_show_only_what_the_caller_may_open(client: Any, org: Any) -> None:
    h, cid = org["h"], org["customer"]
    fay = client.get(f"/api/v1/customers/{cid}", headers=h["fay"]).get_json()
    assert fay["documents_by_category"] == {"business.contract": 1}
    clara = client.get(f"/api/v1/customers/{cid}", headers=h["clara"]).get_json()
    assert clara["documents_by_category"] == {"business.contract": 1, "basic.profile": 2}
    page = org["browser"].get(f"/customers/{cid}?lang=en").get_data(as_text=True)
    counts = [int(n) for n in re.findall(r'<span class="count">(\d+)</span>', page)]
    assert counts and max(counts) == 1, counts


def _apply(client: Any, who: dict[str, str], **scope: Any) -> Any:
    now = datetime.now(UTC)
    return client.post(
        "/api/v1/access-requests",
        headers=who,
        json={
            "purpose": "核对",
            "mode": "view",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=2)).isoformat(),
            **scope,
        },
    )


def test_applying_by_id_does_not_tell_what_exists(client: Any, org: Any) -> None:
    h, docs, cid = org["h"], org["docs"], org["customer"]
    finn = h["finn"]  # a requester with no grant at all
    hidden = _apply(client, finn, document_ids=[docs["licence"]])
    unknown = _apply(client, finn, document_ids=[999_999])
    assert hidden.status_code == unknown.status_code == 422
    assert hidden.get_json() == unknown.get_json()
    hidden = _apply(client, finn, customer_id=cid)
    unknown = _apply(client, finn, customer_id=999_999)
    assert hidden.status_code == unknown.status_code == 422
    assert hidden.get_json() == unknown.get_json()
    # What an applicant is given from outside names what they may not see: the archive
    # number; and the answer does not tell them whose archive it is.
    by_number = _apply(client, finn, numbers=[org["numbers"]["licence"]])
    assert by_number.status_code == 201, by_number.get_json()
    assert by_number.get_json()["customer_id"] is None
    assert by_number.get_json()["document_ids"] == [docs["licence"]]
    browser = client.application.test_client()
    assert login(browser, "finn").status_code == 302
    mine = browser.get("/access/mine")
    assert mine.status_code == 200 and "华夏贸易" not in mine.get_data(as_text=True)
    # Their approvers see whose it is.
    inbox = client.get("/api/v1/access-requests/inbox", headers=h["fred"]).get_json()["items"]
    assert [r["customer_id"] for r in inbox] == [cid]
    # A document known to the caller (here by a view grant) may be named by id, to ask for
    # more; a customer the caller may see, by its id.
    known = _apply(client, h["fay"], document_ids=[docs["contract"]], mode="download")
    assert known.status_code == 201, known.get_json()
    assert known.get_json()["customer_id"] == cid
    assert _apply(client, h["fay"], customer_id=cid).status_code == 201
