"""What auditors and archivists see of fixity: where the sweep stands and the failures,
each with what the object belongs to (never the document's content or title)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.archive.models import Document, DocumentVersion, Rendition
from archive_service.fixity import failures as failure_rows
from archive_service.fixity.models import FixityFailure, FixitySweep
from archive_service.fixity.rules import Plan, meets_period, round_days_at_rate
from archive_service.fixity.services import LIVE, SWEEP_ROW, is_finished
from archive_service.fixity.vocabulary import FAILURE_STATUSES
from archive_service.policy import Caller, require
from archive_service.vault.models import StoredObject


def summary(session: Session, by: Caller, plan: Plan) -> dict[str, Any]:
    require(by, "fixity.read")
    objects, total = session.execute(
        select(func.count(), func.coalesce(func.sum(StoredObject.stored_size), 0)).where(LIVE)
    ).one()
    st = session.get(FixitySweep, SWEEP_ROW)
    days = round_days_at_rate(int(total), plan)
    return {
        "objects": int(objects),
        "bytes": int(total),
        "round": st.round if st else None,
        "round_started_at": st.round_started_at.isoformat() if st else None,
        "round_finished": bool(st and is_finished(st)),
        "checked": st.checked if st else 0,
        "checked_bytes": st.checked_bytes if st else 0,
        "cursor": st.cursor if st else 0,
        "last_round_finished_at": (
            st.last_round_finished_at.isoformat() if st and st.last_round_finished_at else None
        ),
        "last_round_checked": st.last_round_checked if st else None,
        "open_failures": failure_rows.count_open(session),
        "mb_per_s": plan.mb_per_s,
        "period_days": plan.period.days,
        "slice_minutes": int(plan.every.total_seconds() // 60),
        "round_days_at_rate": None if days is None else round(days, 2),
        "meets_period": meets_period(int(total), plan),
    }


def _owner(
    what: str, document_id: int | None, version: int | None = None, rendition: str | None = None
) -> dict[str, Any]:
    return {"what": what, "document_id": document_id, "version": version, "rendition": rendition}


def _belongs_to(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """What each object is: a version, a rendition or the text of which document."""
    found: dict[int, dict[str, Any]] = {}
    if not ids:
        return found
    renditions = session.execute(
        select(Rendition.stored_object_id, Rendition.document_id, Rendition.kind).where(
            Rendition.stored_object_id.in_(ids), Rendition.shares_original.is_(False)
        )
    ).all()
    for object_id, document_id, kind in renditions:
        if object_id is not None:
            found[object_id] = _owner("rendition", document_id, rendition=kind)
    texts = session.execute(
        select(Document.text_object_id, Document.id).where(Document.text_object_id.in_(ids))
    ).all()
    for object_id, document_id in texts:
        if object_id is not None:
            found[object_id] = _owner("text", document_id)
    versions = session.execute(
        select(
            DocumentVersion.stored_object_id, DocumentVersion.document_id, DocumentVersion.number
        ).where(DocumentVersion.stored_object_id.in_(ids))
    ).all()
    for object_id, document_id, number in versions:
        found[object_id] = _owner("version", document_id, version=number)
    return found


def _failure(f: FixityFailure, name: str, owner: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": f.id,
        "stored_object_id": f.stored_object_id,
        "object_name": name,
        "kind": f.kind,
        "status": f.status,
        "found_by": f.found_by,
        "found_at": f.found_at.isoformat(),
        "last_seen_at": f.last_seen_at.isoformat(),
        "times_seen": f.times_seen,
        "detail": f.detail,
        "repair": f.repair,
        "closed_at": f.closed_at.isoformat() if f.closed_at else None,
        "belongs_to": owner or _owner("other", None),
    }


def failures(
    session: Session, by: Caller, status: str | None, page: int, per_page: int
) -> tuple[list[dict[str, Any]], int]:
    """Failures, newest first; ``status`` one of FAILURE_STATUSES, or None for all."""
    require(by, "fixity.read")
    status = FAILURE_STATUSES.check(status, "status", optional=True)
    query = select(FixityFailure, StoredObject.object_name).join(
        StoredObject, StoredObject.id == FixityFailure.stored_object_id
    )
    counted = select(func.count()).select_from(FixityFailure)
    if status is not None:
        query = query.where(FixityFailure.status == status)
        counted = counted.where(FixityFailure.status == status)
    total = int(session.execute(counted).scalar_one())
    rows = session.execute(
        query.order_by(FixityFailure.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    owners = _belongs_to(session, [f.stored_object_id for f, _ in rows])
    return [_failure(f, name, owners.get(f.stored_object_id)) for f, name in rows], total
