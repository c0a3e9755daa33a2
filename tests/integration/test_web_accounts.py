"""The web interface: CSRF, login messages, the account life cycle in a browser session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import select

from archive_service.accounts.models import User
from tests.conftest import PASSWORD, People

CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf(client: Any, path: str) -> str:
    page = client.get(path)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(client: Any, username: str, password: str = PASSWORD) -> Any:
    token = csrf(client, "/login")
    return client.post(
        "/login", data={"csrf_token": token, "username": username, "password": password}
    )


def test_login_page_is_chinese_by_default_with_an_english_switch(client: Any) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page and 'lang="zh-CN"' in page
    page = client.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in" in page and 'lang="en"' in page
    # The choice sticks for the session.
    assert "Sign in" in client.get("/login").get_data(as_text=True)


def test_login_form_without_csrf_token_is_refused(client: Any, people: People) -> None:
    people.user("clara", "clerk")
    resp = client.post("/login", data={"username": "clara", "password": PASSWORD})
    assert resp.status_code == 400
    assert client.get("/").status_code == 302  # still signed out


def test_login_and_logout(client: Any, people: People) -> None:
    people.user("clara", "clerk")
    resp = login(client, "clara")
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Clara" in home
    token = csrf(client, "/")
    # Logout needs its CSRF token too.
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_session_cookie_flags(client: Any, people: People, settings: Any) -> None:
    people.user("clara", "clerk")
    resp = login(client, "clara")
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # Secure everywhere but the embedded default (SQLite, plain http on localhost).
    assert ("Secure" in cookie) is (not settings.embedded)


def test_open_redirect_is_refused(client: Any, people: People) -> None:
    people.user("clara", "clerk")
    token = csrf(client, "/login")
    resp = client.post(
        "/login?next=//evil.example/x",
        data={"csrf_token": token, "username": "clara", "password": PASSWORD},
    )
    assert resp.headers["Location"] == "/"


def test_wrong_password_message_is_the_same_when_the_address_waits(
    client: Any, people: People
) -> None:
    """After repeated failures this address waits; the page says nothing else (an account
    that waits is not told apart from an unknown one)."""
    people.user("clara", "clerk")
    with time_machine.travel(datetime(2026, 4, 1, 1, 0, tzinfo=UTC), tick=False):
        client.get("/login?lang=en")
        pages = []
        for name in ["clara"] * 6 + ["ghost"]:
            resp = login(client, name, "not the password")
            assert resp.status_code == 401
            pages.append(resp.get_data(as_text=True))
        resp = login(client, "clara")  # the right password, while this address waits
        assert resp.status_code == 401
        pages.append(resp.get_data(as_text=True))
    for page in pages:
        assert "Wrong username or password" in page and "locked" not in page


def test_account_life_cycle_apply_approve_activate_close(
    client: Any, people: People, rt: Any
) -> None:
    people.department("FIN", "财务部")
    people.user("boss", "department_head", department="FIN")
    people.user("root", "admin", department=None)
    # 1. A newcomer applies.
    token = csrf(client, "/apply")
    resp = client.post(
        "/apply",
        data={
            "csrf_token": token,
            "username": "newbie",
            "display_name": "新人 Newbie",
            "department": "FIN",
            "roles": ["requester"],
            "password": "a fine long secret",
            "confirm": "a fine long secret",
            "note": "报销审核",
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    # 2. They cannot sign in yet, and are told why.
    resp = login(client, "newbie", "a fine long secret")
    assert resp.status_code == 401 and "等待审批" in resp.get_data(as_text=True)
    with rt.db.unit_of_work() as s:
        newbie = s.execute(select(User).where(User.username == "newbie")).scalar_one()
    # 3. Their department head approves.
    head = rt_client(client)
    login(head, "boss")
    page = head.get("/admin/applications").get_data(as_text=True)
    assert "newbie" in page
    resp = head.post(
        f"/admin/applications/{newbie.id}/approve",
        data={"csrf_token": csrf(head, "/admin/applications")},
    )
    assert resp.status_code == 302
    # 4. The admin activates with roles.
    admin = rt_client(client)
    login(admin, "root")
    resp = admin.post(
        f"/admin/users/{newbie.id}/roles",
        data={"csrf_token": csrf(admin, f"/admin/users/{newbie.id}"), "roles": ["requester"]},
    )
    assert resp.status_code == 302
    # 5. Now they can sign in, and their session works.
    user = rt_client(client)
    assert login(user, "newbie", "a fine long secret").status_code == 302
    assert user.get("/").status_code == 200
    # 6. The admin closes the account: the open session ends at once.
    resp = admin.post(
        f"/admin/users/{newbie.id}/close",
        data={"csrf_token": csrf(admin, f"/admin/users/{newbie.id}"), "reason": "离职"},
    )
    assert resp.status_code == 302
    assert user.get("/").status_code == 302
    with rt.db.unit_of_work() as s:
        final = s.get(User, newbie.id)
        assert final is not None and final.status == "closed"


def test_department_head_of_another_department_cannot_approve(
    client: Any, people: People, rt: Any
) -> None:
    people.department("FIN")
    people.user("other_boss", "department_head", department="SALES")
    with rt.db.unit_of_work() as s:
        from archive_service.accounts import users as accounts
        from archive_service.policy import Caller

        applicant = accounts.apply_for_account(
            s,
            Caller.of(None),
            username="newbie",
            password="a fine long secret",
            display_name="N",
            department="FIN",
            requested_roles=["requester"],
        )
        assert applicant is not None
    login(client, "other_boss")
    assert "newbie" not in client.get("/admin/applications").get_data(as_text=True)
    client.post(
        f"/admin/applications/{applicant.id}/approve",
        data={"csrf_token": csrf(client, "/admin/applications")},
    )
    with rt.db.unit_of_work() as s:
        assert s.get(User, applicant.id).status == "applied"


def test_password_change_ends_other_sessions(client: Any, people: People) -> None:
    people.user("clara", "clerk")
    other = rt_client(client)
    login(client, "clara")
    login(other, "clara")
    resp = client.post(
        "/password",
        data={
            "csrf_token": csrf(client, "/password"),
            "old_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert resp.status_code == 302
    assert client.get("/").status_code == 200  # this session carries on
    assert other.get("/").status_code == 302  # the other one ended
    fresh = rt_client(client)
    assert login(fresh, "clara", "a brand new passphrase").status_code == 302


def test_non_admin_pages_are_403(client: Any, people: People) -> None:
    people.user("clara", "clerk")
    login(client, "clara")
    for path in ("/admin/users", "/admin/departments", "/admin/applications", "/audit/"):
        assert client.get(path).status_code == 403, path


def test_auditor_pages(client: Any, people: People) -> None:
    people.user("audrey", "auditor", department=None)
    login(client, "audrey")
    page = client.get("/audit/?action=login").get_data(as_text=True)
    assert "login.success" in page
    assert "完好" in client.get("/audit/verify").get_data(as_text=True)
    csv_text = client.get("/audit/export.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0].startswith("seq,at,actor")
    assert "login.success" in csv_text


def test_admin_manages_departments_in_the_browser(client: Any, people: People) -> None:
    people.user("root", "admin", department=None)
    login(client, "root")
    resp = client.post(
        "/admin/departments",
        data={"csrf_token": csrf(client, "/admin/departments"), "code": "LEGAL", "name": "法务部"},
    )
    assert resp.status_code == 302
    assert "法务部" in client.get("/admin/departments").get_data(as_text=True)


def rt_client(client: Any) -> Any:
    """A second browser on the same app."""
    return client.application.test_client()


def test_session_lifetime_is_bounded(client: Any, people: People) -> None:
    people.user("clara", "clerk")
    with time_machine.travel(datetime(2026, 4, 1, 1, 0, tzinfo=UTC), tick=False) as t:
        login(client, "clara")
        assert client.get("/").status_code == 200
        t.shift(timedelta(hours=9))
        assert client.get("/").status_code == 302
