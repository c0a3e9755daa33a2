"""Supervised viewing over the API: sessions (supervisor) and watermarked pages (viewer)."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Integer, String

from archive_service.api.common import (
    SECURITY,
    Id,
    Out,
    PageCountOut,
    blueprint,
    errors,
    file_answer,
    listing,
)
from archive_service.http import caller, runtime, signed_in, uow
from archive_service.responses import png_response
from archive_service.viewing import pages, sessions
from archive_service.viewing.serializers import session_dict

bp = blueprint("viewing", "Supervised viewing")


class OpenIn(Schema):
    grant_id = Id(required=True)


class SessionOut(Out):
    """A supervised viewing session (监督查阅)."""

    id = Integer()
    label = String()
    grant_id = Integer()
    regulator = String()
    organisation = String(allow_none=True)
    supervisor = String()
    opened_at = String()
    ends_at = String()
    closed_at = String(allow_none=True)
    closed_by = String(allow_none=True)
    end_reason = String(allow_none=True)
    open = Boolean()
    pages_viewed = Integer()


class SessionItem(SessionOut):
    """A session in a list."""


SessionsOut = listing("SessionsOut", SessionItem)


class SessionDocumentOut(Out):
    id = Integer()
    archive_number = String(allow_none=True)
    title = String()


SessionDocumentsOut = listing("SessionDocumentsOut", SessionDocumentOut)


@bp.post("/viewing-sessions")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(OpenIn, arg_name="body")
@bp.output(SessionOut, status_code=201)
@signed_in
def open_session(body: dict[str, Any]) -> Any:
    """The supervisor named on an external grant opens a session (at most the set length)."""
    minutes = runtime().settings.viewing_session_minutes
    with uow() as s:
        vs = sessions.open_session(s, caller(), body["grant_id"], minutes)
        return session_dict(vs), 201


@bp.get("/viewing-sessions")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(SessionsOut)
@signed_in
def list_sessions() -> Any:
    """The caller's sessions (overseers: every session)."""
    with uow() as s:
        rows = sessions.sessions_for(s, caller())
        return {"items": [session_dict(v) for v in rows], "total": len(rows)}


@bp.get("/viewing-sessions/<int:session_id>")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(SessionOut)
@signed_in
def get_session(session_id: int) -> Any:
    with uow() as s:
        return session_dict(sessions.get_session(s, caller(), session_id))


@bp.post("/viewing-sessions/<int:session_id>/close")
@bp.doc(security=SECURITY, responses=errors(403, 409))
@bp.output(SessionOut)
@signed_in
def close_session(session_id: int) -> Any:
    """The supervisor ends the session at once."""
    with uow() as s:
        return session_dict(sessions.close_session(s, caller(), runtime().viewing, session_id))


@bp.get("/viewing-sessions/<int:session_id>/documents")
@bp.doc(security=SECURITY, responses=errors(403, 409))
@bp.output(SessionDocumentsOut)
@signed_in
def session_documents(session_id: int) -> Any:
    """What the viewer may look at in this session (numbers and titles only)."""
    with uow() as s:
        docs = pages.documents(s, caller(), session_id)
        items = [{"id": d.id, "archive_number": d.archive_number, "title": d.title} for d in docs]
        return {"items": items, "total": len(items)}


@bp.get("/viewing-sessions/<int:session_id>/documents/<int:document_id>")
@bp.doc(security=SECURITY, responses=errors(403, 409, 410))
@bp.output(PageCountOut)
@signed_in
def document_pages(session_id: int, document_id: int) -> Any:
    """How many pages the document shows."""
    count = pages.page_total(uow, caller(), runtime().viewing, session_id, document_id)
    return {"document_id": document_id, "pages": count}


@bp.get("/viewing-sessions/<int:session_id>/documents/<int:document_id>/pages/<int:page>")
@bp.doc(
    security=SECURITY,
    responses={**file_answer("the page as an image", "image/png"), **errors(403, 409, 410)},
)
@signed_in
def page_image(session_id: int, document_id: int, page: int) -> Any:
    """One page as a PNG with the viewer, organisation, time and session burned in."""
    png = pages.show_page(uow, caller(), runtime().viewing, session_id, document_id, page)
    return png_response(png)
