"""Accounts over the API: tokens, life cycle, validation, the 401/403 split (sign-in
throttling: test_sign_in_throttle.py; role grants: test_role_grants.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from sqlalchemy import func, select

from archive_service.accounts.models import ApiToken, User
from archive_service.audit.models import AuditEvent
from tests.conftest import PASSWORD, People, bearer, token_for


def _events(rt: Any, action: str) -> list[AuditEvent]:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def _user_row(rt: Any, username: str) -> User:
    with rt.db.unit_of_work() as s:
        return s.execute(select(User).where(User.username == username)).scalar_one()


def test_token_round_trip_and_me(client: Any, people: People) -> None:
    people.user("clara", "clerk")
    token = token_for(client, "clara")
    assert token.startswith("arc_")
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.get_json()["username"] == "clara"
    assert me.get_json()["roles"] == ["clerk"]


def test_token_is_stored_hashed(client: Any, people: People, rt: Any) -> None:
    people.user("clara", "clerk")
    token = token_for(client, "clara")
    with rt.db.unit_of_work() as s:
        stored = s.execute(select(ApiToken.token_hash)).scalars().all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


def test_wrong_password_is_401_with_an_audit_event_and_nothing_else(
    client: Any, people: People, rt: Any
) -> None:
    people.user("clara", "clerk")
    before = _user_row(rt, "clara")
    resp = client.post(
        "/api/v1/auth/token", json={"username": "clara", "password": "nope nope nope"}
    )
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "not_authenticated"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    failures = _events(rt, "login.failure")
    assert [e.actor for e in failures] == ["clara"]
    after = _user_row(rt, "clara")
    assert after.failed_logins == 1
    assert (after.password_hash, after.status, after.roles) == (
        before.password_hash,
        before.status,
        before.roles,
    )
    with rt.db.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(ApiToken)).scalar_one() == 0


def test_unknown_user_is_the_same_401(client: Any, people: People, rt: Any) -> None:
    resp = client.post(
        "/api/v1/auth/token", json={"username": "ghost", "password": "whatever12345"}
    )
    assert resp.status_code == 401
    assert resp.get_json()["error"]["message"] == "wrong username or password"
    assert _events(rt, "login.failure")[0].details["reason"] == "unknown user"


def test_token_expires(client: Any, people: People) -> None:
    people.user("clara", "clerk")
    with time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False) as traveller:
        token = token_for(client, "clara")
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        traveller.shift(timedelta(hours=11, minutes=59))
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        traveller.shift(timedelta(minutes=2))
        resp = client.get("/api/v1/me", headers=bearer(token))
    assert resp.status_code == 401
    assert "expired" in resp.get_json()["error"]["message"]


def test_token_revocation(client: Any, people: People, rt: Any) -> None:
    people.user("clara", "clerk")
    token = token_for(client, "clara")
    other = token_for(client, "clara")
    assert client.delete("/api/v1/auth/token", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200
    assert len(_events(rt, "token.revoke")) == 1


def test_garbage_tokens_are_401(client: Any, people: People) -> None:
    for header in ("Bearer", "Bearer nope", "Basic abc", "Token arc_x"):
        r = client.get("/api/v1/me", headers={"Authorization": header})
        assert r.status_code == 401, header
    assert client.get("/api/v1/me").status_code == 401


def test_admin_creates_departments_and_users(client: Any, people: People, rt: Any) -> None:
    people.user("root", "admin", department=None)
    admin = bearer(token_for(client, "root"))
    r = client.post("/api/v1/departments", json={"code": "fin", "name": "财务部"}, headers=admin)
    assert r.status_code == 201 and r.get_json()["code"] == "FIN"
    r = client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "fiona",
            "password": "a long enough secret",
            "display_name": "Fiona 王",
            "department": "FIN",
            "roles": ["requester", "department_head"],
        },
    )
    assert r.status_code == 201, r.get_json()
    # A department head reads the department's archive: that role waits for a second admin.
    assert r.get_json() | {"id": 0} == {
        "id": 0,
        "username": "fiona",
        "display_name": "Fiona 王",
        "department": "FIN",
        "roles": ["requester"],
        "pending_roles": ["department_head"],
        "status": "active",
    }
    assert token_for(client, "fiona", "a long enough secret")
    assert [e.details["username"] for e in _events(rt, "user.create")][-1] == "fiona"


def test_known_but_not_allowed_is_403_naming_the_rule(client: Any, people: People) -> None:
    people.user("clara", "clerk")
    clerk = bearer(token_for(client, "clara"))
    r = client.post("/api/v1/departments", json={"code": "X", "name": "X"}, headers=clerk)
    assert r.status_code == 403
    assert r.get_json()["error"]["rule"] == "admin-only"
    r = client.get("/api/v1/audit", headers=clerk)
    assert r.status_code == 403 and r.get_json()["error"]["rule"] == "auditor-only"
    # The admin is not an auditor either: separation of duties.
    people.user("root", "admin", department=None)
    r = client.get("/api/v1/audit/verify", headers=bearer(token_for(client, "root")))
    assert r.status_code == 403


def test_bad_input_names_the_field_and_changes_nothing(
    client: Any, people: People, rt: Any
) -> None:
    people.user("root", "admin", department=None)
    admin = bearer(token_for(client, "root"))
    cases = [
        ({"password": "a long enough secret", "display_name": "X"}, "username"),
        ({"username": "xy", "password": "short", "display_name": "X"}, "password"),
        ({"username": "xy", "password": "xy is my password", "display_name": "X"}, "password"),
        (
            {"username": "../etc", "password": "a long enough secret", "display_name": "X"},
            "username",
        ),
        (
            {
                "username": "xy",
                "password": "a long enough secret",
                "display_name": "X",
                "roles": ["god"],
            },
            "roles",
        ),
        (
            {
                "username": "xy",
                "password": "a long enough secret",
                "display_name": "X",
                "department": "NOPE",
            },
            "department",
        ),
    ]
    for body, field in cases:
        r = client.post("/api/v1/users", json=body, headers=admin)
        assert r.status_code == 422, (body, r.get_json())
        err = r.get_json()["error"]
        assert field in err.get("fields", {}) or err.get("field") == field, (body, err)
    r = client.post(
        "/api/v1/users", data="{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert "error" in r.get_json()
    with rt.db.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(User)).scalar_one() == 1


def test_duplicate_username_is_409(client: Any, people: People) -> None:
    people.user("root", "admin", department=None)
    people.user("clara", "clerk")
    admin = bearer(token_for(client, "root"))
    r = client.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "CLARA", "password": "a long enough secret", "display_name": "Another"},
    )
    assert r.status_code == 409


def test_closing_an_account_ends_its_tokens_at_once(client: Any, people: People, rt: Any) -> None:
    people.user("root", "admin", department=None)
    clara = people.user("clara", "clerk")
    admin = bearer(token_for(client, "root"))
    clara_token = bearer(token_for(client, "clara"))
    r = client.post(
        f"/api/v1/users/{clara.id}/close", json={"reason": "left the company"}, headers=admin
    )
    assert r.status_code == 200 and r.get_json()["status"] == "closed"
    assert client.get("/api/v1/me", headers=clara_token).status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "clara", "password": PASSWORD})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "account_not_active"
    assert r.get_json()["error"]["status"] == "closed"
    closed = _events(rt, "user.close")[0]
    assert closed.details["tokens_revoked"] == 1 and closed.actor == "root"
    r = client.post(f"/api/v1/users/{clara.id}/close", json={"reason": "again"}, headers=admin)
    assert r.status_code == 409


def test_set_roles_is_audited_with_before_and_after(client: Any, people: People, rt: Any) -> None:
    people.user("root", "admin", department=None)
    clara = people.user("clara", "clerk")
    admin = bearer(token_for(client, "root"))
    r = client.put(
        f"/api/v1/users/{clara.id}/roles",
        json={"roles": ["clerk", "requester", "archivist"]},
        headers=admin,
    )
    assert r.status_code == 200 and r.get_json()["roles"] == ["clerk", "requester"]
    assert r.get_json()["pending_roles"] == ["archivist"]
    ev = _events(rt, "user.set_roles")[0]
    assert ev.details["before"] == ["clerk"] and ev.details["after"] == ["clerk", "requester"]
    assert ev.details["pending"] == ["archivist"]


def test_auditor_reads_and_verifies_the_trail(client: Any, people: People) -> None:
    people.user("audrey", "auditor", department=None)
    auditor = bearer(token_for(client, "audrey", PASSWORD))  # signs in: login.success
    r = client.get("/api/v1/audit?action=login&per_page=5", headers=auditor)
    assert r.status_code == 200
    body = r.get_json()
    assert body["total"] == 1 and body["items"][0]["action"] == "login.success"
    assert body["items"][0]["actor"] == "audrey"
    r = client.get("/api/v1/audit/verify", headers=auditor)
    assert r.get_json()["ok"] is True and r.get_json()["first_broken"] is None
    r = client.get("/api/v1/audit?since=not-a-date", headers=auditor)
    assert r.status_code == 422 and "since" in r.get_json()["error"]["fields"]


def test_health_reports_each_dependency(client: Any) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    checks = r.get_json()["checks"]
    assert set(checks) == {
        "database",
        "object_store",
        "broker",
        "index",
        "extraction",
        "outbox",
        "fixity",
    }
    assert checks["outbox"] == {"ok": True, "backlog": 0, "oldest_seconds": 0}
    assert checks["database"] == {"ok": True}


def test_health_is_503_when_the_database_is_gone(app: Any, tmp_path: Any) -> None:
    from archive_service.db import Database

    rt = app.extensions["archive"]
    original = rt.db
    rt.db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    try:
        r = app.test_client().get("/api/v1/health")
    finally:
        rt.db.dispose()
        rt.db = original
    assert r.status_code == 503
    assert r.get_json()["checks"]["database"]["ok"] is False
    assert r.get_json()["status"] == "down"


def test_openapi_describes_the_contract_routes(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/auth/token",
        "/api/v1/users",
        "/api/v1/departments",
        "/api/v1/health",
        "/api/v1/audit",
        "/api/v1/audit/verify",
    ):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
