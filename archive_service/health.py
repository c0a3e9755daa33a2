"""Dependency checks for ``GET /api/v1/health``: each says ok or what is wrong.

The database and the object store are needed to serve anything; the broker,
the search index, text extraction and the job outbox (jobs waiting for the broker)
only delay background work, so they degrade the service without taking it down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kombu import Connection
from sqlalchemy import text

from archive_service.runtime import Runtime

log = logging.getLogger(__name__)
# A check raises when its part is down; it may return figures to show, and "ok": False.
Check = Callable[[Runtime], dict[str, Any] | None]


def _database(rt: Runtime) -> None:
    # A read-only probe: it must not queue behind (or block) a writer on SQLite.
    with rt.db.read_only() as s:
        s.execute(text("SELECT 1"))


def _object_store(rt: Runtime) -> None:
    rt.vault.backend.check()


def _broker(rt: Runtime) -> None:
    with Connection(rt.settings.broker_url, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _index(rt: Runtime) -> dict[str, Any] | None:
    from search.replica import SearchReplica

    rt.search_index.count()  # opens the index: it exists and is readable
    reason = rt.search_index.needs_rebuild()  # written without this term key
    found: dict[str, Any] = {} if reason is None else {"ok": False, "rebuild": reason}
    if isinstance(rt.search_index, SearchReplica):
        found["replica"] = _replica(rt, rt.search_index)
        if not found["replica"]["fresh"]:
            found["ok"] = False
    return found or None


def _replica(rt: Runtime, replica: Any) -> dict[str, Any]:
    """A web machine's copy of the index: what it serves, and how long ago the shared place
    last confirmed it (it keeps serving when that fails; stale past the setting)."""
    status = replica.status()
    age = status.age_seconds()
    return {
        "generation": status.generation,
        "serial": status.serial,
        "published_at": status.published_at,
        "confirmed_seconds_ago": None if age is None else int(age),
        "fresh": age is not None and age <= rt.settings.search_replica_stale_seconds,
        "error": None if status.error is None else status.error.split(":", 1)[0],
    }


def _extraction(rt: Runtime) -> dict[str, Any]:
    """Failed text extractions by reason class. Bad files fail for ever and are only
    counted; a sandbox that cannot start is the service's own fault and degrades it."""
    from archive_service.indexing.renditions import failed_extractions
    from search.extract import SANDBOX_START

    with rt.db.read_only() as s:
        failed = failed_extractions(s)
    return {"ok": not failed.get(SANDBOX_START), "failed": failed}


def _fixity(rt: Runtime) -> dict[str, Any]:
    """Stored objects whose last check failed (the fixity page names them to auditors)."""
    from archive_service.fixity.failures import count_open

    with rt.db.read_only() as s:
        still_open = count_open(s)
    return {"ok": not still_open, "open_failures": still_open}


def _outbox(rt: Runtime) -> dict[str, Any]:
    """Jobs not yet handed to the broker: how many, how old the oldest. A backlog older than
    ten relay periods means the broker has been unreachable (or no beat runs)."""
    from archive_service.outbox import vocabulary
    from archive_service.outbox.relay import backlog
    from archive_service.vocabulary import chinese

    with rt.db.read_only() as s:
        found = backlog(s)
    age = found.age_seconds()
    result: dict[str, Any] = {"ok": True, "backlog": found.count, "oldest_seconds": age}
    if found.count and age > vocabulary.stale_after(rt.settings.outbox_relay_seconds):
        words = {"count": found.count, "minutes": age // 60}
        label = vocabulary.STALE_BACKLOG
        result.update(ok=False, message=label.english % words, message_zh=chinese(label) % words)
    return result


CHECKS: dict[str, tuple[Check, bool]] = {
    # name: (check, required to serve)
    "database": (_database, True),
    "object_store": (_object_store, True),
    "broker": (_broker, False),
    "index": (_index, False),
    "extraction": (_extraction, False),
    "fixity": (_fixity, False),
    "outbox": (_outbox, False),
}


def run_checks(rt: Runtime) -> tuple[dict[str, Any], bool]:
    results: dict[str, Any] = {}
    can_serve = True
    for name, (check, required) in CHECKS.items():
        try:
            found = {"ok": True, **(check(rt) or {})}
        except Exception as exc:  # noqa: BLE001 - any failure is a finding, not a crash
            # Anyone may call the health check: name the failure, keep details in the log.
            log.warning("health check %s failed: %s", name, exc)
            found = {"ok": False, "error": type(exc).__name__}
        results[name] = found
        if not found["ok"]:
            can_serve = can_serve and not required
    return results, can_serve
