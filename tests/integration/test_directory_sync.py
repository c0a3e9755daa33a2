"""The leaver sync against a real OpenLDAP server: a person moved out of a mapped group
loses that role and their sessions and tokens end; one added to a group gains it; one
disabled or removed in the directory is closed at once; a directory that cannot be read
changes nothing. The beat's task and ``archive ldap sync`` / ``check`` run the same
use case."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from archive_service.accounts.models import ApiToken, WebSession
from archive_service.accounts.users import user_by_username
from archive_service.cli import main
from archive_service.config import Settings
from archive_service.directory.services import sync
from archive_service.notifications.models import Notification
from archive_service.runtime import build_runtime
from tests.conftest import bearer
from tests.integration.test_directory_sign_in import directory_settings, events
from tests.integration.test_web_accounts import login
from tests.slapd import AUDITORS, CLERKS, GROUP_ROLES, PASSWORD, Slapd, free_port
from workers.context import use_runtime


@pytest.fixture
def settings(settings: Settings, slapd: Slapd) -> Settings:
    return directory_settings(settings, slapd)


def signed_in_twice(client: Any, uid: str) -> tuple[Any, str]:
    """``uid`` signs in on the web (a second browser) and gets an API token."""
    browser = client.application.test_client()
    assert login(browser, uid, PASSWORD).status_code == 302
    resp = client.post("/api/v1/auth/token", json={"username": uid, "password": PASSWORD})
    assert resp.status_code == 201
    return browser, resp.get_json()["token"]


def still_in(client: Any, browser: Any, token: str) -> tuple[bool, bool]:
    web = browser.get("/").status_code == 200
    api = client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    return web, api


def test_moved_out_of_a_group_the_role_is_lost_and_sessions_and_tokens_end(
    client: Any, slapd: Slapd, rt: Any
) -> None:
    uid = slapd.add_person("lihua", CLERKS, AUDITORS)
    browser, token = signed_in_twice(client, uid)
    assert still_in(client, browser, token) == (True, True)
    slapd.leave_group(uid, AUDITORS)
    report = sync(rt.db, rt.accounts.directory)
    assert report.updated == [uid] and report.closed == [] and report.error is None
    assert still_in(client, browser, token) == (False, False)
    with rt.db.session() as s:
        user = user_by_username(s, uid)
        assert user is not None and user.is_active_account and user.roles == {"clerk"}
        assert all(t.revoked_at is not None for t in s.execute(select(ApiToken)).scalars())
        ended = s.execute(select(WebSession).where(WebSession.user_id == user.id)).scalars()
        assert {w.end_reason for w in ended} == {"directory roles changed"}
    update = events(rt, "directory.account_update")[-1]
    assert update.actor == "directory"
    assert update.details["removed"] == ["auditor"] and update.details["tokens_revoked"] == 1
    assert events(rt, "directory.sync")[-1].details["updated"] == [uid]
    # Signing in again gives what the groups now give.
    again = client.post("/api/v1/auth/token", json={"username": uid, "password": PASSWORD})
    me = client.get("/api/v1/me", headers=bearer(again.get_json()["token"])).get_json()
    assert me["roles"] == ["clerk"]


def test_added_to_a_group_the_role_comes_with_the_next_sync(
    client: Any, slapd: Slapd, rt: Any
) -> None:
    uid = slapd.add_person("lihua", CLERKS)
    browser, token = signed_in_twice(client, uid)
    slapd.join_group(uid, AUDITORS)
    report = sync(rt.db, rt.accounts.directory)
    assert report.updated == [uid]
    assert still_in(client, browser, token) == (True, True)  # nothing taken away
    with rt.db.session() as s:
        user = user_by_username(s, uid)
        assert user is not None and user.roles == {"clerk", "auditor"}
    assert sync(rt.db, rt.accounts.directory).updated == []  # nothing more to do


@pytest.mark.parametrize("leaves", ["removed", "disabled"])
def test_a_leaver_is_closed_at_once(client: Any, slapd: Slapd, rt: Any, leaves: str) -> None:
    uid = slapd.add_person("lihua", CLERKS)
    stays = slapd.add_person("wangfang", CLERKS)
    browser, token = signed_in_twice(client, uid)
    signed_in_twice(client, stays)
    if leaves == "removed":
        slapd.remove(uid)
    else:
        slapd.disable(uid)
    report = sync(rt.db, rt.accounts.directory)
    assert report.closed == [uid] and report.checked == 2
    assert still_in(client, browser, token) == (False, False)
    with rt.db.session() as s:
        user = user_by_username(s, uid)
        assert user is not None and user.status == "closed"
        assert (
            user.closed_reason
            == f"{leaves} {'from' if leaves == 'removed' else 'in'} the directory"
        )
        other = user_by_username(s, stays)
        assert other is not None and other.is_active_account
        # They were told before the account closed (the leaver alone).
        told = s.execute(
            select(Notification.recipient_id).where(Notification.kind == "account_closing")
        ).scalars()
        assert list(told) == [user.id]
    closed = events(rt, "user.close")[-1]
    assert closed.actor == "directory" and closed.details["sessions_ended"] == 1
    assert closed.details["tokens_revoked"] == 1
    refused = client.post("/api/v1/auth/token", json={"username": uid, "password": PASSWORD})
    assert refused.status_code == 401


def test_a_sync_that_cannot_read_the_directory_changes_nothing(
    client: Any, settings: Settings, slapd: Slapd, rt: Any
) -> None:
    uid = slapd.add_person("lihua", CLERKS)
    browser, token = signed_in_twice(client, uid)
    slapd.remove(uid)
    before = len(events(rt, "user.close"))
    for broken in (
        {"ldap_url": f"ldap://127.0.0.1:{free_port()}", "ldap_timeout_seconds": 2},
        {"ldap_ca_file": slapd.other_ca_file},
        {"ldap_bind_password": "not the service password"},
        # A mapped group that does not exist is a setting gone wrong, not a leaver.
        {"ldap_group_roles": GROUP_ROLES + ";cn=no-such-group,dc=archive,dc=test=clerk"},
    ):
        down = build_runtime(replace(settings, **broken))
        assert down.accounts.directory is not None
        report = sync(down.db, down.accounts.directory)
        down.close()
        assert report.error is not None and report.closed == [], broken
    assert len(events(rt, "user.close")) == before
    assert still_in(client, browser, token) == (True, True)


def test_a_sync_that_would_close_more_than_the_limit_closes_nobody(
    client: Any, slapd: Slapd, rt: Any
) -> None:
    leavers = [slapd.add_person("lihua", CLERKS) for _ in range(2)]
    for uid in leavers:
        signed_in_twice(client, uid)
        slapd.remove(uid)
    held = sync(rt.db, rt.accounts.directory, max_close=1)
    assert held.closed == [] and "ARCHIVE_LDAP_SYNC_MAX_CLOSE" in (held.error or "")
    assert events(rt, "user.close") == []
    assert sorted(sync(rt.db, rt.accounts.directory, max_close=2).closed) == sorted(leavers)


def test_the_beat_task_and_the_command_run_the_same_sync(
    client: Any, settings: Settings, slapd: Slapd, rt: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workers.tasks import directory_sync

    uid = slapd.add_person("lihua", CLERKS, AUDITORS)
    signed_in_twice(client, uid)
    slapd.leave_group(uid, AUDITORS)
    use_runtime(rt)
    try:
        assert directory_sync()["updated"] == [uid]
    finally:
        use_runtime(None)
    slapd.remove(uid)
    env = {
        "ARCHIVE_INSTANCE_DIR": str(settings.instance_dir),
        "ARCHIVE_DATABASE_URL": settings.database_url,
        "ARCHIVE_LDAP_URL": settings.ldap_url,
        "ARCHIVE_LDAP_CA_FILE": settings.ldap_ca_file,
        "ARCHIVE_LDAP_BIND_DN": settings.ldap_bind_dn,
        "ARCHIVE_LDAP_BIND_PASSWORD": settings.ldap_bind_password,
        "ARCHIVE_LDAP_USER_BASE": settings.ldap_user_base,
        "ARCHIVE_LDAP_DISABLED_FILTER": settings.ldap_disabled_filter,
        "ARCHIVE_LDAP_GROUP_ROLES": settings.ldap_group_roles,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    checked = runner.invoke(main, ["ldap", "check", "--user", "nobody-here"])
    assert checked.exit_code == 0, checked.output
    report = json.loads(checked.output)
    assert report["ok"] and report["person"] is None and len(report["groups"]) == 3
    synced = runner.invoke(main, ["ldap", "sync", "--no-limit"])
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.output)["closed"] == [uid]
    monkeypatch.setenv("ARCHIVE_LDAP_CA_FILE", slapd.other_ca_file)
    refused = runner.invoke(main, ["ldap", "check"])
    assert refused.exit_code == 1 and "certificate" in refused.output.lower()
