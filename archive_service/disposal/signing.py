"""Ed25519 signatures over destruction records: anyone with the public key can check one.

The key is generated into the instance folder (0600) on the embedded default,
or given as PEM in ``ARCHIVE_SIGNING_KEY`` in production.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
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


def verify(public_pem: str, record: dict[str, Any], signature: str) -> bool:
    key = serialization.load_pem_public_key(public_pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(base64.b64decode(signature), canonical(record))
        return True
    except (InvalidSignature, ValueError):
        return False


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


def load_signer(settings: Settings) -> Signer:
    """The signing key from the settings (inline PEM or a mounted file), else one generated
    into the instance folder on first use (embedded default; logged loudly elsewhere)."""
    if settings.signing_key:
        pem = settings.signing_key.encode()
    elif settings.signing_key_file:
        pem = Path(settings.signing_key_file).read_bytes()
    else:
        path = Path(settings.instance_dir) / "signing_key.pem"
        if not path.exists():
            if not settings.embedded:
                log.warning(
                    "no ARCHIVE_SIGNING_KEY_FILE set: generated %s; processes on other hosts "
                    "would sign with other keys — mount one key everywhere",
                    path,
                )
            write_secret_file(path, new_key_pem())
        pem = path.read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 private key")
    return Signer(key)
