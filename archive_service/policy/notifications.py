"""Who reads notifications and who configures their delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archive_service.policy.core import Decision, any_role, rule

if TYPE_CHECKING:
    from archive_service.accounts.models import User


@rule("notification.read_own")
def _read_own(_user: User, _target: Any) -> Decision:
    """Everyone signed in has a notification centre of their own (and nobody else's)."""
    return Decision(True, "own-notifications")


rule("notification.configure")(
    any_role(
        "admin",
        rule_name="admin-only",
        what="configure group robots or see failed notifications",
    )
)
