"""The intake checks (四性检测) end to end: the report made after submission, the acceptance
gate and its audited override, the API's four-part answer, the check list exports, the
reports that older documents lack, and who may read what."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import delete, select

from archive_service.archive.models import Document, DocumentVersion
from archive_service.audit.models import AuditEvent
from archive_service.checks import services as checks
from archive_service.checks.models import CheckReport
from archive_service.checks.vocabulary import CHECK_GROUPS, CHECK_ITEMS
from tests import check_files, samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_web_accounts import csrf, login


def _org(client: Any, people: People) -> dict[str, dict[str, str]]:
    people.department("OPS")
    people.user("clara", "clerk", department="SALES")
    people.user("arch1", "archivist", department="OPS")
    people.user("audrey", "auditor", department="OPS")
    people.user("carl", "clerk", department="FIN")
    return {n: bearer(token_for(client, n)) for n in ("clara", "arch1", "audrey", "carl")}


def _upload(client: Any, who: dict[str, str], cid: int, data: bytes, name: str) -> int:
    resp = client.post(
        "/api/v1/documents",
        headers=who,
        content_type="multipart/form-data",
        data={
            "customer_id": str(cid),
            "category": "basic.profile",
            "title": name,
            "retention_class": "short",
            "file": (io.BytesIO(data), name),
        },
    )
    assert resp.status_code == 201, resp.get_json()
    return int(resp.get_json()["id"])


def _items(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["code"]: i for g in CHECK_GROUPS.codes for i in report[g]["items"]}


def test_clean_pdf_is_checked_at_submission_and_acceptance(client: Any, people: People) -> None:
    tok = _org(client, people)
    cid = people.customer("clara")
    doc = _upload(client, tok["clara"], cid, samples.pdf("营业执照"), "licence.pdf")
    report = client.get(f"/api/v1/documents/{doc}/checks", headers=tok["clara"]).get_json()
    assert report["stage"] == "submitted" and report["checked_at"] and report["passed"]
    for group in CHECK_GROUPS.codes:
        assert report[group]["passed"] is True, (group, report[group])
        for item in report[group]["items"]:
            assert set(item) >= {"code", "passed", "mandatory", "label", "detail"}
    items = _items(report)
    assert set(items) == set(CHECK_ITEMS.codes)
    assert items["digest"]["passed"] and items["signatures"]["detail"] == "no signatures"
    assert items["macros"]["detail"] == "not applicable"  # a PDF carries no VBA
    assert items["series"]["detail"] == "not applicable"  # not numbered yet
    assert items["whole"]["label_zh"] != items["whole"]["label"]
    accepted = client.post(f"/api/v1/documents/{doc}/accept", headers=tok["arch1"])
    assert accepted.status_code == 200, accepted.get_json()
    after = client.get(f"/api/v1/documents/{doc}/checks", headers=tok["arch1"]).get_json()
    assert after["stage"] == "accepted" and after["passed"]
    assert _items(after)["series"]["detail"] == "no gap"
    assert _items(after)["whole"]["detail"].startswith("at submission:")
    # Details in both languages, as the labels are.
    assert _items(after)["series"]["detail_zh"] == "无断号"
    assert _items(after)["whole"]["detail_zh"].startswith("提交时：可完整解析")
    assert _items(after)["macros"]["detail_zh"] == "提交时：不适用"


def test_a_failed_mandatory_check_blocks_until_overridden(
    client: Any, people: People, rt: Any
) -> None:
    tok = _org(client, people)
    cid = people.customer("clara")
    doc = _upload(client, tok["clara"], cid, check_files.pdf_with_javascript(), "script.pdf")
    report = client.get(f"/api/v1/documents/{doc}/checks", headers=tok["clara"]).get_json()
    assert not report["passed"] and not report["security"]["passed"]
    assert not _items(report)["active_content"]["passed"]
    refused = client.post(f"/api/v1/documents/{doc}/accept", headers=tok["arch1"])
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "checks_failed"
    failed = {f["code"]: f for f in error["failed"]}
    assert set(failed) == {"active_content"}
    assert failed["active_content"]["label_zh"] and failed["active_content"]["label"]
    assert client.get(f"/api/v1/documents/{doc}", headers=tok["arch1"]).get_json()["status"] == (
        "submitted"
    )
    ok = client.post(
        f"/api/v1/documents/{doc}/accept",
        headers=tok["arch1"],
        json={"override_reason": "客户原件，脚本无害，经核实"},
    )
    assert ok.status_code == 200, ok.get_json()
    after = client.get(f"/api/v1/documents/{doc}/checks", headers=tok["arch1"]).get_json()
    assert after["override_reason"] == "客户原件，脚本无害，经核实" and not after["passed"]
    with rt.db.unit_of_work() as s:
        events = (
            s.execute(select(AuditEvent).where(AuditEvent.target_id == str(doc))).scalars().all()
        )
        actions = [e.action for e in events]
        # submission, the refused acceptance, the accepted one
        assert "document.checks_override" in actions and actions.count("document.checks") == 3
        blocked = [e for e in events if e.action == "document.checks" and e.details.get("blocked")]
        assert len(blocked) == 1 and blocked[0].details["mandatory_failed"] == ["active_content"]
        override = next(e for e in events if e.action == "document.checks_override")
        assert override.details["failed"] == ["active_content"]
        run = next(e for e in events if e.action == "document.checks")
        assert set(run.details) >= {"items", "failed", "passed", "stage"}


def test_tampered_digest_type_and_metadata_fail(client: Any, people: People, rt: Any) -> None:
    tok = _org(client, people)
    cid = people.customer("clara")
    doc = _upload(client, tok["clara"], cid, samples.pdf("x"), "x.pdf")
    with rt.db.unit_of_work() as s:
        version = s.execute(
            select(DocumentVersion).where(DocumentVersion.document_id == doc)
        ).scalar_one()
        version.sha256 = "0" * 64
        version.content_type = "image/png"
        s.get(Document, doc).title = ""
    assert checks.check_submitted(rt.checking, doc) == "failed"
    items = _items(client.get(f"/api/v1/documents/{doc}/checks", headers=tok["arch1"]).get_json())
    assert not items["digest"]["passed"] and "differs" in items["digest"]["detail"]
    assert not items["type"]["passed"] and "image/png" in items["type"]["detail"]
    assert not items["metadata"]["passed"] and "title" in items["metadata"]["detail"]


def test_documents_without_a_report_are_checked_at_acceptance_and_by_the_repair(
    client: Any, people: People, rt: Any
) -> None:
    tok = _org(client, people)
    cid = people.customer("clara")
    first = _upload(client, tok["clara"], cid, samples.pdf("a"), "a.pdf")
    second = _upload(client, tok["clara"], cid, samples.pdf("b"), "b.pdf")
    with rt.db.unit_of_work() as s:  # as if submitted before the checks existed
        s.execute(delete(CheckReport))
    assert client.get(f"/api/v1/documents/{first}/checks", headers=tok["arch1"]).status_code == 404
    assert client.post(f"/api/v1/documents/{first}/accept", headers=tok["arch1"]).status_code == 200
    with rt.db.unit_of_work() as s:
        stages = set(
            s.execute(select(CheckReport.stage).where(CheckReport.document_id == first)).scalars()
        )
    assert stages == {"submitted", "accepted"}
    assert checks.repair(rt.checking) == [second]
    assert checks.repair(rt.checking) == []
    # A refused acceptance of such a document keeps the report it made, for the review page.
    third = _upload(client, tok["clara"], cid, check_files.pdf_with_javascript(), "c.pdf")
    with rt.db.unit_of_work() as s:
        s.execute(delete(CheckReport).where(CheckReport.document_id == third))
    assert client.post(f"/api/v1/documents/{third}/accept", headers=tok["arch1"]).status_code == 409
    kept = client.get(f"/api/v1/documents/{third}/checks", headers=tok["arch1"]).get_json()
    assert kept["stage"] == "submitted" and not kept["passed"]
    shown = client.get(f"/api/v1/documents/{second}/checks", headers=tok["arch1"]).get_json()
    assert shown["stage"] == "submitted"


def test_encrypted_and_macro_office_files(tmp_path: Any) -> None:
    """The rules on the probed files directly (the API test below files them)."""
    from archive_service.checks import rules
    from search.fileprobe import probe

    def results(data: bytes, declared: str) -> dict[str, rules.Result]:
        path = tmp_path / "f"
        path.write_bytes(data)
        facts = rules.Facts(
            stored_digest="d",
            digest="d",
            read_error=None,
            declared_type=declared,
            sniffed_type=declared,
            sniff_error=None,
            allowed=True,
            missing_metadata=(),
            probe=probe(path),
            extraction="done",
            has_text=True,
        )
        return {r.code: r for r in rules.evaluate(facts)}

    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    locked = results(check_files.encrypted_docx(), docx)
    assert not locked["not_encrypted"].passed and not locked["macros"].passed
    assert locked["active_content"].detail == "not applicable"
    macro = results(check_files.docm_with_macros(), docx)
    assert not macro["macros"].passed and macro["not_encrypted"].passed
    exe = results(check_files.docx_with_executable(), docx)
    assert not exe["executables"].passed and "payload.exe" in exe["executables"].detail
    clean = results(samples.docx(), docx)
    assert all(r.passed for r in clean.values()), clean


def test_check_list_exports_and_who_may_read(client: Any, people: People, app: Any) -> None:
    tok = _org(client, people)
    cid = people.customer("clara")
    doc = _upload(client, tok["clara"], cid, samples.pdf("a"), "a.pdf")
    client.post(f"/api/v1/documents/{doc}/accept", headers=tok["arch1"])
    xlsx = client.get(f"/api/v1/customers/{cid}/checks?format=xlsx", headers=tok["audrey"])
    assert xlsx.status_code == 200, xlsx.get_json()
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert "真实性" in " ".join(str(c) for c in rows[1])
    assert [r[0] for r in rows[2:]] == [doc, doc]  # submitted and accepted
    assert {r[3].split()[-1] for r in rows[2:]} == {"submission", "acceptance"}
    pdf = client.get(f"/api/v1/customers/{cid}/checks?format=pdf", headers=tok["arch1"])
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert (
        client.get(f"/api/v1/customers/{cid}/checks?format=doc", headers=tok["arch1"]).status_code
        == 422
    )
    refused = client.get(f"/api/v1/customers/{cid}/checks", headers=tok["clara"])
    assert (
        refused.status_code == 403 and refused.get_json()["error"]["rule"] == "check-list-readers"
    )
    # A document's checks: whoever may see its metadata (another department's clerk may not).
    assert client.get(f"/api/v1/documents/{doc}/checks", headers=tok["carl"]).status_code == 404
    assert client.get(f"/api/v1/documents/{doc}/checks", headers=tok["audrey"]).status_code == 404
    browser = app.test_client()
    assert login(browser, "arch1").status_code == 302
    page = browser.get(f"/customers/{cid}/checks")
    assert page.status_code == 200 and "format=xlsx" in page.get_data(as_text=True)
    assert browser.get(f"/customers/{cid}/checks?format=pdf").data.startswith(b"%PDF")


def test_review_page_shows_the_report_and_the_override(
    client: Any, people: People, app: Any
) -> None:
    tok = _org(client, people)
    cid = people.customer("clara")
    doc = _upload(client, tok["clara"], cid, check_files.pdf_with_launch(), "launch.pdf")
    browser = app.test_client()
    login(browser, "arch1")
    page = browser.get("/review?lang=zh").get_data(as_text=True)
    assert "安全性" in page and "override_reason" in page and "check-fail" in page
    assert "发现：启动动作" in page and "launch action" not in page  # the detail in Chinese
    english = browser.get("/review?lang=en").get_data(as_text=True)
    assert "found: launch action" in english
    token = csrf(browser, "/review")
    refused = browser.post(f"/documents/{doc}/accept", data={"csrf_token": token})
    assert refused.status_code == 302
    assert client.get(f"/api/v1/documents/{doc}", headers=tok["arch1"]).get_json()["status"] == (
        "submitted"
    )
    browser.post(
        f"/documents/{doc}/accept", data={"csrf_token": token, "override_reason": "已核实"}
    )
    assert client.get(f"/api/v1/documents/{doc}", headers=tok["arch1"]).get_json()["status"] == (
        "accepted"
    )


def test_a_file_the_child_cannot_finish_is_a_failed_item_with_a_reason(
    client: Any, people: People, rt: Any
) -> None:
    from dataclasses import replace

    tok = _org(client, people)
    cid = people.customer("clara")
    # Hundreds of pages: a warm child could examine a one-page PDF within the millisecond.
    doc = _upload(client, tok["clara"], cid, samples.pdf_that_warns(300), "slow.pdf")
    assert checks.check_submitted(replace(rt.checking, timeout=0.001), doc) == "failed"
    items = _items(client.get(f"/api/v1/documents/{doc}/checks", headers=tok["arch1"]).get_json())
    assert not items["whole"]["passed"]
    assert items["whole"]["detail"] == (
        "the file could not be examined: the examination took longer than 0.001 s"
    )
    assert items["digest"]["passed"]  # what needs no parsing is still decided


def test_uploaded_hard_files_get_their_failed_items_and_a_signed_pdf_passes(
    client: Any, people: People
) -> None:
    """Through the API, as a clerk files them: a password-protected DOCX and a DOCX holding
    macros are taken but blocked at acceptance by the item that failed; a signed PDF's
    signature is validated (it passes, and its tampered copy fails)."""
    tok = _org(client, people)
    cid = people.customer("clara")
    expected = {
        "加密合同.docx": (check_files.encrypted_docx(), "not_encrypted"),
        "宏合同.docx": (check_files.docm_with_macros(), "macros"),
        "篡改签章.pdf": (check_files.signed_pdf(tampered=True), "signatures"),
    }
    for name, (data, code) in expected.items():
        doc = _upload(client, tok["clara"], cid, data, name)
        report = client.get(f"/api/v1/documents/{doc}/checks", headers=tok["arch1"]).get_json()
        assert not _items(report)[code]["passed"], (name, _items(report)[code])
        refused = client.post(f"/api/v1/documents/{doc}/accept", headers=tok["arch1"])
        assert refused.status_code == 409, name
        assert code in {f["code"] for f in refused.get_json()["error"]["failed"]}, name
    signed = _upload(client, tok["clara"], cid, check_files.signed_pdf(), "签章合同.pdf")
    report = client.get(f"/api/v1/documents/{signed}/checks", headers=tok["arch1"]).get_json()
    item = _items(report)["signatures"]
    assert item["passed"] and item["detail"] != "not applicable", item
    accepted = client.post(f"/api/v1/documents/{signed}/accept", headers=tok["arch1"])
    assert accepted.status_code == 200, accepted.get_json()


def test_a_lost_number_is_reported_by_every_later_acceptance(
    client: Any, people: People, rt: Any
) -> None:
    """The series check looks only past what an earlier check found whole, yet a gap, once
    there, is listed by every acceptance after it."""
    from archive_service.archive.counters import next_in_scope
    from archive_service.archive.models import NumberCounter

    tok = _org(client, people)
    cid = people.customer("clara")

    def accept(title: str) -> dict[str, Any]:
        doc = _upload(client, tok["clara"], cid, samples.pdf(title), f"{title}.pdf")
        assert (
            client.post(f"/api/v1/documents/{doc}/accept", headers=tok["arch1"]).status_code == 200
        )
        report = client.get(f"/api/v1/documents/{doc}/checks", headers=tok["arch1"]).get_json()
        return _items(report)["series"]

    assert accept("one")["detail"] == "no gap"
    assert accept("two")["detail"] == "no gap"
    with rt.db.unit_of_work() as s:
        (counter,) = s.scalars(select(NumberCounter).where(NumberCounter.scope != "customer"))
        assert counter.checked_through == counter.last_value == 2
        next_in_scope(s, counter.scope)  # number 3 handed out, then lost
    for title in ("four", "five"):
        series = accept(title)
        assert not series["passed"] and series["detail"].startswith("missing numbers:")
        assert series["detail"].endswith("03"), series["detail"]
    with rt.db.unit_of_work() as s:
        (counter,) = s.scalars(select(NumberCounter).where(NumberCounter.scope != "customer"))
        assert counter.checked_through == 2 and counter.last_value == 5
