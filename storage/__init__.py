"""Encrypted object storage for the archive: a library, free of Flask and the DB.

Use `EncryptedStore` over a backend (`LocalStore` or `S3Store`) and a
`Keyring`; the on-disk format is specified in docs/storage-format.md.
"""

from storage.backends import LocalStore, ObjectStore, S3Config, S3Store, new_object_name
from storage.crypto import (
    DEFAULT_SEGMENT_SIZE,
    EncryptingReader,
    ciphertext_size,
    decrypt_stream,
    iter_range,
    read_range,
)
from storage.errors import (
    IntegrityError,
    KeyringError,
    KeyUnwrapError,
    ObjectNotFound,
    StorageError,
    StoreUnavailable,
    UnknownMasterKey,
)
from storage.keyring import Keyring, WrappedKey, new_data_key
from storage.service import EncryptedStore, EraseResult, PlaintextStream, StoredObject

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "EncryptedStore",
    "EncryptingReader",
    "EraseResult",
    "IntegrityError",
    "KeyUnwrapError",
    "Keyring",
    "KeyringError",
    "LocalStore",
    "ObjectNotFound",
    "ObjectStore",
    "PlaintextStream",
    "S3Config",
    "S3Store",
    "StorageError",
    "StoreUnavailable",
    "StoredObject",
    "UnknownMasterKey",
    "WrappedKey",
    "ciphertext_size",
    "decrypt_stream",
    "iter_range",
    "new_data_key",
    "new_object_name",
    "read_range",
]
