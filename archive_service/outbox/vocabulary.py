"""The outbox's words: what the health check says of an old backlog."""

from __future__ import annotations

from archive_service.vocabulary import _t

# Shown by the health check (English and Chinese) when the oldest unsent job is this old.
STALE_BACKLOG = _t(
    "outbox",
    "%(count)s background jobs are waiting for the broker; the oldest for %(minutes)s minutes",
)
STALE_PERIODS = 10  # relay periods after which a backlog is old...
STALE_MIN_SECONDS = 300  # ...and never sooner than this


def stale_after(relay_seconds: int) -> int:
    """How old (seconds) the oldest unsent job may be before the health check degrades."""
    return max(STALE_MIN_SECONDS, STALE_PERIODS * max(1, relay_seconds))
