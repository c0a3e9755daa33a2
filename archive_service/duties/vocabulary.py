"""The recurring reviews the rules set (定期检查), stated once as data: what each is, how
often, who does it, and how long after its period ends it is due."""

from __future__ import annotations

from dataclasses import dataclass

from archive_service.vocabulary import Term, Vocabulary, _t


class Cadence:
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


class DutyState:
    OPEN = "open"
    DONE = "done"


@dataclass(frozen=True)
class DutyKind(Term):
    """A recurring review: its cadence; the role that does it in each department (the
    monthly ledger check: its head; the customer reviews: its clerks, who file changes); the
    working days after its period ends that it is due; whether completing it may change
    customers' tiers (each change filed as a change request)."""

    cadence: str = Cadence.MONTHLY
    role: str = "department_head"
    due_working_days: int = 5
    changes_tiers: bool = False


class Duty:
    LEDGER_CHECK = "ledger_check"  # 每月客户台账核对
    CORE_REVIEW = "core_review"  # 核心客户信息年度复核
    TIER_REVIEW = "tier_review"  # 客户等级季度评估


DUTY_KINDS: Vocabulary[DutyKind] = Vocabulary(
    "duty kind",
    [
        DutyKind(
            Duty.LEDGER_CHECK,
            _t("duty kind", "monthly check of the customer ledger"),
            cadence=Cadence.MONTHLY,
            due_working_days=5,
        ),
        DutyKind(
            Duty.CORE_REVIEW,
            _t("duty kind", "yearly review of core customers' information"),
            cadence=Cadence.YEARLY,
            role="clerk",  # the customers' own department reviews their information
            due_working_days=20,
        ),
        DutyKind(
            Duty.TIER_REVIEW,
            _t("duty kind", "quarterly re-evaluation of customer tiers"),
            cadence=Cadence.QUARTERLY,
            role="clerk",  # a clerk files changes (policy: change.file); the head approves
            due_working_days=10,
            changes_tiers=True,
        ),
    ],
)
DUTY_STATES = Vocabulary(
    "duty state",
    [
        Term(DutyState.OPEN, _t("duty state", "to do")),
        Term(DutyState.DONE, _t("duty state", "done")),
    ],
)
