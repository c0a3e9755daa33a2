"""Files are what they claim, on the API and the web upload: a ZIP named ``.docx`` must be a
Word package, a PDF must have nothing appended. A refusal is a 415 with words in the
interface's language, and nothing is stored."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from archive_service.vault.models import StoredObject
from tests import office_samples, samples
from tests.conftest import People
from tests.integration.test_archive_api import new_customer, upload
from tests.integration.test_archive_api import org as org  # noqa: F401 - the fixture
from tests.integration.test_web_accounts import login

HOSTILE = [
    pytest.param(samples.exe_in_zip(), "合同.docx", "not_office_package", id="exe-zip-as-docx"),
    pytest.param(samples.exe_in_zip(), "报表.xlsx", "not_office_package", id="exe-zip-as-xlsx"),
    pytest.param(samples.pdf_with_zip(), "营业执照.pdf", "pdf_appended_data", id="pdf-polyglot"),
    # An OLE file that is no Word document (here: an encrypted OOXML package) named .doc
    pytest.param(office_samples.encrypted_docx(), "合同.doc", "not_binary_office", id="ole-as-doc"),
]


def _stored(rt: Any) -> int:
    with rt.db.unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(StoredObject)) or 0)


def _store_files(rt: Any) -> list[str]:
    root = rt.settings.instance_dir
    return [p.name for p in root.rglob("*") if p.is_file() and "objects" in p.parts]


@pytest.mark.parametrize(("data", "filename", "reason"), HOSTILE)
def test_the_api_refuses_a_file_that_is_not_what_it_claims(
    client: Any, org: Any, rt: Any, data: bytes, filename: str, reason: str
) -> None:
    cid = new_customer(client, org["clara"])
    before = _store_files(rt)
    resp = upload(client, org["clara"], cid, data, filename=filename)
    assert resp.status_code == 415, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "unsupported_type"
    assert error["reason"] == reason and error["field"] == "file"
    assert "Nothing was stored" in error["message"]
    assert client.get("/api/v1/documents", headers=org["clara"]).get_json()["total"] == 0
    assert _stored(rt) == 0
    assert _store_files(rt) == before


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (samples.word("合同正文"), "合同.docx"),
        (samples.xlsx(("客户", 1)), "报表.xlsx"),
        (samples.pptx("季度汇报"), "汇报.pptx"),
        (samples.pdf_zh("营业执照"), "营业执照.pdf"),
    ],
)
def test_genuine_office_files_and_pdfs_are_still_taken(
    client: Any, org: Any, data: bytes, filename: str
) -> None:
    cid = new_customer(client, org["clara"])
    resp = upload(client, org["clara"], cid, data, filename=filename)
    assert resp.status_code == 201, resp.get_json()


@pytest.fixture
def clerk_page(client: Any, people: People) -> tuple[int, str]:
    """A clerk signed in on the web, on her customer's page (its CSRF token)."""
    people.user("clara", "clerk", department="SALES")
    cid = people.customer("clara")
    assert login(client, "clara").status_code == 302
    page = client.get(f"/customers/{cid}").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', page
    )
    assert token, "no CSRF token on the customer page"
    return cid, token.group(1)


@pytest.mark.parametrize(("data", "filename", "reason"), HOSTILE)
@pytest.mark.parametrize(("lang", "words"), [("zh", "文件未被保存"), ("en", "Nothing was stored")])
def test_the_web_upload_refuses_it_in_the_interfaces_language(
    client: Any,
    rt: Any,
    clerk_page: tuple[int, str],
    data: bytes,
    filename: str,
    reason: str,
    lang: str,
    words: str,
) -> None:
    cid, token = clerk_page
    client.get(f"/customers/{cid}?lang={lang}")
    resp = client.post(
        f"/customers/{cid}/upload",
        data={
            "csrf_token": token,
            "category": "basic.profile",
            "retention_class": "short",
            "title": "合同",
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
        headers={"X-CSRFToken": token},
    )
    assert resp.status_code == 415, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["ok"] is False and body["reason"] == reason
    assert words in body["error"] and reason not in body["error"]
    assert _stored(rt) == 0
