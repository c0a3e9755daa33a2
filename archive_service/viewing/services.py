"""Supervised viewing use cases: open and end sessions, show watermarked pages, record them.

An external viewer (regulator) never receives a file: while a session that the
grant's named supervisor opened is running, the server decrypts the document
into the private temp area, renders the asked page to an image with the
viewer, organisation, time and session burned in, and registers the page in
the access register. The decrypted copy lives in a folder of the session and
is wiped when the session ends (and by the scheduler, should a process die).
"""

from __future__ import annotations

import fcntl
import logging
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from archive_service.access.models import Grant
from archive_service.access.services import grant_covering, granted_documents_clause
from archive_service.archive.models import AccessRecord, Document, DocumentStatus
from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.errors import Conflict, NotAllowed, NotFound
from archive_service.policy import Caller, require
from archive_service.vault.models import StoredObject
from archive_service.viewing import render
from archive_service.viewing.models import EndReason, ViewingSession

if TYPE_CHECKING:
    from archive_service.runtime import Runtime

log = logging.getLogger(__name__)
SYSTEM = Actor.system("scheduler")


# --- sessions ------------------------------------------------------------------------------


def _live_grant(grant: Grant, now: datetime) -> bool:
    return grant.status == "active" and grant.starts_at <= now < grant.ends_at


def open_session(session: Session, by: Caller, grant_id: int, minutes: int) -> ViewingSession:
    """The supervisor the leader named opens a session for an approved external grant."""
    session.execute(select(Grant.id).where(Grant.id == grant_id).with_for_update())
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound("no such grant")
    require(by, "viewing.open", grant)
    now = utcnow()
    if not _live_grant(grant, now):
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
    vs = session.get(ViewingSession, session_id)
    if vs is None:
        raise NotFound("no such session")
    require(by, "viewing.see", vs)
    _settle(session, vs)
    return vs


def close_session(rt: Runtime, session: Session, by: Caller, session_id: int) -> ViewingSession:
    """The supervisor ends the session; the viewer's next page is refused."""
    session.execute(
        select(ViewingSession.id).where(ViewingSession.id == session_id).with_for_update()
    )
    vs = get_session(session, by, session_id)
    require(by, "viewing.close", vs)
    if vs.closed_at is not None:
        raise Conflict(f"session {vs.label} already ended ({vs.end_reason})")
    _end(session, vs, EndReason.CLOSED, by.actor)
    wipe(rt, vs.id)
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


def _settle(session: Session, vs: ViewingSession) -> None:
    """A session whose time ran out, or whose grant ended, is recorded as ended."""
    if vs.closed_at is not None:
        return
    now = utcnow()
    if now >= vs.ends_at:
        _end(session, vs, EndReason.EXPIRED, SYSTEM)
    elif not _live_grant(vs.grant, now):
        _end(session, vs, EndReason.GRANT_ENDED, SYSTEM)


def end_overdue(rt: Runtime) -> int:
    """Scheduler: record sessions that ran out, and wipe every ended session's files."""
    now = utcnow()
    with rt.db.unit_of_work() as s:
        due = s.execute(
            select(ViewingSession).where(
                ViewingSession.closed_at.is_(None),
                or_(
                    ViewingSession.ends_at <= now,
                    ViewingSession.grant.has(Grant.status != "active"),
                ),
            )
        ).scalars()
        ended = 0
        for vs in due:
            _settle(s, vs)
            ended += vs.closed_at is not None
        open_ids = set(
            s.execute(select(ViewingSession.id).where(ViewingSession.closed_at.is_(None))).scalars()
        )
    root = _root(rt)
    if root.exists():
        for folder in root.iterdir():
            number = folder.name[1:]
            if folder.name.startswith("s") and number.isdigit() and int(number) not in open_ids:
                shutil.rmtree(folder, ignore_errors=True)
    return ended


def sessions_for(session: Session, by: Caller) -> list[ViewingSession]:
    """The caller's sessions: as regulator or supervisor; every session for overseers."""
    require(by, "viewing.list")
    assert by.user is not None or by.operator
    q = select(ViewingSession).order_by(ViewingSession.id.desc())
    if by.user is not None and not by.user.has_role("auditor", "archivist", "operations_head"):
        q = q.where(
            or_(
                ViewingSession.regulator_id == by.user.id,
                ViewingSession.supervisor_id == by.user.id,
            )
        )
    rows = list(session.execute(q.limit(200)).scalars())
    for vs in rows:
        _settle(session, vs)
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
                Grant.status == "active",
                Grant.starts_at <= now,
                Grant.ends_at > now,
            )
            .order_by(Grant.ends_at)
        ).scalars()
    )


# --- what the viewer sees ---------------------------------------------------------------------


def _viewer_session(session: Session, by: Caller, session_id: int) -> ViewingSession:
    """The regulator's own session, open right now; anything else is refused."""
    vs = session.get(ViewingSession, session_id)
    if vs is None:
        raise NotFound("no such session")
    require(by, "viewing.view", vs)
    _settle(session, vs)
    if vs.closed_at is not None:
        raise NotAllowed(
            f"session {vs.label} has ended ({vs.end_reason}); your supervisor opens a new one",
            rule="session-ended",
        )
    return vs


def documents(session: Session, by: Caller, session_id: int) -> list[Document]:
    """The documents the session's grant covers (accepted, not destroyed)."""
    vs = _viewer_session(session, by, session_id)
    return list(
        session.execute(
            select(Document)
            .where(
                granted_documents_clause(vs.regulator_id),
                Document.status == DocumentStatus.ACCEPTED,
            )
            .order_by(Document.archive_number)
        ).scalars()
    )


def _document(session: Session, vs: ViewingSession, document_id: int) -> Document:
    doc = session.get(Document, document_id)
    if (
        doc is None
        or doc.status != DocumentStatus.ACCEPTED
        or grant_covering(session, vs.regulator_id, doc) is None
    ):
        raise NotFound("no such document in this session")
    return doc


@dataclass(frozen=True)
class Prepared:
    path: Path
    content_type: str
    pages: int


@dataclass(frozen=True)
class PageSource:
    """What showing a document's pages needs, read inside the transaction that checked the
    caller; rendering then runs outside any transaction (it can take seconds, and on
    SQLite an open transaction holds the write lock)."""

    session_id: int
    label: str
    document_id: int
    folder: Path
    content_type: str
    stored_object: StoredObject
    viewer: str
    organisation: str


def _root(rt: Runtime) -> Path:
    return rt.temp_dir / "viewing"


def wipe(rt: Runtime, session_id: int) -> None:
    shutil.rmtree(_root(rt) / f"s{session_id}", ignore_errors=True)


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def page_source(
    rt: Runtime, session: Session, by: Caller, session_id: int, document_id: int
) -> PageSource:
    """Check that the caller views in this open session and that it covers the document."""
    vs = _viewer_session(session, by, session_id)
    doc = _document(session, vs, document_id)
    version = doc.current_version
    assert version is not None
    if version.content_type not in render.RENDERABLE:
        raise Conflict(f"documents of type {version.content_type} cannot be shown page by page")
    obj = session.get(StoredObject, version.stored_object_id)
    assert obj is not None
    regulator = vs.regulator
    return PageSource(
        session_id=vs.id,
        label=vs.label,
        document_id=doc.id,
        folder=_root(rt) / f"s{vs.id}" / f"d{doc.id}v{version.number}",
        content_type=version.content_type,
        stored_object=obj,
        viewer=regulator.display_name,
        organisation=regulator.organisation or "",
    )


def prepare(rt: Runtime, source: PageSource) -> Prepared:
    """The document, decrypted once per session into its private folder and made renderable."""
    folder = source.folder
    with _locked(folder):
        marker = folder / "prepared"
        if marker.exists():
            name, _, count = marker.read_text().partition("\n")
            return Prepared(folder / name, source.content_type, int(count))
        original = folder / "original"
        with original.open("wb") as out:
            for chunk in rt.vault.open(source.stored_object):
                out.write(chunk)
        try:
            ready = render.prepare(
                original, source.content_type, folder, timeout=rt.settings.render_timeout_seconds
            )
            pages = render.page_count(ready, source.content_type)
        except render.RenderError as exc:
            raise Conflict(f"this document cannot be shown: {exc}") from exc
        marker.write_text(f"{ready.relative_to(folder)}\n{pages}")
        return Prepared(ready, source.content_type, pages)


def render_page(rt: Runtime, source: PageSource, page: int) -> bytes:
    """One page as a PNG with the viewer, organisation, time and session burned in."""
    prepared = prepare(rt, source)
    if not 1 <= page <= prepared.pages:
        raise NotFound(f"page {page} does not exist (the document has {prepared.pages})")
    mark = render.Watermark(
        viewer=source.viewer, organisation=source.organisation, at=utcnow(), session_id=source.label
    )
    try:
        return render.render_page(prepared.path, prepared.content_type, page, mark)
    except render.RenderError as exc:
        raise Conflict(f"this page cannot be shown: {exc}") from exc


def register_page(session: Session, by: Caller, source: PageSource, page: int) -> None:
    """Register a rendered page before it leaves, checking again that the session is still
    open and still covers the document: a session ended while the page was rendered wins."""
    vs = _viewer_session(session, by, source.session_id)
    doc = _document(session, vs, source.document_id)
    regulator = vs.regulator
    vs.pages_viewed += 1
    session.add(
        AccessRecord(
            user_id=regulator.id,
            username=regulator.username,
            document_id=doc.id,
            archive_number=doc.archive_number,
            action="view",
            grant_id=vs.grant_id,
            purpose=vs.grant.request.purpose,
            rule="supervised-session",
            viewing_session_id=vs.id,
            page=page,
            supervisor=vs.supervisor.username,
        )
    )
    record(
        session,
        by.actor,
        "document.view_page",
        "document",
        doc.id,
        viewing_session=vs.label,
        page=page,
        supervisor=vs.supervisor.username,
        grant_id=vs.grant_id,
    )


def session_dict(vs: ViewingSession) -> dict[str, Any]:
    return {
        "id": vs.id,
        "label": vs.label,
        "grant_id": vs.grant_id,
        "regulator": vs.regulator.username,
        "organisation": vs.regulator.organisation,
        "supervisor": vs.supervisor.username,
        "opened_at": vs.opened_at.isoformat(),
        "ends_at": vs.ends_at.isoformat(),
        "closed_at": vs.closed_at.isoformat() if vs.closed_at else None,
        "closed_by": vs.closed_by,
        "end_reason": vs.end_reason,
        "open": vs.is_open(utcnow()),
        "pages_viewed": vs.pages_viewed,
    }
