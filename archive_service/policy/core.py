"""The one access check: ``may(caller, action, target) -> Decision``.

Every route, template and service that reads or changes something asks here; nothing
else decides who may do what. A rule is a small function named by what it checks, and
its name travels to the 403 response so a refused user (or an auditor) can see which
rule applied. The areas' rules live beside this module, one file per area.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from archive_service.audit.services import Actor
from archive_service.errors import NotAllowed, NotAuthenticated

if TYPE_CHECKING:
    from archive_service.accounts.models import User


@dataclass(frozen=True)
class Caller:
    """Who is asking: a signed-in user, an anonymous visitor, or the operator.

    The operator is the person at the server's command line (``archive …``);
    they already hold the keys to the machine, so the policy lets them act.
    """

    user: User | None
    ip: str | None = None
    operator: bool = False
    # The use case the caller acts in, when its own rule stands for some of its steps'
    # rules (:func:`covers`): an archivist's import opens customers and uploads for them.
    within: str | None = None
    # A scheduled job acting with the operator's rights (the directory sync), named so in
    # the audit trail.
    name: str | None = None

    @classmethod
    def of(cls, user: User | None, ip: str | None = None) -> Caller:
        return cls(user=user, ip=ip)

    @classmethod
    def cli(cls) -> Caller:
        return cls(user=None, operator=True)

    @classmethod
    def job(cls, name: str) -> Caller:
        """A job the operator configured (its settings are the operator's decision)."""
        return cls(user=None, operator=True, name=name)

    def acting_in(self, use_case: str) -> Caller:
        """This caller inside ``use_case`` (whose rule is still asked at every step)."""
        return replace(self, within=use_case)

    @property
    def actor(self) -> Actor:
        if self.user is not None:
            return Actor(self.user.id, self.user.username, self.ip)
        return Actor(None, self.name or ("operator" if self.operator else None), self.ip)

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str
    reason: str = ""
    grant_id: int | None = None  # the grant that allowed it, for the access register
    # The purpose the access register records for a reading this decision allows, when the
    # rule sets it (an audit sampling's reading is for that audit).
    purpose: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


RuleFn = Callable[["User", Any], Decision]
_RULES: dict[str, RuleFn] = {}
_COVERS: dict[str, frozenset[str]] = {}


def rule(action: str) -> Callable[[RuleFn], RuleFn]:
    """Register the rule that decides ``action``."""

    def register(fn: RuleFn) -> RuleFn:
        if action in _RULES:
            raise ValueError(f"rule for {action!r} registered twice")
        _RULES[action] = fn
        return fn

    return register


def covers(use_case: str, *actions: str) -> None:
    """Let ``use_case``'s rule decide ``actions`` for a caller acting in it
    (:meth:`Caller.acting_in`), as the steps of that use case and nowhere else."""
    _COVERS[use_case] = frozenset(actions)


def known_actions() -> frozenset[str]:
    return frozenset(_RULES)


def may(caller: Caller, action: str, target: Any = None) -> Decision:
    if action not in _RULES:
        # An action without a rule is a programming error: refuse, loudly.
        return Decision(False, "unknown-action", f"no rule for {action}")
    if caller.operator:
        return Decision(True, "operator")
    if caller.user is None or not caller.user.is_active_account:
        return Decision(False, "authenticated", "sign in first")
    if caller.within is not None and action in _COVERS.get(caller.within, ()):
        decision = _RULES[caller.within](caller.user, None)
        return Decision(decision.allowed, caller.within, decision.reason)
    return _RULES[action](caller.user, target)


def require(caller: Caller, action: str, target: Any = None) -> Decision:
    """Like :func:`may`, but raise: 401 when nobody is signed in, 403 otherwise."""
    decision = may(caller, action, target)
    if decision:
        return decision
    if decision.rule == "authenticated":
        raise NotAuthenticated("authentication required")
    raise NotAllowed(decision.reason or f"not allowed: {action}", rule=decision.rule)


def any_role(*roles: str, rule_name: str, what: str) -> RuleFn:
    """A rule that allows the holders of any of ``roles``."""

    def check(user: User, _target: Any) -> Decision:
        if user.has_role(*roles):
            return Decision(True, rule_name)
        return Decision(False, rule_name, f"only {', '.join(roles)} may {what}")

    return check


def same_department(user: User, department_id: int | None) -> bool:
    return department_id is not None and user.department_id == department_id
