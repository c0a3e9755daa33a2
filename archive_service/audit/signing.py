"""The audit key (审计锚定密钥): an Ed25519 key of its own that signs checkpoints.

Not the destruction-record key: that one signs documents handed to outsiders and must be
kept as long as the records; this one only needs to be out of the database writer's
reach, may live on the scheduler's host alone, and can be replaced without touching any
destruction record. Processes that only verify may be given just the public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from archive_service.config import Settings
from archive_service.errors import Conflict
from archive_service.instance import write_secret_file

log = logging.getLogger(__name__)
KEY_FILE = "audit_key.pem"


class NoSigningKey(Conflict):
    """This process holds only the public key; checkpoints are written elsewhere."""


class AuditKey:
    """Checks checkpoint signatures with the trusted public key; signs if it holds the
    private key."""

    def __init__(self, public: Ed25519PublicKey, private: Ed25519PrivateKey | None) -> None:
        self._public = public
        self._private = private

    @property
    def key_id(self) -> str:
        raw = self._public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return hashlib.sha256(raw).hexdigest()[:16]

    @property
    def public_pem(self) -> str:
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    @property
    def can_sign(self) -> bool:
        return self._private is not None

    def sign(self, data: bytes) -> str:
        if self._private is None:
            raise NoSigningKey(
                "this process holds only the audit public key (ARCHIVE_AUDIT_PUBLIC_KEY_FILE); "
                "write checkpoints where ARCHIVE_AUDIT_KEY_FILE is mounted"
            )
        return base64.b64encode(self._private.sign(data)).decode()

    def verify(self, data: bytes, signature: str) -> bool:
        try:
            self._public.verify(base64.b64decode(signature, validate=True), data)
        except (InvalidSignature, ValueError, binascii.Error):
            return False
        return True


def new_key_pem() -> str:
    """A fresh Ed25519 private key as PEM (PKCS8, unencrypted: keep it as a secret)."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def _private(pem: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the audit key must be an Ed25519 private key")
    return key


def _public(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the audit public key must be an Ed25519 public key")
    return key


def load_audit_key(settings: Settings) -> AuditKey:
    """The key from the settings (inline PEM, a mounted file, or only the public key);
    else one generated into the instance folder on first use (embedded default; logged
    loudly elsewhere, since each host would then sign with a key of its own)."""
    public = (
        _public(Path(settings.audit_public_key_file).read_bytes())
        if settings.audit_public_key_file
        else None
    )
    if settings.audit_key:
        private = _private(settings.audit_key.encode())
    elif settings.audit_key_file:
        private = _private(Path(settings.audit_key_file).read_bytes())
    elif public is not None:
        return AuditKey(public, None)
    else:
        path = Path(settings.instance_dir) / KEY_FILE
        if not path.exists():
            if not settings.embedded:
                log.warning(
                    "no ARCHIVE_AUDIT_KEY_FILE set: generated %s; processes on other hosts "
                    "would sign checkpoints with other keys — mount one key everywhere",
                    path,
                )
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_secret_file(path, new_key_pem())
        private = _private(path.read_bytes())
    key = AuditKey(private.public_key(), private)
    if public is not None and AuditKey(public, None).key_id != key.key_id:
        raise ValueError("ARCHIVE_AUDIT_PUBLIC_KEY_FILE is not the public half of the audit key")
    return key
