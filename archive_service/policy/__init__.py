"""The policy: who may do what, stated once, asked everywhere (routes, templates, services).

``may(caller, action, target)`` answers with a :class:`Decision` naming the rule that
decided; ``require`` raises instead. The rules live one file per area beside the core;
:mod:`archive_service.policy.visibility` states the read rule as filters for lists and
the search index.
"""

from archive_service.policy import (  # noqa: F401
    access,
    accounts,
    archive,
    changes,
    disposal,
    duties,
    notifications,
    paper,
    storage,
    transfer,
)
from archive_service.policy.archive import KNOWN_TO_CALLER
from archive_service.policy.core import Caller, Decision, known_actions, may, require, rule
from archive_service.policy.visibility import Visibility, visibility

__all__ = [
    "KNOWN_TO_CALLER",
    "Caller",
    "Decision",
    "Visibility",
    "known_actions",
    "may",
    "require",
    "rule",
    "visibility",
]
