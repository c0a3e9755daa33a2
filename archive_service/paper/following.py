"""The paper originals follow the electronic record (对纸质档案进行同步调整): a confirmed
transfer takes them with it; an applied change that replaces the file asks the archivist
to swap the paper original too, until they confirm it."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.documents import get_document
from archive_service.archive.models import Document
from archive_service.audit.services import record
from archive_service.errors import Conflict
from archive_service.paper.items import paper_of
from archive_service.paper.models import PaperItem
from archive_service.paper.vocabulary import ItemState
from archive_service.policy import Caller, require


def transferred(session: Session, by: Caller, document_ids: Sequence[int], transfer_id: int) -> int:
    """The paper originals of a confirmed transfer's documents leave with it (state
    ``transferred``). One lent out stops the confirmation: it must come back first."""
    items = list(
        session.scalars(
            select(PaperItem)
            .where(PaperItem.document_id.in_(document_ids))
            .order_by(PaperItem.id)
            .with_for_update()
        )
    )
    lent = [i.document_id for i in items if i.state == ItemState.LENT]
    if lent:
        numbers = sorted(
            n or str(d)
            for d, n in session.execute(
                select(Document.id, Document.archive_number).where(Document.id.in_(lent))
            )
        )
        raise Conflict(
            "paper originals of the transfer are lent out: take them back first", numbers=numbers
        )
    moved = 0
    for item in items:
        if item.state == ItemState.IN_PLACE:
            item.state = ItemState.TRANSFERRED
            record(
                session, by.actor, "paper.transferred", "document", item.document_id,
                transfer_id=transfer_id,
            )  # fmt: skip
            moved += 1
    return moved


def swap_due(session: Session, by: Caller, document_id: int, change_id: int) -> bool:
    """An applied change replaced the document's file: its paper original (if any, still
    in this archive's keeping) is to be swapped for the new one."""
    item = paper_of(session, document_id)
    if item is None or item.state in ItemState.GONE:
        return False
    item.swap_change_id = change_id
    record(session, by.actor, "paper.swap_due", "document", document_id, change_id=change_id)
    return True


def confirm_swap(session: Session, by: Caller, document_id: int) -> PaperItem:
    """The archivist has swapped the paper original for the new file's."""
    doc = get_document(session, by, document_id)
    require(by, "paper.manage", doc)
    item = paper_of(session, doc.id)
    if item is None or item.swap_change_id is None:
        raise Conflict("no swap of the paper original is waiting")
    change_id, item.swap_change_id = item.swap_change_id, None
    record(session, by.actor, "paper.swapped", "document", doc.id, change_id=change_id)
    return item


def swaps_waiting(session: Session, by: Caller) -> list[PaperItem]:
    require(by, "paper.read")
    return list(
        session.scalars(
            select(PaperItem).where(PaperItem.swap_change_id.is_not(None)).order_by(PaperItem.id)
        )
    )
