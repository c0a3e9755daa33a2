"""Ed25519 signatures over destruction records: anyone with the public key can check one.

The key is generated into the instance folder (0600) on the embedded default, mounted as
a file (``ARCHIVE_SIGNING_KEY_FILE``) or given as PEM in ``ARCHIVE_SIGNING_KEY`` in
production. A key file is re-read when it changes, so a rotated key
(``archive destruction rotate-key``) is picked up by running processes without a restart.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from archive_service.config import Settings
from archive_service.instance import write_secret_file

log = logging.getLogger(__name__)


def canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


class Signer:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    @property
    def public_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @property
    def key_id(self) -> str:
        raw = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return hashlib.sha256(raw).hexdigest()[:16]

    def sign(self, record: dict[str, Any]) -> str:
        return base64.b64encode(self._key.sign(canonical(record))).decode()

    def sign_bytes(self, data: bytes) -> bytes:
        """The raw 64-byte signature of ``data`` (``openssl pkeyutl -verify -rawin`` checks it)."""
        return self._key.sign(data)


def verify(public_pem: str, record: dict[str, Any], signature: str) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(base64.b64decode(signature), canonical(record))
        return True
    except (InvalidSignature, ValueError):
        return False


def verify_bytes(public_pem: str, data: bytes, signature: bytes) -> bool:
    try:
        key = serialization.load_pem_public_key(public_pem.encode())
    except ValueError:
        return False
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(signature, data)
        return True
    except InvalidSignature:
        return False


def key_id_of(public_pem: str) -> str | None:
    """The id of a public key (as :attr:`Signer.key_id`), or None if it is no Ed25519 key."""
    try:
        key = serialization.load_pem_public_key(public_pem.encode())
    except ValueError:
        return None
    if not isinstance(key, Ed25519PublicKey):
        return None
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def new_key_pem() -> str:
    """A fresh Ed25519 private key as PEM (PKCS8, unencrypted: store it as a secret)."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def signer_of(pem: bytes) -> Signer:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 private key")
    return Signer(key)


class SigningKeySource:
    """Where this process's signing key comes from: inline PEM (fixed), or a file re-read
    whenever it changes (its modification time, inode or size), so every process that
    reads the same mounted file signs with the newest key after a rotation."""

    def __init__(self, settings: Settings) -> None:
        self.inline = settings.signing_key
        self.path: Path | None = None
        self._generate = False
        if not self.inline:
            if settings.signing_key_file:
                self.path = Path(settings.signing_key_file)
            else:
                self.path = Path(settings.instance_dir) / "signing_key.pem"
                self._generate = True
        self._embedded = settings.embedded
        self._stamp: tuple[int, int, int] | None = None
        self._signer: Signer | None = None
        self._lock = threading.Lock()

    def current(self) -> Signer:
        with self._lock:
            if self.path is None:
                if self._signer is None:
                    self._signer = signer_of(self.inline.encode())
                return self._signer
            if self._generate and not self.path.exists():
                if not self._embedded:
                    log.warning(
                        "no ARCHIVE_SIGNING_KEY_FILE set: generated %s; processes on other "
                        "hosts would sign with other keys — mount one key everywhere",
                        self.path,
                    )
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                write_secret_file(self.path, new_key_pem())
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_ino, st.st_size)
            if self._signer is None or stamp != self._stamp:
                self._signer = signer_of(self.path.read_bytes())
                self._stamp = stamp
            return self._signer

    def replace(self, pem: str) -> None:
        """Put a new key where this source reads it, atomically (0600): the rotation."""
        if self.path is None:
            raise ValueError("the signing key is inline (ARCHIVE_SIGNING_KEY); nothing to replace")
        signer_of(pem.encode())  # refuse to install anything but an Ed25519 key
        write_secret_file(self.path, pem)
