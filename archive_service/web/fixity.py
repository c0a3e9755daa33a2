"""The fixity page for auditors and archivists: where the sweep stands and its failures."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from archive_service.fixity import reading
from archive_service.fixity.rules import Plan
from archive_service.fixity.vocabulary import FAILURE_STATUSES
from archive_service.http import caller, db_int, runtime, signed_in, uow

bp = Blueprint("web_fixity", __name__, url_prefix="/fixity")
PER_PAGE = 50


@bp.get("/")
@signed_in
def index() -> Any:
    """``?status=`` open (the default), resolved, repaired or all; ``?page=``."""
    wanted = request.args.get("status") or "open"
    status = wanted if wanted in FAILURE_STATUSES else None
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    with uow() as s:
        summary = reading.summary(s, caller(), Plan.from_settings(runtime().settings))
        rows, total = reading.failures(s, caller(), status, page, PER_PAGE)
    return render_template(
        "fixity/index.html",
        summary=summary,
        rows=rows,
        total=total,
        status=status or "all",
        statuses=FAILURE_STATUSES,
        page=page,
        pages=max(1, (total + PER_PAGE - 1) // PER_PAGE),
    )
