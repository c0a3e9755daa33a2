"""Statistics pages: filing timeliness (归档及时性) per month, department and clerk."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from archive_service.accounts import departments as account_departments
from archive_service.archive import timeliness as archive_timeliness
from archive_service.http import caller, request_session, signed_in
from archive_service.policy import may

bp = Blueprint("web_statistics", __name__, url_prefix="/statistics")


@bp.get("/timeliness")
@signed_in
def timeliness() -> Any:
    """``?month=YYYY-MM`` (default this month) and, for those who read every department,
    ``?department=CODE``."""
    s = request_session()
    found = archive_timeliness.timeliness(
        s,
        caller(),
        request.args.get("month") or None,
        request.args.get("department") or None,
    )
    every = bool(may(caller(), "timeliness.all"))
    return render_template(
        "statistics/timeliness.html",
        t=found,
        every=every,
        departments=account_departments.list_departments(s) if every else [],
    )
