"""The audit trail for auditors: filter, verify, export as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context

from archive_service.audit import services as audit
from archive_service.http import caller, request_session, signed_in, uow
from archive_service.policy import require

bp = Blueprint("web_audit", __name__, url_prefix="/audit")


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
    require(caller(), "audit.read")
    page = max(1, request.args.get("page", 1, type=int) or 1)
    with uow() as s:
        rows, total = audit.search(s, _filter(), page, 50)
        audit.record(s, caller().actor, "audit.read", filters=dict(request.args))
    return render_template(
        "audit/events.html", rows=rows, total=total, page=page, pages=max(1, (total + 49) // 50)
    )


@bp.get("/verify")
@signed_in
def verify() -> Any:
    require(caller(), "audit.verify")
    result = audit.verify(request_session())
    return render_template("audit/verify.html", result=result)


@bp.get("/export.csv")
@signed_in
def export() -> Any:
    require(caller(), "audit.read")
    f = _filter()
    with uow() as s:
        audit.record(s, caller().actor, "audit.export", filters=dict(request.args))

    def rows() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["seq", "at", "actor", "ip", "action", "target", "details", "hash"])
        for ev in audit.iter_all(request_session(), f):
            writer.writerow(
                [
                    ev.seq,
                    ev.at.isoformat(),
                    ev.actor,
                    ev.ip,
                    ev.action,
                    ev.target,
                    ev.details,
                    ev.hash,
                ]
            )
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
        yield buf.getvalue()

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=audit.csv"},
    )
