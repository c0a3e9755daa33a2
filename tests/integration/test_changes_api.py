"""Change requests end to end: each kind of change, the chain, refusals, history."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

import pytest

from tests import samples
from tests.conftest import People, bearer, token_for

YEAR = date.today().year


@pytest.fixture
def org(client: Any, people: People) -> dict[str, Any]:
    people.department("OPS", "运营部")
    people.user("clara", "clerk", department="SALES")
    people.user("carl", "clerk", department="FIN")
    people.user("arch", "archivist", department="OPS")
    people.user("olga", "operations_head", department="OPS")
    people.user("leo", "leader", department="OPS")
    people.user("arch2", "archivist", department="OPS")  # core customers need a second reviewer
    h = {n: bearer(token_for(client, n)) for n in ("clara", "carl", "arch", "olga", "leo")}
    cid = people.customer("clara", name="华夏贸易", tier="core", address="上海市浦东新区旧址 1 号")
    doc = people.document(
        "clara",
        cid,
        samples.pdf("scan v1"),
        title="销售合同",
        filename="合同扫描.pdf",
        category="business.contract",
        retention_class="medium",
        facts={"contract_number": "HT-1"},
        accepted_by=("arch", "arch2"),
    )
    return {"h": h, "customer": cid, "doc": doc}


def file(
    client: Any,
    who: dict[str, str],
    target_type: str,
    target_id: int,
    reason: str = "更正",
    values: dict[str, Any] | None = None,
    replacement: bytes | None = None,
    evidence: list[bytes] | None = None,
) -> Any:
    data: dict[str, Any] = {
        "target_type": target_type,
        "target_id": str(target_id),
        "reason": reason,
        "values": json.dumps(values or {}),
    }
    if replacement is not None:
        data["file"] = (io.BytesIO(replacement), "合同扫描-盖章版.pdf")
    if evidence:
        data["evidence"] = [(io.BytesIO(b), f"证明{i}.pdf") for i, b in enumerate(evidence)]
    return client.post(
        "/api/v1/change-requests", data=data, headers=who, content_type="multipart/form-data"
    )


def decide(
    client: Any,
    who: dict[str, str],
    cid: int,
    decision: str = "approve",
    comment: str | None = None,
) -> Any:
    return client.post(
        f"/api/v1/change-requests/{cid}/decision",
        headers=who,
        json={"decision": decision, "comment": comment},
    )


def test_address_correction_and_contract_replacement(client: Any, org: Any) -> None:
    h = org["h"]
    addr = file(
        client,
        h["clara"],
        "customer",
        org["customer"],
        "客户迁址",
        {"address": "上海市徐汇区新址 88 号"},
        evidence=[samples.pdf("notice")],
    )
    assert addr.status_code == 201, addr.get_json()
    a = addr.get_json()
    assert a["changes"] == {
        "address": {"before": "上海市浦东新区旧址 1 号", "after": "上海市徐汇区新址 88 号"}
    }
    assert [s["role"] for s in a["steps"]] == ["archivist", "operations_head"]
    scan = file(
        client, h["clara"], "document", org["doc"], "补充盖章页", replacement=samples.pdf("scan v2")
    )
    assert scan.status_code == 201, scan.get_json()
    s = scan.get_json()
    assert s["changes"]["file"]["before"]["version"] == 1
    # The clerk sees progress; the steps are taken in order by the right people.
    for cr in (a, s):
        assert decide(client, h["olga"], cr["id"]).status_code == 403  # not their step yet
        assert decide(client, h["arch"], cr["id"]).get_json()["status"] == "pending"
        assert (
            client.get(f"/api/v1/change-requests/{cr['id']}", headers=h["clara"]).get_json()[
                "steps"
            ][0]["status"]
            == "approved"
        )
        assert decide(client, h["olga"], cr["id"]).get_json()["status"] == "applied"
    customer = client.get(f"/api/v1/customers/{org['customer']}", headers=h["clara"]).get_json()
    assert customer["address"] == "上海市徐汇区新址 88 号"
    hist = client.get(
        f"/api/v1/customers/{org['customer']}/history", headers=h["clara"]
    ).get_json()["items"]
    assert hist[0]["changes"]["address"] == {
        "before": "上海市浦东新区旧址 1 号",
        "after": "上海市徐汇区新址 88 号",
    }
    assert [x["decided_by"] for x in hist[0]["steps"]] == ["arch", "olga"]
    ev = hist[0]["evidence"][0]
    got = client.get(f"/api/v1/change-requests/{a['id']}/evidence/{ev['id']}", headers=h["arch"])
    assert got.data == samples.pdf("notice")
    # The contract has a new version; the old one is still there for those allowed.
    doc = client.get(f"/api/v1/documents/{org['doc']}", headers=h["clara"]).get_json()
    assert [v["number"] for v in doc["versions"]] == [1, 2]
    assert client.get(
        f"/api/v1/documents/{org['doc']}/content", headers=h["clara"]
    ).data == samples.pdf("scan v2")
    assert client.get(
        f"/api/v1/documents/{org['doc']}/content?version=1", headers=h["clara"]
    ).data == samples.pdf("scan v1")
    assert (
        client.get(
            f"/api/v1/documents/{org['doc']}/content?version=1", headers=h["carl"]
        ).status_code
        == 404
    )
    dh = client.get(f"/api/v1/documents/{org['doc']}/history", headers=h["clara"]).get_json()
    assert dh["items"][0]["changes"]["file"]["after"]["version"] == 2


def test_reclassification_needs_a_leader_and_renumbers(client: Any, org: Any) -> None:
    h = org["h"]
    old = client.get(f"/api/v1/documents/{org['doc']}", headers=h["clara"]).get_json()
    cr = file(
        client, h["clara"], "document", org["doc"], "归类错误", {"category": "business.transaction"}
    ).get_json()
    assert cr["important"] is True
    assert [s["role"] for s in cr["steps"]] == ["archivist", "operations_head", "leader"]
    decide(client, h["arch"], cr["id"])
    assert decide(client, h["olga"], cr["id"]).get_json()["status"] == "pending"
    assert decide(client, h["leo"], cr["id"]).get_json()["status"] == "applied"
    new = client.get(f"/api/v1/documents/{org['doc']}", headers=h["clara"]).get_json()
    assert new["category"] == "business.transaction"
    assert new["archive_number"] != old["archive_number"]
    by_old = client.get(
        f"/api/v1/documents/by-number/{old['archive_number']}", headers=h["clara"]
    ).get_json()
    assert by_old["id"] == org["doc"]
    numbers = client.get(f"/api/v1/documents/{org['doc']}/history", headers=h["clara"]).get_json()[
        "numbers"
    ]
    assert [n["superseded"] for n in numbers] == [True, False]


def test_core_tier_change_is_important_and_recomputes_disposal(client: Any, org: Any) -> None:
    h = org["h"]
    before = client.get(f"/api/v1/documents/{org['doc']}", headers=h["clara"]).get_json()
    cr = file(
        client, h["clara"], "customer", org["customer"], "降级", {"tier": "ordinary"}
    ).get_json()
    assert cr["important"] is True
    for who in ("arch", "olga", "leo"):
        decide(client, h[who], cr["id"])
    after = client.get(f"/api/v1/documents/{org['doc']}", headers=h["clara"]).get_json()
    # medium is 10 years either way; the recomputation is still recorded.
    assert after["disposal_date"] == before["disposal_date"]
    retention = client.get(
        f"/api/v1/documents/{org['doc']}/history", headers=h["clara"]
    ).get_json()["retention"]
    assert retention[-1]["cause"].startswith("tier changed")


def test_retention_shortening_is_important(client: Any, org: Any) -> None:
    h = org["h"]
    cr = file(
        client, h["clara"], "document", org["doc"], "按规定调整", {"retention_class": "short"}
    ).get_json()
    assert cr["important"] is True
    longer = file(
        client, h["clara"], "document", org["doc"], "延长", {"retention_class": "permanent"}
    ).get_json()
    assert longer["important"] is False


def test_a_malformed_form_is_refused_naming_its_field(client: Any, org: Any) -> None:
    """The form is declared (multipart in the OpenAPI description) and checked before the
    service sees it: each wrong field is a 422 that names it, and nothing is filed."""
    h, doc = org["h"], org["doc"]
    base = {"target_type": "document", "target_id": str(doc), "reason": "更正"}
    for field, value in [
        ("target_type", "invoice"),
        ("target_id", "abc"),
        ("target_id", "99999999999999999999"),
        ("values", "[1, 2]"),
        ("values", "{not json"),
    ]:
        r = client.post(
            "/api/v1/change-requests",
            data={**base, field: value},
            headers=h["clara"],
            content_type="multipart/form-data",
        )
        assert r.status_code == 422, (field, value, r.get_json())
        assert field in str(r.get_json()["error"]), (field, r.get_json())
    assert _requests_on(client, h["clara"], doc) == []


def test_refusals(client: Any, org: Any) -> None:
    h = org["h"]
    r = file(client, h["clara"], "customer", org["customer"], "", {"phone": "1"})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "reason"
    r = file(client, h["clara"], "customer", org["customer"], "x", {"secret_flag": "1"})
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "secret_flag"
    r = file(
        client, h["clara"], "customer", org["customer"], "x", {"address": "上海市浦东新区旧址 1 号"}
    )
    assert r.status_code == 422  # nothing would change
    r = file(client, h["carl"], "customer", org["customer"], "x", {"phone": "1"})
    assert r.status_code == 404  # another department's customer is not even known
    # The clerk cannot approve; the archivist cannot approve their own filing.
    cr = file(
        client, h["clara"], "customer", org["customer"], "电话变更", {"phone": "021-2"}
    ).get_json()
    assert decide(client, h["clara"], cr["id"]).status_code == 403
    own = file(client, h["arch"], "customer", org["customer"], "传真", {"fax": "021-3"}).get_json()
    resp = decide(client, h["arch"], own["id"])
    assert resp.status_code == 403 and resp.get_json()["error"]["rule"] == "no-self-approval"
    assert decide(client, h["arch"], cr["id"], "reject").status_code == 422  # reason needed
    # Two requests on the same target: the second one is stale once the first is applied.
    second = file(
        client, h["clara"], "customer", org["customer"], "地址", {"address": "新"}
    ).get_json()
    decide(client, h["arch"], cr["id"])
    decide(client, h["olga"], cr["id"])
    decide(client, h["arch"], second["id"])
    stale = decide(client, h["olga"], second["id"])
    assert stale.status_code == 409 and "file it again" in stale.get_json()["error"]["message"]
    # Returned by the archivist, with the reason the clerk sees.
    third = file(
        client, h["clara"], "customer", org["customer"], "邮箱", {"email": "a@b.cn"}
    ).get_json()
    back = decide(client, h["arch"], third["id"], "return", "缺少证明材料").get_json()
    assert back["status"] == "returned" and back["outcome_reason"] == "缺少证明材料"
    assert decide(client, h["olga"], third["id"]).status_code == 409


def _requests_on(client: Any, who: dict[str, str], doc: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(
        f"/api/v1/documents/{doc}/history", headers=who
    ).get_json()["items"]
    return items


def test_facts_are_checked_when_a_change_is_filed(client: Any, org: Any) -> None:
    """The category's facts are checked by the same rule as at upload, when the request is
    filed: a required fact cannot be blanked, and a date that is not a date is refused at
    once (it used to pass the archivist and then fail with 500 at the operations head,
    leaving the request pending for ever)."""
    h, doc = org["h"], org["doc"]
    blank = file(
        client, h["clara"], "document", doc, "删除编号", {"facts": {"contract_number": " "}}
    )
    assert blank.status_code == 422, blank.get_json()
    assert blank.get_json()["error"]["field"] == "contract_number"
    not_a_date = file(
        client, h["clara"], "document", doc, "延期", {"facts": {"valid_until": "下个月"}}
    )
    assert not_a_date.status_code == 422
    assert not_a_date.get_json()["error"]["field"] == "valid_until"
    assert _requests_on(client, h["clara"], doc) == []  # nothing was filed
    # A real date passes the whole chain and moves the disposal date (the contract's
    # retention runs from its expiry).
    later = file(
        client, h["clara"], "document", doc, "续签", {"facts": {"valid_until": "2031-03-31"}}
    ).get_json()
    for who in ("arch", "olga"):
        assert decide(client, h[who], later["id"]).status_code == 200
    after = client.get(f"/api/v1/documents/{doc}", headers=h["clara"]).get_json()
    assert after["facts"] == {"contract_number": "HT-1", "valid_until": "2031-03-31"}
    assert after["disposal_date"] == "2041-03-31"  # medium (10 years) from the expiry


def test_reclassification_must_bring_the_facts_the_new_category_asks_for(
    client: Any, org: Any
) -> None:
    h = org["h"]
    licence = client.post(
        "/api/v1/documents",
        headers=h["clara"],
        content_type="multipart/form-data",
        data={
            "customer_id": str(org["customer"]),
            "category": "basic.profile",
            "title": "协议",
            "retention_class": "medium",
            "file": (io.BytesIO(samples.pdf("agreement")), "协议.pdf"),
        },
    ).get_json()["id"]
    for who in ("arch", "arch2"):
        token = h.get(who) or bearer(token_for(client, who))
        client.post(f"/api/v1/documents/{licence}/accept", headers=token)
    missing = file(
        client, h["clara"], "document", licence, "实为合同", {"category": "business.contract"}
    )
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "contract_number"
    cr = file(
        client,
        h["clara"],
        "document",
        licence,
        "实为合同",
        {"category": "business.contract", "facts": {"contract_number": "HT-9"}},
    ).get_json()
    for who in ("arch", "olga", "leo"):
        assert decide(client, h[who], cr["id"]).status_code == 200
    moved = client.get(f"/api/v1/documents/{licence}", headers=h["clara"]).get_json()
    assert moved["category"] == "business.contract" and moved["facts"] == {
        "contract_number": "HT-9"
    }
