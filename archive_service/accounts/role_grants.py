"""Role grants: roles that read content or the audit trail (and the admin role) take effect
only when a second admin approves (separation of duties, 职责分离).

An admin's change of roles (:func:`archive_service.accounts.users.set_roles`, creating an
account, activating an application) gives the other roles at once and opens one grant for
these; a later change of the same account withdraws it. The grant's one step is an
approval chain like the others (``accounts/rules.role_grant_chain``, decided by
``policy/accounts``). The operator at the console gives roles at once (first set-up).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.accounts import rules
from archive_service.accounts.models import User, UserRole
from archive_service.accounts.role_models import RoleGrant, RoleGrantStep
from archive_service.accounts.vocabulary import RoleGrantStatus
from archive_service.approvals import open_chain, open_next, pending_step
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.notifications import events
from archive_service.policy import Caller, may, require


def open_grant_for(session: Session, user_id: int) -> RoleGrant | None:
    """The account's grant still waiting for a decision, if any."""
    return session.execute(
        select(RoleGrant).where(
            RoleGrant.user_id == user_id, RoleGrant.status == RoleGrantStatus.PENDING
        )
    ).scalar_one_or_none()


def withdraw_open(session: Session, by: Caller, user: User) -> RoleGrant | None:
    """A new decision about the account's roles replaces the grant still waiting."""
    grant = open_grant_for(session, user.id)
    if grant is None:
        return None
    grant.status, grant.closed_at = RoleGrantStatus.WITHDRAWN, utcnow()
    record(
        session,
        by.actor,
        "role_grant.withdraw",
        "user",
        user.id,
        grant_id=grant.id,
        username=user.username,
        roles=grant.roles,
    )
    return grant


def request(session: Session, by: Caller, user: User, roles: list[str]) -> RoleGrant:
    """Hold ``roles`` back for ``user`` until another admin approves (the caller has been
    allowed to give roles, and has withdrawn any grant still waiting)."""
    assert by.user is not None
    grant = RoleGrant(user_id=user.id, requested_by_id=by.user.id, roles=sorted(set(roles)))
    session.add(grant)
    session.flush()
    open_chain(session, RoleGrantStep, rules.role_grant_chain(), grant_id=grant.id)
    session.refresh(grant)
    record(
        session,
        by.actor,
        "role_grant.request",
        "user",
        user.id,
        grant_id=grant.id,
        username=user.username,
        roles=grant.roles,
    )
    events.step_waiting(session, "role", grant.steps, grant.id)
    return grant


def get_grant(session: Session, by: Caller, grant_id: int) -> RoleGrant:
    require(by, "role_grant.list")
    grant = session.get(RoleGrant, grant_id)
    if grant is None:
        raise NotFound("no such role grant")
    return grant


def pending_grants(session: Session, by: Caller) -> list[RoleGrant]:
    """Grants waiting for a second admin (each admin sees them all, and decides those
    they neither asked for nor receive)."""
    require(by, "role_grant.list")
    return list(
        session.execute(
            select(RoleGrant)
            .where(RoleGrant.status == RoleGrantStatus.PENDING)
            .order_by(RoleGrant.created_at, RoleGrant.id)
        ).scalars()
    )


def may_decide(by: Caller, grant: RoleGrant) -> bool:
    step = pending_step(grant.steps)
    return step is not None and bool(may(by, "role_grant.decide", step))


def decide(
    session: Session, by: Caller, grant_id: int, decision: str, comment: str | None
) -> RoleGrant:
    """A second admin approves (the roles are added now) or rejects (a reason is given)."""
    session.execute(select(RoleGrant.id).where(RoleGrant.id == grant_id).with_for_update())
    grant = get_grant(session, by, grant_id)
    step = pending_step(grant.steps)
    if grant.status != RoleGrantStatus.PENDING or step is None:
        raise Conflict(f"role grant is {grant.status}")
    require(by, "role_grant.decide", step)
    if decision not in ("approve", "reject"):
        raise InvalidInput("decision must be approve or reject", field="decision")
    comment = (comment or "").strip()[:1000] or None
    if decision == "reject" and not comment:
        raise InvalidInput("give the reason", field="comment")
    now = utcnow()
    step.settle(decision == "approve", by.user, now, comment)
    user = grant.user
    if decision == "reject":
        grant.status, grant.closed_at = RoleGrantStatus.REJECTED, now
        record(
            session,
            by.actor,
            "role_grant.reject",
            "user",
            user.id,
            grant_id=grant.id,
            username=user.username,
            roles=grant.roles,
            comment=comment,
        )
        events.after_decision(session, "role", grant.steps, grant.id, False, True)
        return grant
    if not open_next(grant.steps):  # a longer chain: the next step decides now
        events.step_waiting(session, "role", grant.steps, grant.id)
        record(
            session,
            by.actor,
            "role_grant.pass",
            "user",
            user.id,
            grant_id=grant.id,
            step=step.role,
            comment=comment,
        )
        return grant
    if user.status in ("closed", "rejected"):
        raise Conflict(f"account is {user.status}")
    before = sorted(user.roles)
    after = sorted(set(before) | set(grant.roles))
    user.role_rows = [UserRole(role=r) for r in after]
    grant.status, grant.closed_at = RoleGrantStatus.APPROVED, now
    session.flush()
    record(
        session,
        by.actor,
        "role_grant.approve",
        "user",
        user.id,
        grant_id=grant.id,
        username=user.username,
        requested_by=grant.requested_by.username,
        roles=grant.roles,
        before=before,
        after=after,
        comment=comment,
    )
    events.after_decision(session, "role", grant.steps, grant.id, True, True)
    return grant
