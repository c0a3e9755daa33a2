"""The access register (查阅登记): every reading of a document's content, read by archivists
and auditors; each reading of the register is itself in the audit trail."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.archive.models import AccessRecord, Document
from archive_service.audit.services import record
from archive_service.policy import Caller, require

EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class RegisterFilter:
    user: str | None = None
    document_id: int | None = None
    customer_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def read_register(
    session: Session,
    by: Caller,
    f: RegisterFilter,
    page: int = 1,
    per_page: int = 50,
    export: bool = False,
) -> tuple[list[AccessRecord], int]:
    """A page of the register, newest first (``export``: all of it, up to a limit), and
    its total; the reading is recorded with its filters."""
    require(by, "register.read")
    q = select(AccessRecord)
    if f.user:
        q = q.where(AccessRecord.username == f.user)
    if f.document_id:
        q = q.where(AccessRecord.document_id == f.document_id)
    if f.customer_id:
        q = q.where(
            AccessRecord.document_id.in_(
                select(Document.id).where(Document.customer_id == f.customer_id)
            )
        )
    if f.since:
        q = q.where(AccessRecord.at >= f.since)
    if f.until:
        q = q.where(AccessRecord.at < f.until)
    if export:
        page, per_page = 1, EXPORT_LIMIT
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = (
        session.execute(
            q.order_by(AccessRecord.id.desc()).offset((page - 1) * per_page).limit(per_page)
        )
        .scalars()
        .all()
    )
    record(
        session,
        by.actor,
        "register.read",
        filters={k: str(v) for k, v in asdict(f).items() if v},
        format="csv" if export else "page",
    )
    return list(rows), total
