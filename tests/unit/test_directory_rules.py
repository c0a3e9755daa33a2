"""The directory's pure rules: the mappings as an operator writes them, the roles a
person's groups give (and which the directory decides at all), the department, and which
addresses may name the user for an SSO gateway."""

from __future__ import annotations

import json

import pytest

from archive_service.config import Settings
from archive_service.directory import rules
from archive_service.directory.settings import DirectorySettings, SsoGate

CLERKS = "CN=Archive Clerks, OU=Groups,DC=corp,DC=example"


def test_a_dn_is_compared_without_case_or_spaces() -> None:
    assert rules.normalise_dn(CLERKS) == "cn=archive clerks,ou=groups,dc=corp,dc=example"


def test_group_roles_as_pairs_or_json() -> None:
    pairs = rules.group_roles(f"{CLERKS}=clerk; cn=heads,dc=x=department_head;{CLERKS}=auditor")
    as_json = rules.group_roles(
        json.dumps({CLERKS: ["clerk", "auditor"], "cn=heads,dc=x": "department_head"})
    )
    assert (
        pairs
        == as_json
        == {
            "cn=archive clerks,ou=groups,dc=corp,dc=example": frozenset({"clerk", "auditor"}),
            "cn=heads,dc=x": frozenset({"department_head"}),
        }
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("cn=a,dc=x=wizard", "unknown roles wizard"),
        ("cn=a,dc=x=regulator", "only from an approved account application"),
        ("clerk", "is not key=value"),
        ("cn=a,dc=x", "unknown roles x"),
        ("{not json", "not valid JSON"),
        ('{"cn=a": 3}', "a string or a list"),
    ],
)
def test_a_mapping_that_cannot_be_right_fails_the_start(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        rules.group_roles(text)


def test_the_directory_decides_only_the_roles_a_mapped_group_gives() -> None:
    mapping = rules.group_roles("cn=c,dc=x=clerk;cn=a,dc=x=auditor")
    managed = rules.managed_roles(mapping)
    assert managed == {"clerk", "auditor"}
    given = rules.roles_from_groups(["cn=c,dc=x", "cn=other,dc=x"], mapping)
    assert given == {"clerk"}
    # auditor is taken away (no longer in its group); requester was given here and stays.
    assert rules.next_roles(["auditor", "requester"], given, managed) == ["clerk", "requester"]


def test_the_department_from_an_attribute_or_the_entry_s_ou() -> None:
    dn = "uid=li,ou=Sales,ou=people,dc=x"
    assert rules.department_value(dn, ["", "Sales "], "departmentNumber") == "Sales"
    assert rules.department_value(dn, [], "departmentNumber") is None
    assert rules.department_value(dn, [], "ou") == "Sales"
    assert rules.department_code("Sales", {}) == "SALES"
    mapping = rules.departments("Sales=SAL;销售部=SAL")
    assert rules.department_code("销售部", mapping) == "SAL"
    assert rules.department_code("Finance", mapping) is None


def test_only_an_allow_listed_proxy_names_the_user() -> None:
    gate = SsoGate("X-Remote-User", rules.networks("10.0.0.0/8, 192.168.1.5 ::1"))
    headers = {"X-Remote-User": " lihua "}
    assert gate.username(headers, "10.20.30.40") == "lihua"
    assert gate.username(headers, "::ffff:10.0.0.1") == "lihua"
    assert gate.username(headers, "::1") == "lihua"
    for peer in ("192.168.1.6", "11.0.0.1", None, "not an address"):
        assert gate.username(headers, peer) is None
    assert gate.username({}, "10.0.0.1") is None
    # No realm is cut off: another domain's "lihua" is not ours.
    assert gate.username({"X-Remote-User": "lihua@elsewhere"}, "10.0.0.1") == "lihua@elsewhere"


def test_settings_are_checked_at_start() -> None:
    assert DirectorySettings.from_settings(Settings()) is None
    assert SsoGate.from_settings(Settings()) is None
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        SsoGate.from_settings(Settings(sso_header="X-Remote-User"))
    with pytest.raises(ValueError, match="ldaps://"):
        DirectorySettings.from_settings(Settings(ldap_url="http://dc1", ldap_user_base="dc=x"))
    with pytest.raises(ValueError, match="GROUP_ROLES"):
        DirectorySettings.from_settings(Settings(ldap_url="ldaps://dc1", ldap_user_base="dc=x"))
    config = DirectorySettings.from_settings(
        Settings(ldap_url="ldaps://dc1", ldap_user_base="dc=x", ldap_group_roles="cn=c=clerk")
    )
    assert config is not None and config.managed_roles == {"clerk"}


def test_the_beat_syncs_only_with_a_directory() -> None:
    from workers.celery_app import make_celery

    assert "directory-sync" not in make_celery(Settings().with_defaults()).conf.beat_schedule
    configured = Settings(ldap_url="ldaps://dc1", ldap_sync_minutes=10).with_defaults()
    schedule = make_celery(configured).conf.beat_schedule["directory-sync"]
    assert schedule == {"task": "workers.tasks.directory_sync", "schedule": 600.0}


def test_a_sync_that_would_close_too_many_closes_none() -> None:
    assert not rules.too_many_leavers(25, 25)
    assert rules.too_many_leavers(26, 25)
    assert not rules.too_many_leavers(1000, 0)  # no limit
    assert rules.leaves(None)
