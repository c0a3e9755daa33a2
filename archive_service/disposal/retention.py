"""How long destruction records (销毁清册) are kept: permanently by default; with
``ARCHIVE_DESTRUCTION_RECORD_YEARS`` set, a completed record gets a keep date and the beat
purges it once that date has passed (audited, one event per record).

Only completed destructions with a keep date in the past are removed; an application
still in flight, a rejected one, or a record without a keep date is never touched.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive_service.audit.services import Actor, record
from archive_service.disposal.models import Destruction, DestructionItem, DestructionStep
from archive_service.disposal.vocabulary import DestructionStatus

PURGER = Actor.system("record-retention")


def purge_expired_records(session: Session, today: date, limit: int = 500) -> list[int]:
    """Remove completed destruction records whose keep date is before ``today``; returns
    their ids. Each removal is an audit event naming the record's signature and key, so the
    trail still says what was destroyed and when its record went."""
    ids = list(
        session.execute(
            select(Destruction.id)
            .where(
                Destruction.status == DestructionStatus.COMPLETED,
                Destruction.keep_record_until.is_not(None),
                Destruction.keep_record_until < today,
            )
            .order_by(Destruction.id)
            .limit(limit)
            .with_for_update()
        ).scalars()
    )
    due = [session.get(Destruction, i, populate_existing=True) for i in ids]
    purged = []
    for dest in due:
        assert dest is not None
        record(
            session,
            PURGER,
            "destruction.record_purge",
            "destruction",
            dest.id,
            kept_until=dest.keep_record_until.isoformat() if dest.keep_record_until else None,
            completed_at=dest.completed_at.isoformat() if dest.completed_at else None,
            items=len(dest.items),
            signature=dest.signature,
            signing_key_id=dest.signing_key_id,
        )
        session.execute(delete(DestructionItem).where(DestructionItem.destruction_id == dest.id))
        session.execute(delete(DestructionStep).where(DestructionStep.destruction_id == dest.id))
        purged.append(dest.id)
    session.expunge_all()
    if purged:
        session.execute(delete(Destruction).where(Destruction.id.in_(purged)))
    return purged
