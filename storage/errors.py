"""Exceptions raised by the storage library.

Callers (web views, Celery tasks) map these to user-facing errors, so each
failure mode has its own class and a message that says what went wrong
without revealing key material or plaintext.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class for every error raised by `storage`."""


class IntegrityError(StorageError):
    """Ciphertext failed verification: tampered, truncated, reordered, swapped
    with another object, or decrypted with the wrong data key.

    No plaintext from the failing segment (or any later one) is ever returned.
    """


class KeyringError(StorageError):
    """The keyring file or value is malformed, or an operation on it is invalid."""


class UnknownMasterKey(KeyringError, KeyError):
    """A wrapped key names a master key id that the keyring does not hold."""

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message; keep it readable.
        return str(self.args[0]) if self.args else "unknown master key"


class KeyUnwrapError(KeyringError):
    """A wrapped data key did not unwrap: wrong master key or corrupted value."""


class StoreUnavailable(StorageError):
    """The object store cannot be reached or refuses our requests."""


class ObjectNotFound(StorageError, LookupError):
    """The named object does not exist in the store."""
