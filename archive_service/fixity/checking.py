"""One object's check and its repair, on the store alone (no database): what a row says
the object is (`Target`), what its check found (`Finding`), and the copy that mends it."""

from __future__ import annotations

from dataclasses import dataclass

from archive_service.fixity.vocabulary import REPAIRABLE, Kind, Repair
from archive_service.vault.services import Vault
from storage.backends.base import ObjectStore
from storage.errors import IntegrityError, KeyringError, ObjectNotFound, StoreUnavailable
from storage.service import EncryptedStore


@dataclass(frozen=True)
class Target:
    """A live stored object as its row records it."""

    id: int
    object_name: str
    wrapped_key: str
    sha256: str
    size: int
    stored_size: int


@dataclass(frozen=True)
class Finding:
    kind: str  # vocabulary.Kind
    detail: str


def check(store: EncryptedStore, target: Target) -> Finding | None:
    """Decrypt the whole object and hold it against its recorded digest and size. The
    store being down is no finding about the object: `StoreUnavailable` propagates."""
    try:
        store.verify(target.object_name, target.wrapped_key, target.sha256, target.size)
    except ObjectNotFound as exc:
        return Finding(Kind.MISSING, str(exc))
    except IntegrityError as exc:
        return Finding(Kind.MISMATCH, str(exc))
    except KeyringError as exc:
        return Finding(Kind.UNDECRYPTABLE, f"{type(exc).__name__}: {exc}")
    return None


def restore(vault: Vault, target: Target, kind: str, good: ObjectStore | None) -> str | None:
    """Replace the damaged or missing object with the good copy, verified first by
    decrypting it against the recorded digest; None when repaired, else why not
    (`vocabulary.Repair`). The object is written whole under its name (the backends
    publish a complete object or nothing) and checked again where it now stands."""
    if kind not in REPAIRABLE:
        return Repair.NOT_REPAIRABLE
    if good is None:
        return Repair.NO_SOURCE
    copy = EncryptedStore(good, vault.keyring, vault.segment_size)
    try:
        copy.verify(target.object_name, target.wrapped_key, target.sha256, target.size)
    except (ObjectNotFound, StoreUnavailable):
        return Repair.NO_COPY
    except (IntegrityError, KeyringError):
        return Repair.COPY_BAD
    try:
        with good.get(target.object_name) as body:
            vault.backend.put(target.object_name, body, target.stored_size)
    except ObjectNotFound:
        return Repair.NO_COPY
    # The copy was read twice; what now stands in the store is what counts.
    if check(vault.store, target) is not None:
        return Repair.COPY_BAD
    return None
