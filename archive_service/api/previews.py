"""Previews over the API: a document's preview PDF and first-page thumbnail (renditions
made by the workers, ``viewing/previews.py``), read through the one access check."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import String
from apiflask.validators import Length
from flask_babel import force_locale, pgettext

from archive_service.api.common import SECURITY, blueprint, errors, file_answer
from archive_service.archive import reading
from archive_service.archive.vocabulary import PREVIEW_PDF, THUMBNAIL
from archive_service.http import caller, runtime, signed_in, uow
from archive_service.responses import rendition_response

bp = blueprint("previews", "Previews")


class PreviewQuery(Schema):
    purpose = String(load_default=None, validate=Length(max=1000))


def _zh_words(exc: reading.PreviewUnavailable) -> reading.PreviewUnavailable:
    """The reason in Chinese too (``message`` is English; ``reason`` the stable code)."""
    with force_locale("zh"):
        exc.details["message_zh"] = str(pgettext(exc.term.label.context, exc.term.label.english))
    return exc


@bp.get("/documents/<int:document_id>/preview")
@bp.doc(
    security=SECURITY,
    responses={
        **file_answer(
            "the preview: a PDF derived from the file, or the PDF itself", "application/pdf"
        ),
        **errors(403, 404, 409, 410, 422),
    },
)
@bp.input(PreviewQuery, location="query", arg_name="q")
@signed_in
def preview(document_id: int, q: dict[str, Any]) -> Any:
    """The current version's preview PDF (office documents converted, images scaled to
    fit); registered in the access register as ``preview``. Like the file it needs
    ``document.download``: a view-only reader reads ``/documents/{id}/pages``. 409 with
    ``reason`` (``pending``, or why it failed) while there is none."""
    try:
        with uow() as s:
            opened = reading.read_rendition(
                s, caller(), runtime().vault, document_id, PREVIEW_PDF, q["purpose"]
            )
    except reading.PreviewUnavailable as exc:
        raise _zh_words(exc) from None
    return rendition_response(opened, "application/pdf")


@bp.get("/documents/<int:document_id>/thumbnail")
@bp.doc(
    security=SECURITY,
    responses={
        **file_answer("the first page, 240 pixels wide", "image/png"),
        **errors(403, 404, 409, 410, 422),
    },
)
@bp.input(PreviewQuery, location="query", arg_name="q")
@signed_in
def thumbnail(document_id: int, q: dict[str, Any]) -> Any:
    """The current version's first page as a small PNG; registered as ``thumbnail``, with
    the same access as the preview."""
    try:
        with uow() as s:
            opened = reading.read_rendition(
                s, caller(), runtime().vault, document_id, THUMBNAIL, q["purpose"]
            )
    except reading.PreviewUnavailable as exc:
        raise _zh_words(exc) from None
    return rendition_response(opened, "image/png")
