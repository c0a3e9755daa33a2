"""Access applications end to end through the API: chains, wrong approvers, self-approval,
decided steps, grants with exact scope, mode and window, revocation, expiry, register."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from tests import samples
from tests.conftest import People, bearer, token_for

NOW = datetime.now(UTC)


@pytest.fixture
def org(client: Any, people: People) -> dict[str, Any]:
    people.department("FIN", "财务部")
    people.department("OPS", "运营部")
    people.user("clara", "clerk", department="SALES")
    people.user("sam", "department_head", department="SALES")
    people.user("sue", "requester", department="SALES")
    people.user("fay", "requester", department="FIN")
    people.user("fred", "department_head", department="FIN")
    people.user("olga", "operations_head", department="OPS")
    people.user("arch", "archivist", department="OPS")
    people.user("audrey", "auditor", department="OPS")
    people.user("root", "admin", department=None)
    h = {
        n: bearer(token_for(client, n))
        for n in ("clara", "sam", "sue", "fay", "fred", "olga", "arch", "audrey", "root")
    }
    cid = client.post(
        "/api/v1/customers",
        headers=h["clara"],
        json={
            "name": "华夏贸易",
            "customer_type": "enterprise",
            "department": "SALES",
            "phone": "021-1",
        },
    ).get_json()["id"]
    docs, numbers = {}, {}
    for name, category, extra in (
        ("contract", "business.contract", {"facts.contract_number": "HT-1"}),
        ("licence", "basic.profile", {}),
        ("complaint", "service.complaint", {}),
    ):
        d = client.post(
            "/api/v1/documents",
            headers=h["clara"],
            content_type="multipart/form-data",
            data={
                "customer_id": str(cid),
                "category": category,
                "title": name,
                "retention_class": "short",
                **extra,
                "file": (io.BytesIO(samples.pdf(name)), f"{name}.pdf"),
            },
        ).get_json()
        accepted = client.post(f"/api/v1/documents/{d['id']}/accept", headers=h["arch"])
        docs[name] = d["id"]
        numbers[name] = accepted.get_json()["archive_number"]
    # Applicants name what they may not see by archive number (as they were given it) or by
    # the customer's exact name: ids are the service's own, shown only to who may see them.
    return {"h": h, "customer": cid, "name": "华夏贸易", "docs": docs, "numbers": numbers}


def apply(client: Any, who: dict[str, str], **body: Any) -> Any:
    payload = {
        "purpose": "年度对账核查",
        "mode": "download",
        "starts_at": (NOW - timedelta(minutes=1)).isoformat(),
        "ends_at": (NOW + timedelta(days=7)).isoformat(),
        **body,
    }
    return client.post("/api/v1/access-requests", json=payload, headers=who)


def decide(
    client: Any,
    who: dict[str, str],
    rid: int,
    decision: str = "approve",
    comment: str | None = None,
) -> Any:
    return client.post(
        f"/api/v1/access-requests/{rid}/decision",
        headers=who,
        json={"decision": decision, "comment": comment},
    )


def test_cross_department_two_level_chain(client: Any, org: Any, rt: Any) -> None:
    h, docs = org["h"], org["docs"]
    contract = f"/api/v1/documents/{docs['contract']}/content"
    assert client.get(contract, headers=h["fay"]).status_code == 404  # before: not even known
    r = apply(client, h["fay"], numbers=[org["numbers"]["contract"]])
    assert r.status_code == 201, r.get_json()
    req = r.get_json()
    assert req["status"] == "pending"
    assert [(s["role"], s["department"], s["status"]) for s in req["approval_steps"]] == [
        ("department_head", "FIN", "pending"),
        ("operations_head", "OPS", "waiting"),
    ]
    # The applicant cannot approve, nor can the wrong head, nor the ops head out of turn.
    for who, rule in (
        ("fay", "no-self-approval"),
        ("sam", "step-department_head"),
        ("olga", "step-department_head"),
    ):
        resp = decide(client, h[who], req["id"])
        assert resp.status_code == 403, who
        assert resp.get_json()["error"]["rule"] == rule
    inbox = client.get("/api/v1/access-requests/inbox", headers=h["fred"]).get_json()
    assert [i["id"] for i in inbox["items"]] == [req["id"]]
    assert client.get("/api/v1/access-requests/inbox", headers=h["olga"]).get_json()["total"] == 0
    step1 = decide(client, h["fred"], req["id"], comment="同意").get_json()
    assert step1["status"] == "pending"
    assert step1["approval_steps"][0]["decided_by"] == "fred"
    assert client.get(contract, headers=h["fay"]).status_code == 404  # one approval is not enough
    assert client.get("/api/v1/access-requests/inbox", headers=h["olga"]).get_json()["total"] == 1
    done = decide(client, h["olga"], req["id"]).get_json()
    assert done["status"] == "approved" and done["grant_id"]
    # Deciding an already decided application is a conflict.
    assert decide(client, h["olga"], req["id"]).status_code == 409
    # Exactly the scope: the contract, not the licence.
    got = client.get(contract, headers=h["fay"])
    assert got.status_code == 200 and got.data == samples.pdf("contract")
    assert (
        client.get(f"/api/v1/documents/{docs['licence']}/content", headers=h["fay"]).status_code
        == 404
    )
    listed = client.get("/api/v1/documents", headers=h["fay"]).get_json()
    assert [d["id"] for d in listed["items"]] == [docs["contract"]] and listed["total"] == 1
    # The customer is visible, its personal details are not.
    cust = client.get(f"/api/v1/customers/{org['customer']}", headers=h["fay"]).get_json()
    assert cust["name"] == "华夏贸易" and cust["phone"] is None
    # The register shows the reading under the grant.
    reg = client.get("/api/v1/access-register?user=fay", headers=h["audrey"]).get_json()
    assert reg["total"] == 1
    assert reg["items"][0] | {"at": None} == {
        "at": None,
        "user": "fay",
        "document_id": docs["contract"],
        "archive_number": reg["items"][0]["archive_number"],
        "action": "download",
        "grant_id": done["grant_id"],
        "purpose": None,
        "rule": "grant",
        "session": None,  # supervised viewing only
        "page": None,
        "supervisor": None,
    }
    assert client.get("/api/v1/access-register", headers=h["fay"]).status_code == 403


def test_same_department_needs_only_the_department_head(client: Any, org: Any) -> None:
    h = org["h"]
    req = apply(
        client, h["sue"], customer=org["name"], categories=["service.complaint"], mode="view"
    ).get_json()
    assert [s["role"] for s in req["approval_steps"]] == ["department_head"]
    assert decide(client, h["fred"], req["id"]).status_code == 403  # another department's head
    assert decide(client, h["sam"], req["id"]).get_json()["status"] == "approved"
    complaint = f"/api/v1/documents/{org['docs']['complaint']}/content"
    # A view grant: page images, never the file (no download, no inline preview either).
    pages = f"/api/v1/documents/{org['docs']['complaint']}/pages"
    assert client.get(pages, headers=h["sue"]).get_json()["pages"] == 1
    for url in (complaint, complaint + "?disposition=inline"):
        resp = client.get(url, headers=h["sue"])
        assert resp.status_code == 403 and resp.get_json()["error"]["rule"] == "grant-view-only"
    # Other categories stay closed.
    assert (
        client.get(f"/api/v1/documents/{org['docs']['licence']}", headers=h["sue"]).status_code
        == 404
    )


def test_rejection_ends_the_application_with_its_reason(client: Any, org: Any) -> None:
    h = org["h"]
    req = apply(client, h["fay"], customer=org["name"]).get_json()
    assert decide(client, h["fred"], req["id"], "reject").status_code == 422  # reason needed
    rejected = decide(client, h["fred"], req["id"], "reject", "用途不明确").get_json()
    assert rejected["status"] == "rejected" and rejected["reason"] == "用途不明确"
    mine = client.get(f"/api/v1/access-requests/{req['id']}", headers=h["fay"]).get_json()
    assert mine["reason"] == "用途不明确"
    assert decide(client, h["olga"], req["id"]).status_code == 409


def test_grant_expires_on_time_and_revocation_is_immediate(client: Any, org: Any, rt: Any) -> None:
    h, docs = org["h"], org["docs"]
    url = f"/api/v1/documents/{docs['licence']}/content"
    req = apply(
        client,
        h["fay"],
        numbers=[org["numbers"]["licence"]],
        ends_at=(NOW + timedelta(hours=2)).isoformat(),
    ).get_json()
    decide(client, h["fred"], req["id"])
    grant_id = decide(client, h["olga"], req["id"]).get_json()["grant_id"]
    assert client.get(url, headers=h["fay"]).status_code == 200
    with time_machine.travel(NOW + timedelta(hours=2, seconds=1), tick=False):
        fresh = bearer(token_for(client, "fay"))
        ended = client.get(url, headers=fresh)
        assert ended.status_code == 403 and ended.get_json()["error"]["rule"] == "grant-expired"
        from workers.context import use_runtime
        from workers.tasks import expire_grants

        use_runtime(rt)
        try:
            assert expire_grants.run() == 1  # the beat task, run in this process
        finally:
            use_runtime(None)
    status = client.get(f"/api/v1/access-requests/{req['id']}", headers=h["fay"]).get_json()
    assert status["status"] == "expired"
    # A second grant, revoked: the next request already fails.
    req2 = apply(client, h["fay"], document_ids=[docs["licence"]]).get_json()  # known to her now
    decide(client, h["fred"], req2["id"])
    g2 = decide(client, h["olga"], req2["id"]).get_json()["grant_id"]
    assert g2 != grant_id and client.get(url, headers=h["fay"]).status_code == 200
    assert (
        client.post(
            f"/api/v1/grants/{g2}/revoke", json={"reason": "x"}, headers=h["fred"]
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/api/v1/grants/{g2}/revoke", json={"reason": "项目取消"}, headers=h["olga"]
        ).status_code
        == 200
    )
    gone = client.get(url, headers=h["fay"])
    assert gone.status_code == 403 and gone.get_json()["error"]["rule"] == "grant-revoked"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": ""}, "purpose"),
        ({"mode": "steal"}, "mode"),
        ({"ends_at": (NOW - timedelta(days=1)).isoformat()}, "ends_at"),
        ({"document_ids": [999999]}, "document_ids"),
        ({"customer": None}, "customer_id"),
        ({"categories": ["nope"]}, "categories"),
    ],
)
def test_bad_applications_name_the_field(
    client: Any, org: Any, body: dict[str, Any], field: str
) -> None:
    base = {"customer": org["name"]}
    resp = apply(client, org["h"]["fay"], **{**base, **body})
    assert resp.status_code == 422, resp.get_json()
    err = resp.get_json()["error"]
    assert err.get("field") == field or field in err.get("fields", {})


def test_register_exports_csv_for_the_archivist(client: Any, org: Any) -> None:
    h = org["h"]
    client.get(f"/api/v1/documents/{org['docs']['licence']}/content", headers=h["clara"])
    resp = client.get("/api/v1/access-register?format=csv", headers=h["arch"])
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    lines = resp.get_data(as_text=True).splitlines()
    assert lines[0] == (
        "at,user,document_id,archive_number,action,grant_id,purpose,rule,session,page,supervisor"
    )
    assert ",clara," in lines[1] and ",download," in lines[1]
