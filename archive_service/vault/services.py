"""Putting content into the encrypted store and getting it back, with its row.

``put`` streams the content through the encrypting store first and adds the
row only after the object is durably written, so a row never points at
nothing. If the transaction then fails, the object is garbage without a row,
which :func:`consistency` reports and :func:`collect_garbage` removes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.db import utcnow
from archive_service.vault.models import StoredObject
from storage.backends.base import ObjectStore
from storage.keyring import Keyring
from storage.service import EncryptedStore
from storage.streams import Readable


class Vault:
    """The encrypted store and the keyring it wraps data keys with.

    A keyring kept in a file is re-read when the file changes, so a key
    added by ``archive keys rotate`` is known to every running process
    before any data key is re-wrapped under it.
    """

    def __init__(
        self,
        backend: ObjectStore,
        keyring: Keyring,
        segment_size: int,
        keyring_path: str | None = None,
    ) -> None:
        self.backend = backend
        self.segment_size = segment_size
        self.keyring_path = keyring_path
        self._mtime = self._stat()
        self._use(keyring)

    def _stat(self) -> float | None:
        if not self.keyring_path:
            return None
        try:
            return os.stat(self.keyring_path).st_mtime_ns
        except FileNotFoundError:
            return None

    def _use(self, keyring: Keyring) -> None:
        self._keyring = keyring
        self._store = EncryptedStore(self.backend, keyring, self.segment_size)

    def refresh(self) -> None:
        mtime = self._stat()
        if mtime is not None and mtime != self._mtime and self.keyring_path:
            self._use(Keyring.load(self.keyring_path))
            self._mtime = mtime

    @property
    def keyring(self) -> Keyring:
        self.refresh()
        return self._keyring

    @property
    def store(self) -> EncryptedStore:
        self.refresh()
        return self._store

    def put(
        self,
        session: Session,
        stream: Readable,
        check: Callable[[Callable[[], Iterable[bytes]]], None] | None = None,
    ) -> StoredObject:
        """Store ``stream`` and add its row. ``check``, if given, judges the content once
        it is all stored (a stream read only once), given a way to read the plaintext
        again: if it raises, the object is deleted and no row is added."""
        stored = self.store.store(stream)
        if check is not None:
            try:
                check(lambda: self.store.open(stored.object_name, stored.wrapped_key))
            except BaseException:
                self.delete_object(stored.object_name)
                raise
        obj = StoredObject(
            object_name=stored.object_name,
            wrapped_key=stored.wrapped_key,
            key_id=stored.key_id,
            sha256=stored.sha256,
            size=stored.size,
            stored_size=stored.ciphertext_size,
        )
        session.add(obj)
        session.flush()
        return obj

    def delete_object(self, object_name: str) -> int:
        """Delete every stored version of an object: the second half of an erase, once its
        key is gone, or an object that never got its row. Idempotent; returns how many
        versions went."""
        return len(self.store.erase(object_name).versions_deleted)

    def open(self, obj: StoredObject) -> Iterator[bytes]:
        """Verified plaintext chunks; raises on any integrity failure."""
        if obj.wrapped_key is None:
            raise LookupError("object was erased")
        return self.store.open(obj.object_name, obj.wrapped_key)

    def read_range(self, obj: StoredObject, start: int, length: int) -> bytes:
        if obj.wrapped_key is None:
            raise LookupError("object was erased")
        return self.store.read_range(obj.object_name, obj.wrapped_key, obj.size, start, length)

    def destroy_key(self, session: Session, obj: StoredObject) -> None:
        """First half of cryptographic erase: the wrapped data key goes (commit it)."""
        obj.wrapped_key = None
        obj.key_id = None
        obj.erased_at = obj.erased_at or utcnow()
        session.flush()


def rewrap_batch(session: Session, keyring: Keyring, batch: int = 500) -> int:
    """Re-wrap up to ``batch`` data keys not under the active master key; 0 when done.

    Resumable by construction: each batch commits on its own, and the rows
    still under an old key are exactly the work left.
    """
    rows = (
        session.execute(
            select(StoredObject)
            .where(
                StoredObject.wrapped_key.is_not(None), StoredObject.key_id != keyring.active_key_id
            )
            .order_by(StoredObject.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for obj in rows:
        assert obj.wrapped_key is not None
        obj.wrapped_key = keyring.rewrap(obj.wrapped_key).to_str()
        obj.key_id = keyring.active_key_id
    session.flush()
    return len(rows)


def keys_in_use(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(StoredObject.key_id, func.count())
        .where(StoredObject.wrapped_key.is_not(None))
        .group_by(StoredObject.key_id)
    ).all()
    return {str(k): int(n) for k, n in rows}


@dataclass
class Consistency:
    rows_without_object: list[str] = field(default_factory=list)
    objects_without_row: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rows_without_object and not self.objects_without_row


def consistency(session: Session, vault: Vault) -> Consistency:
    """Compare the rows with the store, both ways."""
    live = set(
        session.execute(
            select(StoredObject.object_name).where(StoredObject.wrapped_key.is_not(None))
        ).scalars()
    )
    known = set(session.execute(select(StoredObject.object_name)).scalars())
    present = set(vault.backend.list_names())
    return Consistency(
        rows_without_object=sorted(live - present),
        objects_without_row=sorted(present - known),
    )


@dataclass
class Garbage:
    deleted: list[str] = field(default_factory=list)
    young: list[str] = field(default_factory=list)  # without a row, but within the grace
    rows_without_object: list[str] = field(default_factory=list)


def collect_garbage(
    session: Session, vault: Vault, grace: timedelta, now: datetime | None = None
) -> Garbage:
    """Delete the objects without a row written longer than ``grace`` ago: what a failed
    transaction or an interrupted erase left. A younger one may be an upload whose row is
    not committed yet, so it stays. Also names the live rows whose object is gone."""
    found = consistency(session, vault)
    cutoff = (now or utcnow()) - grace
    garbage = Garbage(rows_without_object=found.rows_without_object)
    for name in found.objects_without_row:
        try:
            written = vault.backend.stored_at(name)
        except LookupError:  # gone meanwhile
            continue
        if written > cutoff:
            garbage.young.append(name)
            continue
        vault.delete_object(name)
        garbage.deleted.append(name)
    return garbage


def rewrap_all(db: Any, vault: Vault, batch: int = 500) -> int:
    """Re-wrap every data key under the active master key, one committed batch at a time.

    Safe to stop and run again: the rows still under an old key are the work left.
    """
    from archive_service.audit.services import Actor, record

    total = 0
    while True:
        with db.unit_of_work() as session:
            done = rewrap_batch(session, vault.keyring, batch)
            if done:
                record(
                    session,
                    Actor.system("key-rotation"),
                    "keys.rewrap",
                    "keyring",
                    vault.keyring.active_key_id,
                    rewrapped=done,
                )
        total += done
        if done == 0:
            return total
