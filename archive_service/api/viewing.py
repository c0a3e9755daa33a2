"""Supervised viewing over the API: sessions (supervisor) and watermarked pages (viewer)."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Integer
from flask import Response

from archive_service.api.common import SECURITY, blueprint
from archive_service.http import caller, runtime, signed_in, uow
from archive_service.viewing import services as viewing

bp = blueprint("viewing", "Supervised viewing")


class OpenIn(Schema):
    grant_id = Integer(required=True)


def png_response(png: bytes) -> Response:
    """A rendered page: no caching anywhere, no file name, nothing to save but pixels."""
    resp = Response(png, mimetype="image/png")
    resp.headers["Cache-Control"] = "no-store, private, max-age=0"
    resp.headers["Pragma"] = "no-cache"
    resp.headers["Content-Disposition"] = "inline"
    return resp


def page_total(session_id: int, document_id: int) -> int:
    """How many pages the document shows (prepared outside the transaction)."""
    rt = runtime()
    with uow() as s:
        source = viewing.page_source(rt, s, caller(), session_id, document_id)
    return viewing.prepare(rt, source).pages


def shown_page(session_id: int, document_id: int, page: int) -> Response:
    """Check, render outside any transaction, then check again and register: only a page
    registered while its session is open leaves the server."""
    rt = runtime()
    with uow() as s:
        source = viewing.page_source(rt, s, caller(), session_id, document_id)
    png = viewing.render_page(rt, source, page)
    with uow() as s:
        viewing.register_page(s, caller(), source, page)
    return png_response(png)


@bp.post("/viewing-sessions")
@bp.doc(security=SECURITY)
@bp.input(OpenIn, arg_name="body")
@signed_in
def open_session(body: dict[str, Any]) -> Any:
    """The supervisor named on an external grant opens a session (at most the set length)."""
    minutes = runtime().settings.viewing_session_minutes
    with uow() as s:
        vs = viewing.open_session(s, caller(), body["grant_id"], minutes)
        return viewing.session_dict(vs), 201


@bp.get("/viewing-sessions")
@bp.doc(security=SECURITY)
@signed_in
def list_sessions() -> Any:
    """The caller's sessions (overseers: every session)."""
    with uow() as s:
        rows = viewing.sessions_for(s, caller())
        return {"items": [viewing.session_dict(v) for v in rows], "total": len(rows)}


@bp.get("/viewing-sessions/<int:session_id>")
@bp.doc(security=SECURITY)
@signed_in
def get_session(session_id: int) -> Any:
    with uow() as s:
        return viewing.session_dict(viewing.get_session(s, caller(), session_id))


@bp.post("/viewing-sessions/<int:session_id>/close")
@bp.doc(security=SECURITY)
@signed_in
def close_session(session_id: int) -> Any:
    """The supervisor ends the session at once."""
    with uow() as s:
        return viewing.session_dict(viewing.close_session(runtime(), s, caller(), session_id))


@bp.get("/viewing-sessions/<int:session_id>/documents")
@bp.doc(security=SECURITY)
@signed_in
def session_documents(session_id: int) -> Any:
    """What the viewer may look at in this session (numbers and titles only)."""
    with uow() as s:
        docs = viewing.documents(s, caller(), session_id)
        items = [{"id": d.id, "archive_number": d.archive_number, "title": d.title} for d in docs]
        return {"items": items, "total": len(items)}


@bp.get("/viewing-sessions/<int:session_id>/documents/<int:document_id>")
@bp.doc(security=SECURITY)
@signed_in
def document_pages(session_id: int, document_id: int) -> Any:
    """How many pages the document shows."""
    return {"document_id": document_id, "pages": page_total(session_id, document_id)}


@bp.get("/viewing-sessions/<int:session_id>/documents/<int:document_id>/pages/<int:page>")
@bp.doc(security=SECURITY)
@signed_in
def page_image(session_id: int, document_id: int, page: int) -> Any:
    """One page as a PNG with the viewer, organisation, time and session burned in."""
    return shown_page(session_id, document_id, page)
