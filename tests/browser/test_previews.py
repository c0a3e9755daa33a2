"""In a real browser: the document page shows the first page as a thumbnail (loaded under
the app's CSP), and clicking it opens the preview PDF in the page's frame."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, People
from tests.viewing import files

pytestmark = pytest.mark.slow


def test_the_document_page_shows_the_thumbnail_and_opens_the_preview(
    live_server: Any, live_people: People, browser: Any
) -> None:
    base, _rt = live_server
    live_people.user("clara", "clerk", department="SALES")
    customer = live_people.customer("clara")
    doc_id = live_people.document(
        "clara", customer, files.pdf(["营业执照", "第二页"]), filename="执照.pdf"
    )
    page = sign_in(browser, base, "clara", PASSWORD)
    page.goto(f"{base}/documents/{doc_id}")
    thumb = page.locator("#thumbnail")
    expect(thumb).to_be_visible()
    # Loaded, not a broken image: the PNG decoded at its 240-pixel width.
    assert thumb.evaluate("img => img.complete && img.naturalWidth") == 240
    expect(page.get_by_text("共 2 页", exact=True)).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith(f"/documents/{doc_id}/preview")) as shown:
        page.click("#thumbnail-link")
    answer = shown.value
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    # Opened in the document page's own frame (headless Chromium has no PDF viewer to draw it).
    assert answer.frame.name == "preview"
    page.context.close()
