"""Build the vault from settings: backend (local folder or S3) and the master keyring."""

from __future__ import annotations

import logging
from pathlib import Path

from archive_service.config import Settings
from archive_service.vault.services import Vault
from storage.backends.base import ObjectStore
from storage.backends.local import LocalStore
from storage.backends.s3 import S3Config, S3Store
from storage.keyring import Keyring

log = logging.getLogger(__name__)


def build_backend(settings: Settings) -> ObjectStore:
    if settings.storage == "local":
        store = LocalStore(settings.storage_dir)
        store.ensure_ready()  # a folder: nothing can be down
        return store
    if settings.storage == "s3":
        return S3Store(
            S3Config(
                endpoint=settings.s3_endpoint,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key,
                bucket=settings.s3_bucket,
                secure=settings.s3_secure,
            )
        )
    raise ValueError(f"ARCHIVE_STORAGE must be 'local' or 's3', not {settings.storage!r}")


def load_keyring(settings: Settings) -> tuple[Keyring, str | None]:
    """The master keyring and, when it lives in a file, that file's path.

    Production gives ``ARCHIVE_KEYRING`` (the JSON, or a path) or a keyring
    file that must exist; the embedded default generates one into the
    instance folder on first start, with a loud warning.
    """
    if settings.keyring:
        value = settings.keyring.strip()
        return Keyring.from_env(value), (None if value.startswith("{") else value)
    path = Path(settings.keyring_file)
    if settings.embedded:
        keyring, created = Keyring.load_or_create(path)
        if created:
            log.warning(
                "GENERATED A NEW MASTER KEYRING at %s (embedded default). Back it up: "
                "without it no stored document can ever be read again.",
                path,
            )
        return keyring, str(path)
    if not path.exists():
        raise RuntimeError(
            f"no master keyring: set ARCHIVE_KEYRING or mount the file {path} "
            "(create one with 'archive keys init --file PATH')"
        )
    return Keyring.load(path), str(path)


def build_vault(settings: Settings) -> Vault:
    keyring, path = load_keyring(settings)
    return Vault(build_backend(settings), keyring, settings.segment_size, keyring_path=path)
