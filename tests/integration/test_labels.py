"""Stored codes are shown in words of their own vocabulary: one English word may be
translated two ways (the tier 重要 is not the change flag 重要变更, the scale 中型 is not
the retention class 中期, a pending account application is 待审批 while an applied change
is 已生效)."""

from __future__ import annotations

import re
from typing import Any

from archive_service.accounts import users
from archive_service.archive.customers import create_customer
from archive_service.policy import Caller
from archive_service.runtime import Runtime
from tests.conftest import PASSWORD, People


def _sign_in(client: Any, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    resp = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token[1]}
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)


def _text(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', html)
    assert found is not None, element_id
    return found[1].strip()


def test_labels_are_translated_in_their_own_vocabulary(
    app: Any, rt: Runtime, people: People
) -> None:
    people.user("clara", "clerk", department="SALES")
    people.user("root", "admin", department="OPS")
    with rt.db.unit_of_work() as s:
        users.apply_for_account(
            s,
            Caller.of(None),
            username="newbie",
            password=PASSWORD,
            display_name="新员工",
            department="SALES",
            requested_roles=["clerk"],
            settings=rt.accounts,
        )
    clerk = app.test_client()
    _sign_in(clerk, "clara")
    with rt.db.unit_of_work() as s:
        customer = create_customer(
            s,
            Caller.of(users.user_by_username(s, "clara")),
            {
                "name": "华夏贸易",
                "customer_type": "enterprise",
                "department": "SALES",
                "tier": "important",
                "scale": "medium",
            },
        ).id
    page = clerk.get(f"/customers/{customer}").get_data(as_text=True)
    assert '<span class="tag tier-important">重要</span>' in page
    assert "重要变更" not in page
    assert _text(page, "customer-scale") == "中型"
    assert ">中期<" in page  # the retention classes of the upload form: medium is 中期 there
    admin = app.test_client()
    _sign_in(admin, "root")
    applications = admin.get("/admin/applications").get_data(as_text=True)
    assert "新员工" in applications or "newbie" in applications
    assert '<span class="status status-applied">待审批</span>' in applications
    assert "已生效" not in applications
    english = admin.get("/admin/applications?lang=en").get_data(as_text=True)
    assert '<span class="status status-applied">applied</span>' in english
