"""The audit trail for auditors: filter, verify, export as CSV."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, render_template, request

from archive_service.audit import reading
from archive_service.audit import services as audit
from archive_service.http import caller, db_int, request_session, runtime, signed_in, uow
from archive_service.responses import csv_response

bp = Blueprint("web_audit", __name__, url_prefix="/audit")
COLUMNS = ("seq", "at", "actor", "ip", "action", "target", "details", "hash")


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        return None


def _filter() -> audit.AuditFilter:
    a = request.args
    return audit.AuditFilter(
        actor=a.get("actor") or None,
        action=a.get("action") or None,
        target=a.get("target") or None,
        since=_date(a.get("since")),
        until=_date(a.get("until")),
    )


@bp.get("/")
@signed_in
def events() -> Any:
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    with uow() as s:
        rows, total = reading.read_events(s, caller(), _filter(), page, 50)
    return render_template(
        "audit/events.html", rows=rows, total=total, page=page, pages=max(1, (total + 49) // 50)
    )


@bp.get("/verify")
@signed_in
def verify() -> Any:
    with uow() as s:
        result = reading.verify_chain(s, caller(), runtime().anchor)
    return render_template("audit/verify.html", result=result)


@bp.get("/export.csv")
@signed_in
def export() -> Any:
    f = _filter()
    with uow() as s:
        reading.export_events(s, caller(), f)

    def rows() -> Iterator[list[Any]]:
        # Runs while the response streams, in a session of its own (the request's has
        # been closed by then).
        for ev in reading.events_for_export(request_session(), caller(), f):
            yield [
                ev.seq,
                ev.at.isoformat(),
                ev.actor,
                ev.ip,
                ev.action,
                ev.target,
                ev.details,
                ev.hash,
            ]

    return csv_response("audit.csv", COLUMNS, rows())
