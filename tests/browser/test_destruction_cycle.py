"""Issue walk-through in a real browser: an archivist compiles the review, the operations head
confirms it, the archivist appraises and applies, the operations head and a leader approve,
the archivist destroys with a supervisor, and an auditor opens and verifies the signed record."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from playwright.sync_api import expect

from tests import samples
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, People, bearer, token_for

pytestmark = pytest.mark.slow


def test_review_to_destruction_in_the_browser(
    live_server: Any, live_people: People, browser: Any
) -> None:
    base, rt = live_server
    from archive_service.app import create_app

    for name, role, dept in (
        ("clara", "clerk", "SALES"),
        ("arch", "archivist", "OPS"),
        ("olga", "operations_head", "OPS"),
        ("leo", "leader", "OPS"),
        ("sven", "supervisor", "OPS"),
        ("audrey", "auditor", "OPS"),
    ):
        live_people.user(name, role, department=dept)
    api = create_app(rt.settings, runtime=rt).test_client()
    numbers = []
    with time_machine.travel(datetime.now(UTC) - timedelta(days=11 * 366), tick=True):
        h, a = bearer(token_for(api, "clara")), bearer(token_for(api, "arch"))
        cid = api.post(
            "/api/v1/customers",
            headers=h,
            json={"name": "旧客户", "customer_type": "enterprise", "department": "SALES"},
        ).get_json()["id"]
        for title in ("旧合同", "旧报价单"):
            doc = api.post(
                "/api/v1/documents",
                headers=h,
                content_type="multipart/form-data",
                data={
                    "customer_id": str(cid),
                    "category": "basic.profile",
                    "title": title,
                    "retention_class": "short",
                    "file": (io.BytesIO(samples.pdf(title.encode().hex())), "old.pdf"),
                },
            ).get_json()
            accepted = api.post(f"/api/v1/documents/{doc['id']}/accept", headers=a).get_json()
            numbers.append(accepted["archive_number"])

    archivist = sign_in(browser, base, "arch", PASSWORD)
    archivist.click("#nav-disposal")
    archivist.click("#compile")
    expect(archivist.locator(".review-item")).to_have_count(2)
    review_url = archivist.url

    head = sign_in(browser, base, "olga", PASSWORD)
    expect(head.locator("#nav-disposal .badge")).to_have_text("1")
    head.click("#nav-disposal")
    head.locator("ul.waiting a").first.click()
    head.click("#confirm")
    expect(head.locator("#review-status")).to_have_text("已确认")

    archivist.goto(review_url)
    for n in range(len(numbers)):
        archivist.locator(".review-item button[value=destroy]").nth(n).click()
        expect(archivist.locator(".flash-info")).to_be_visible()
    archivist.click("#apply-destruction")
    expect(archivist.locator("#destruction-status")).to_have_text("审批中")
    destruction_url = archivist.url

    for page in (head, sign_in(browser, base, "leo", PASSWORD)):
        page.goto(destruction_url)
        page.click("#approve")
        expect(page.locator(".flash-info")).to_be_visible()

    archivist.goto(destruction_url)
    expect(archivist.locator("#destruction-status")).to_have_text("已批准")
    archivist.select_option("#supervisor", "sven")
    archivist.fill("#place", "总部档案室")
    archivist.click("#execute")
    expect(archivist.locator("#destruction-status")).to_have_text("已完成")

    auditor = sign_in(browser, base, "audrey", PASSWORD)
    auditor.goto(destruction_url)
    # No backup target here: the page says the destruction is in no backup journal yet.
    expect(auditor.locator("#backup-horizon")).to_contain_text("尚未写入备份销毁日志")
    auditor.click("#record-link")
    expect(auditor.locator("#backup-horizon")).to_contain_text("尚未写入备份销毁日志")
    for number in numbers:
        expect(auditor.locator("table.grid")).to_contain_text(number)
    expect(auditor.locator("dl.facts")).to_contain_text("总部档案室")
    auditor.click("#verify")
    expect(auditor.locator("#verify-result")).to_contain_text("签名有效")
