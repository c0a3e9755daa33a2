"""Lending paper originals (借阅): an archivist hands a document's original out to the holder
of a grant in force that covers it, in a lending mode (``access.vocabulary.LENDING_MODES``),
with a due day and the place it is read; the return puts it back in place. Each hand-out
and return is in the access register and the audit trail. A daily job tells the borrower
and the archivists of an overdue loan, once a day.

Days are China's calendar days (``archive_service.workdays.ZONE``): a loan due on the 7th is
overdue from the 8th, whatever the hour in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from archive_service.access.coverage import grant_covers, live_grants_covering
from archive_service.access.models import Grant
from archive_service.access.vocabulary import LENDING_MODES, GrantStatus
from archive_service.accounts.models import User
from archive_service.archive.documents import get_document
from archive_service.archive.models import AccessRecord, Document, DocumentStatus
from archive_service.audit.services import Actor, record
from archive_service.db import Database, utcnow
from archive_service.errors import Conflict, InvalidInput, NotAllowed, NotFound
from archive_service.notifications import events
from archive_service.notifications.services import notify
from archive_service.notifications.vocabulary import Kind
from archive_service.paper.items import paper_of
from archive_service.paper.models import Loan, PaperItem
from archive_service.paper.vocabulary import LOAN_PLACES, ItemState, LoanPlace
from archive_service.policy import Caller, may, require
from archive_service.workdays import ZONE

NOTICES = Actor.system("paper-loans")
MAX_NOTE = 500


def today(now: datetime | None = None) -> date:
    """The calendar day in China at ``now``."""
    return (now or utcnow()).astimezone(ZONE).date()


def is_overdue(loan: Loan, now: datetime | None = None) -> bool:
    return loan.returned_at is None and today(now) > loan.due_on


def days_overdue(loan: Loan, now: datetime | None = None) -> int:
    end = loan.returned_at or now or utcnow()
    return max(0, (today(end) - loan.due_on).days)


@dataclass(frozen=True)
class LoanIn:
    document_id: int
    grant_id: int
    due_on: date | None = None
    place: str | None = None
    note: str | None = None


def _note(text: str | None, field: str) -> str | None:
    note = (text or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise InvalidInput(f"{field} is longer than {MAX_NOTE} characters", field=field)
    return note


def _keeper(by: Caller) -> User:
    require(by, "paper.lend")
    if by.user is None:  # the operator at the console: a loan names the archivist
        raise NotAllowed("an archivist hands out and takes back originals", rule="archivist-only")
    return by.user


def lendable_grants(session: Session, doc: Document) -> list[Grant]:
    """The grants in force, in a lending mode, that cover ``doc``: whose holders may borrow it."""
    return live_grants_covering(session, doc, LENDING_MODES)


def default_due(grant: Grant, loan_days: int, now: datetime | None = None) -> date:
    """The grant's last day, or ``loan_days`` after today if that is earlier."""
    last = today(grant.ends_at)
    if loan_days > 0:
        return min(last, today(now) + timedelta(days=loan_days))
    return last


def _lending_grant(session: Session, grant_id: int, doc: Document) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise InvalidInput("no such grant", field="grant_id")
    now = utcnow()
    if grant.status != GrantStatus.ACTIVE or not grant.starts_at <= now < grant.ends_at:
        raise InvalidInput("the grant is not in force", field="grant_id", status=grant.status)
    if grant.mode not in LENDING_MODES:
        raise InvalidInput("the grant is for viewing on screen: it lends no paper original",
                           field="grant_id", mode=grant.mode)  # fmt: skip
    if not grant_covers(session, grant.id, doc):
        raise InvalidInput("the grant does not cover this document", field="grant_id")
    if not grant.user.is_active_account:
        raise InvalidInput("the grant's holder has no active account", field="grant_id")
    return grant


def _register(session: Session, loan: Loan, doc: Document, grant: Grant, action: str) -> None:
    """The access register's row: the borrower read (or gave back) the original."""
    session.add(
        AccessRecord(
            user_id=loan.borrower_id,
            username=grant.user.username,
            document_id=doc.id,
            archive_number=doc.archive_number,
            action=action,
            grant_id=grant.id,
            purpose=grant.request.purpose if grant.request else None,
            rule="paper-loan",
        )
    )


def hand_out(session: Session, by: Caller, data: LoanIn, loan_days: int = 0) -> Loan:
    """Hand the document's paper original out to the holder of ``data.grant_id``."""
    keeper = _keeper(by)
    doc = get_document(session, by, data.document_id)
    if doc.status == DocumentStatus.DESTROYED:
        raise Conflict("the document was destroyed")
    # One hand-out at a time: the item's row is locked while it is checked and changed.
    session.execute(select(PaperItem.id).where(PaperItem.document_id == doc.id).with_for_update())
    item = paper_of(session, doc.id)
    if item is None:
        raise InvalidInput("no paper original is recorded for this document", field="document_id")
    if item.state != ItemState.IN_PLACE:
        raise Conflict("the paper original is not in place", state=item.state)
    grant = _lending_grant(session, data.grant_id, doc)
    place = LOAN_PLACES.check(data.place, "place", default=LoanPlace.READING_ROOM)
    if place == LoanPlace.TAKEN_AWAY and not (grant.request and grant.request.take_away):
        raise InvalidInput(
            "the approved application did not allow taking the original away", field="place"
        )
    last = today(grant.ends_at)
    due = data.due_on or default_due(grant, loan_days)
    if due < today():
        raise InvalidInput("the due day has passed", field="due_on")
    if due > last:
        raise InvalidInput("the due day is after the grant ends", field="due_on",
                           grant_ends_on=last.isoformat())  # fmt: skip
    loan = Loan(
        item_id=item.id,
        grant_id=grant.id,
        borrower_id=grant.user_id,
        handed_out_by_id=keeper.id,
        handed_out_at=utcnow(),
        due_on=due,
        place=place,
        note=_note(data.note, "note"),
    )
    session.add(loan)
    item.state = ItemState.LENT
    session.flush()
    _register(session, loan, doc, grant, "lend")
    record(
        session, by.actor, "paper.lend", "document", doc.id,
        loan_id=loan.id, grant_id=grant.id, borrower=grant.user.username,
        due_on=due.isoformat(), place=place,
    )  # fmt: skip
    return loan


def get_loan(session: Session, by: Caller, loan_id: int) -> Loan:
    """A loan, for the paper's readers or its borrower."""
    loan = session.get(Loan, loan_id)
    if loan is None or not (may(by, "paper.loans") or loan.borrower_id == by.user_id):
        raise NotFound("no such loan")
    return loan


def number_of(session: Session, loan: Loan) -> str | None:
    """The archive number of the lent document (its label carries it)."""
    doc = session.get(Document, loan.item.document_id)
    return doc.archive_number if doc is not None else None


def open_loan_of(session: Session, document_id: int) -> Loan | None:
    return session.scalar(
        select(Loan)
        .join(PaperItem, PaperItem.id == Loan.item_id)
        .where(PaperItem.document_id == document_id, Loan.returned_at.is_(None))
    )


def take_back(session: Session, by: Caller, loan_id: int, note: str | None = None) -> Loan:
    """The original came back: the loan is closed and the item is in place again, where
    its record says it is kept."""
    keeper = _keeper(by)
    session.execute(select(Loan.id).where(Loan.id == loan_id).with_for_update())
    loan = session.get(Loan, loan_id)
    if loan is None:
        raise NotFound("no such loan")
    if loan.returned_at is not None:
        raise Conflict("this loan was already returned")
    item = loan.item
    if item.state != ItemState.LENT:
        raise Conflict("the paper original is not lent out", state=item.state)
    doc = session.get(Document, item.document_id)
    grant = session.get(Grant, loan.grant_id)
    assert doc is not None and grant is not None
    now = utcnow()
    loan.returned_at, loan.returned_by_id = now, keeper.id
    loan.return_note = _note(note, "note")
    item.state = ItemState.IN_PLACE
    session.flush()
    _register(session, loan, doc, grant, "return")
    record(
        session, by.actor, "paper.return", "document", doc.id,
        loan_id=loan.id, grant_id=grant.id, borrower=grant.user.username,
        due_on=loan.due_on.isoformat(), days_overdue=days_overdue(loan, now),
        location=item.location.code if item.location else None,
    )  # fmt: skip
    return loan


def take_back_document(
    session: Session, by: Caller, document_id: int, note: str | None = None
) -> Loan:
    """Take back the document's original (the return button of its page): refused when it
    is not lent out."""
    _keeper(by)
    get_document(session, by, document_id)
    loan = open_loan_of(session, document_id)
    if loan is None:
        raise Conflict("the paper original is not lent out")
    return take_back(session, by, loan.id, note)


def list_loans(
    session: Session,
    by: Caller,
    *,
    overdue: bool = False,
    open_only: bool = False,
    document_id: int | None = None,
    mine: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Loan], int]:
    """Loans, newest first (``overdue``: the overdue ones, longest overdue first). The paper's
    readers see all (``mine``: their own); anyone else their own."""
    q = select(Loan)
    if mine or not may(by, "paper.loans"):
        q = q.where(Loan.borrower_id == by.user_id)
    if document_id is not None:
        q = q.join(PaperItem, PaperItem.id == Loan.item_id).where(
            PaperItem.document_id == document_id
        )
    if open_only or overdue:
        q = q.where(Loan.returned_at.is_(None))
    if overdue:
        q = q.where(Loan.due_on < today())
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    order = (Loan.due_on, Loan.id) if overdue else (Loan.id.desc(),)
    rows = session.scalars(q.order_by(*order).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def notify_overdue(db: Database, now: datetime | None = None) -> int:
    """Tell the borrower and the archivists of each overdue loan, at most once a day per
    loan (a second run the same day, or a second beat, tells no one again)."""
    now = now or utcnow()
    day = today(now)
    with db.read_only() as s:
        ids = list(
            s.scalars(
                select(Loan.id).where(
                    Loan.returned_at.is_(None),
                    Loan.due_on < day,
                    or_(Loan.overdue_notice_on.is_(None), Loan.overdue_notice_on < day),
                )
            )
        )
    told = 0
    for loan_id in ids:
        with db.unit_of_work() as s:
            # The conditional update is the once-a-day guard: only one run wins the row.
            result = s.execute(
                update(Loan)
                .where(
                    Loan.id == loan_id,
                    Loan.returned_at.is_(None),
                    or_(Loan.overdue_notice_on.is_(None), Loan.overdue_notice_on < day),
                )
                .values(overdue_notice_on=day)
            )
            if not int(result.rowcount or 0):  # type: ignore[attr-defined]
                continue
            loan = s.get(Loan, loan_id)
            assert loan is not None
            doc = s.get(Document, loan.item.document_id)
            number = doc.archive_number if doc is not None else None
            words = {"date": loan.due_on.isoformat()}
            made = notify(
                s, Kind.PAPER_OVERDUE, [loan.borrower], link="/access/mine#loans",
                number=number, **words,
            )  # fmt: skip
            keepers = [u for u in events.holders(s, "archivist") if u.id != loan.borrower_id]
            made += notify(
                s, Kind.PAPER_OVERDUE, keepers, link="/paper/#overdue", number=number, **words
            )
            record(
                s, NOTICES, "paper.overdue_notice", "document", loan.item.document_id,
                loan_id=loan.id, due_on=loan.due_on.isoformat(),
                days_overdue=days_overdue(loan, now),
                told=sorted({n.recipient_id for n in made}),
            )  # fmt: skip
            told += 1
    return told
