"""The signing-key history (签名密钥记录): every public key that has signed destruction
records, so a record verifies by its own ``signing_key_id`` after any number of rotations.

Only public keys are kept in the database; the private key lives in its file (or the
``ARCHIVE_SIGNING_KEY`` setting). ``rotate`` makes a new key, installs it where the
processes read it, retires the old one in the history and writes the audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.disposal.models import SigningKey
from archive_service.disposal.signing import Signer, new_key_pem, signer_of
from archive_service.policy import Caller, require


@dataclass(frozen=True)
class KeyEntry:
    """One key of the history as it is shown (``GET /api/v1/signing-keys``)."""

    key_id: str
    public_key: str
    active: bool
    created_at: datetime | None
    retired_at: datetime | None


def ensure_known(session: Session, actor: Actor, signer: Signer) -> SigningKey:
    """The history's row of ``signer``'s key, added (audited) the first time it signs or is
    rotated out; a key new to the history is the active one, so the others are retired."""
    row = session.get(SigningKey, signer.key_id)
    if row is not None:
        return row
    now = utcnow()
    try:
        # A savepoint: two processes that first sign with a new key at once both try to
        # add it; the one that loses takes the other's row instead of failing its record.
        with session.begin_nested():
            retired = _retire_active(session, now)
            row = SigningKey(key_id=signer.key_id, public_key=signer.public_pem, created_at=now)
            session.add(row)
    except IntegrityError:
        known = session.get(SigningKey, signer.key_id)
        if known is None:
            raise
        return known
    record(
        session,
        actor,
        "destruction.key_recorded",
        "signing_key",
        signer.key_id,
        retired=retired,
    )
    return row


def _retire_active(session: Session, now: datetime) -> list[str]:
    active = session.execute(select(SigningKey).where(SigningKey.retired_at.is_(None))).scalars()
    retired = []
    for row in active:
        row.retired_at = now
        retired.append(row.key_id)
    return retired


def rotate(
    session: Session, by: Caller, current: Signer, install: Callable[[str], str]
) -> tuple[str, str]:
    """A new signing key: the current one is kept in the history (retired), the new one
    recorded as active, then ``install(pem)`` writes the private key where the processes
    read it and returns where. If installing fails, the transaction rolls back and
    nothing changed. Returns (old key id, new key id)."""
    require(by, "signing_key.rotate")
    ensure_known(session, by.actor, current)
    pem = new_key_pem()
    new = signer_of(pem.encode())
    now = utcnow()
    _retire_active(session, now)
    session.add(SigningKey(key_id=new.key_id, public_key=new.public_pem, created_at=now))
    session.flush()
    where = install(pem)
    record(
        session,
        by.actor,
        "destruction.key_rotate",
        "signing_key",
        new.key_id,
        retired=current.key_id,
        installed=where,
    )
    return current.key_id, new.key_id


def public_key_of(session: Session, key_id: str | None, current: Signer) -> str | None:
    """The PEM of the key that ``key_id`` names: the current key, or one in the history."""
    if not key_id:
        return None
    if key_id == current.key_id:
        return current.public_pem
    row = session.get(SigningKey, key_id)
    return row.public_key if row is not None else None


def history(session: Session, by: Caller, current: Signer) -> list[KeyEntry]:
    """Every public key that has signed records, newest first; the current key is listed
    even before it has signed anything (a fresh instance, or one migrated to the history)."""
    require(by, "signing_key.list")
    rows = session.execute(select(SigningKey).order_by(SigningKey.created_at.desc())).scalars()
    entries = [
        KeyEntry(r.key_id, r.public_key, r.retired_at is None, r.created_at, r.retired_at)
        for r in rows
    ]
    if all(e.key_id != current.key_id for e in entries):
        entries.insert(0, KeyEntry(current.key_id, current.public_pem, True, None, None))
    return entries
