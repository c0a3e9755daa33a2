"""The issue's walk-through: a clerk files a phone photo of a business licence, a scanned
two-page contract, a .doc, a .wps, an .xls and an OFD invoice through the API; the archivist
reads each one's four-part check report before accepting; after acceptance each is found by
a Chinese word of its content and has a preview and a thumbnail. A mislabelled file is refused (415, nothing stored); a
password-protected DOCX and an OFD zip bomb are taken, their extraction failure recorded."""

from __future__ import annotations

from typing import Any

import pytest

from archive_service.archive.models import Document
from archive_service.runtime import Runtime
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_archive_api import new_customer, upload
from tests.integration.test_search_api import ids, search
from tests.office_samples import WORDS, encrypted_docx, ofd, ofd_bomb
from tests.office_samples import legacy as legacy  # noqa: F401 - the fixture

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _clerk_and_archivist(client: Any, people: People) -> tuple[dict[str, dict[str, str]], int]:
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    h = {n: bearer(token_for(client, n)) for n in ("clara", "arch")}
    cid = new_customer(
        client, h["clara"], name="华夏贸易有限公司", credit_code="91310000MA1FL8XQ30"
    )
    return h, cid


# The "done when": three LibreOffice runs per pass (~5 s each) plus two OCR'd
# scans; the formats do not depend on the database, so the walk-through runs once; the
# refusals below run on both.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_scans_legacy_wps_and_ofd_files_are_checked_filed_found_and_previewed(
    client: Any,
    people: People,
    legacy: dict[str, bytes],  # noqa: F811
) -> None:
    h, cid = _clerk_and_archivist(client, people)
    invoice = ofd(["增值税电子普通发票", "货物名称：离心泵配件"], ["价税合计：壹仟贰佰元整"])
    photo = samples.image_bytes(
        samples.scan(
            "营业执照", "名称：上海恒泰隆贸易有限公司", "统一社会信用代码：91310115MA1K3YJ82X"
        ),
        "JPEG",
        quality=80,
    )
    contract = samples.scanned_pdf(
        samples.scan("第一页：采购合同", "甲方：华夏贸易有限公司"),
        samples.scan("第二页：付款条件", "货到后三十日内付清"),
    )
    files = [
        (photo, "营业执照.jpg", "image/jpeg", "恒泰隆贸易"),
        (contract, "采购合同.pdf", "application/pdf", "三十日内付清"),
        (legacy["doc"], "采购合同.doc", "application/msword", "离心泵三百台"),
        (legacy["wps"], "保证书.wps", "application/wps-office.wps", WORDS["wps"]),
        (legacy["xls"], "对账单.xls", "application/vnd.ms-excel", WORDS["xls"]),
        (invoice, "发票.ofd", "application/ofd", "壹仟贰佰元整"),
    ]
    for data, name, content_type, word in files:
        resp = upload(client, h["clara"], cid, data, filename=name, title="客户文件")
        assert resp.status_code == 201, (name, resp.get_json())
        doc = resp.get_json()
        assert doc["content_type"] == content_type
        # The archivist sees the four-part report before accepting.
        report = client.get(f"/api/v1/documents/{doc['id']}/checks", headers=h["arch"])
        assert report.status_code == 200, (name, report.get_json())
        body = report.get_json()
        assert body["checked_at"], name
        for group in ("authenticity", "integrity", "usability", "security"):
            assert body[group]["items"], (name, group)
            failed = [i for i in body[group]["items"] if i["mandatory"] and not i["passed"]]
            assert not failed, (name, group, failed)
        accepted = client.post(f"/api/v1/documents/{doc['id']}/accept", headers=h["arch"])
        assert accepted.status_code == 200, (name, accepted.get_json())
        assert ids(search(client, h["clara"], word)) == [doc["id"]], (name, word)
        preview = client.get(f"/api/v1/documents/{doc['id']}/preview", headers=h["clara"])
        assert preview.status_code == 200, (name, preview.get_json())
        assert preview.mimetype == "application/pdf" and preview.data.startswith(b"%PDF"), name
        preview.close()
        thumb = client.get(f"/api/v1/documents/{doc['id']}/thumbnail", headers=h["clara"])
        assert thumb.status_code == 200 and thumb.data.startswith(b"\x89PNG"), name
        thumb.close()
    assert ids(search(client, h["clara"], "离心泵配件")) == [
        ids(search(client, h["clara"], "壹仟贰佰元整"))[0]
    ]


def test_a_mislabelled_file_is_refused_and_hard_ones_are_recorded(
    client: Any,
    people: People,
    rt: Runtime,
    legacy: dict[str, bytes],  # noqa: F811
) -> None:
    h, cid = _clerk_and_archivist(client, people)
    resp = upload(client, h["clara"], cid, legacy["doc"], filename="报表.xls")
    assert resp.status_code == 415, resp.get_json()
    assert resp.get_json()["error"]["reason"] == "not_binary_office"
    resp = upload(client, h["clara"], cid, b"PK" + ofd(["x"])[2:12] + b"\x00" * 50, "发票.ofd")
    assert resp.status_code == 415
    assert client.get("/api/v1/documents", headers=h["clara"]).get_json()["total"] == 0

    for data, name, words in (
        (encrypted_docx(), "加密合同.docx", "encrypted"),
        (ofd_bomb(), "发票.ofd", "zip bomb"),
    ):
        resp = upload(client, h["clara"], cid, data, filename=name)
        assert resp.status_code == 201, resp.get_json()
        with rt.db.unit_of_work() as s:
            row = s.get(Document, resp.get_json()["id"])
            assert row is not None and row.extraction == "failed", name
            assert words in (row.extraction_error or ""), row.extraction_error
    assert client.get("/api/v1/documents", headers=h["clara"]).get_json()["total"] == 2
