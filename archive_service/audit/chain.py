"""Pure hash-chain arithmetic: the canonical form of an event and its hash."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


def canonical(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor: str | None,
    ip: str | None,
    action: str,
    target_type: str | None,
    target_id: str | None,
    details: dict[str, Any],
) -> bytes:
    """The bytes an event's hash covers: sorted-key JSON, UTC time in microseconds."""
    body = {
        "seq": seq,
        "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_id": actor_id,
        "actor": actor,
        "ip": ip,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "details": details,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def link(prev_hash: str, canonical_bytes: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical_bytes).hexdigest()
