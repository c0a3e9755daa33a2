"""The half-yearly special audit end to end: an auditor draws a sample of 10 customer
archives with a recorded seed, works through each archive's checklist (two items proposed
from the data), records findings, closes the sampling and exports the report; the same
seed draws the same sample; a stratified draw shares the sample among departments and
tiers; while the sampling is open its auditor reads the sampled customers' documents as
page images, each registered with the audit as purpose, and nothing else — and nothing
once it is closed. Others cannot draw."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from archive_service.archive.models import AccessRecord
from archive_service.audit.models import AuditEvent
from archive_service.runtime import Runtime
from archive_service.sampling.vocabulary import CHECKLIST
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_disposal_api import headers, org  # noqa: F401 - fixtures
from tests.integration.test_web_accounts import csrf, login

SEED = 20261207
# (department, tier) of the 14 customers: strata SALES/important 3, SALES/ordinary 5,
# FIN/potential 2, FIN/ordinary 4.
SHAPE = [("SALES", "important")] * 3 + [("SALES", "ordinary")] * 5
SHAPE += [("FIN", "potential")] * 2 + [("FIN", "ordinary")] * 4
CLERKS = {"SALES": "clara", "FIN": "carl"}


@pytest.fixture
def audit(client: Any, people: People, org: None) -> dict[str, Any]:  # noqa: F811
    """Fourteen customer archives in two departments, a second auditor, and tokens."""
    people.user("carl", "clerk", department="FIN")
    people.user("aldo", "auditor", department="OPS")
    customers = [
        people.customer(CLERKS[dept], name=f"客户{n:02d}", department=dept, tier=tier)
        for n, (dept, tier) in enumerate(SHAPE)
    ]
    h = headers(client)
    for name in ("carl", "aldo"):
        h[name] = bearer(token_for(client, name))
    return {"h": h, "customers": customers, "dept": dict(zip(customers, SHAPE, strict=True))}


def _draw(client: Any, h: dict[str, Any], **body: Any) -> Any:
    return client.post(
        "/api/v1/audit-samplings", json={"title": "2026 下半年专项审计", **body}, headers=h
    )


def _all_passed(note: str = "") -> dict[str, Any]:
    return {item.code: {"result": "passed", "note": note} for item in CHECKLIST}


def _events(rt: Runtime, action: str) -> list[AuditEvent]:
    with rt.db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_auditor_draws_ten_completes_the_checklist_and_exports_the_report(
    client: Any, rt: Runtime, people: People, audit: dict[str, Any]
) -> None:
    h = audit["h"]
    drawn = _draw(client, h["audrey"], size=10, seed=SEED)
    assert drawn.status_code == 201, drawn.get_json()
    body = drawn.get_json()
    assert body["seed"] == str(SEED) and body["seed_given"] is True
    assert body["population"] == 14 and body["drawn"] == 10 and body["state"] == "open"
    assert len({a["customer_id"] for a in body["archives"]}) == 10
    sid = body["id"]
    first = body["archives"][0]
    items = {i["code"]: i for i in first["checklist"]}
    # No documents yet: the proposals say not applicable, and wait for the auditor.
    assert items["numbering"]["prefilled"] and items["numbering"]["proposed"] == "not_applicable"
    assert items["checks"]["prefilled"] and items["checks"]["result"] is None
    assert not items["classification"]["prefilled"]

    # Closing with items unanswered is refused, saying which.
    early = client.post(f"/api/v1/audit-samplings/{sid}/close", json={}, headers=h["audrey"])
    assert early.status_code == 409 and early.get_json()["error"]["unanswered"]

    for n, a in enumerate(body["archives"]):
        answers = _all_passed()
        findings = None
        if n == 0:
            answers["complete"] = {"result": "failed", "note": "缺少年度财务报表"}
            findings = [
                {"text": "2025 年财务报表未归档", "follow_up": "in_progress"},
                {"text": "联系人变更未登记", "follow_up": "open"},
            ]
        put = client.put(
            f"/api/v1/audit-samplings/{sid}/archives/{a['customer_id']}",
            json={"checklist": answers, "findings": findings},
            headers=h["audrey"],
        )
        assert put.status_code == 200, put.get_json()
    detail = put.get_json()
    assert detail["totals"] == {
        "passed": 59, "failed": 1, "not_applicable": 0, "findings": 2, "open_findings": 2,
    }  # fmt: skip
    # The other auditor reads the sampling but does not work through it.
    other = client.put(
        f"/api/v1/audit-samplings/{sid}/archives/{first['customer_id']}",
        json={"checklist": _all_passed()},
        headers=h["aldo"],
    )
    assert other.status_code == 403 and other.get_json()["error"]["rule"] == "assigned-auditor"
    assert client.get(f"/api/v1/audit-samplings/{sid}", headers=h["aldo"]).status_code == 200

    closed = client.post(
        f"/api/v1/audit-samplings/{sid}/close",
        json={"recommendations": "财务报表按月归档；联系人变更走变更申请。"},
        headers=h["audrey"],
    )
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["state"] == "closed"
    # The report is fixed: no more answers.
    late = client.put(
        f"/api/v1/audit-samplings/{sid}/archives/{first['customer_id']}",
        json={"checklist": _all_passed()},
        headers=h["audrey"],
    )
    assert late.status_code == 409

    pdf = client.get(f"/api/v1/audit-samplings/{sid}/report?format=pdf", headers=h["audrey"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert str(SEED) in text and "2025" in text
    xlsx = client.get(f"/api/v1/audit-samplings/{sid}/report?format=xlsx", headers=h["audrey"])
    assert xlsx.status_code == 200
    cells = [str(c) for row in load_workbook(io.BytesIO(xlsx.data)).active.values for c in row]
    assert any(str(SEED) in c for c in cells)
    assert any("财务报表按月归档" in c for c in cells)
    assert any("2025 年财务报表未归档" in c for c in cells)

    listed = client.get("/api/v1/audit-samplings", headers=h["audrey"]).get_json()
    assert listed["total"] == 1 and listed["items"][0]["state"] == "closed"
    assert len(_events(rt, "sampling.draw")) == 1
    assert len(_events(rt, "sampling.checklist")) == 10
    assert len(_events(rt, "sampling.close")) == 1
    assert {e.details["format"] for e in _events(rt, "sampling.export")} == {"pdf", "xlsx"}


def test_the_same_seed_draws_the_same_sample(client: Any, audit: dict[str, Any]) -> None:
    h = audit["h"]["audrey"]

    def ids(got: Any) -> list[int]:
        assert got.status_code == 201, got.get_json()
        return [a["customer_id"] for a in got.get_json()["archives"]]

    once = ids(_draw(client, h, size=5, seed=SEED))
    assert ids(_draw(client, h, size=5, seed=SEED)) == once
    assert ids(_draw(client, h, size=5, seed=SEED + 1)) != once
    generated = _draw(client, h, percent=30)
    assert generated.get_json()["seed_given"] is False
    assert generated.get_json()["drawn"] == 5  # 30 % of 14, rounded up
    seed = int(generated.get_json()["seed"])
    assert ids(_draw(client, h, percent=30, seed=seed)) == ids(generated)


def test_a_stratified_draw_shares_the_sample_among_departments_and_tiers(
    client: Any, audit: dict[str, Any]
) -> None:
    got = _draw(client, audit["h"]["audrey"], size=6, seed=SEED, stratified=True)
    assert got.status_code == 201, got.get_json()
    strata = {
        (s["department"], s["tier"]): (s["population"], s["drawn"])
        for s in got.get_json()["strata"]
    }
    # One each first, then the 2 left in proportion to what each has left (2, 4, 1, 3).
    assert strata == {
        ("FIN", "ordinary"): (4, 2),
        ("FIN", "potential"): (2, 1),
        ("SALES", "important"): (3, 1),
        ("SALES", "ordinary"): (5, 2),
    }
    drawn = [(a["department"], a["tier"]) for a in got.get_json()["archives"]]
    for key, (_population, n) in strata.items():
        assert drawn.count(key) == n
        assert all(
            audit["dept"][a["customer_id"]] == (a["department"], a["tier"])
            for a in got.get_json()["archives"]
        )
    again = _draw(client, audit["h"]["audrey"], size=6, seed=SEED, stratified=True)
    assert [a["customer_id"] for a in again.get_json()["archives"]] == [
        a["customer_id"] for a in got.get_json()["archives"]
    ]


def test_the_auditor_reads_the_sampled_documents_registered_and_only_while_open(
    client: Any, rt: Runtime, people: People, audit: dict[str, Any]
) -> None:
    h = audit["h"]
    body = _draw(client, h["audrey"], size=1, seed=SEED).get_json()
    sid, sampled = body["id"], body["archives"][0]["customer_id"]
    unsampled = next(c for c in audit["customers"] if c != sampled)
    docs = {}
    for customer in (sampled, unsampled):
        clerk = CLERKS[audit["dept"][customer][0]]
        docs[customer] = people.document(
            clerk, customer, samples.pdf("合同"), title="合同", filename="合同.pdf",
            category="business.contract", facts={"contract_number": f"HT-{customer}"},
            accepted_by=("arch",) if audit["dept"][customer][1] != "core" else ("arch", "arch2"),
        )  # fmt: skip
    inside, outside = docs[sampled], docs[unsampled]

    meta = client.get(f"/api/v1/documents/{inside}", headers=h["audrey"])
    assert meta.status_code == 200, meta.get_json()
    assert client.get(f"/api/v1/documents/{outside}", headers=h["audrey"]).status_code == 404
    assert client.get(f"/api/v1/documents/{inside}", headers=h["aldo"]).status_code == 404
    # Page images, never the file.
    original = client.get(f"/api/v1/documents/{inside}/content", headers=h["audrey"])
    assert original.status_code == 403
    assert original.get_json()["error"]["rule"] == "audit-view-only"
    assert client.get(f"/api/v1/documents/{inside}/pages", headers=h["audrey"]).status_code == 200
    page = client.get(f"/api/v1/documents/{inside}/pages/1", headers=h["audrey"])
    assert page.status_code == 200 and page.mimetype == "image/png"
    with rt.db.session() as s:
        rows = list(s.scalars(select(AccessRecord).where(AccessRecord.username == "audrey")))
    assert [(r.document_id, r.action, r.rule) for r in rows] == [(inside, "view", "audit-sample")]
    assert rows[0].purpose is not None and f"#{sid}" in rows[0].purpose
    # The document page shows the auditor the viewer, not the file.
    web = client.application.test_client()
    assert login(web, "audrey").status_code == 302
    shown = web.get(f"/documents/{inside}")
    assert shown.status_code == 200
    assert f"/documents/{inside}/view" in shown.get_data(as_text=True)
    assert f"/documents/{inside}/file" not in shown.get_data(as_text=True)
    assert web.get(f"/documents/{outside}").status_code == 404
    assert f"/documents/{inside}" in web.get(f"/audit-samplings/{sid}").get_data(as_text=True)
    register = client.get("/api/v1/access-register", headers=h["audrey"]).get_json()
    assert any(f"#{sid}" in (x["purpose"] or "") for x in register["items"])

    # Closed: nothing more than before.
    client.put(
        f"/api/v1/audit-samplings/{sid}/archives/{sampled}",
        json={"checklist": _all_passed()},
        headers=h["audrey"],
    )
    assert (
        client.post(
            f"/api/v1/audit-samplings/{sid}/close", json={}, headers=h["audrey"]
        ).status_code
        == 200
    )
    assert client.get(f"/api/v1/documents/{inside}", headers=h["audrey"]).status_code == 404
    assert client.get(f"/api/v1/documents/{inside}/pages/1", headers=h["audrey"]).status_code == 404

    # Drawn again with the same seed: the same archive, its two items now proposed from the
    # accepted contract (numbered without a gap, its 四性 report of acceptance present).
    again = _draw(client, h["audrey"], size=1, seed=SEED).get_json()
    assert again["archives"][0]["customer_id"] == sampled
    proposed = {i["code"]: i for i in again["archives"][0]["checklist"]}
    assert proposed["numbering"]["proposed"] == "passed"
    assert proposed["checks"]["proposed"] == "passed"
    assert "1 of 1" in proposed["checks"]["note"]


def test_only_auditors_draw_and_bad_draws_are_refused(client: Any, audit: dict[str, Any]) -> None:
    h = audit["h"]
    for name in ("clara", "arch", "olga", "mona", "leo"):
        got = _draw(client, h[name], size=3)
        assert got.status_code == 403, name
        assert got.get_json()["error"]["rule"] == "auditor-only"
        assert client.get("/api/v1/audit-samplings", headers=h[name]).status_code == 403
    assert client.post("/api/v1/audit-samplings", json={"title": "x", "size": 1}).status_code == 401
    for body, field in (
        ({"size": 3, "percent": 10}, "size"),
        ({}, "size"),
        ({"size": 15}, "size"),
        ({"percent": 0}, "percent"),
        ({"size": 3, "seed": -1}, "seed"),
    ):
        got = _draw(client, h["audrey"], **body)
        assert got.status_code == 422, (body, got.get_json())
        assert field in str(got.get_json()), body
    assert client.get("/api/v1/audit-samplings", headers=h["audrey"]).get_json()["total"] == 0


def test_the_pages_of_an_audit(app: Any, rt: Runtime, audit: dict[str, Any]) -> None:
    web = app.test_client()
    assert login(web, "audrey").status_code == 302
    assert 'id="nav-sampling"' in web.get("/").get_data(as_text=True)
    drawn = web.post(
        "/audit-samplings/",
        data={
            "csrf_token": csrf(web, "/audit-samplings/"),
            "title": "网页抽查",
            "size": "2",
            "stratified": "no",
            "seed": str(SEED),
        },
    )
    assert drawn.status_code == 302, drawn.get_data(as_text=True)
    page = drawn.headers["Location"]
    shown = web.get(page).get_data(as_text=True)
    assert str(SEED) in shown and "checklist-form" in shown
    sid = int(page.rstrip("/").rsplit("/", 1)[1])
    with rt.db.session() as s:
        from archive_service.sampling.models import AuditSampling

        sampling = s.get(AuditSampling, sid)
        assert sampling is not None
        customers = [a.customer_id for a in sampling.archives]
    for customer in customers:
        form = {"csrf_token": csrf(web, page), "finding-0": "档案盒标签褪色", "follow-0": "done"}
        form.update({f"result-{i.code}": "passed" for i in CHECKLIST})
        saved = web.post(f"/audit-samplings/{sid}/archives/{customer}", data=form)
        assert saved.status_code == 302
    closed = web.post(
        f"/audit-samplings/{sid}/close",
        data={"csrf_token": csrf(web, page), "recommendations": "更换标签"},
    )
    assert closed.status_code == 302
    shown = web.get(page).get_data(as_text=True)
    assert "更换标签" in shown and "checklist-form" not in shown
    assert web.get(f"/audit-samplings/{sid}/report.pdf").mimetype == "application/pdf"
    clerk = app.test_client()
    assert login(clerk, "clara").status_code == 302
    assert clerk.get("/audit-samplings/").status_code == 403
