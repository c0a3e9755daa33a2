"""The start page after sign-in: who you are, and what waits for you."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from archive_service.archive.timeliness import recent as recent_timeliness
from archive_service.http import caller, request_session, signed_in
from archive_service.paper import lending
from archive_service.policy import may
from archive_service.transfer.applications import waiting_for as transfers_waiting

bp = Blueprint("web_home", __name__)


@bp.get("/")
@signed_in
def index() -> Any:
    s = request_session()
    # Overdue paper loans: every one for the paper's keepers, one's own for a borrower.
    _rows, overdue = lending.list_loans(s, caller(), overdue=True, per_page=1)
    return render_template(
        "home.html",
        transfers=transfers_waiting(s, caller()),
        overdue_loans=overdue,
        keeps_paper=bool(may(caller(), "paper.loans")),
        timeliness=recent_timeliness(s, caller()) if may(caller(), "timeliness.read") else [],
    )
