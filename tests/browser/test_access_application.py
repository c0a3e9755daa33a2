"""Issue walk-through in a real browser: a finance staff member applies for a sales
customer's contract, their head and the operations head approve in their own browsers,
the applicant downloads it; once the grant expires the same download is refused."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from playwright.sync_api import expect

from tests import samples
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, People, bearer, token_for

pytestmark = pytest.mark.slow


def test_finance_applies_heads_approve_applicant_downloads_until_expiry(
    live_server: Any, live_people: People, browser: Any
) -> None:
    base, rt = live_server
    from archive_service.app import create_app

    live_people.department("FIN", "财务部")
    live_people.user("clara", "clerk", department="SALES")
    live_people.user("arch", "archivist", department="OPS")
    live_people.user("fay", "requester", department="FIN")
    live_people.user("fred", "department_head", department="FIN")
    live_people.user("olga", "operations_head", department="OPS")
    # The contract is filed through the API (the upload path has its own browser test).
    api = create_app(rt.settings, runtime=rt).test_client()
    clerk, arch = bearer(token_for(api, "clara")), bearer(token_for(api, "arch"))
    cid = api.post(
        "/api/v1/customers",
        headers=clerk,
        json={"name": "华夏贸易有限公司", "customer_type": "enterprise", "department": "SALES"},
    ).get_json()["id"]
    contract = samples.pdf("sales contract")
    doc = api.post(
        "/api/v1/documents",
        headers=clerk,
        content_type="multipart/form-data",
        data={
            "customer_id": str(cid),
            "category": "business.contract",
            "title": "年度销售合同",
            "retention_class": "long",
            "facts.contract_number": "HT-2025-001",
            "file": (io.BytesIO(contract), "销售合同.pdf"),
        },
    ).get_json()
    number = api.post(f"/api/v1/documents/{doc['id']}/accept", headers=arch).get_json()[
        "archive_number"
    ]

    # Finance applies, by archive number, to download it today.
    fay = sign_in(browser, base, "fay", PASSWORD)
    assert fay.goto(f"{base}/documents/{doc['id']}").status == 404
    fay.goto(base + "/access/apply")
    fay.fill("#purpose", "核对应收账款")
    fay.fill("#numbers", number)
    fay.select_option("#mode", "download")
    today = datetime.now(UTC).date().isoformat()
    fay.fill("#starts", today)
    fay.fill("#ends", today)
    fay.click("#apply")
    expect(fay.locator(".flash-info")).to_contain_text("等待审批")
    expect(fay.locator(".application .status")).to_have_text("审批中")

    # Her department head sees it counted in the navigation, and approves.
    fred = sign_in(browser, base, "fred", PASSWORD)
    expect(fred.locator(".mainnav .badge")).to_have_text("1")
    fred.click(".mainnav >> text=待我审批")
    expect(fred.locator(".application")).to_contain_text("核对应收账款")
    fred.click("button[value=approve]")
    expect(fred.locator(".flash-info")).to_contain_text("已记录")

    # Then the operations head.
    olga = sign_in(browser, base, "olga", PASSWORD)
    olga.click(".mainnav >> text=待我审批")
    olga.fill("input[name=comment]", "同意，限当日")
    olga.click("button[value=approve]")

    # The applicant sees the approval and downloads the contract, byte-identical.
    fay.goto(base + "/access/mine")
    expect(fay.locator(".application .status")).to_have_text("已批准")
    fay.goto(f"{base}/documents/{doc['id']}")
    with fay.expect_download() as info:
        fay.click("#download")
    assert Path(info.value.path()).read_bytes() == contract

    # The grant ends with its day: the same download is refused, with the reason.
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2)):
        fay = sign_in(browser, base, "fay", PASSWORD)  # two days on, a new sign-in
        refused = fay.context.request.get(f"{base}/documents/{doc['id']}/file")
        assert refused.status == 403
        assert "expired" in refused.text()
