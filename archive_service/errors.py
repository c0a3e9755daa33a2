"""Domain exceptions, mapped to HTTP in one place (``archive_service.api.errors``).

Services raise these; routes never build error responses by hand.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base class: ``status`` and ``code`` say how the outside world sees it."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"


class NotAllowed(DomainError):
    """Known user, not allowed: ``rule`` names the policy rule that refused."""

    status = 403
    code = "forbidden"

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message, rule=rule)
        self.rule = rule


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Gone(DomainError):
    """The thing existed and was destroyed; the details carry its tombstone."""

    status = 410
    code = "gone"


class InvalidInput(DomainError):
    """A field is wrong: ``field`` names it."""

    status = 422
    code = "invalid"

    def __init__(self, message: str, field: str | None = None, **details: Any) -> None:
        super().__init__(message, field=field, **details)
        self.field = field


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class UnsupportedType(DomainError):
    status = 415
    code = "unsupported_type"
