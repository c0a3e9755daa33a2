"""Holds on one document (法律纠纷或未结事项), the per-document face of hold cases: placing
one opens a single-document case; releasing it releases that case. While any case holds a
document the clock stops and nothing can destroy it; after the last release that frees it
the document is kept a set number of years more."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive import hold_cases
from archive_service.archive.documents import get_document
from archive_service.archive.models import Document, DocumentStatus, HoldCase, HoldItem
from archive_service.archive.retention import RetentionRules
from archive_service.archive.vocabulary import HOLD_BASES
from archive_service.errors import Conflict
from archive_service.policy import Caller, require


def _single_document_cases(session: Session, document_id: int) -> list[HoldCase]:
    return list(
        session.execute(
            select(HoldCase)
            .join(HoldItem, HoldItem.case_id == HoldCase.id)
            .where(
                HoldCase.per_document.is_(True),
                HoldCase.released_at.is_(None),
                HoldItem.document_id == document_id,
            )
            .order_by(HoldCase.id)
        ).scalars()
    )


def place_hold(
    session: Session, by: Caller, document_id: int, reason: str, rules: RetentionRules
) -> Document:
    """A single-document case named by its reason. A document a named case already holds
    may get one too: it then stays held when that case is released."""
    doc = get_document(session, by, document_id)
    require(by, "document.hold", doc)
    why = hold_cases.release_reason(reason)
    if doc.status == DocumentStatus.DESTROYED:
        raise Conflict("document was destroyed")
    if _single_document_cases(session, doc.id):
        raise Conflict("document is already on hold")
    hold_cases.open_case(
        session,
        by,
        hold_cases.CaseIn(name=why[:200], basis=HOLD_BASES.default, reason=why),
        rules,
        document_ids=[doc.id],
        per_document=True,
    )
    return doc


def release_hold(
    session: Session, by: Caller, document_id: int, reason: str, rules: RetentionRules
) -> Document:
    """Release the single-document case(s) of this document. Named cases that hold it are
    released on their own pages: a 409 names them, and nothing changes."""
    doc = get_document(session, by, document_id)
    require(by, "document.hold", doc)
    why = hold_cases.release_reason(reason)
    cases = _single_document_cases(session, doc.id)
    if not cases:
        named = [c.id for c in hold_cases.cases_holding(session, doc)]
        if named:
            raise Conflict(
                "the document is held by hold cases "
                + ", ".join(f"#{i}" for i in named)
                + "; release it there",
                case_ids=named,
            )
        raise Conflict("document is not on hold")
    for case in cases:
        hold_cases.release(session, by, case.id, why, rules)
    return doc
