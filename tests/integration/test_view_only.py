"""View means view (issue 14): a reader whose grant is view-only never receives the original
bytes — not as a download, not as an inline preview — but watermarked page images, each
registered in the access register as a page view. The owning department, archivists and
download grants keep the file."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from archive_service.runtime import Runtime
from archive_service.viewing.sessions import end_overdue
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_web_accounts import csrf, login


def _two_pages() -> bytes:
    from pypdfium2 import PdfDocument

    out = PdfDocument.new()
    for text in ("page one", "page two"):
        out.import_pages(PdfDocument(samples.pdf(text)))
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


def _granted(client: Any, h: dict[str, Any], who: str, number: str, mode: str) -> Any:
    """``who`` applies on the apply page (by archive number); FIN's head and OPS approve.
    Returns ``who``'s signed-in browser."""
    browser = client.application.test_client()
    assert login(browser, who).status_code == 302
    today = datetime.now(UTC).date()
    filed = browser.post(
        "/access/apply",
        data={
            "csrf_token": csrf(browser, "/access/apply"),
            "purpose": "核对合同",
            "numbers": number,
            "mode": mode,
            "starts": today.isoformat(),
            "ends": (today + timedelta(days=7)).isoformat(),
        },
    )
    assert filed.status_code == 302, filed.get_data(as_text=True)[-800:]
    me = bearer(token_for(client, who))
    req = client.get("/api/v1/access-requests", headers=me).get_json()["items"][0]
    for approver in ("fred", "olga"):
        client.post(
            f"/api/v1/access-requests/{req['id']}/decision",
            headers=h[approver],
            json={"decision": "approve"},
        )
    return browser


@pytest.fixture
def org(client: Any, people: People) -> dict[str, Any]:
    people.department("FIN", "财务部")
    people.department("OPS", "运营部")
    people.user("clara", "clerk", department="SALES")
    people.user("fay", "requester", department="FIN")
    people.user("dora", "requester", department="FIN")
    people.user("fred", "department_head", department="FIN")
    people.user("olga", "operations_head", department="OPS")
    people.user("arch", "archivist", department="OPS")
    people.user("audrey", "auditor", department="OPS")
    h = {n: bearer(token_for(client, n)) for n in ("clara", "fred", "olga", "arch", "audrey")}
    cid = people.customer("clara", name="华夏贸易")
    original = _two_pages()
    doc = people.document(
        "clara", cid, original, title="合同", filename="合同.pdf", accepted_by=("arch",)
    )
    number = client.get(f"/api/v1/documents/{doc}", headers=h["clara"]).get_json()["archive_number"]
    browsers = {
        "fay": _granted(client, h, "fay", number, "view"),
        "dora": _granted(client, h, "dora", number, "download"),
    }
    h["fay"], h["dora"] = bearer(token_for(client, "fay")), bearer(token_for(client, "dora"))
    return {"h": h, "doc": doc, "browsers": browsers, "original": original}


def test_a_view_grant_never_gets_the_original_bytes(client: Any, org: Any) -> None:
    h, doc, original = org["h"], org["doc"], org["original"]
    for url in (
        f"/api/v1/documents/{doc}/content",
        f"/api/v1/documents/{doc}/content?disposition=inline",
    ):
        resp = client.get(url, headers=h["fay"])
        assert resp.status_code == 403, url
        assert resp.get_json()["error"]["rule"] == "grant-view-only"
        assert original not in resp.data
    fay = org["browsers"]["fay"]
    for url in (f"/documents/{doc}/file", f"/documents/{doc}/file?inline=1"):
        resp = fay.get(url)
        assert resp.status_code == 403 and b"%PDF" not in resp.data, url
    # Those who keep the file still get it.
    for who in ("clara", "dora"):
        resp = client.get(f"/api/v1/documents/{doc}/content?disposition=inline", headers=h[who])
        assert resp.status_code == 200 and resp.data == original, who
    assert org["browsers"]["dora"].get(f"/documents/{doc}/file?inline=1").data == original


def test_a_view_grant_reads_registered_watermarked_pages(
    client: Any, org: Any, rt: Runtime
) -> None:
    h, doc = org["h"], org["doc"]
    assert client.get(f"/api/v1/documents/{doc}/pages", headers=h["fay"]).get_json() == {
        "document_id": doc,
        "pages": 2,
    }
    pages = []
    for n in (1, 2):
        resp = client.get(f"/api/v1/documents/{doc}/pages/{n}", headers=h["fay"])
        assert resp.status_code == 200 and resp.mimetype == "image/png"
        assert resp.data.startswith(b"\x89PNG") and b"%PDF" not in resp.data
        assert "no-store" in resp.headers["Cache-Control"]
        pages.append(resp.data)
    assert pages[0] != pages[1]
    assert client.get(f"/api/v1/documents/{doc}/pages/3", headers=h["fay"]).status_code == 404
    # The web page offers the pages, not the file.
    fay = org["browsers"]["fay"]
    page = fay.get(f"/documents/{doc}").get_data(as_text=True)
    assert 'id="view-pages"' in page and 'id="download"' not in page
    viewer = fay.get(f"/documents/{doc}/view?page=2")
    assert viewer.status_code == 200 and f"/documents/{doc}/pages/2.png" in viewer.get_data(
        as_text=True
    )
    image = fay.get(f"/documents/{doc}/pages/2.png")
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")
    # Each page shown is a page view in the register, under the grant.
    register = client.get(
        f"/api/v1/access-register?document_id={doc}", headers=h["audrey"]
    ).get_json()["items"]
    views = sorted((r["action"], r["page"]) for r in register if r["user"] == "fay")
    assert views == [("view", 1), ("view", 2), ("view", 2)]
    assert all(r["grant_id"] for r in register if r["user"] == "fay")
    events = client.get(
        f"/api/v1/audit?action=document.view_page&target=document:{doc}", headers=h["audrey"]
    ).get_json()["items"]
    assert len(events) == 3
    # The decrypted copy lives in fay's private folder of the temp area, wiped once idle.
    folders = list((rt.temp_dir / "viewing").glob("r*"))
    assert len(folders) == 1 and (folders[0].stat().st_mode & 0o077) == 0
    end_overdue(rt.db, rt.viewing)
    assert folders[0].exists()  # in use a moment ago
    old = time.time() - 3600
    for path in (folders[0], *folders[0].iterdir()):
        os.utime(path, (old, old))
    end_overdue(rt.db, rt.viewing)
    assert not folders[0].exists()
