"""Web sessions end on the server: a cookie copied before sign-out, a password change,
closing the account or an admin's "end all sessions" reads nothing afterwards; idle and
absolute timeouts; the key is stored only hashed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from archive_service.audit.models import AuditEvent
from tests import samples
from tests.conftest import PASSWORD, People, bearer, token_for
from tests.integration.test_cli import run_cli  # noqa: F401 (fixture)
from tests.integration.test_web_accounts import csrf, login, rt_client

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def document(people: People) -> int:
    """A document of clara's department (clara: its clerk; root: an admin)."""
    people.user("clara", "clerk")
    people.user("root", "admin", department=None)
    customer = people.customer("clara")
    return people.document("clara", customer, samples.pdf("营业执照 2026"))


def _signed_in_with_a_copy(client: Any) -> tuple[Any, Any]:
    """clara signs in; a second browser holds a copy of her session cookie."""
    assert login(client, "clara").status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = rt_client(client)
    thief.set_cookie("session", cookie.value)
    return client, thief


def _events(rt: Any, action: str) -> list[AuditEvent]:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_a_cookie_copied_before_sign_out_is_refused_after_it(
    client: Any, document: int, rt: Any
) -> None:
    owner, thief = _signed_in_with_a_copy(client)
    assert thief.get(f"/documents/{document}").status_code == 200  # the copy works...
    resp = owner.post("/logout", data={"csrf_token": csrf(owner, "/")})
    assert resp.status_code == 302
    # ... until the owner signs out: the server ended the session, not only the browser.
    assert thief.get(f"/documents/{document}").status_code == 302
    assert thief.get(f"/documents/{document}/file").status_code == 302
    assert owner.get("/").status_code == 302
    from archive_service.accounts.models import WebSession

    with rt.db.unit_of_work() as s:
        row = s.execute(select(WebSession)).scalar_one()
        assert row.ended_at is not None and row.end_reason == "signed out"
    (logout,) = _events(rt, "logout")
    assert logout.details["web_session"] == row.id


def test_a_password_change_ends_every_other_session(client: Any, document: int) -> None:
    owner, thief = _signed_in_with_a_copy(client)
    other = rt_client(client)
    login(other, "clara")
    resp = other.post(
        "/password",
        data={
            "csrf_token": csrf(other, "/password"),
            "old_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert resp.status_code == 302
    assert other.get(f"/documents/{document}").status_code == 200  # where it was changed
    assert thief.get(f"/documents/{document}").status_code == 302
    assert owner.get(f"/documents/{document}").status_code == 302


def test_closing_the_account_ends_its_sessions(client: Any, document: int, rt: Any) -> None:
    _owner, thief = _signed_in_with_a_copy(client)
    admin = rt_client(client)
    login(admin, "root")
    clara = _user_id(rt, "clara")
    resp = admin.post(
        f"/admin/users/{clara}/close",
        data={"csrf_token": csrf(admin, f"/admin/users/{clara}"), "reason": "离职"},
    )
    assert resp.status_code == 302
    assert thief.get(f"/documents/{document}").status_code == 302
    (closed,) = _events(rt, "user.close")
    assert closed.details["sessions_ended"] == 1


def test_an_admin_ends_all_sessions_in_the_browser(client: Any, document: int, rt: Any) -> None:
    owner, thief = _signed_in_with_a_copy(client)
    token = bearer(token_for(client, "clara"))
    admin = rt_client(client)
    login(admin, "root")
    clara = _user_id(rt, "clara")
    page = admin.get(f"/admin/users/{clara}?lang=en").get_data(as_text=True)
    assert "Open sessions" in page and "127.0.0.1" in page  # where it was opened from
    resp = admin.post(
        f"/admin/users/{clara}/end-sessions",
        data={"csrf_token": csrf(admin, f"/admin/users/{clara}")},
    )
    assert resp.status_code == 302
    for browser in (owner, thief):
        assert browser.get(f"/documents/{document}").status_code == 302
    assert client.get("/api/v1/me", headers=token).status_code == 401
    (ended,) = _events(rt, "user.end_sessions")
    assert ended.actor == "root"
    assert (ended.details["sessions_ended"], ended.details["tokens_revoked"]) == (1, 1)
    # She signs in again as usual.
    assert login(owner, "clara").status_code == 302
    assert owner.get(f"/documents/{document}").status_code == 200


def test_an_admin_ends_all_sessions_over_the_api(client: Any, document: int, rt: Any) -> None:
    _owner, thief = _signed_in_with_a_copy(client)
    clara = _user_id(rt, "clara")
    clerk = bearer(token_for(client, "clara"))
    assert client.post(f"/api/v1/users/{clara}/end-sessions", headers=clerk).status_code == 403
    root = bearer(token_for(client, "root"))
    resp = client.post(f"/api/v1/users/{clara}/end-sessions", headers=root)
    assert resp.status_code == 200
    assert resp.get_json() == {"sessions_ended": 1, "tokens_revoked": 1}
    assert thief.get(f"/documents/{document}").status_code == 302
    assert client.post("/api/v1/users/999999/end-sessions", headers=root).status_code == 404


def test_the_operator_ends_all_sessions(
    client: Any,
    document: int,
    run_cli: Any,  # noqa: F811
) -> None:
    _owner, thief = _signed_in_with_a_copy(client)
    result = run_cli("user", "end-sessions", "clara")
    assert result.exit_code == 0, result.output
    assert "1 web sessions ended" in result.output
    assert thief.get(f"/documents/{document}").status_code == 302
    assert run_cli("user", "end-sessions", "nobody").exit_code != 0


def test_sessions_end_when_idle_and_at_their_lifetime(client: Any, document: int) -> None:
    start = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as t:
        login(client, "clara")
        t.shift(timedelta(minutes=29))
        assert client.get(f"/documents/{document}").status_code == 200
        t.shift(timedelta(minutes=29))  # 29 minutes after the last request: still open
        assert client.get(f"/documents/{document}").status_code == 200
        t.shift(timedelta(minutes=30))  # idle for 30 minutes: over
        assert client.get(f"/documents/{document}").status_code == 302
    with time_machine.travel(start + timedelta(days=1), tick=False) as t:
        login(client, "clara")
        for _ in range(16):  # busy all day, never idle ...
            t.shift(timedelta(minutes=29, seconds=59))
            assert client.get("/").status_code == 200
        t.shift(timedelta(minutes=1))  # ... but 8 hours after signing in it ends
        assert client.get("/").status_code == 302


def test_the_session_key_is_stored_only_hashed(client: Any, document: int, rt: Any) -> None:
    """The cookie's key is not in the database, and the cookie carries no user id."""
    from flask.sessions import SecureCookieSessionInterface

    from archive_service.accounts.models import WebSession

    login(client, "clara")
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = SecureCookieSessionInterface().get_signing_serializer(client.application)
    assert serializer is not None
    key = serializer.loads(cookie.value)["_user_id"]
    clara = _user_id(rt, "clara")
    with rt.db.unit_of_work() as s:
        row = s.execute(select(WebSession)).scalar_one()
        assert len(key) >= 40 and key != row.key_hash and key not in row.key_hash
        assert row.user_id == clara and str(clara) != key
        assert row.ip == "127.0.0.1" and row.user_agent and row.user_agent.startswith("Werkzeug")
    # A cookie signed with the app's key but naming a user id instead is nobody.
    forged = serializer.dumps({"_user_id": str(row.user_id), "_fresh": True})
    stranger = rt_client(client)
    stranger.set_cookie("session", forged)
    assert stranger.get(f"/documents/{document}").status_code == 302


def _user_id(rt: Any, username: str) -> int:
    from archive_service.accounts.users import user_by_username

    with rt.db.unit_of_work() as s:
        user = user_by_username(s, username)
        assert user is not None
        return user.id
