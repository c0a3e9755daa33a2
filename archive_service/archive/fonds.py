"""Fonds (全宗) for groups: an optional top level, one per legal entity, each with its code
in archive numbers (``{fonds}``) and so its own numbering series (the sequence counts per
value of every token of the pattern). A customer belongs to one fonds, chosen when its
archive is opened; a customer without one — every customer of a single-company install,
which never sees fonds — is in the default fonds of ``ARCHIVE_FONDS``.

A fonds is created only while the number pattern carries ``{fonds}``: without it two
fonds would number into one series, and no number could say which entity it belongs to.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.models import Customer, Fonds
from archive_service.archive.numbering import NumberPattern
from archive_service.audit.services import record
from archive_service.errors import Conflict, InvalidInput
from archive_service.policy import Caller, require

FONDS_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_]{0,15}$")


def list_fonds(session: Session) -> list[Fonds]:
    return list(session.scalars(select(Fonds).order_by(Fonds.code)))


def fonds_by_code(session: Session, code: str | None, field: str = "fonds") -> Fonds | None:
    """The fonds named by ``code``; None for an empty code (the default fonds); a 422
    naming ``field`` for an unknown one."""
    if not code:
        return None
    found = session.scalars(select(Fonds).where(Fonds.code == code)).one_or_none()
    if found is None:
        raise InvalidInput(f"unknown fonds {code!r}", field=field)
    return found


def create_fonds(
    session: Session, by: Caller, code: str, name: str, pattern: NumberPattern
) -> Fonds:
    """An admin adds a legal entity's fonds."""
    require(by, "fonds.manage")
    code = (code or "").strip()
    if not FONDS_CODE_RE.match(code):
        raise InvalidInput("code: 1-16 capital letters, digits or _ (e.g. Q002)", field="code")
    if not (name or "").strip():
        raise InvalidInput("a name is required", field="name")
    if "fonds" not in pattern.tokens:
        raise Conflict(
            "the archive number pattern (ARCHIVE_NUMBER_PATTERN) has no {fonds}: the "
            "numbers of two fonds would share one series"
        )
    if session.scalars(select(Fonds.id).where(Fonds.code == code)).first() is not None:
        raise Conflict(f"fonds {code} exists")
    fonds = Fonds(code=code, name=name.strip()[:300])
    session.add(fonds)
    session.flush()
    record(session, by.actor, "fonds.create", "fonds", fonds.id, code=code)
    return fonds


def fonds_code(customer: Customer, default: str) -> str:
    """The code the customer's archive numbers carry."""
    return customer.fonds.code if customer.fonds is not None else default
