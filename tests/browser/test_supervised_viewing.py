"""Issue walk-through in a real browser: the named supervisor opens a session, the external
viewer pages through a PDF and sees the watermark, the supervisor ends the session, and the
viewer's next page is refused. No route gives the viewer the original file."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import expect

from archive_service.accounts import users as accounts
from archive_service.viewing import render_pages
from tests import samples
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, People, bearer, token_for

pytestmark = pytest.mark.slow


def _two_pages() -> bytes:
    from pypdfium2 import PdfDocument

    out = PdfDocument.new()
    for text in ("Contract page one", "Contract page two"):
        out.import_pages(PdfDocument(samples.pdf(text)))
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


def _differing(a: Image.Image, b: Image.Image) -> float:
    """Share of pixels that differ noticeably between two same-sized images."""
    diff = ImageChops.difference(a.convert("L"), b.convert("L")).point(
        lambda v: 255 if v > 24 else 0
    )
    hist = diff.histogram()
    return hist[255] / (a.width * a.height)


def test_supervised_viewing_walk_through(
    live_server: Any, live_people: People, browser: Any, tmp_path: Path
) -> None:
    base, rt = live_server
    from archive_service.app import create_app

    for name, role, dept in (
        ("clara", "clerk", "SALES"),
        ("arch", "archivist", "OPS"),
        ("leo", "leader", "OPS"),
        ("sven", "supervisor", "OPS"),
    ):
        live_people.user(name, role, department=dept)
    live_people.user("wang", "regulator", department=None)
    with rt.db.unit_of_work() as s:
        reg = accounts.user_by_username(s, "wang")
        assert reg is not None
        reg.display_name, reg.organisation = "王检察官", "上海市人民检察院"
    api = create_app(rt.settings, runtime=rt).test_client()
    h = bearer(token_for(api, "clara"))
    original = _two_pages()
    cid = api.post(
        "/api/v1/customers",
        headers=h,
        json={"name": "华夏贸易", "customer_type": "enterprise", "department": "SALES"},
    ).get_json()["id"]
    doc = api.post(
        "/api/v1/documents",
        headers=h,
        content_type="multipart/form-data",
        data={
            "customer_id": str(cid),
            "category": "business.contract",
            "title": "采购合同",
            "retention_class": "medium",
            "facts.contract_number": "HT-2024-7",
            "file": (io.BytesIO(original), "合同.pdf"),
        },
    ).get_json()
    api.post(f"/api/v1/documents/{doc['id']}/accept", headers=bearer(token_for(api, "arch")))

    # The viewer applies in the browser with the court's letter; the leader approves.
    viewer = sign_in(browser, base, "wang", PASSWORD)
    viewer.goto(base + "/access/apply")
    viewer.fill("#purpose", "依法调取采购合同")
    viewer.fill(
        "#numbers",
        api.get(
            f"/api/v1/documents/{doc['id']}", headers=bearer(token_for(api, "arch"))
        ).get_json()["archive_number"],
    )
    (tmp_path / "协查函.pdf").write_bytes(samples.pdf("letter of authorisation"))
    viewer.set_input_files("#legal_basis", str(tmp_path / "协查函.pdf"))
    viewer.click("#apply")
    expect(viewer.locator(".flash-info")).to_be_visible()
    leader = sign_in(browser, base, "leo", PASSWORD)
    leader.goto(base + "/access/inbox")
    expect(leader.locator(".application")).to_contain_text("上海市人民检察院")
    leader.select_option("select.supervisor", "sven")
    leader.click("button[value=approve]")
    expect(leader.locator(".flash-info")).to_be_visible()

    # Without a session the viewer sees nothing.
    viewer.goto(base + "/viewing/")
    expect(viewer.locator(".session-row")).to_have_count(0)

    supervisor = sign_in(browser, base, "sven", PASSWORD)
    supervisor.click("#nav-viewing")
    supervisor.click(".open-session")
    expect(supervisor.locator(".session-row")).to_have_count(1)

    viewer.goto(base + "/viewing/")
    viewer.locator(".session-row a").first.click()
    viewer.click(".view-document")
    expect(viewer.locator("#page-of")).to_contain_text("1")
    image = viewer.locator("#page-image")
    expect(image).to_be_visible()
    width = 0
    for _ in range(100):  # the page image is rendered on request: wait for it to arrive
        width = viewer.evaluate("document.getElementById('page-image').naturalWidth")
        if width:
            break
        viewer.wait_for_timeout(100)
    assert width == 1240
    src = image.get_attribute("src")
    assert src
    shown = viewer.context.request.get(base + src)
    assert shown.status == 200 and "no-store" in shown.headers["cache-control"]
    assert shown.body() != original and b"%PDF" not in shown.body()
    marked = Image.open(io.BytesIO(shown.body()))
    # The same page without a watermark, from the same renderer: the marks are real pixels.
    pdf = tmp_path / "plain.pdf"
    pdf.write_bytes(original)
    plain = Image.open(io.BytesIO(render_pages.render_png(str(pdf), "pdf", 1, [], 1240)))
    assert marked.size == plain.size
    page_area = (0, 0, plain.width, 1700)  # A4 at 1240 px is 1754 px high; the band below
    assert _differing(marked.crop(page_area), plain.crop(page_area)) > 0.01  # diagonal tiles
    band = (0, plain.height - 60, plain.width, plain.height)
    assert _differing(marked.crop(band), plain.crop(band)) > 0.005  # the text in the band
    viewer.click("#next")
    expect(viewer.locator("#page-of")).to_contain_text("2")
    # No route hands the viewer the original, during the session either.
    for url in (
        f"/documents/{doc['id']}/file",
        f"/documents/{doc['id']}/file?inline=1",
        f"/api/v1/documents/{doc['id']}/content",
    ):
        got = viewer.context.request.get(base + url)
        assert got.status in (401, 403, 404) and got.body() != original, url

    supervisor.goto(base + "/viewing/")
    supervisor.click(".end-session")
    expect(supervisor.locator(".flash-info")).to_be_visible()
    page_one = viewer.url.replace("page=2", "page=1")
    refused = viewer.goto(page_one)
    assert refused is not None and refused.status == 403
    expect(viewer.locator("main")).to_contain_text("S")
    # The image link of the ended session: refused too.
    assert viewer.context.request.get(base + src).status == 403
