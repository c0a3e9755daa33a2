"""Master keys (KEKs) and wrapping of per-object data keys (DEKs).

Each stored object has its own random 256-bit data key; the database keeps it
only in wrapped form (`WrappedKey`, AES key wrap, RFC 3394, under a master key
named by its key id).  Rotation adds a master key, re-wraps every data key
under it and then retires the old key: the content is never re-encrypted.
Cryptographic erase is destroying an object's wrapped key.

The keyring is a small JSON document (keys base64) kept in a 0600 file for the
embedded mode or passed in through an environment variable in production.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import re
import secrets
import stat
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from storage.errors import KeyringError, KeyUnwrapError, UnknownMasterKey

log = logging.getLogger(__name__)

KEY_SIZE = 32  # AES-256, for both master keys and data keys
_WRAP_SCHEME = "kw1"  # AES-KW (RFC 3394) of a 32-byte key -> 40 bytes
_WRAPPED_SIZE = KEY_SIZE + 8
_KEY_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_FILE_KIND = "archive-keyring"
_FILE_VERSION = 1


def new_data_key() -> bytes:
    """A fresh random 256-bit data key for one object."""
    return secrets.token_bytes(KEY_SIZE)


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class WrappedKey:
    """A data key wrapped under the master key `key_id`.

    Serialised as ``kw1:<key_id>:<base64url(wrapped)>`` (about 70 characters)
    for a database column; `key_id` stays readable so a rotation job can find
    the rows still wrapped under an old key.
    """

    key_id: str
    wrapped: bytes

    def to_str(self) -> str:
        return f"{_WRAP_SCHEME}:{self.key_id}:{_b64e(self.wrapped)}"

    def to_bytes(self) -> bytes:
        return self.to_str().encode("ascii")

    __str__ = to_str

    @classmethod
    def from_str(cls, text: str | bytes) -> WrappedKey:
        if isinstance(text, bytes):
            text = text.decode("ascii", "replace")
        parts = text.split(":")
        if len(parts) != 3 or parts[0] != _WRAP_SCHEME:
            raise KeyUnwrapError("wrapped key is not in the kw1:<key id>:<data> format")
        _, key_id, data = parts
        try:
            wrapped = _b64d(data)
        except (binascii.Error, ValueError) as exc:
            raise KeyUnwrapError("wrapped key data is not valid base64") from exc
        if not _KEY_ID_RE.fullmatch(key_id) or len(wrapped) != _WRAPPED_SIZE:
            raise KeyUnwrapError("wrapped key has an invalid key id or length")
        return cls(key_id, wrapped)

    from_bytes = from_str

    def __repr__(self) -> str:
        return f"WrappedKey(key_id={self.key_id!r})"


def _as_wrapped(value: WrappedKey | str | bytes) -> WrappedKey:
    return value if isinstance(value, WrappedKey) else WrappedKey.from_str(value)


class Keyring:
    """Master keys by key id; exactly one is active and used for new wraps."""

    def __init__(
        self,
        keys: Mapping[str, bytes],
        active_key_id: str,
        retired: Iterable[str] = (),
        created: Mapping[str, str] | None = None,
    ) -> None:
        for key_id, key in keys.items():
            if not _KEY_ID_RE.fullmatch(key_id):
                raise KeyringError(f"invalid master key id {key_id!r}")
            if len(key) != KEY_SIZE:
                raise KeyringError(f"master key {key_id!r} is not {KEY_SIZE} bytes")
        if active_key_id not in keys:
            raise KeyringError(f"active master key {active_key_id!r} is not in the keyring")
        self._keys = dict(keys)
        self._active = active_key_id
        self._retired = [k for k in retired if k not in self._keys]
        self._created = dict(created or {})
        self._lock = threading.Lock()

    # -- construction ---------------------------------------------------------

    @classmethod
    def generate(cls) -> Keyring:
        """A new keyring holding one fresh active master key."""
        key_id = cls._new_key_id(set())
        return cls({key_id: secrets.token_bytes(KEY_SIZE)}, key_id, created={key_id: _now()})

    @staticmethod
    def _new_key_id(taken: set[str]) -> str:
        # Date first so ids sort by age; random suffix so two hosts never collide.
        while True:
            key_id = f"{time.strftime('%Y%m%d', time.gmtime())}-{secrets.token_hex(4)}"
            if key_id not in taken:
                return key_id

    # -- inspection -----------------------------------------------------------

    @property
    def active_key_id(self) -> str:
        return self._active

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    @property
    def retired_key_ids(self) -> list[str]:
        return list(self._retired)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __repr__(self) -> str:  # never show key material
        return f"Keyring(active={self._active!r}, keys={self.key_ids!r})"

    # -- key management -------------------------------------------------------

    def add_key(
        self, key: bytes | None = None, key_id: str | None = None, activate: bool = True
    ) -> str:
        """Add a master key (random unless given) and return its id."""
        key = secrets.token_bytes(KEY_SIZE) if key is None else key
        if len(key) != KEY_SIZE:
            raise KeyringError(f"master key must be {KEY_SIZE} bytes")
        with self._lock:
            taken = set(self._keys) | set(self._retired)
            key_id = key_id or self._new_key_id(taken)
            if not _KEY_ID_RE.fullmatch(key_id):
                raise KeyringError(f"invalid master key id {key_id!r}")
            if key_id in taken:
                raise KeyringError(f"master key id {key_id!r} is already used")
            self._keys[key_id] = key
            self._created[key_id] = _now()
            if activate:
                self._active = key_id
        return key_id

    def activate(self, key_id: str) -> None:
        with self._lock:
            if key_id not in self._keys:
                raise UnknownMasterKey(f"master key {key_id!r} is not in the keyring")
            self._active = key_id

    def retire(self, key_id: str) -> None:
        """Destroy a master key.  Re-wrap every data key it wraps first:
        anything still wrapped under it becomes unreadable."""
        with self._lock:
            if key_id == self._active:
                raise KeyringError("cannot retire the active master key; activate another first")
            if key_id not in self._keys:
                raise UnknownMasterKey(f"master key {key_id!r} is not in the keyring")
            del self._keys[key_id]
            self._created.pop(key_id, None)
            self._retired.append(key_id)

    # -- wrapping -------------------------------------------------------------

    def _kek(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            state = "was retired" if key_id in self._retired else "is not in the keyring"
            raise UnknownMasterKey(f"master key {key_id!r} {state}") from None

    def wrap(self, dek: bytes) -> WrappedKey:
        if len(dek) != KEY_SIZE:
            raise ValueError(f"data key must be {KEY_SIZE} bytes")
        key_id = self._active
        return WrappedKey(key_id, aes_key_wrap(self._kek(key_id), dek))

    def unwrap(self, wrapped: WrappedKey | str | bytes) -> bytes:
        wk = _as_wrapped(wrapped)
        try:
            return aes_key_unwrap(self._kek(wk.key_id), wk.wrapped)
        except InvalidUnwrap:
            raise KeyUnwrapError(
                f"data key did not unwrap under master key {wk.key_id!r}: "
                "wrong master key or corrupted wrapped key"
            ) from None

    def rewrap(self, wrapped: WrappedKey | str | bytes) -> WrappedKey:
        """The same data key wrapped under the active master key."""
        return self.wrap(self.unwrap(wrapped))

    def needs_rewrap(self, wrapped: WrappedKey | str | bytes) -> bool:
        return _as_wrapped(wrapped).key_id != self._active

    # -- serialisation --------------------------------------------------------

    def to_json(self) -> str:
        doc = {
            "kind": _FILE_KIND,
            "version": _FILE_VERSION,
            "active": self._active,
            "keys": {
                kid: {"key": base64.b64encode(k).decode(), "created": self._created.get(kid)}
                for kid, k in sorted(self._keys.items())
            },
            "retired": self._retired,
        }
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        try:
            doc: Any = json.loads(text)
            if doc.get("kind") != _FILE_KIND or doc.get("version") != _FILE_VERSION:
                raise KeyringError("not an archive keyring (kind/version mismatch)")
            entries = doc["keys"].items()
            keys = {kid: base64.b64decode(v["key"], validate=True) for kid, v in entries}
            created = {kid: v.get("created") or "" for kid, v in entries}
            return cls(keys, doc["active"], doc.get("retired", []), created)
        except KeyringError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            # Deliberately no detail from the document: it holds key material.
            raise KeyringError(f"malformed keyring JSON ({type(exc).__name__})") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Keyring:
        path = Path(path)
        try:
            mode = path.stat().st_mode
            text = path.read_text("utf-8")
        except OSError as exc:
            raise KeyringError(f"cannot read keyring file {path}: {exc.strerror}") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("keyring file %s is accessible by group/others; chmod 600 it", path)
        return cls.from_json(text)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically with mode 0600 (replaces an existing file)."""
        _atomic_write(Path(path), self.to_json().encode("utf-8"), overwrite=True)

    @classmethod
    def from_env(cls, value: str | None) -> Keyring:
        """Production: an environment variable holding the keyring JSON or a
        path to the keyring file (e.g. a mounted secret)."""
        if not value or not value.strip():
            raise KeyringError("no keyring configured (empty value)")
        value = value.strip()
        return cls.from_json(value) if value.startswith("{") else cls.load(value)

    @classmethod
    def load_or_create(cls, path: str | os.PathLike[str]) -> tuple[Keyring, bool]:
        """Embedded mode: load the keyring file, or create it on first run.

        Returns ``(keyring, created)``; the caller should warn loudly when
        `created` is true (the key file must be backed up, or every stored
        object is lost with it).  Safe against two processes starting at once:
        the file is published with a no-overwrite link, so one creation wins
        and the other process loads it.
        """
        path = Path(path)
        if path.exists():
            return cls.load(path), False
        ring = cls.generate()
        if _atomic_write(path, ring.to_json().encode("utf-8"), overwrite=False):
            log.warning("created a new master keyring at %s", path)
            return ring, True
        return cls.load(path), False


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _atomic_write(path: Path, data: bytes, overwrite: bool) -> bool:
    """Write via temp file + fsync + rename/link + directory fsync, mode 0600.

    With ``overwrite=False`` returns False (and writes nothing) if `path`
    already exists.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)  # mkstemp already uses 0600; be explicit
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
        _fsync_dir(path.parent)
        return True
    finally:
        # After a rename the temp name is gone; after a link (or a failure) remove it.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
