"""Reminders and escalation of approval steps left waiting (催办与升级), and the notice of a
grant about to end: beat jobs, each notice sent once (a ``StepReminder`` row per step and
stage, written with the notifications and the audit event in one transaction).

A pending step that has waited the chain's ``remind`` working days reminds whoever it
names; after ``escalate`` days the next person up is told (:func:`rules.next_up`).
Working days come from the shared calendar (:mod:`archive_service.workdays`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive_service.access.models import ApprovalStep, Grant
from archive_service.access.vocabulary import GrantStatus
from archive_service.accounts.models import Department
from archive_service.accounts.role_models import RoleGrantStep
from archive_service.approvals import DecisionStep, StepStatus
from archive_service.audit.services import Actor, record
from archive_service.changes.models import ChangeStep
from archive_service.db import Database, utcnow
from archive_service.disposal.models import DestructionStep
from archive_service.notifications import events, rules
from archive_service.notifications.models import StepReminder
from archive_service.notifications.services import notify
from archive_service.notifications.vocabulary import Kind, Stage
from archive_service.transfer.models import TransferStep
from archive_service.workdays import Calendar

ACTOR = Actor.system("reminders")
# Each chain's step rows and the column naming what they belong to.
CHAINS: dict[str, tuple[type[DecisionStep], str]] = {
    "access": (ApprovalStep, "request_id"),
    "change": (ChangeStep, "change_id"),
    "destruction": (DestructionStep, "destruction_id"),
    "transfer": (TransferStep, "transfer_id"),
    "role": (RoleGrantStep, "grant_id"),
}
# The audit trail's target type of what each chain's steps belong to.
TARGETS = {
    "access": "access_request",
    "change": "change_request",
    "destruction": "destruction",
    "transfer": "transfer",
    "role": "role_grant",
}
GRANT_NOTICE = timedelta(days=3)


@dataclass(frozen=True)
class Plan:
    calendar: Calendar = field(default_factory=Calendar)
    remind: dict[str, int] = field(default_factory=dict)
    escalate: dict[str, int] = field(default_factory=dict)
    operations: str = "OPS"

    @classmethod
    def from_settings(cls, settings: Any) -> Plan:
        return cls(
            Calendar.load(settings.holidays_file or None),
            dict(settings.remind_days),
            dict(settings.escalate_days),
            settings.operations_department,
        )


def _sent(session: Session, chain: str, step_id: int) -> set[str]:
    return set(
        session.execute(
            select(StepReminder.stage).where(
                StepReminder.chain == chain, StepReminder.step_id == step_id
            )
        ).scalars()
    )


def _above(session: Session, step: DecisionStep, operations: str) -> list[Any]:
    code = step.department.code if step.department is not None else None
    up = rules.next_up(step.role, code, operations)
    dept_id = None
    if up.department is not None:
        dept_id = session.execute(
            select(Department.id).where(Department.code == up.department)
        ).scalar_one_or_none()
    return [
        u
        for u in events.holders(session, up.role, department_id=dept_id)
        if u.id != step.applicant_id
    ]


def _remind_one(
    session: Session,
    chain: str,
    step: DecisionStep,
    owner: int,
    stage: str,
    waited: int,
    plan: Plan,
) -> None:
    if stage == Stage.REMINDED:
        kind, people = Kind.STEP_REMINDER, events.deciders(session, step)
    else:
        kind, people = Kind.STEP_ESCALATED, _above(session, step, plan.operations)
    step_id = int(step.id)  # type: ignore[attr-defined]  # every step table has its id
    session.add(StepReminder(chain=chain, step_id=step_id, stage=stage, sent_at=utcnow()))
    session.flush()  # the unique row: a second run (or a second beat) stops here
    made = notify(
        session,
        kind,
        people,
        link=events.link_of(chain, owner),
        subject=chain,
        number=str(owner),
        days=waited,
    )
    record(
        session,
        ACTOR,
        f"approval.{stage}",
        TARGETS[chain],
        owner,
        step=step.position,
        role=step.role,
        working_days=waited,
        told=sorted({n.recipient_id for n in made}),
    )


def remind_waiting(db: Database, plan: Plan, now: datetime | None = None) -> dict[str, int]:
    """Send the reminders and escalations owed now; returns how many of each were sent."""
    now = now or utcnow()
    done = {Stage.REMINDED: 0, Stage.ESCALATED: 0}
    for chain, (model, owner_column) in CHAINS.items():
        waiting = rules.waiting_for(chain, plan.remind, plan.escalate)
        with db.read_only() as s:
            rows = s.execute(
                select(model.id, model.opened_at).where(  # type: ignore[attr-defined]
                    model.status == StepStatus.PENDING, model.opened_at.is_not(None)
                )
            ).all()
        for step_id, opened_at in rows:
            assert opened_at is not None
            waited = plan.calendar.working_days_between(opened_at, now)
            if waited < waiting.remind:
                continue
            with db.unit_of_work() as s:
                step = s.get(model, step_id)
                if step is None or step.status != StepStatus.PENDING:
                    continue
                owner = int(getattr(step, owner_column))
                for stage in rules.stages_due(waited, waiting, _sent(s, chain, step_id)):
                    try:
                        with s.begin_nested():
                            _remind_one(s, chain, step, owner, stage, waited, plan)
                    except IntegrityError:
                        continue  # another beat sent it meanwhile
                    done[stage] += 1
    return done


def grants_ending(db: Database, now: datetime | None = None) -> int:
    """Tell each holder once that their grant ends within three days."""
    now = now or utcnow()
    sent = 0
    with db.read_only() as s:
        ids = list(
            s.execute(
                select(Grant.id).where(
                    Grant.status == GrantStatus.ACTIVE,
                    Grant.ends_at > now,
                    Grant.ends_at <= now + GRANT_NOTICE,
                )
            ).scalars()
        )
    for grant_id in ids:
        with db.unit_of_work() as s:
            if _sent(s, "grant", grant_id):
                continue
            grant = s.get(Grant, grant_id)
            if grant is None:
                continue
            s.add(StepReminder(chain="grant", step_id=grant_id, stage="ending", sent_at=now))
            s.flush()
            notify(
                s,
                Kind.GRANT_ENDING,
                [grant.user],
                link="/access/mine",
                date=grant.ends_at.date().isoformat(),
            )
            record(s, ACTOR, "grant.ending_notice", "grant", grant_id, user=grant.user_id)
            sent += 1
    return sent
