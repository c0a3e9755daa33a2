"""Recurring reviews (定期检查) as use cases: the daily job opens each review when its
period has ended — per department, for the holders of its role — tells them, and once it
is late tells them again, then the operations head; the one who does it records what was
checked and found; a tier re-evaluation that changes tiers files a change request for each
(the change's own approval chain decides it).

A department that did not exist during a period gets no review of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.accounts.models import Department
from archive_service.audit.services import Actor, record
from archive_service.changes.services import ChangeIn, file_change
from archive_service.db import Database, utcnow
from archive_service.duties.models import DutyTask
from archive_service.duties.periods import last_ended
from archive_service.duties.vocabulary import DUTY_KINDS, DutyKind, DutyState
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.notifications.events import holders
from archive_service.notifications.services import notify
from archive_service.notifications.vocabulary import Kind
from archive_service.policy import Caller, may, require
from archive_service.vocabulary import chinese
from archive_service.workdays import ZONE, Calendar

if TYPE_CHECKING:
    from archive_service.archive.settings import ArchiveSettings
    from archive_service.vault.services import Vault

SCHEDULER = Actor.system("duties")
ESCALATE_AFTER = 3  # working days late: the operations head is told


def today_here() -> date:
    return utcnow().astimezone(ZONE).date()


def kind_of(task: DutyTask) -> DutyKind:
    kind = DUTY_KINDS.get(task.kind)
    assert kind is not None, task.kind
    return kind


def _link(task: DutyTask) -> str:
    return f"/duties/{task.id}"


def open_due(session: Session, calendar: Calendar, today: date) -> list[DutyTask]:
    """Open every review whose period has ended and that is not open yet (once per kind,
    period and department), and tell who does it."""
    made: list[DutyTask] = []
    departments = list(session.scalars(select(Department).order_by(Department.code)))
    for kind in DUTY_KINDS:
        period, end = last_ended(kind.cadence, today)
        for dept in departments:
            if dept.created_at.astimezone(ZONE).date() > end:
                continue  # it did not exist then
            exists = session.scalar(
                select(DutyTask.id).where(
                    DutyTask.kind == kind.code,
                    DutyTask.period == period,
                    DutyTask.department_id == dept.id,
                )
            )
            if exists is not None:
                continue
            due = calendar.add_working_days(end, kind.due_working_days)
            task = DutyTask(kind=kind.code, period=period, department_id=dept.id, due_on=due)
            session.add(task)
            session.flush()
            record(
                session, SCHEDULER, "duty.open", "duty", task.id,
                kind=kind.code, period=period, department=dept.code, due_on=due.isoformat(),
            )  # fmt: skip
            notify(
                session,
                Kind.DUTY_DUE,
                holders(session, kind.role, department_id=dept.id),
                link=_link(task),
                subject=kind.code,
                date=due.isoformat(),
                period=period,
            )
            made.append(task)
    return made


def chase_late(session: Session, calendar: Calendar, today: date) -> dict[str, int]:
    """Late reviews: their assignees are told once, the operations head after
    ``ESCALATE_AFTER`` working days (each recorded in the audit trail)."""
    reminded = escalated = 0
    late = session.scalars(
        select(DutyTask).where(DutyTask.state == DutyState.OPEN, DutyTask.due_on < today)
    )
    for task in late:
        kind = kind_of(task)
        days = calendar.working_days_in(task.due_on, today)
        if days < 1:
            continue
        words = {
            "date": task.due_on.isoformat(),
            "period": task.period,
            "department": task.department.code,
        }
        if task.reminded_on is None:
            people = holders(session, kind.role, department_id=task.department_id)
            notify(session, Kind.DUTY_OVERDUE, people, link=_link(task), subject=kind.code, **words)
            task.reminded_on = today
            record(session, SCHEDULER, "duty.reminded", "duty", task.id, days_late=days)
            reminded += 1
        if task.escalated_on is None and days >= ESCALATE_AFTER:
            heads = holders(session, "operations_head")
            notify(session, Kind.DUTY_OVERDUE, heads, link=_link(task), subject=kind.code, **words)
            task.escalated_on = today
            record(
                session, SCHEDULER, "duty.escalated", "duty", task.id,
                days_late=days, told=[u.username for u in heads],
            )  # fmt: skip
            escalated += 1
    return {"reminded": reminded, "escalated": escalated}


def run_daily(db: Database, calendar: Calendar, today: date | None = None) -> dict[str, int]:
    """The daily job: open what is due, chase what is late."""
    day = today or today_here()
    with db.unit_of_work() as s:
        opened = open_due(s, calendar, day)
    with db.unit_of_work() as s:
        chased = chase_late(s, calendar, day)
    return {"opened": len(opened), **chased}


# --------------------------------------------------------------------------- reading


def get_task(session: Session, by: Caller, task_id: int) -> DutyTask:
    task = session.get(DutyTask, task_id)
    if task is None:
        raise NotFound("no such review")
    require(by, "duty.read", task)
    return task


def list_tasks(
    session: Session, by: Caller, state: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[DutyTask], int]:
    """The reviews the caller may see (their department's, or all for those who oversee
    them), open ones first by due date."""
    require(by, "duty.list")
    q = select(DutyTask)
    if not may(by, "duty.read_all"):
        assert by.user is not None
        q = q.where(DutyTask.department_id == by.user.department_id)
    if state:
        q = q.where(DutyTask.state == state)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(
        q.order_by(DutyTask.state.desc(), DutyTask.due_on, DutyTask.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total


def mine_open(session: Session, by: Caller) -> list[DutyTask]:
    """The open reviews the caller is to do (for the dashboard and the menu's count)."""
    if by.user is None:
        return []
    roles = {k.code for k in DUTY_KINDS if k.role in by.user.roles}
    if not roles:
        return []
    return list(
        session.scalars(
            select(DutyTask)
            .where(
                DutyTask.state == DutyState.OPEN,
                DutyTask.kind.in_(roles),
                DutyTask.department_id == by.user.department_id,
            )
            .order_by(DutyTask.due_on)
        )
    )


# --------------------------------------------------------------------------- doing


@dataclass(frozen=True)
class TierChange:
    customer_id: int
    tier: str
    reason: str


@dataclass(frozen=True)
class Done:
    result: str
    tier_changes: list[TierChange] = field(default_factory=list)


def complete(
    session: Session,
    by: Caller,
    task_id: int,
    done: Done,
    vault: Vault,
    settings: ArchiveSettings,
) -> DutyTask:
    """Record the review as done: what was checked and found; a tier re-evaluation's
    changes filed as change requests (all or none)."""
    task = session.get(DutyTask, task_id, with_for_update=True)
    if task is None:
        raise NotFound("no such review")
    require(by, "duty.complete", task)
    if task.state != DutyState.OPEN:
        raise Conflict("the review is done already")
    result = (done.result or "").strip()
    if not result:
        raise InvalidInput("say what was checked and found", field="result")
    if len(result) > 2000:
        raise InvalidInput("result is longer than 2000 characters", field="result")
    kind = kind_of(task)
    if done.tier_changes and not kind.changes_tiers:
        raise InvalidInput("this review changes no tiers", field="tier_changes")
    filed: list[dict[str, Any]] = []
    for change in done.tier_changes:
        req = file_change(
            session,
            by,
            vault,
            ChangeIn(
                "customer",
                change.customer_id,
                f"{chinese(kind.label)} {task.period}: {change.reason}".strip(),
                {"tier": change.tier},
            ),
            settings,
        )
        filed.append({"customer_id": change.customer_id, "tier": change.tier, "change_id": req.id})
    task.state, task.result, task.filed = DutyState.DONE, result, filed or None
    task.done_at, task.done_by_id = utcnow(), by.user_id
    record(
        session, by.actor, "duty.complete", "duty", task.id,
        kind=task.kind, period=task.period, changes=[f["change_id"] for f in filed],
        late=today_here() > task.due_on,
    )  # fmt: skip
    return task
