"""The issue's walk-through for the older and Chinese formats: a clerk files a .doc, a .wps,
an .xls and an OFD invoice through the API; after acceptance each is found by a Chinese
word of its content. A mislabelled file is refused (415, nothing stored); a
password-protected DOCX and an OFD zip bomb are taken, their extraction failure recorded."""

from __future__ import annotations

from typing import Any

import pytest

from archive_service.archive.models import Document
from archive_service.runtime import Runtime
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


# Three LibreOffice runs per pass (~5 s each): the formats do not depend on the database,
# so the walk-through runs once; the refusals below run on both.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_legacy_wps_and_ofd_files_are_filed_and_found(
    client: Any,
    people: People,
    legacy: dict[str, bytes],  # noqa: F811
) -> None:
    h, cid = _clerk_and_archivist(client, people)
    invoice = ofd(["增值税电子普通发票", "货物名称：离心泵配件"], ["价税合计：壹仟贰佰元整"])
    files = [
        (legacy["doc"], "采购合同.doc", "application/msword", "离心泵三百台"),
        (legacy["wps"], "保证书.wps", "application/wps-office.wps", WORDS["wps"]),
        (legacy["xls"], "对账单.xls", "application/vnd.ms-excel", WORDS["xls"]),
        (invoice, "发票.ofd", "application/ofd", "壹仟贰佰元整"),
    ]
    filed = []
    for data, name, content_type, _ in files:
        resp = upload(client, h["clara"], cid, data, filename=name, title="客户文件")
        assert resp.status_code == 201, (name, resp.get_json())
        doc = resp.get_json()
        assert doc["content_type"] == content_type
        accepted = client.post(f"/api/v1/documents/{doc['id']}/accept", headers=h["arch"])
        assert accepted.status_code == 200, accepted.get_json()
        filed.append(doc["id"])
    doc_id, wps_id, xls_id, ofd_id = filed
    assert ids(search(client, h["clara"], "离心泵三百台")) == [doc_id]
    assert ids(search(client, h["clara"], WORDS["wps"])) == [wps_id]
    assert ids(search(client, h["clara"], WORDS["xls"])) == [xls_id]
    assert ids(search(client, h["clara"], "壹仟贰佰元整")) == [ofd_id]
    assert ids(search(client, h["clara"], "离心泵配件")) == [ofd_id]


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
