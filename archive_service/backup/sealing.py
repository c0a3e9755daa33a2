"""The instance's secrets sealed under the backup passphrase: scrypt, then AES-256-GCM.

A backup never holds a key in the clear: the keyring, the signing and audit keys, the
search key and the session secret go into one JSON document that is encrypted under a
key derived from ``ARCHIVE_BACKUP_PASSPHRASE`` (scrypt, a fresh salt per backup). The
snapshot's stamp is bound in as associated data, so a sealed file cannot be moved to
another snapshot unnoticed.
"""

from __future__ import annotations

import base64
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

SEAL_FORMAT = 1
# scrypt's cost: 2**15 x 8 x 128 bytes = 32 MiB and about a tenth of a second.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class WrongPassphrase(Exception):
    """The passphrase does not open this backup's keys (or the file was altered)."""


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    if not passphrase:
        raise WrongPassphrase("no backup passphrase given (ARCHIVE_BACKUP_PASSPHRASE)")
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _aad(stamp: str) -> bytes:
    return f"archive-backup-keys/{SEAL_FORMAT}/{stamp}".encode()


def seal(secrets: dict[str, str], passphrase: str, stamp: str) -> bytes:
    """The sealed file's bytes for ``secrets`` (name → text)."""
    salt, nonce = os.urandom(16), os.urandom(12)
    key = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    plain = json.dumps(secrets, sort_keys=True).encode()
    sealed = AESGCM(key).encrypt(nonce, plain, _aad(stamp))
    doc = {
        "format": SEAL_FORMAT,
        "kdf": {"name": "scrypt", "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P},
        "cipher": "AES-256-GCM",
        "salt": base64.b64encode(salt).decode(),
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return (json.dumps(doc, indent=1) + "\n").encode()


def unseal(data: bytes, passphrase: str, stamp: str) -> dict[str, str]:
    try:
        doc = json.loads(data)
        kdf = doc["kdf"]
        if doc["format"] != SEAL_FORMAT or kdf["name"] != "scrypt":
            raise WrongPassphrase("the sealed keys are in a format this version cannot open")
        salt, nonce = base64.b64decode(doc["salt"]), base64.b64decode(doc["nonce"])
        sealed = base64.b64decode(doc["ciphertext"])
        key = _derive(passphrase, salt, int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise WrongPassphrase(f"the sealed keys are unreadable ({type(exc).__name__})") from None
    try:
        plain = AESGCM(key).decrypt(nonce, sealed, _aad(stamp))
    except InvalidTag:
        raise WrongPassphrase(
            "the backup passphrase does not open this backup's keys "
            "(wrong passphrase, or the sealed file was altered)"
        ) from None
    secrets: dict[str, str] = json.loads(plain)
    return secrets
