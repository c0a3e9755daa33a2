"""Issue walk-through in a real browser: a clerk asks to correct a customer's address and
to replace a contract scan, follows the requests, the archivist and the operations head
approve, and the history shows both while the old contract version stays readable."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests import samples
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, People, bearer, token_for

pytestmark = pytest.mark.slow


def test_address_correction_and_contract_replacement(
    live_server: Any, live_people: People, browser: Any, tmp_path: Path
) -> None:
    base, rt = live_server
    from archive_service.app import create_app

    live_people.user("clara", "clerk", department="SALES")
    live_people.user("arch", "archivist", department="OPS")
    live_people.user("olga", "operations_head", department="OPS")
    api = create_app(rt.settings, runtime=rt).test_client()
    h = bearer(token_for(api, "clara"))
    cid = api.post(
        "/api/v1/customers",
        headers=h,
        json={
            "name": "华夏贸易有限公司",
            "customer_type": "enterprise",
            "department": "SALES",
            "address": "浦东旧址 1 号",
        },
    ).get_json()["id"]
    old_scan, new_scan = samples.pdf("scan one"), samples.pdf("scan two, stamped")
    doc = api.post(
        "/api/v1/documents",
        headers=h,
        content_type="multipart/form-data",
        data={
            "customer_id": str(cid),
            "category": "business.contract",
            "title": "销售合同",
            "retention_class": "medium",
            "facts.contract_number": "HT-7",
            "file": (io.BytesIO(old_scan), "合同.pdf"),
        },
    ).get_json()
    api.post(f"/api/v1/documents/{doc['id']}/accept", headers=bearer(token_for(api, "arch")))

    clerk = sign_in(browser, base, "clara", PASSWORD)
    clerk.goto(f"{base}/customers/{cid}")
    clerk.click("text=申请变更")
    clerk.fill("#address", "徐汇新址 88 号")
    clerk.fill("#reason", "客户迁址")
    (tmp_path / "迁址通知.pdf").write_bytes(samples.pdf("notice"))
    clerk.set_input_files("#evidence", str(tmp_path / "迁址通知.pdf"))
    clerk.click("#file-change")
    expect(clerk.locator(".flash-info")).to_contain_text("档案管理员")
    clerk.goto(f"{base}/documents/{doc['id']}")
    clerk.click("text=申请变更")
    (tmp_path / "合同-盖章.pdf").write_bytes(new_scan)
    clerk.set_input_files("#file", str(tmp_path / "合同-盖章.pdf"))
    clerk.fill("#reason", "补充盖章页")
    clerk.click("#file-change")
    expect(clerk.locator(".application")).to_have_count(2)
    expect(clerk.locator(".application .status").first).to_have_text("审批中")

    for who in ("arch", "olga"):
        page = sign_in(browser, base, who, PASSWORD)
        page.click(".mainnav >> text=变更审批")
        for _ in range(2):
            page.locator("button[value=approve]").first.click()
            expect(page.locator(".flash-info")).to_contain_text("已记录")

    clerk.goto(base + "/changes/mine")
    expect(clerk.locator(".application .status", has_text="已生效")).to_have_count(2)
    clerk.goto(f"{base}/customers/{cid}")
    expect(clerk.locator("dd", has_text="徐汇新址 88 号")).to_have_count(1)
    clerk.click("summary")
    expect(clerk.locator("table.diff")).to_contain_text("浦东旧址 1 号")
    clerk.goto(f"{base}/documents/{doc['id']}")
    clerk.click("summary")
    expect(clerk.locator("table.diff")).to_contain_text("合同-盖章.pdf")
    old = clerk.context.request.get(f"{base}/documents/{doc['id']}/file?version=1")
    assert old.status == 200 and old.body() == old_scan
    current = clerk.context.request.get(f"{base}/documents/{doc['id']}/file")
    assert current.body() == new_scan
