"""Places, paper originals and stocktakes as the API answers them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from archive_service.archive.models import Document
from archive_service.paper.lending import days_overdue, is_overdue
from archive_service.paper.locations import path
from archive_service.paper.models import Loan, Location, PaperItem, Stocktake
from archive_service.paper.stocktake import finds, report_of, summary


def _at(value: Any) -> str | None:
    return value.isoformat() if value else None


def location_dict(place: Location, held: int = 0) -> dict[str, Any]:
    return {
        "id": place.id,
        "code": place.code,
        "name": place.name,
        "kind": place.kind,
        "parent_id": place.parent_id,
        "path": path(place),
        "items": held,
    }


def item_dict(item: PaperItem) -> dict[str, Any]:
    return {
        "document_id": item.document_id,
        "state": item.state,
        "location_id": item.location_id,
        "location": item.location.code if item.location else None,
        "path": path(item.location),
        "pages": item.pages,
        "note": item.note,
        "recorded_at": _at(item.created_at),
        "moved_at": _at(item.moved_at),
    }


def _who(user: Any) -> str | None:
    return user.username if user else None


def loan_dict(session: Session, loan: Loan) -> dict[str, Any]:
    doc = session.get(Document, loan.item.document_id)
    return {
        "id": loan.id,
        "document_id": loan.item.document_id,
        "archive_number": doc.archive_number if doc else None,
        "title": doc.title if doc else "",
        "grant_id": loan.grant_id,
        "borrower": _who(loan.borrower),
        "handed_out_by": _who(loan.handed_out_by),
        "handed_out_at": _at(loan.handed_out_at),
        "due_on": loan.due_on.isoformat(),
        "place": loan.place,
        "note": loan.note,
        "returned_at": _at(loan.returned_at),
        "returned_by": _who(loan.returned_by),
        "return_note": loan.return_note,
        "overdue": is_overdue(loan),
        "days_overdue": days_overdue(loan),
    }


def stocktake_dict(take: Stocktake) -> dict[str, Any]:
    return {
        "id": take.id,
        "state": take.state,
        "location_id": take.location_id,
        "path": path(take.location) if take.location else None,
        "started_at": _at(take.started_at),
        "started_by": _who(take.started_by),
        "finished_at": _at(take.finished_at),
        "finished_by": _who(take.finished_by),
        "signed_at": _at(take.signed_at),
        "signed_by": _who(take.signed_by),
        "sign_comment": take.sign_comment,
    }


def stocktake_detail(session: Session, take: Stocktake) -> dict[str, Any]:
    lines = report_of(session, take)
    s = summary(lines)
    return {
        **stocktake_dict(take),
        "finds": len(finds(session, take)),
        "totals": {
            "found": s.found,
            "missing": s.missing,
            "misplaced": s.misplaced,
            "unexpected": s.unexpected,
        },
        "report": [{k: x[k] for k in REPORT_FIELDS} for x in lines],
    }


REPORT_FIELDS = (
    "document_id",
    "archive_number",
    "title",
    "finding",
    "state",
    "recorded_location",
    "found_location",
)
