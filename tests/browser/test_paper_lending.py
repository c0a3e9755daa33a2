"""Issue walk-through in a real browser: a finance employee applies to borrow a contract's
paper original (and to take it away), the heads approve, the archivist hands it out on the
document page; it is not back on its due day, so /paper/ lists it overdue and the borrower
is told; the archivist records the return and it is in place again."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from playwright.sync_api import expect

from archive_service.paper.lending import notify_overdue
from archive_service.workdays import ZONE
from tests import samples
from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, People, bearer, token_for

pytestmark = pytest.mark.slow


def test_a_contract_is_borrowed_taken_away_and_returned_late(
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
    api = create_app(rt.settings, runtime=rt).test_client()
    clerk, arch_api = bearer(token_for(api, "clara")), bearer(token_for(api, "arch"))
    cid = api.post(
        "/api/v1/customers",
        headers=clerk,
        json={"name": "华夏贸易有限公司", "customer_type": "enterprise", "department": "SALES"},
    ).get_json()["id"]
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
            "file": (io.BytesIO(samples.pdf("sales contract")), "销售合同.pdf"),
        },
    ).get_json()
    number = api.post(f"/api/v1/documents/{doc['id']}/accept", headers=arch_api).get_json()[
        "archive_number"
    ]
    box = api.post(
        "/api/v1/paper/locations",
        headers=arch_api,
        json={"code": "B001", "name": "盒 001", "kind": "box"},
    ).get_json()["id"]
    placed = api.put(
        f"/api/v1/documents/{doc['id']}/paper", headers=arch_api, json={"location_id": box}
    )
    assert placed.status_code == 200

    # Finance applies to borrow the paper original, taking it away, until tomorrow.
    fay = sign_in(browser, base, "fay", PASSWORD)
    fay.goto(base + "/access/apply")
    fay.fill("#purpose", "核对合同原件")
    fay.fill("#numbers", number)
    fay.select_option("#mode", "paper")
    fay.check("#take_away")
    today = datetime.now(UTC).date()
    fay.fill("#starts", today.isoformat())
    fay.fill("#ends", (today + timedelta(days=1)).isoformat())
    fay.click("#apply")
    expect(fay.locator(".application")).to_contain_text("借阅纸质原件")
    rid = api.get("/api/v1/access-requests", headers=bearer(token_for(api, "fay"))).get_json()[
        "items"
    ][0]["id"]
    for head in ("fred", "olga"):
        decided = api.post(
            f"/api/v1/access-requests/{rid}/decision",
            headers=bearer(token_for(api, head)),
            json={"decision": "approve"},
        )
        assert decided.status_code == 200, decided.get_json()

    # The archivist hands it out on the document page: her grant, taken away.
    arch = sign_in(browser, base, "arch", PASSWORD)
    arch.goto(f"{base}/documents/{doc['id']}")
    arch.select_option("#lend-form select[name=grant_id]", index=1)
    arch.select_option("#lend-form select[name=place]", "taken_away")
    arch.click("#lend-form [type=submit]")
    expect(arch.locator(".flash-info")).to_contain_text("已借出")
    expect(arch.locator("#paper-state")).to_contain_text("借出")
    expect(arch.locator("#paper-loan")).to_contain_text("带离阅览室")
    due = datetime.fromisoformat(
        api.get("/api/v1/paper/loans", headers=arch_api).get_json()["items"][0]["due_on"]
    ).date()

    # Two days after the due day: overdue on /paper/, the borrower told, and the return.
    late = datetime.combine(due + timedelta(days=2), datetime.min.time(), ZONE)
    with time_machine.travel(late + timedelta(hours=10), tick=True):
        assert notify_overdue(rt.db) == 1
        arch = sign_in(browser, base, "arch", PASSWORD)
        arch.goto(base + "/paper/")
        expect(arch.locator("#overdue")).to_contain_text(number)
        expect(arch.locator("#overdue")).to_contain_text("2")
        fay = sign_in(browser, base, "fay", PASSWORD)
        fay.goto(base + "/access/mine")
        expect(fay.locator("#loans")).to_contain_text("逾期")
        arch.goto(f"{base}/documents/{doc['id']}")
        arch.click("#return-form [type=submit]")
        expect(arch.locator(".flash-info")).to_contain_text("已登记归还")
        expect(arch.locator("#paper-state")).to_contain_text("在库")
        arch.goto(base + "/paper/")
        expect(arch.locator("#overdue")).not_to_contain_text(number)
