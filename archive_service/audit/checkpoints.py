"""Pure checkpoint arithmetic: what a checkpoint says, how it is stored, and the rules a
sequence of checkpoints must keep (锚定点).

A checkpoint pins the chain at one event: its sequence number and hash, the time, and the
digest of the checkpoint before it, signed with a key the database never sees. Stored
outside the database, it lets :func:`archive_service.audit.services.verify` tell a chain
that was cut off or re-hashed from the one that was written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

from archive_service.audit.chain import GENESIS

VERSION = 1
# What the key signs is never mistaken for anything else it might be asked to sign.
SIGNED_PREFIX = b"archive audit checkpoint v1\n"
_HEX64 = frozenset("0123456789abcdef")


class BadEntry(ValueError):
    """A stored line that is not a checkpoint of this format."""


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def timestamp_text(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class Checkpoint:
    """Checkpoint ``number`` says: event ``seq`` of the chain hashes to ``hash``."""

    number: int
    seq: int
    hash: str
    at: str  # UTC, microseconds, as in the chain
    prev: str  # digest of checkpoint number - 1; GENESIS for the first
    key: str  # id of the signing key (a hint: the trusted key decides)

    def body(self) -> dict[str, Any]:
        return {"v": VERSION, **asdict(self)}

    def canonical(self) -> bytes:
        """The bytes the digest, the signature and a timestamp cover."""
        return _json(self.body())

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def signed_bytes(self) -> bytes:
        return SIGNED_PREFIX + self.canonical()


def first_or_next(
    newest: Checkpoint | None, *, seq: int, hash: str, at: datetime, key: str
) -> Checkpoint:
    """The checkpoint after ``newest`` (or the first one) pinning event ``seq``."""
    return Checkpoint(
        number=1 if newest is None else newest.number + 1,
        seq=seq,
        hash=hash,
        at=timestamp_text(at),
        prev=GENESIS if newest is None else newest.digest,
        key=key,
    )


@dataclass(frozen=True)
class Entry:
    """A checkpoint as stored: one JSON line (file) or object (bucket)."""

    checkpoint: Checkpoint
    signature: str  # base64 Ed25519 over ``checkpoint.signed_bytes()``
    timestamp: str | None = None  # base64 DER RFC 3161 TimeStampResp over the digest

    def line(self) -> str:
        return _json(
            {
                "checkpoint": self.checkpoint.body(),
                "digest": self.checkpoint.digest,  # for a reader without this code
                "signature": self.signature,
                "timestamp": self.timestamp,
            }
        ).decode()

    def with_timestamp(self, token: str | None) -> Entry:
        return replace(self, timestamp=token)

    @classmethod
    def parse(cls, line: str) -> Entry:
        try:
            raw = json.loads(line)
            body = raw["checkpoint"]
            if body.get("v") != VERSION:
                raise BadEntry(f"unknown checkpoint version {body.get('v')!r}")
            cp = Checkpoint(
                number=_int(body["number"]),
                seq=_int(body["seq"]),
                hash=_hex64(body["hash"]),
                at=str(body["at"]),
                prev=_hex64(body["prev"]),
                key=str(body["key"]),
            )
            parse_time(cp.at)
            signature, token = raw["signature"], raw.get("timestamp")
            base64.b64decode(signature, validate=True)
            if token is not None:
                base64.b64decode(token, validate=True)
        except (KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise BadEntry(f"not a checkpoint: {exc!r}") from exc
        except ValueError as exc:  # json, time, and the checks above
            raise BadEntry(f"not a checkpoint: {exc}") from exc
        return cls(cp, str(signature), None if token is None else str(token))


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadEntry(f"not a count: {value!r}")
    return value


def _hex64(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 64 or not set(value) <= _HEX64:
        raise BadEntry(f"not a SHA-256 hex digest: {value!r}")
    return value


# --- findings: what verify names -------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One thing verify found: ``code`` is a term of ``audit.vocabulary.FINDINGS``.

    ``seq`` is the first event that is not as written or anchored, ``checkpoint`` the
    checkpoint concerned, ``store`` the anchor store concerned.
    """

    code: str
    seq: int | None = None
    checkpoint: int | None = None
    store: str | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def check_sequence(
    entries: Iterable[Entry | BadEntry],
    signed_by_us: Callable[[bytes, str], bool],
    store: str | None = None,
) -> tuple[list[Entry], Finding | None]:
    """The longest valid run of checkpoints from the first, and what ends it early.

    Each must be signed by the trusted key, carry the next number, name the previous
    checkpoint's digest and pin a later event than the previous one.
    """
    valid: list[Entry] = []
    for item in entries:
        number = len(valid) + 1
        if isinstance(item, BadEntry):
            return valid, Finding(
                "checkpoint_sequence", checkpoint=number, store=store, detail=str(item)
            )
        cp = item.checkpoint
        if not signed_by_us(cp.signed_bytes(), item.signature):
            return valid, Finding("checkpoint_signature", checkpoint=cp.number, store=store)
        prev = valid[-1].checkpoint if valid else None
        problem = _link_problem(prev, cp, number)
        if problem:
            return valid, Finding(
                "checkpoint_sequence", checkpoint=number, store=store, detail=problem
            )
        valid.append(item)
    return valid, None


def _link_problem(prev: Checkpoint | None, cp: Checkpoint, number: int) -> str | None:
    if cp.number != number:
        return f"checkpoint {number} expected, found {cp.number}"
    if cp.prev != (GENESIS if prev is None else prev.digest):
        return "does not name the previous checkpoint's digest"
    if prev is not None and cp.seq <= prev.seq:
        return f"pins event {cp.seq}, not after the previous checkpoint's {prev.seq}"
    if prev is not None and parse_time(cp.at) < parse_time(prev.at):
        return "dated before the previous checkpoint"
    return None


def compare_chain(
    checkpoints: list[Checkpoint], chain_end: int, hash_at: Callable[[int], str | None]
) -> Finding | None:
    """The chain (intact up to event ``chain_end``) against the checkpoints, oldest first.

    A checkpoint past the chain's end means the newest events were cut off (truncation);
    a checkpoint whose event hashes otherwise means events were rewritten and re-hashed
    (re-chaining) — somewhere after the previous checkpoint, at or before this one.
    """
    after = 0
    for cp in checkpoints:
        if cp.seq > chain_end:
            return Finding(
                "truncated",
                seq=chain_end + 1,
                checkpoint=cp.number,
                detail=f"the chain ends at event {chain_end}; checkpoint "
                f"{cp.number} pins event {cp.seq}",
            )
        if hash_at(cp.seq) != cp.hash:
            return Finding(
                "rechained",
                seq=after + 1,
                checkpoint=cp.number,
                detail=f"event {cp.seq} hashes differently from checkpoint "
                f"{cp.number}; events {after + 1}–{cp.seq} were rewritten",
            )
        after = cp.seq
    return None
