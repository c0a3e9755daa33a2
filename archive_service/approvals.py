"""Approval chains: the steps of access applications, change requests and destructions.

Each area states its chain as a pure function in its own ``rules.py`` returning
:class:`Step` values — a role and, optionally, the department whose holder of that role
decides. :func:`open_chain` turns them into step rows; the first is ``pending`` and the
rest ``waiting``. Whoever the pending step names decides it (one policy rule,
:mod:`archive_service.policy.steps`); an approval opens the next step, and the chain is
approved when none waits; any other decision ends it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, relationship

from archive_service.accounts.models import Department, User
from archive_service.db import UTCDateTime, utcnow
from archive_service.errors import InvalidInput
from archive_service.vocabulary import Term, Vocabulary, _t


@dataclass(frozen=True)
class Step:
    """One step of a chain: who decides it (``department``: a department code, or None for
    anyone holding the role)."""

    role: str
    department: str | None = None


class StepStatus:
    WAITING = "waiting"  # not reached yet
    PENDING = "pending"  # waiting for its decision now
    APPROVED = "approved"
    REJECTED = "rejected"


class DecisionStep:
    """Columns of one step: its place, the role (and department) that decides it, its state,
    and who decided, when and what they said. Each area's step says whose application it
    is (``applicant_id``): nobody decides their own."""

    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=StepStatus.WAITING)
    # When it began to wait for its decision (reminders and escalation count from here).
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    comment: Mapped[str | None] = mapped_column(String(1000))

    @declared_attr
    def department_id(cls) -> Mapped[int | None]:  # noqa: N805 (SQLAlchemy's declared_attr)
        return mapped_column(ForeignKey("departments.id"))

    @declared_attr
    def decided_by_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(ForeignKey("users.id"))

    @declared_attr
    def department(cls) -> Mapped[Department | None]:  # noqa: N805
        return relationship(Department, lazy="joined")

    @declared_attr
    def decided_by(cls) -> Mapped[User | None]:  # noqa: N805
        return relationship(User, lazy="joined")

    @property
    def applicant_id(self) -> int | None:
        raise NotImplementedError

    def settle(self, approved: bool, user: User | None, at: datetime, comment: str | None) -> None:
        """Record the decision on this step."""
        self.status = StepStatus.APPROVED if approved else StepStatus.REJECTED
        self.decided_by, self.decided_at, self.comment = user, at, comment


S = TypeVar("S", bound=DecisionStep)


def open_chain(
    session: Session, make: Callable[..., S], chain: Sequence[Step], **owner: Any
) -> list[S]:
    """Add the rows of ``chain`` (``make(**owner, position=…, role=…, …)``): the first step
    pending, the rest waiting. A department the chain names must exist."""
    if not chain:
        raise ValueError("an approval chain has at least one step")
    codes = {s.department for s in chain if s.department is not None}
    rows = session.execute(select(Department.code, Department.id).where(Department.code.in_(codes)))
    ids = {code: ident for code, ident in rows}
    missing = sorted(codes - set(ids))
    if missing:
        raise InvalidInput(f"the approval chain names an unknown department: {missing}")
    now = utcnow()
    steps = [
        make(
            **owner,
            position=i,
            role=spec.role,
            department_id=ids[spec.department] if spec.department is not None else None,
            status=StepStatus.PENDING if i == 0 else StepStatus.WAITING,
            opened_at=now if i == 0 else None,
        )
        for i, spec in enumerate(chain)
    ]
    session.add_all(steps)
    session.flush()
    return steps


def pending_step(steps: Sequence[S]) -> S | None:
    """The step waiting for a decision now (None once the chain has ended)."""
    return next((s for s in steps if s.status == StepStatus.PENDING), None)


def is_last(steps: Sequence[DecisionStep]) -> bool:
    """Is the pending step the last one (nothing waits after it)?"""
    return not any(s.status == StepStatus.WAITING for s in steps)


def open_next(steps: Sequence[DecisionStep]) -> bool:
    """After an approval: open the next waiting step. True when none is left, i.e. the
    whole chain is approved."""
    following = next((s for s in steps if s.status == StepStatus.WAITING), None)
    if following is None:
        return True
    following.status = StepStatus.PENDING
    following.opened_at = utcnow()
    return False


def checked_decision(decision: str, comment: str | None) -> tuple[bool, str | None]:
    """A decision on a step — approve, or reject with its reason — and its comment trimmed:
    (approved, comment); anything else is a 422."""
    if decision not in ("approve", "reject"):
        raise InvalidInput("decision must be approve or reject", field="decision")
    comment = (comment or "").strip()[:1000] or None
    if decision == "reject" and not comment:
        raise InvalidInput("a rejection gives its reason", field="comment")
    return decision == "approve", comment


def steps_dict(steps: Sequence[DecisionStep]) -> list[dict[str, Any]]:
    """The steps as the API shows them (``approval_steps[]`` of the contract)."""
    return [
        {
            "role": s.role,
            "department": s.department.code if s.department is not None else None,
            "status": s.status,
            "decided_by": s.decided_by.username if s.decided_by is not None else None,
            "decided_at": s.decided_at.isoformat() if s.decided_at else None,
            "comment": s.comment,
        }
        for s in steps
    ]


STEP_STATUSES = Vocabulary(
    "step status",
    [
        Term(StepStatus.WAITING, _t("step status", "waiting")),
        Term(StepStatus.PENDING, _t("step status", "pending")),
        Term(StepStatus.APPROVED, _t("step status", "approved")),
        Term(StepStatus.REJECTED, _t("step status", "rejected")),
    ],
)
