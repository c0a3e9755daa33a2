"""The orphan job: objects without a row past the grace period are deleted, rows without
their object are flagged to auditors as fixity failures (``missing``); one audit event per
run, with counts only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from archive_service.audit.services import Actor, record
from archive_service.db import Database
from archive_service.fixity import failures
from archive_service.fixity.vocabulary import ACTOR, Event, Found, Kind
from archive_service.vault.models import StoredObject
from archive_service.vault.services import Vault, collect_garbage


@dataclass(frozen=True)
class OrphanReport:
    deleted: int
    kept_young: int
    rows_without_object: int
    flagged: int  # of those, newly recorded as failures

    def as_dict(self) -> dict[str, Any]:
        return {
            "deleted": self.deleted,
            "kept_young": self.kept_young,
            "rows_without_object": self.rows_without_object,
            "flagged": self.flagged,
        }


def clean_orphans(
    db: Database, vault: Vault, grace: timedelta, actor: Actor | None = None
) -> OrphanReport:
    actor = actor or Actor.system(ACTOR)
    with db.read_only() as s:  # listing a large store must not hold SQLite's write lock
        garbage = collect_garbage(s, vault, grace)
    with db.unit_of_work() as s:
        flagged = 0
        names = garbage.rows_without_object
        ids = (
            s.execute(select(StoredObject.id).where(StoredObject.object_name.in_(names)))
            .scalars()
            .all()
            if names
            else []
        )
        for object_id in ids:
            already = failures.open_failure(s, object_id) is not None
            found = failures.found(
                s, actor, object_id, Kind.MISSING, "no object in the store", Found.ORPHANS
            )
            flagged += int(found is not None and not already)
        report = OrphanReport(len(garbage.deleted), len(garbage.young), len(ids), flagged)
        record(s, actor, Event.ORPHANS, "object_store", None, **report.as_dict())
    return report
