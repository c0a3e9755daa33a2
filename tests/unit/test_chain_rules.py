"""The approval chains and the disposal checks, as pure rules."""

from __future__ import annotations

from datetime import date

import pytest

from archive_service.access.rules import DECIDING_ROLES as ACCESS_DECIDERS
from archive_service.access.rules import approval_chain
from archive_service.approvals import Step
from archive_service.archive.retention import RetentionRules
from archive_service.changes.rules import DECIDING_ROLES as CHANGE_DECIDERS
from archive_service.changes.rules import change_chain, is_important
from archive_service.disposal.rules import DECIDING_ROLES as DESTRUCTION_DECIDERS
from archive_service.disposal.rules import destruction_chain, still_due

SHORTENS = RetentionRules().shortens


def test_access_chain_follows_who_applies() -> None:
    assert approval_chain("SALES", "SALES", "OPS", external=False) == [
        Step("department_head", "SALES")
    ]
    assert approval_chain("FIN", "SALES", "OPS", external=False) == [
        Step("department_head", "FIN"),
        Step("operations_head", "OPS"),
    ]
    assert approval_chain(None, "SALES", "OPS", external=True) == [Step("leader")]
    assert {"department_head", "operations_head", "leader"} == ACCESS_DECIDERS


def test_change_chain_adds_a_leader_for_important_changes() -> None:
    assert change_chain(False, "OPS") == [Step("archivist"), Step("operations_head", "OPS")]
    assert change_chain(True, "OPS")[-1] == Step("leader")
    assert {"archivist", "operations_head", "leader"} == CHANGE_DECIDERS


@pytest.mark.parametrize(
    ("target", "tier", "changes", "important"),
    [
        ("customer", "core", {"tier": {"before": "core", "after": "ordinary"}}, True),
        ("customer", "ordinary", {"tier": {"before": "ordinary", "after": "core"}}, False),
        ("customer", "core", {"phone": {"before": "1", "after": "2"}}, False),
        ("document", None, {"category": {"before": "a.b", "after": "a.c"}}, True),
        ("document", None, {"retention_class": {"before": "long", "after": "short"}}, True),
        ("document", None, {"retention_class": {"before": "permanent", "after": "long"}}, True),
        ("document", None, {"retention_class": {"before": "short", "after": "permanent"}}, False),
        ("document", None, {"retention_class": {"before": "short", "after": "medium"}}, False),
        ("document", None, {"title": {"before": "a", "after": "b"}}, False),
    ],
)
def test_which_changes_need_a_leader(
    target: str, tier: str | None, changes: dict[str, dict[str, str]], important: bool
) -> None:
    assert is_important(target, tier, changes, SHORTENS) is important


def test_shorter_depends_on_the_years_in_force() -> None:
    """With the long class set to 8 years, long → medium (10) keeps the document longer."""
    rules = RetentionRules(class_years={"permanent": None, "long": 8, "medium": 10, "short": 5})
    change = {"retention_class": {"before": "long", "after": "medium"}}
    assert not is_important("document", None, change, rules.shortens)
    assert is_important("document", None, change, SHORTENS)


def test_destruction_chain() -> None:
    assert destruction_chain("OPS") == [Step("operations_head", "OPS"), Step("leader")]
    assert {"operations_head", "leader"} == DESTRUCTION_DECIDERS


@pytest.mark.parametrize(
    ("destroyed", "on_hold", "due", "expected"),
    [
        (False, False, date(2020, 1, 1), None),
        (False, False, date(2026, 6, 1), None),  # due today
        (False, True, date(2020, 1, 1), "skipped_hold"),
        (False, False, date(2030, 1, 1), "skipped_not_due"),
        (False, False, None, "skipped_not_due"),  # permanent, or held since
        (True, True, None, None),  # already destroyed: nothing left to decide
    ],
)
def test_still_due_when_the_destruction_runs(
    destroyed: bool, on_hold: bool, due: date | None, expected: str | None
) -> None:
    assert still_due(destroyed, on_hold, due, date(2026, 6, 1)) == expected
