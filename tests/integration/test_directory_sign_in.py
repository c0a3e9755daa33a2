"""Sign-in through the directory against a real OpenLDAP server (tests/slapd.py): a
directory person signs in on the web and for an API token with the roles of their mapped
groups and their department; a wrong password, a disabled person and a person in no mapped
group are refused; a directory that is down or shows an untrusted certificate refuses its
people with "directory unavailable" while the local break-glass admin signs in; a trusted
SSO gateway's header signs in, from anywhere else it is ignored."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from archive_service.accounts.users import user_by_username
from archive_service.app import create_app
from archive_service.audit.models import AuditEvent
from archive_service.config import Settings
from archive_service.runtime import build_runtime
from tests.conftest import PASSWORD as LOCAL_PASSWORD
from tests.conftest import People
from tests.integration.test_web_accounts import csrf, login
from tests.slapd import (
    ARCHIVISTS,
    AUDITORS,
    CLERKS,
    DISABLED_FILTER,
    GROUP_ROLES,
    PASSWORD,
    PEOPLE,
    SERVICE_DN,
    SERVICE_PASSWORD,
    Slapd,
    free_port,
)
from workers.sender import connect

PROXY = "10.1.2.3"


def directory_settings(settings: Settings, slapd: Slapd, **changes: Any) -> Settings:
    return replace(
        settings,
        ldap_url=slapd.url,
        ldap_ca_file=slapd.ca_file,
        ldap_bind_dn=SERVICE_DN,
        ldap_bind_password=SERVICE_PASSWORD,
        ldap_user_base=PEOPLE,
        ldap_disabled_filter=DISABLED_FILTER,
        ldap_group_roles=GROUP_ROLES,
        sso_header="X-Remote-User",
        sso_trusted_proxies="10.0.0.0/8, 127.0.0.2",
        **changes,
    )


@pytest.fixture
def settings(settings: Settings, slapd: Slapd) -> Settings:
    """The suite's settings (SQLite or PostgreSQL) with the test directory configured."""
    return directory_settings(settings, slapd)


def other_app(settings: Settings, **changes: Any) -> Any:
    """The same database and settings but ``changes`` (a directory elsewhere)."""
    rt = connect(build_runtime(replace(settings, **changes)))
    app = create_app(rt.settings, runtime=rt)
    app.config["TESTING"] = True
    return app


def events(rt: Any, action: str) -> list[AuditEvent]:
    with rt.db.session() as s:
        return list(
            s.execute(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            ).scalars()
        )


def test_a_directory_person_signs_in_with_mapped_roles_and_department(
    client: Any, slapd: Slapd, people: People, rt: Any
) -> None:
    people.department("SALES")
    uid = slapd.add_person("lihua", CLERKS, AUDITORS)
    assert login(client, uid, PASSWORD).status_code == 302
    me = client.get("/").get_data(as_text=True)
    assert "李华" in me
    with rt.db.session() as s:
        user = user_by_username(s, uid)
        assert user is not None and user.is_active_account
        # Both roles read content: the mapping is the second approval, given at once.
        assert user.roles == {"clerk", "auditor"}
        assert user.department_code == "SALES"
        assert user.directory_dn == slapd.dn(uid)
    opened = events(rt, "directory.account_open")
    assert len(opened) == 1 and opened[0].actor == "directory"
    assert opened[0].details["roles"] == ["auditor", "clerk"]
    assert "ARCHIVE_LDAP_GROUP_ROLES" in opened[0].details["approval"]
    success = events(rt, "login.success")[-1]
    assert success.actor == uid and success.details["channel"] == "web"
    # The admin's page says where the account comes from.
    people.user("root", "admin", department=None)
    admin = client.application.test_client()
    assert login(admin, "root", LOCAL_PASSWORD).status_code == 302
    assert user is not None
    page = admin.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "目录条目" in page and slapd.dn(uid) in page


def test_a_directory_person_gets_an_api_token(client: Any, slapd: Slapd, people: People) -> None:
    people.department("OPS")
    uid = slapd.add_person("wangfang", ARCHIVISTS, department="OPS")
    resp = client.post("/api/v1/auth/token", json={"username": uid, "password": PASSWORD})
    assert resp.status_code == 201, resp.get_json()
    token = resp.get_json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["roles"] == ["archivist"] and me["department"] == "OPS"
    assert me["source"] == "directory"


def test_a_wrong_password_is_refused_like_an_unknown_name(
    client: Any, slapd: Slapd, rt: Any
) -> None:
    uid = slapd.add_person("wrong", CLERKS)
    wrong = client.post("/api/v1/auth/token", json={"username": uid, "password": "not it 123"})
    unknown = client.post(
        "/api/v1/auth/token", json={"username": "nobody-here", "password": "not it 123"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json()["error"]["message"] == unknown.get_json()["error"]["message"]
    with rt.db.session() as s:
        assert user_by_username(s, uid) is None  # nothing opened
    reasons = [e.details["reason"] for e in events(rt, "login.failure")]
    assert reasons == ["wrong password", "unknown user"]
    # An empty password would be an unauthenticated bind, which LDAP lets succeed.
    assert login(client, uid, "").status_code in (200, 401)
    with rt.db.session() as s:
        assert user_by_username(s, uid) is None


def test_a_disabled_person_is_refused_and_opens_nothing(client: Any, slapd: Slapd, rt: Any) -> None:
    uid = slapd.add_person("zhaolei", CLERKS, disabled=True)
    resp = login(client, uid, PASSWORD)
    assert resp.status_code == 401
    assert "该账户已注销" in resp.get_data(as_text=True)
    with rt.db.session() as s:
        assert user_by_username(s, uid) is None
    assert events(rt, "login.failure")[-1].details["reason"] == "disabled"


def test_a_person_in_no_mapped_group_opens_no_account(client: Any, slapd: Slapd, rt: Any) -> None:
    uid = slapd.add_person("outsider")
    resp = client.post("/api/v1/auth/token", json={"username": uid, "password": PASSWORD})
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "account_not_active"
    with rt.db.session() as s:
        assert user_by_username(s, uid) is None


def test_directory_down_the_break_glass_admin_signs_in_and_directory_people_are_told(
    settings: Settings, slapd: Slapd, people: People, client: Any
) -> None:
    people.user("root", "admin", department=None)
    uid = slapd.add_person("lihua", CLERKS)
    assert login(client, uid, PASSWORD).status_code == 302  # account opened while up
    down = other_app(settings, ldap_url=f"ldap://127.0.0.1:{free_port()}", ldap_timeout_seconds=2)
    browser = down.test_client()
    assert login(browser, "root", LOCAL_PASSWORD).status_code == 302
    for name in (uid, "never-seen"):
        page = down.test_client()
        resp = login(page, name, PASSWORD)
        assert resp.status_code == 503
        assert "目录服务" in resp.get_data(as_text=True)
        english = down.test_client()
        english.get("/login?lang=en")
        resp = login(english, name, PASSWORD)
        assert resp.status_code == 503
        assert "directory (LDAP / Active Directory) is unavailable" in resp.get_data(as_text=True)
    api = down.test_client().post(
        "/api/v1/auth/token", json={"username": uid, "password": PASSWORD}
    )
    assert api.status_code == 503 and api.get_json()["error"]["code"] == "directory_unavailable"
    rt = down.extensions["archive"]
    with rt.db.session() as s:
        user = user_by_username(s, uid)
        assert user is not None and user.is_active_account and user.failed_logins == 0
    rt.close()


def test_an_untrusted_certificate_is_refused_on_starttls_and_ldaps(
    settings: Settings, slapd: Slapd
) -> None:
    uid = slapd.add_person("lihua", CLERKS)
    for url in (slapd.url, slapd.ldaps_url):
        app = other_app(settings, ldap_url=url, ldap_ca_file=slapd.other_ca_file)
        resp = app.test_client().post(
            "/api/v1/auth/token", json={"username": uid, "password": PASSWORD}
        )
        assert resp.status_code == 503, url
        rt = app.extensions["archive"]
        failure = events(rt, "login.failure")[-1]
        assert failure.details["reason"] == "directory unavailable"
        assert "certificate" in failure.details["detail"].lower(), failure.details
        rt.close()
    # The same over LDAPS with the right CA works: the certificate is what was refused.
    app = other_app(settings, ldap_url=slapd.ldaps_url)
    resp = app.test_client().post(
        "/api/v1/auth/token", json={"username": uid, "password": PASSWORD}
    )
    assert resp.status_code == 201
    app.extensions["archive"].close()


def test_the_sso_header_signs_in_only_from_a_trusted_proxy(
    client: Any, slapd: Slapd, people: People, rt: Any
) -> None:
    people.user("clara", "clerk")
    uid = slapd.add_person("lihua", CLERKS)
    stranger = client.application.test_client()
    resp = stranger.get(
        "/login", headers={"X-Remote-User": "clara"}, environ_base={"REMOTE_ADDR": "192.0.2.9"}
    )
    assert resp.status_code == 200  # the header is ignored: the form is shown
    assert stranger.get("/", environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 302
    for name in ("clara", uid):  # a local account, and a directory person (opened now)
        gateway = client.application.test_client()
        resp = gateway.get(
            "/login?next=/", headers={"X-Remote-User": name}, environ_base={"REMOTE_ADDR": PROXY}
        )
        assert resp.status_code == 302, resp.get_data(as_text=True)
        assert gateway.get("/", environ_base={"REMOTE_ADDR": PROXY}).status_code == 200
    with rt.db.session() as s:
        user = user_by_username(s, uid)
        assert user is not None and user.roles == {"clerk"}
    assert [e.details["channel"] for e in events(rt, "login.success")] == ["sso", "sso"]
    unknown = client.application.test_client().get(
        "/login", headers={"X-Remote-User": "nobody-here"}, environ_base={"REMOTE_ADDR": PROXY}
    )
    assert unknown.status_code == 401


def test_a_directory_account_changes_its_password_in_the_directory(
    client: Any, slapd: Slapd
) -> None:
    uid = slapd.add_person("lihua", CLERKS)
    assert login(client, uid, PASSWORD).status_code == 302
    resp = client.post(
        "/password",
        data={
            "csrf_token": csrf(client, "/password"),
            "old_password": PASSWORD,
            "new_password": "another pass 12345",
            "confirm": "another pass 12345",
        },
    )
    assert resp.status_code == 409


def test_behind_proxy_fix_the_gateway_is_known_by_its_own_address(
    settings: Settings, people: People
) -> None:
    people.user("clara", "clerk")
    app = other_app(settings, extra={"PROXY_FIX": True})
    # A client claiming to be forwarded by the gateway is still the client.
    forged = app.test_client().get(
        "/login",
        headers={"X-Remote-User": "clara", "X-Forwarded-For": PROXY},
        environ_base={"REMOTE_ADDR": "192.0.2.9"},
    )
    assert forged.status_code == 200
    real = app.test_client().get(
        "/login",
        headers={"X-Remote-User": "clara", "X-Forwarded-For": "192.0.2.9"},
        environ_base={"REMOTE_ADDR": PROXY},
    )
    assert real.status_code == 302
    rt = app.extensions["archive"]
    assert events(rt, "login.success")[-1].ip == "192.0.2.9"  # the client, as forwarded
    rt.close()


def test_repeated_wrong_directory_passwords_make_the_address_wait(
    client: Any, slapd: Slapd, rt: Any
) -> None:
    uid = slapd.add_person("lihua", CLERKS)
    for _ in range(5):
        resp = client.post("/api/v1/auth/token", json={"username": uid, "password": "nope 12345"})
        assert resp.status_code == 401
    # Now even the right password waits, with the same answer (the directory is not asked).
    resp = client.post("/api/v1/auth/token", json={"username": uid, "password": PASSWORD})
    assert resp.status_code == 401
    assert [e.action for e in events(rt, "login.throttled")] == ["login.throttled"]


def test_the_gateway_s_directory_person_is_told_when_the_directory_is_down(
    settings: Settings, slapd: Slapd, people: People
) -> None:
    people.user("clara", "clerk")
    uid = slapd.add_person("lihua", CLERKS)
    down = other_app(settings, ldap_url=f"ldap://127.0.0.1:{free_port()}")
    for name, status in ((uid, 503), ("clara", 302)):  # a local account needs no directory
        resp = down.test_client().get(
            "/login", headers={"X-Remote-User": name}, environ_base={"REMOTE_ADDR": PROXY}
        )
        assert resp.status_code == status, name
    down.extensions["archive"].close()
