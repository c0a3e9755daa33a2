"""Approval chains: the steps of access applications, change requests and destructions.

A chain is an ordered list of steps; the first is ``pending`` and the rest
``waiting``. Whoever the pending step needs decides it (the policy says who);
an approval opens the next step, and the chain is approved when none waits;
any other decision ends it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from archive_service.accounts.models import User
from archive_service.db import UTCDateTime


class DecisionStep:
    """Columns of one step: its place, the role that decides it, its state
    (waiting|pending|approved|rejected), and who decided, when and what they said."""

    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    comment: Mapped[str | None] = mapped_column(String(1000))

    @declared_attr
    def decided_by(cls) -> Mapped[User | None]:  # noqa: N805 (SQLAlchemy's declared_attr)
        return relationship(User, lazy="joined")

    def settle(self, approved: bool, user: User | None, at: datetime, comment: str | None) -> None:
        """Record the decision on this step."""
        self.status = "approved" if approved else "rejected"
        self.decided_by, self.decided_at, self.comment = user, at, comment


Step = TypeVar("Step", bound=DecisionStep)


def pending_step(steps: Sequence[Step]) -> Step | None:
    """The step waiting for a decision now (None once the chain has ended)."""
    return next((s for s in steps if s.status == "pending"), None)


def open_next(steps: Sequence[DecisionStep]) -> bool:
    """After an approval: open the next waiting step. True when none is left, i.e. the
    whole chain is approved."""
    following = next((s for s in steps if s.status == "waiting"), None)
    if following is None:
        return True
    following.status = "pending"
    return False
