"""The destruction list (销毁清册) of a completed destruction: the standard columns per
document, the approvers and the witness below, as XLSX and PDF, through the API and the
pages; audited; refused before completion, to roles without the record, for a bad format."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import load_workbook
from pypdf import PdfReader

from archive_service.runtime import Runtime
from tests.integration.test_disposal_api import (  # noqa: F401 - fixtures
    _run_to_approval,
    archive,
    headers,
    org,
)
from tests.integration.test_web_accounts import login


def _rows(body: bytes) -> list[list[Any]]:
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    assert sheet is not None
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_the_list_of_a_completed_destruction(
    client: Any,
    rt: Runtime,
    archive: dict[str, int],  # noqa: F811 - the fixture
) -> None:
    h = headers(client)
    _, did = _run_to_approval(client, h, archive)
    url = f"/api/v1/destructions/{did}/list"
    early = client.get(url, headers=h["audrey"])
    assert early.status_code == 409  # no list before the destruction has run
    held = client.post(
        f"/api/v1/documents/{archive['late_hold']}/hold",
        json={"reason": "新的投诉"},
        headers=h["arch"],
    )
    assert held.status_code == 200
    started = client.post(
        f"/api/v1/destructions/{did}/execute",
        json={"supervisor": "sven", "place": "档案室 B1"},
        headers=h["arch"],
    )
    assert started.status_code == 202

    got = client.get(url, query_string={"format": "xlsx"}, headers=h["audrey"])
    assert got.status_code == 200 and got.headers["Cache-Control"] == "no-store"
    assert "destruction-list-" in got.headers["Content-Disposition"]
    rows = _rows(got.data)
    assert rows[0][0].startswith("销毁清册 Destruction list")
    assert rows[1][:7] == [
        "序号 No.",
        "档号 Archive number",
        "题名 Title",
        "形成时间 Formed on",
        "保管期限 Retention period",
        "已保管时间 Time kept",
        "销毁时间 Destroyed at",
    ]
    items = {r[2]: r for r in rows[2:] if r and isinstance(r[0], int)}
    due = items["due"]
    with rt.db.unit_of_work() as s:
        from archive_service.archive.models import Document

        doc = s.get(Document, archive["due"])
        assert doc is not None and doc.archive_number == due[1]
    assert due[4] == "D5 短期 short"
    assert due[5].startswith("11年0个月") and due[5].endswith("11 years 0 months")
    assert due[6].endswith("UTC") and due[7] in ("", None)
    skipped = items["late_hold"]  # held after approval: listed, not destroyed, said why
    assert skipped[6] == "—" and "on hold" in skipped[7]
    footer = [r[0] for r in rows if r and isinstance(r[0], str)]
    assert any("监销人" in f and "Sven (sven)" in f for f in footer)
    approvals = [f for f in footer if f.startswith("审批 Approval")]
    assert len(approvals) == 2 and "Olga (olga)" in approvals[0] and "Leo (leo)" in approvals[1]
    assert any("档案室 B1" in f and "cryptographic erase" in f for f in footer)

    pdf = client.get(url, headers=h["audrey"])  # PDF is the default
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert due[1] in text and "Sven (sven)" in text

    exported = client.get(
        "/api/v1/audit",
        query_string={"action": "destruction.list_export", "target": f"destruction:{did}"},
        headers=h["audrey"],
    ).get_json()
    assert sorted(e["details"]["format"] for e in exported["items"]) == ["pdf", "xlsx"]

    assert client.get(url, headers=h["clara"]).status_code == 403
    bad = client.get(url, query_string={"format": "doc"}, headers=h["audrey"])
    assert bad.status_code == 422

    login(client, "audrey")
    record = client.get(f"/disposal/destructions/{did}/record").get_data(as_text=True)
    assert f"/disposal/destructions/{did}/list.xlsx" in record
    page = client.get(f"/disposal/destructions/{did}/list.xlsx")
    assert page.status_code == 200 and _rows(page.data)[2][1] == rows[2][1]
    assert client.get(f"/disposal/destructions/{did}/list.doc").status_code == 404
