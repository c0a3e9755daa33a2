"""Supervised viewing pages: supervisors open and end sessions; external viewers page through."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from archive_service.errors import DomainError
from archive_service.http import caller, db_int, request_session, runtime, signed_in, uow
from archive_service.responses import png_response
from archive_service.viewing import pages, sessions
from archive_service.web.forms import ActionForm, attempt

bp = Blueprint("web_viewing", __name__, url_prefix="/viewing")


@bp.get("/")
@signed_in
def index() -> Any:
    """Supervisors: grants to supervise and sessions; viewers: their sessions."""
    s = request_session()
    return render_template(
        "viewing/index.html",
        grants=sessions.grants_to_supervise(s, caller()),
        sessions=sessions.sessions_for(s, caller()),
        form=ActionForm(),
    )


@bp.post("/grants/<int:grant_id>/open")
@signed_in
def open_session(grant_id: int) -> Any:
    if ActionForm().validate_on_submit():
        try:
            with uow() as s:
                vs = sessions.open_session(
                    s, caller(), grant_id, runtime().settings.viewing_session_minutes
                )
                label, ends = vs.label, vs.ends_at
            flash(
                _("Session %(s)s is open until %(t)s UTC.", s=label, t=ends.strftime("%H:%M")),
                "info",
            )
        except DomainError as exc:
            flash(exc.message, "error")
    return redirect(url_for("web_viewing.index"))


@bp.post("/sessions/<int:session_id>/close")
@signed_in
def close_session(session_id: int) -> Any:
    if ActionForm().validate_on_submit():
        attempt(
            _("The session has ended; the viewer's pages stop working now."),
            lambda s: sessions.close_session(s, caller(), runtime().viewing, session_id),
        )
    return redirect(url_for("web_viewing.index"))


@bp.get("/sessions/<int:session_id>")
@signed_in
def session_page(session_id: int) -> Any:
    """The viewer's list of documents in this session."""
    with uow() as s:
        vs = sessions.get_session(s, caller(), session_id)
        docs = pages.documents(s, caller(), session_id)
        return render_template("viewing/session.html", vs=vs, docs=docs)


@bp.get("/sessions/<int:session_id>/documents/<int:document_id>")
@signed_in
def viewer(session_id: int, document_id: int) -> Any:
    """One page at a time, as an image the server rendered and watermarked."""
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    count = pages.page_total(uow, caller(), runtime().viewing, session_id, document_id)
    with uow() as s:
        vs = sessions.get_session(s, caller(), session_id)
        docs = {d.id: d for d in pages.documents(s, caller(), session_id)}
    return render_template(
        "viewing/viewer.html",
        vs=vs,
        doc=docs.get(document_id),
        page=min(page, count),
        pages=count,
    )


@bp.get("/sessions/<int:session_id>/documents/<int:document_id>/pages/<int:page>.png")
@signed_in
def page_image(session_id: int, document_id: int, page: int) -> Any:
    png = pages.show_page(uow, caller(), runtime().viewing, session_id, document_id, page)
    return png_response(png)
