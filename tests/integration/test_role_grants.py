"""Separation of duties for roles: nobody gives roles to themselves; a role that reads
content or the audit trail (and admin) takes effect when a second admin approves it —
neither the one who asked nor the one who receives it; removals take effect at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from archive_service.accounts import users as accounts
from archive_service.audit.models import AuditEvent
from archive_service.policy import Caller, may
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_web_accounts import csrf, login, rt_client


@pytest.fixture
def org(people: People) -> dict[str, Any]:
    """Three admins, a clerk of FIN (clara), and a SALES document clara cannot read."""
    for name in ("root", "rosa", "ada"):
        people.user(name, "admin", department=None)
    people.user("sam", "clerk", department="SALES")
    clara = people.user("clara", "clerk", department="FIN")
    doc = people.document("sam", people.customer("sam"), samples.pdf("合同 2026"))
    return {"clara": clara.id, "doc": doc}


def _h(client: Any, name: str) -> dict[str, str]:
    return bearer(token_for(client, name))


def _roles(client: Any, admin: dict[str, str], user_id: int, roles: list[str]) -> Any:
    return client.put(f"/api/v1/users/{user_id}/roles", json={"roles": roles}, headers=admin)


def _grants(client: Any, admin: dict[str, str]) -> list[dict[str, Any]]:
    resp = client.get("/api/v1/role-grants", headers=admin)
    assert resp.status_code == 200, resp.get_json()
    items: list[dict[str, Any]] = resp.get_json()["items"]
    return items


def _decide(client: Any, admin: dict[str, str], grant: int, decision: str, **kw: Any) -> Any:
    body = {"decision": decision, **kw}
    return client.post(f"/api/v1/role-grants/{grant}/decision", json=body, headers=admin)


def _events(rt: Any, action: str) -> list[AuditEvent]:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def _me(client: Any, name: str) -> list[str]:
    roles: list[str] = client.get("/api/v1/me", headers=_h(client, name)).get_json()["roles"]
    return roles


def test_nobody_gives_roles_to_themselves(client: Any, org: dict[str, Any], rt: Any) -> None:
    """Today an admin gave their own account manager, read any document, dropped it."""
    root = _h(client, "root")
    with rt.db.unit_of_work() as s:
        root_id = accounts.user_by_username(s, "root").id  # type: ignore[union-attr]
    for roles in (["admin", "manager"], ["admin", "archivist"], ["admin", "requester"]):
        resp = _roles(client, root, root_id, roles)
        assert resp.status_code == 403, resp.get_json()
        assert resp.get_json()["error"]["rule"] == "no-self-assignment"
    assert _me(client, "root") == ["admin"]
    assert client.get(f"/api/v1/documents/{org['doc']}", headers=root).status_code == 404
    assert _grants(client, root) == []
    # The policy says so to the pages too.
    with rt.db.unit_of_work() as s:
        user = accounts.user_by_username(s, "root")
        assert user is not None
        assert not may(Caller.of(user), "user.assign_roles", user)


def test_a_role_that_reads_waits_for_a_second_admin(
    client: Any, org: dict[str, Any], rt: Any
) -> None:
    root, rosa = _h(client, "root"), _h(client, "rosa")
    resp = _roles(client, root, org["clara"], ["clerk", "archivist"])
    assert resp.status_code == 200
    assert resp.get_json()["roles"] == ["clerk"] and resp.get_json()["pending_roles"] == [
        "archivist"
    ]
    clara = _h(client, "clara")
    assert client.get(f"/api/v1/documents/{org['doc']}", headers=clara).status_code == 404
    (grant,) = _grants(client, rosa)
    assert (grant["user"], grant["roles"], grant["requested_by"]) == (
        "clara",
        ["archivist"],
        "root",
    )
    assert grant["approval_steps"][0]["role"] == "admin"
    assert grant["approval_steps"][0]["status"] == "pending"
    decided = _decide(client, rosa, grant["id"], "approve")
    assert decided.status_code == 200 and decided.get_json()["status"] == "approved"
    assert decided.get_json()["approval_steps"][0]["decided_by"] == "rosa"
    assert _me(client, "clara") == ["archivist", "clerk"]
    assert client.get(f"/api/v1/documents/{org['doc']}", headers=clara).status_code == 200
    (asked,) = _events(rt, "role_grant.request")
    (approved,) = _events(rt, "role_grant.approve")
    assert asked.actor == "root" and asked.details["roles"] == ["archivist"]
    assert approved.actor == "rosa" and approved.details["requested_by"] == "root"
    assert approved.details["after"] == ["archivist", "clerk"]
    assert _decide(client, rosa, grant["id"], "approve").status_code == 409


def test_neither_the_asker_nor_the_receiver_decides(client: Any, org: dict[str, Any]) -> None:
    root, rosa, ada = _h(client, "root"), _h(client, "rosa"), _h(client, "ada")
    _roles(client, root, org["clara"], ["clerk", "manager"])
    (grant,) = _grants(client, root)
    resp = _decide(client, root, grant["id"], "approve")
    assert resp.status_code == 403 and resp.get_json()["error"]["rule"] == "no-self-approval"
    # An admin receiving a role that reads does not approve it either.
    rosa_id = next(
        u["id"]
        for u in client.get("/api/v1/users", headers=root).get_json()["items"]
        if u["username"] == "rosa"
    )
    _roles(client, root, rosa_id, ["admin", "auditor"])
    rosa_grant = next(g for g in _grants(client, root) if g["user"] == "rosa")
    resp = _decide(client, rosa, rosa_grant["id"], "approve")
    assert resp.status_code == 403 and resp.get_json()["error"]["rule"] == "no-self-assignment"
    assert _decide(client, ada, rosa_grant["id"], "approve").status_code == 200
    assert _me(client, "rosa") == ["admin", "auditor"]
    # A clerk neither lists nor decides grants.
    clara = _h(client, "clara")
    assert client.get("/api/v1/role-grants", headers=clara).status_code == 403
    assert _decide(client, clara, grant["id"], "approve").status_code == 403


def test_the_admin_role_itself_waits(client: Any, org: dict[str, Any]) -> None:
    """Else an admin could make a second admin at once and approve their own grants."""
    root = _h(client, "root")
    resp = _roles(client, root, org["clara"], ["clerk", "admin"])
    assert resp.get_json()["roles"] == ["clerk"] and resp.get_json()["pending_roles"] == ["admin"]


def test_a_rejection_gives_its_reason_and_adds_nothing(
    client: Any, org: dict[str, Any], rt: Any
) -> None:
    root, rosa = _h(client, "root"), _h(client, "rosa")
    _roles(client, root, org["clara"], ["clerk", "auditor"])
    (grant,) = _grants(client, rosa)
    assert _decide(client, rosa, grant["id"], "reject").status_code == 422
    assert _decide(client, rosa, grant["id"], "maybe").status_code == 422
    resp = _decide(client, rosa, grant["id"], "reject", comment="不是审计岗")
    assert resp.status_code == 200 and resp.get_json()["status"] == "rejected"
    assert _me(client, "clara") == ["clerk"]
    assert _events(rt, "role_grant.reject")[0].details["comment"] == "不是审计岗"
    assert client.get("/api/v1/role-grants/999999", headers=rosa).status_code == 404


def test_removals_and_roles_that_read_nothing_take_effect_at_once(
    client: Any, org: dict[str, Any], rt: Any
) -> None:
    root, rosa = _h(client, "root"), _h(client, "rosa")
    resp = _roles(client, root, org["clara"], ["requester"])
    assert resp.get_json()["roles"] == ["requester"] and resp.get_json()["pending_roles"] == []
    assert _grants(client, rosa) == []
    # A new decision replaces the grant still waiting.
    _roles(client, root, org["clara"], ["requester", "archivist"])
    _roles(client, root, org["clara"], ["requester", "supervisor"])
    (grant,) = _grants(client, rosa)
    assert grant["roles"] == ["supervisor"]
    (withdrawn,) = _events(rt, "role_grant.withdraw")
    assert withdrawn.details["roles"] == ["archivist"]


def test_creating_and_activating_hold_reading_roles_back(
    client: Any, org: dict[str, Any], rt: Any
) -> None:
    root = _h(client, "root")
    created = client.post(
        "/api/v1/users",
        headers=root,
        json={
            "username": "mona",
            "password": "a long enough secret",
            "display_name": "Mona",
            "department": "FIN",
            "roles": ["manager", "requester"],
        },
    )
    assert created.status_code == 201
    assert created.get_json()["roles"] == ["requester"]
    assert created.get_json()["pending_roles"] == ["manager"]
    with rt.db.unit_of_work() as s:
        applicant = accounts.apply_for_account(
            s,
            Caller.of(None),
            username="newbie",
            password="a fine long secret",
            display_name="N",
            department="FIN",
            requested_roles=["clerk"],
        )
        assert applicant is not None
        admin = Caller.of(accounts.user_by_username(s, "root"))
        accounts.approve_application(s, admin, applicant.id)
        user = accounts.activate(s, admin, applicant.id, ["clerk"])
        assert user.status == "active" and user.roles == frozenset()
        assert accounts.pending_roles(s, user) == ["clerk"]


def test_admins_decide_grants_in_the_browser(client: Any, org: dict[str, Any]) -> None:
    root = client
    login(root, "root")
    clara = org["clara"]
    resp = root.post(
        f"/admin/users/{clara}/roles?lang=en",
        data={"csrf_token": csrf(root, f"/admin/users/{clara}"), "roles": ["clerk", "leader"]},
    )
    assert resp.status_code == 302
    page = root.get(resp.headers["Location"]).get_data(as_text=True)
    assert "wait for a second administrator" in page
    assert "Roles waiting for a second administrator" in page
    listing = root.get("/admin/role-grants?lang=en").get_data(as_text=True)
    assert "clara" in listing and "Another administrator decides this one" in listing
    rosa = rt_client(client)
    login(rosa, "rosa")
    listing = rosa.get("/admin/role-grants").get_data(as_text=True)
    grant_id = int(listing.split("/admin/role-grants/")[1].split("/")[0])
    token = csrf(rosa, "/admin/role-grants")
    resp = rosa.post(f"/admin/role-grants/{grant_id}/approve", data={"csrf_token": token})
    assert resp.status_code == 302
    assert _me(client, "clara") == ["clerk", "leader"]
    # A stranger to the page is refused.
    clerk = rt_client(client)
    login(clerk, "clara")
    assert clerk.get("/admin/role-grants").status_code == 403
