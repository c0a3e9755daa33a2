"""Previews (issue 15): a version's preview PDF and thumbnail are made once after upload,
stored encrypted, served to those who may read the file (registered like a reading), and a
file that cannot be shown gets a recorded failure instead of a crashed worker."""

from __future__ import annotations

import io
from typing import Any

import pypdfium2 as pdfium
import pytest
from PIL import Image
from sqlalchemy import select

from archive_service.archive.models import AccessRecord, Rendition
from archive_service.runtime import Runtime
from archive_service.vault.models import StoredObject
from archive_service.viewing import previews
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_web_accounts import login
from tests.viewing import files

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def org(people: People) -> int:
    people.user("clara", "clerk", department="SALES")
    people.user("finn", "clerk", department="FIN")
    return people.customer("clara")


def _pages(pdf: bytes) -> int:
    doc = pdfium.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def _renditions(rt: Runtime, document_id: int) -> dict[str, Rendition]:
    with rt.db.unit_of_work() as s:
        rows = s.execute(select(Rendition).where(Rendition.document_id == document_id))
        found = {r.kind: r for r in rows.scalars()}
        s.expunge_all()
    return found


def _thumbnail(resp: Any) -> Image.Image:
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    return Image.open(io.BytesIO(resp.data))


# LibreOffice and OCR cost seconds a file and do not depend on the database: one database.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_previews_of_word_excel_pdf_and_jpeg(
    client: Any, people: People, org: int, rt: Runtime
) -> None:
    two_pages = files.pdf(["第一页", "第二页"])
    # A large photo without text (OCR of a text-less photo is quick).
    photo = samples.image_bytes(Image.new("RGB", (3000, 2000), (200, 180, 150)), "JPEG")
    uploads = {
        "docx": (files.docx(["客户档案", "合同条款"]), "合同.docx", 1),
        "xlsx": (files.xlsx([["客户", "金额"], ["华夏", "100"]]), "台账.xlsx", 1),
        "pdf": (two_pages, "执照.pdf", 2),
        "jpeg": (photo, "执照.jpg", 1),
    }
    me = bearer(token_for(client, "clara"))
    for name, (data, filename, pages) in uploads.items():
        doc_id = people.document("clara", org, data, title=name, filename=filename)
        made = _renditions(rt, doc_id)
        assert {k: r.status for k, r in made.items()} == {
            "preview_pdf": "made",
            "thumbnail": "made",
        }, (name, {k: (r.reason, r.error) for k, r in made.items()})
        preview = client.get(f"/api/v1/documents/{doc_id}/preview", headers=me)
        assert preview.status_code == 200 and preview.mimetype == "application/pdf", name
        assert "inline" in preview.headers["Content-Disposition"]
        assert _pages(preview.data) == pages == made["preview_pdf"].pages, name
        thumb = _thumbnail(client.get(f"/api/v1/documents/{doc_id}/thumbnail", headers=me))
        assert thumb.width == 240 and 0 < thumb.height <= 2400, name
        if name == "pdf":  # a PDF is its own preview: no copy is stored
            assert made["preview_pdf"].shares_original and preview.data == two_pages
        if name == "jpeg":  # scaled to fit, re-encoded: not the 3000-pixel photo
            pdf = pdfium.PdfDocument(preview.data)
            width, height = pdf[0].get_size()
            assert max(width, height) == pytest.approx(11.69 * 72, abs=2)
            assert not made["preview_pdf"].shares_original
            pdf.close()
        # Made once: asking again finds them cached.
        assert previews.make_previews(rt.db, rt.viewing, doc_id) == "cached"
    # Stored encrypted: the stored bytes are not a PDF or a PNG.
    with rt.db.unit_of_work() as s:
        obj = s.get(StoredObject, made["thumbnail"].stored_object_id)
        assert obj is not None
        with rt.vault.backend.get(obj.object_name) as stored:
            raw = stored.read(64)
    assert b"PNG" not in raw
    with rt.db.unit_of_work() as s:
        actions = [r.action for r in s.execute(select(AccessRecord)).scalars()]
    assert actions.count("preview") == 4 and actions.count("thumbnail") == 4


def test_thumbnail_on_the_document_page_and_access_as_for_the_file(
    client: Any, people: People, org: int, rt: Runtime
) -> None:
    doc_id = people.document("clara", org, samples.pdf("营业执照"))
    browser = client.application.test_client()
    assert login(browser, "clara").status_code == 302
    page = browser.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert 'id="thumbnail"' in page and f"/documents/{doc_id}/thumbnail.png" in page
    assert f'href="/documents/{doc_id}/preview"' in page
    assert _thumbnail(browser.get(f"/documents/{doc_id}/thumbnail.png")).width == 240
    shown = browser.get(f"/documents/{doc_id}/preview")
    assert shown.status_code == 200 and shown.mimetype == "application/pdf"
    assert "frame-ancestors 'self'" in shown.headers["Content-Security-Policy"]
    shown.close()
    # A clerk of another department may not read the file: neither preview nor thumbnail.
    other = bearer(token_for(client, "finn"))
    for route in ("preview", "thumbnail"):
        assert client.get(f"/api/v1/documents/{doc_id}/{route}", headers=other).status_code == 404
    finn = client.application.test_client()
    assert login(finn, "finn").status_code == 302
    assert finn.get(f"/documents/{doc_id}/thumbnail.png").status_code == 404


def test_a_corrupt_file_records_its_failure_and_the_repair_requeues_missing_ones(
    client: Any, people: People, org: int, rt: Runtime, monkeypatch: Any
) -> None:
    broken = samples.image_bytes(samples.scan("x"), "JPEG")[:400]  # cut off mid-image
    doc_id = people.document("clara", org, broken, title="坏图", filename="坏图.jpg")
    made = _renditions(rt, doc_id)
    assert {r.status for r in made.values()} == {"failed"}
    assert made["thumbnail"].reason == "unreadable" and made["thumbnail"].attempts == 1
    me = bearer(token_for(client, "clara"))
    refused = client.get(f"/api/v1/documents/{doc_id}/preview", headers=me)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["reason"] == "unreadable" and "预览" in error["message_zh"]
    browser = client.application.test_client()
    assert login(browser, "clara").status_code == 302
    page = browser.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert 'id="preview-state"' in page and 'id="thumbnail"' not in page
    # Not a failure that may pass: the repair leaves it alone.
    with rt.db.unit_of_work() as s:
        assert doc_id not in previews.due(s)

    # A document whose job was lost has no renditions: the repair queues it, and it is made.
    sent: list[tuple[str, tuple[Any, ...]]] = []
    eager = rt.jobs

    class Recorder:
        eager = False

        def send(self, task: str, *args: Any) -> None:
            sent.append((task, args))

    monkeypatch.setattr(rt, "jobs", Recorder())
    lost = people.document("clara", org, samples.pdf("丢失"), title="丢失")
    assert ("make_previews", ([lost],)) in sent and _renditions(rt, lost) == {}
    monkeypatch.setattr(rt, "jobs", eager)
    assert previews.repair(rt.db) == [lost]
    assert {r.status for r in _renditions(rt, lost).values()} == {"made"}
    with rt.db.unit_of_work() as s:
        assert previews.due(s) == []


def test_every_reason_a_preview_can_fail_for_has_words() -> None:
    from archive_service.archive.vocabulary import PREVIEW_PENDING, PREVIEW_PROBLEMS
    from archive_service.viewing import render

    assert set(PREVIEW_PROBLEMS.codes) == {*render.REASONS, previews.ERROR, PREVIEW_PENDING}
    assert set(PREVIEW_PROBLEMS.codes) >= previews.RETRYABLE
