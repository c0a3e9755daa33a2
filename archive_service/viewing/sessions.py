"""Supervised sessions (监督查阅): the named supervisor opens one for an approved external
grant, it lasts at most the set time and never past the grant, and ends when the
supervisor closes it, its time runs out or its grant ends — its decrypted files wiped."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from archive_service.access.models import Grant
from archive_service.access.vocabulary import GrantStatus
from archive_service.audit.services import Actor, record
from archive_service.db import Database, utcnow
from archive_service.errors import Conflict, NotFound
from archive_service.policy import Caller, may, require
from archive_service.viewing.models import EndReason, ViewingSession
from archive_service.viewing.workspace import Workspace

log = logging.getLogger(__name__)
SYSTEM = Actor.system("scheduler")
# A view-only reader's decrypted copy (viewing.page_views) is wiped after this long unused.
READER_IDLE_SECONDS = 30 * 60


def live_grant(grant: Grant, now: datetime) -> bool:
    return grant.status == GrantStatus.ACTIVE and grant.starts_at <= now < grant.ends_at


def open_session(session: Session, by: Caller, grant_id: int, minutes: int) -> ViewingSession:
    """The supervisor the leader named opens a session for an approved external grant."""
    session.execute(select(Grant.id).where(Grant.id == grant_id).with_for_update())
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound("no such grant")
    require(by, "viewing.open", grant)
    now = utcnow()
    if not live_grant(grant, now):
        raise Conflict(f"the grant is not in force (status {grant.status}, window)")
    running = session.execute(
        select(ViewingSession).where(
            ViewingSession.grant_id == grant.id,
            ViewingSession.closed_at.is_(None),
            ViewingSession.ends_at > now,
        )
    ).scalar()
    if running is not None:
        raise Conflict(f"session {running.label} is already open for this grant")
    assert by.user is not None and grant.supervisor_id is not None
    vs = ViewingSession(
        grant_id=grant.id,
        regulator_id=grant.user_id,
        supervisor_id=grant.supervisor_id,
        opened_at=now,
        ends_at=min(now + timedelta(minutes=minutes), grant.ends_at),
    )
    session.add(vs)
    session.flush()
    session.refresh(vs)
    record(
        session,
        by.actor,
        "viewing.open",
        "viewing_session",
        vs.id,
        grant_id=grant.id,
        regulator=vs.regulator.username,
        supervisor=by.user.username,
        ends_at=vs.ends_at.isoformat(),
    )
    return vs


def get_session(session: Session, by: Caller, session_id: int) -> ViewingSession:
    """A session the caller takes part in or oversees; any other is 'not found'."""
    vs = session.get(ViewingSession, session_id)
    if vs is None or (by.user is not None and not may(by, "viewing.see", vs)):
        raise NotFound("no such session")
    require(by, "viewing.see", vs)
    settle(session, vs)
    return vs


def close_session(
    session: Session, by: Caller, workspace: Workspace, session_id: int
) -> ViewingSession:
    """The supervisor ends the session; the viewer's next page is refused."""
    session.execute(
        select(ViewingSession.id).where(ViewingSession.id == session_id).with_for_update()
    )
    vs = get_session(session, by, session_id)
    require(by, "viewing.close", vs)
    if vs.closed_at is not None:
        raise Conflict(f"session {vs.label} already ended ({vs.end_reason})")
    _end(session, vs, EndReason.CLOSED, by.actor)
    workspace.wipe(vs.id)
    return vs


def _end(session: Session, vs: ViewingSession, reason: str, actor: Actor) -> None:
    now = utcnow()
    vs.closed_at = min(now, vs.ends_at) if reason == EndReason.EXPIRED else now
    vs.closed_by, vs.end_reason = actor.username or "system", reason
    record(
        session,
        actor,
        "viewing.end",
        "viewing_session",
        vs.id,
        reason=reason,
        pages_viewed=vs.pages_viewed,
        regulator=vs.regulator.username,
        supervisor=vs.supervisor.username,
    )


def settle(session: Session, vs: ViewingSession) -> None:
    """A session whose time ran out, or whose grant ended, is recorded as ended."""
    if vs.closed_at is not None:
        return
    now = utcnow()
    if now >= vs.ends_at:
        _end(session, vs, EndReason.EXPIRED, SYSTEM)
    elif not live_grant(vs.grant, now):
        _end(session, vs, EndReason.GRANT_ENDED, SYSTEM)


def end_overdue(db: Database, workspace: Workspace) -> int:
    """Scheduler: record sessions that ran out, and wipe every ended session's files and
    every reader's copies unused for READER_IDLE_SECONDS."""
    now = utcnow()
    with db.unit_of_work() as s:
        due = s.execute(
            select(ViewingSession).where(
                ViewingSession.closed_at.is_(None),
                or_(
                    ViewingSession.ends_at <= now,
                    ViewingSession.grant.has(Grant.status != GrantStatus.ACTIVE),
                ),
            )
        ).scalars()
        ended = 0
        for vs in due:
            settle(s, vs)
            ended += vs.closed_at is not None
        open_ids = set(
            s.execute(select(ViewingSession.id).where(ViewingSession.closed_at.is_(None))).scalars()
        )
    workspace.wipe_all_but(open_ids)
    workspace.wipe_idle_readers(READER_IDLE_SECONDS)
    return ended


def sessions_for(session: Session, by: Caller) -> list[ViewingSession]:
    """The caller's sessions: as regulator or supervisor; every session for overseers."""
    require(by, "viewing.list")
    assert by.user is not None or by.operator
    q = select(ViewingSession).order_by(ViewingSession.id.desc())
    if by.user is not None and not may(by, "viewing.oversee"):
        q = q.where(
            or_(
                ViewingSession.regulator_id == by.user.id,
                ViewingSession.supervisor_id == by.user.id,
            )
        )
    rows = list(session.execute(q.limit(200)).scalars())
    for vs in rows:
        settle(session, vs)
    return rows


def grants_to_supervise(session: Session, by: Caller) -> list[Grant]:
    """External grants in force that name the caller as supervisor."""
    if by.user is None:
        return []
    now = utcnow()
    return list(
        session.execute(
            select(Grant)
            .where(
                Grant.supervisor_id == by.user.id,
                Grant.status == GrantStatus.ACTIVE,
                Grant.starts_at <= now,
                Grant.ends_at > now,
            )
            .order_by(Grant.ends_at)
        ).scalars()
    )
