"""Hold cases as the API and the pages show them: the case, its items, its history.

A document's title and number, and a customer's name, are shown only to a caller who may
see them (``document.view``, ``customer.view``); the ids always are.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.accounts.models import User
from archive_service.archive.models import Customer, Document, HoldCase, HoldItem
from archive_service.archive.vocabulary import HOLD_OPEN, HOLD_RELEASED
from archive_service.policy import Caller, may


def _name(user: User | None) -> str | None:
    return user.username if user is not None else None


def _at(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def case_dict(case: HoldCase) -> dict[str, Any]:
    return {
        "id": case.id,
        "name": case.name,
        "basis": case.basis,
        "reference": case.reference,
        "owner": _name(case.owner),
        "reason": case.reason,
        "state": HOLD_OPEN if case.released_at is None else HOLD_RELEASED,
        "per_document": case.per_document,
        "created_at": _at(case.created_at),
        "created_by": _name(case.created_by),
        "released_at": _at(case.released_at),
        "released_by": _name(case.released_by),
        "release_reason": case.release_reason,
        "documents": sum(1 for i in case.items if i.document_id is not None),
        "customers": sum(1 for i in case.items if i.customer_id is not None),
    }


def _items(session: Session, by: Caller, items: list[HoldItem]) -> list[dict[str, Any]]:
    doc_ids = [i.document_id for i in items if i.document_id is not None]
    cust_ids = [i.customer_id for i in items if i.customer_id is not None]
    docs = (
        {
            d.id: d
            for d in session.execute(select(Document).where(Document.id.in_(doc_ids))).scalars()
        }
        if doc_ids
        else {}
    )
    custs = (
        {
            c.id: c
            for c in session.execute(select(Customer).where(Customer.id.in_(cust_ids))).scalars()
        }
        if cust_ids
        else {}
    )
    out = []
    for item in items:
        doc = docs.get(item.document_id) if item.document_id is not None else None
        cust = custs.get(item.customer_id) if item.customer_id is not None else None
        doc_seen = doc is not None and bool(may(by, "document.view", doc))
        cust_seen = cust is not None and bool(may(by, "customer.view", cust))
        out.append(
            {
                "document_id": item.document_id,
                "customer_id": item.customer_id,
                "archive_number": doc.archive_number if doc is not None and doc_seen else None,
                "title": doc.title if doc is not None and doc_seen else None,
                "status": doc.status if doc is not None and doc_seen else None,
                "on_hold": doc.on_hold if doc is not None and doc_seen else None,
                "customer_name": cust.name if cust is not None and cust_seen else None,
                "added_at": _at(item.added_at),
                "added_by": _name(item.added_by),
            }
        )
    return out


def _history(case: HoldCase) -> list[dict[str, Any]]:
    """Opened, each step that added items (they share their time), released."""
    out: list[dict[str, Any]] = [
        {
            "action": "created",
            "at": _at(case.created_at),
            "by": _name(case.created_by),
            "reason": case.reason,
            "document_ids": [],
            "customer_ids": [],
        }
    ]
    for (at, _by_id), group in groupby(case.items, key=lambda i: (i.added_at, i.added_by_id)):
        step = list(group)
        out.append(
            {
                "action": "items_added",
                "at": _at(at),
                "by": _name(step[0].added_by),
                "reason": None,
                "document_ids": [i.document_id for i in step if i.document_id is not None],
                "customer_ids": [i.customer_id for i in step if i.customer_id is not None],
            }
        )
    if case.released_at is not None:
        out.append(
            {
                "action": "released",
                "at": _at(case.released_at),
                "by": _name(case.released_by),
                "reason": case.release_reason,
                "document_ids": [],
                "customer_ids": [],
            }
        )
    return out


ITEMS_PER_PAGE = 100


def case_detail(
    session: Session,
    by: Caller,
    case: HoldCase,
    page: int | None = None,
    per_page: int = ITEMS_PER_PAGE,
) -> dict[str, Any]:
    """The case, its items — all of them, or one ``page`` of them (only the page's
    documents and customers are looked up; ``items_total``, ``items_page`` and
    ``items_pages`` say where it is) — and its history."""
    items = list(case.items)
    paging: dict[str, int] = {}
    if page is not None:
        pages = max(1, -(-len(items) // per_page))
        page = min(max(1, page), pages)
        paging = {"items_total": len(items), "items_page": page, "items_pages": pages}
        items = items[(page - 1) * per_page : page * per_page]
    return {
        **case_dict(case),
        "items": _items(session, by, items),
        **paging,
        "history": _history(case),
    }
