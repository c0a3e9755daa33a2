"""Statistics through the API: filing timeliness (归档及时性) per month, department and clerk."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Float, Integer, List, Nested, String
from apiflask.validators import Length, Regexp

from archive_service.api.common import SECURITY, Out, blueprint, errors
from archive_service.archive import timeliness as archive_timeliness
from archive_service.archive.deadlines import MONTH_RE
from archive_service.http import caller, signed_in, uow

bp = blueprint("statistics", "Statistics")


class CountsOut(Out):
    on_time = Integer()
    late = Integer()
    total = Integer()
    late_working_days = Integer(metadata={"description": "working days late, summed"})
    late_share = Float(allow_none=True)


class DepartmentTimelinessOut(Out):
    code = String()
    name = String()
    counts = Nested(CountsOut)


class ClerkTimelinessOut(Out):
    username = String()
    display_name = String()
    department = String(allow_none=True)
    counts = Nested(CountsOut)


class LateSubmissionOut(Out):
    document_id = Integer()
    archive_number = String(allow_none=True)
    title = String(
        allow_none=True,
        metadata={"description": "null for a caller who may not see the document's metadata"},
    )
    category = String()
    department = String()
    clerk = String(allow_none=True)
    submitted_at = String()
    due_on = String()
    late_working_days = Integer()


class MonthTimelinessOut(Out):
    month = String()
    counts = Nested(CountsOut)


class TimelinessOut(Out):
    month = String()
    department = String(allow_none=True, metadata={"description": "null: every department"})
    totals = Nested(CountsOut)
    departments = List(Nested(DepartmentTimelinessOut))
    clerks = List(Nested(ClerkTimelinessOut))
    late = List(Nested(LateSubmissionOut))
    late_total = Integer(metadata={"description": "late submissions of the month (all)"})
    months = List(Nested(MonthTimelinessOut), metadata={"description": "12 months to month"})


class TimelinessQuery(Schema):
    month = String(load_default=None, validate=[Length(equal=7), Regexp(MONTH_RE.pattern + "$")])
    department = String(load_default=None, validate=Length(min=1, max=32))


def counts_dict(c: archive_timeliness.Counts) -> dict[str, Any]:
    return {
        "on_time": c.on_time,
        "late": c.late,
        "total": c.total,
        "late_working_days": c.late_days,
        "late_share": c.late_share,
    }


def timeliness_dict(t: archive_timeliness.Timeliness) -> dict[str, Any]:
    return {
        "month": t.month,
        "department": t.department,
        "totals": counts_dict(t.totals),
        "departments": [
            {"code": d.code, "name": d.name, "counts": counts_dict(d.counts)} for d in t.departments
        ],
        "clerks": [
            {
                "username": c.username,
                "display_name": c.display_name,
                "department": c.department,
                "counts": counts_dict(c.counts),
            }
            for c in t.clerks
        ],
        "late": [
            {
                "document_id": i.document.id,
                "archive_number": i.document.archive_number,
                "title": i.shown_title,
                "category": i.document.category.code,
                "department": i.document.customer.department.code,
                "clerk": i.clerk,
                "submitted_at": i.document.submitted_at.isoformat(),
                "due_on": i.document.filing_due_on.isoformat() if i.document.filing_due_on else "",
                "late_working_days": i.document.filing_late_days or 0,
            }
            for i in t.late
        ],
        "late_total": t.late_total,
        "months": [{"month": m, "counts": counts_dict(c)} for m, c in t.months],
    }


@bp.get("/statistics/timeliness")
@bp.doc(security=SECURITY, responses=errors(403, 422))
@bp.input(TimelinessQuery, location="query", arg_name="q")
@bp.output(TimelinessOut)
@signed_in
def timeliness(q: dict[str, Any]) -> Any:
    """Filing timeliness of a month (``YYYY-MM``, China's month; default this month): on-time
    and late submissions per department and per clerk, the late ones, and the twelve months
    up to it. Archivists, auditors and the operations head read every department; a
    department head their own."""
    with uow() as s:
        found = archive_timeliness.timeliness(s, caller(), q["month"], q["department"])
        return timeliness_dict(found)
