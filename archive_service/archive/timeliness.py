"""Filing timeliness (归档及时性): how many submissions of a month came in on time and how
many late (``archive.deadlines``), per department and per clerk, the late ones listed,
and the months before for the trend.

A month is China's calendar month of the submission. Counted are the submissions judged
against a deadline — not imports, transfers received, or documents with no date to count
from. The department is the customer's (the one whose clerks upload its documents).
Who may read: ``timeliness.read`` (a department head: their own department only) and
``timeliness.all`` (every department), in ``policy.archive``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from archive_service.accounts.models import Department, User
from archive_service.archive import deadlines
from archive_service.archive.models import Customer, Document
from archive_service.db import utcnow
from archive_service.errors import InvalidInput, NotAllowed
from archive_service.policy import Caller, may, require

TREND_MONTHS = 12
LATE_LIMIT = 200  # late submissions listed per month (all are counted)


@dataclass
class Counts:
    on_time: int = 0
    late: int = 0
    late_days: int = 0  # working days late, summed

    @property
    def total(self) -> int:
        return self.on_time + self.late

    @property
    def late_share(self) -> float | None:
        return round(self.late / self.total, 4) if self.total else None

    def add(self, on_time: int, late: int, late_days: int) -> None:
        self.on_time += on_time
        self.late += late
        self.late_days += late_days


@dataclass(frozen=True)
class DepartmentRow:
    code: str
    name: str
    counts: Counts


@dataclass(frozen=True)
class ClerkRow:
    username: str
    display_name: str
    department: str | None
    counts: Counts


@dataclass(frozen=True)
class LateItem:
    document: Document
    clerk: str | None
    shown_title: str | None  # only to a caller who may see the document's metadata


@dataclass
class Timeliness:
    month: str
    department: str | None  # the department shown; None: every department
    totals: Counts
    departments: list[DepartmentRow] = field(default_factory=list)
    clerks: list[ClerkRow] = field(default_factory=list)
    late: list[LateItem] = field(default_factory=list)
    late_total: int = 0
    months: list[tuple[str, Counts]] = field(default_factory=list)  # oldest first


def _scope(session: Session, by: Caller, department: str | None) -> Department | None:
    """The department the caller reads (None: all): a department head only their own."""
    require(by, "timeliness.read")
    wanted = None
    if department:
        wanted = session.execute(
            select(Department).where(Department.code == department)
        ).scalar_one_or_none()
        if wanted is None:
            raise InvalidInput(f"no department {department}", field="department")
    if may(by, "timeliness.all"):
        return wanted
    own = by.user.department if by.user is not None else None
    if own is None or (wanted is not None and wanted.id != own.id):
        raise NotAllowed(
            "a department head reads their own department's timeliness",
            rule="timeliness-own-department",
        )
    return own


def _judged(start: datetime, end: datetime, department: Department | None) -> Any:
    where = [
        Document.submitted_at >= start,
        Document.submitted_at < end,
        Document.filing_late_days.is_not(None),
    ]
    if department is not None:
        where.append(Customer.department_id == department.id)
    return where


def _sums() -> tuple[Any, Any, Any]:
    late = Document.filing_late_days > 0
    return (
        func.sum(case((late, 0), else_=1)),
        func.sum(case((late, 1), else_=0)),
        func.sum(Document.filing_late_days),
    )


def _counts(row: Any) -> Counts:
    return Counts(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


def timeliness(
    session: Session, by: Caller, month: str | None = None, department: str | None = None
) -> Timeliness:
    """The month's timeliness (``YYYY-MM``, China's month; default this month) for the
    caller's scope, with the twelve months up to it."""
    year, mon = deadlines.parse_month(month) if month else deadlines.month_of(utcnow())
    scope = _scope(session, by, department)
    start, end = deadlines.month_bounds(year, mon)
    where = _judged(start, end, scope)
    by_department = session.execute(
        select(Department.code, Department.name, *_sums())
        .select_from(Document)
        .join(Customer, Customer.id == Document.customer_id)
        .join(Department, Department.id == Customer.department_id)
        .where(*where)
        .group_by(Department.code, Department.name)
        .order_by(Department.code)
    ).all()
    totals = Counts()
    departments = []
    for code, name, *sums in by_department:
        counts = _counts(sums)
        totals.add(counts.on_time, counts.late, counts.late_days)
        departments.append(DepartmentRow(code, name, counts))
    by_clerk = session.execute(
        select(User.username, User.display_name, Department.code, *_sums())
        .select_from(Document)
        .join(Customer, Customer.id == Document.customer_id)
        .join(User, User.id == Document.uploaded_by_id)
        .outerjoin(Department, Department.id == User.department_id)
        .where(*where)
        .group_by(User.username, User.display_name, Department.code)
    ).all()
    clerks = sorted(
        (ClerkRow(u, n, d, _counts(sums)) for u, n, d, *sums in by_clerk),
        key=lambda r: (-r.counts.late, -r.counts.late_days, r.username),
    )
    late_where = [*where, Document.filing_late_days > 0]
    late_total = session.execute(
        select(func.count(Document.id))
        .select_from(Document)
        .join(Customer, Customer.id == Document.customer_id)
        .where(*late_where)
    ).scalar_one()
    late_docs = session.execute(
        select(Document, User.username)
        .join(Customer, Customer.id == Document.customer_id)
        .outerjoin(User, User.id == Document.uploaded_by_id)
        .where(*late_where)
        .order_by(Document.filing_late_days.desc(), Document.submitted_at, Document.id)
        .limit(LATE_LIMIT)
    ).all()
    late = [
        LateItem(doc, clerk, doc.title if may(by, "document.view", doc) else None)
        for doc, clerk in late_docs
    ]
    return Timeliness(
        month=f"{year:04d}-{mon:02d}",
        department=scope.code if scope is not None else None,
        totals=totals,
        departments=departments,
        clerks=clerks,
        late=late,
        late_total=int(late_total),
        months=_trend(session, year, mon, scope),
    )


def recent(session: Session, by: Caller, months: int = 3) -> list[tuple[str, Counts]]:
    """The last ``months`` months up to this one in the caller's scope, newest first (the
    start page's summary); none for a department head of no department."""
    try:
        scope = _scope(session, by, None)
    except NotAllowed:
        return []
    year, mon = deadlines.month_of(utcnow())
    return list(reversed(_trend(session, year, mon, scope, months)))


def _trend(
    session: Session, year: int, mon: int, scope: Department | None, months: int = TREND_MONTHS
) -> list[tuple[str, Counts]]:
    out = []
    for back in range(months - 1, -1, -1):
        y, m = deadlines.shift_month(year, mon, -back)
        start, end = deadlines.month_bounds(y, m)
        row = session.execute(
            select(*_sums())
            .select_from(Document)
            .join(Customer, Customer.id == Document.customer_id)
            .where(*_judged(start, end, scope))
        ).one()
        out.append((f"{y:04d}-{m:02d}", _counts(row)))
    return out
