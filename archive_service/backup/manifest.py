"""The signed manifest of a snapshot, and reading one back.

The manifest names every part with its size and SHA-256 and is signed with the instance's
destruction-record key (Ed25519, ``disposal/signing.py``: the key kept as long as the
records, and sealed into every backup). It is written last, in one atomic write: a
snapshot without it is incomplete and neither verified nor restored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive_service.backup import vocabulary as v
from archive_service.backup.target import Target
from archive_service.disposal.signing import Signer, verify


class BadBackup(Exception):
    """The backup cannot be trusted: incomplete, altered, or not this instance's."""


def sha256_file(path: Path) -> tuple[int, str]:
    h, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def snapshot_dir(stamp: str) -> str:
    return f"snapshots/{stamp}/"


def parse_stamp(stamp: str) -> datetime:
    return datetime.strptime(stamp, v.STAMP_FORMAT).replace(tzinfo=UTC)


def sign(body: dict[str, Any], signer: Signer) -> bytes:
    doc = {
        "manifest": body,
        "signature": signer.sign(body),
        "key_id": signer.key_id,
        "public_key": signer.public_pem,
    }
    return (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class Manifest:
    stamp: str
    body: dict[str, Any]
    signature: str
    public_key: str

    @property
    def parts(self) -> dict[str, dict[str, Any]]:
        parts: dict[str, dict[str, Any]] = self.body["parts"]
        return parts

    def signed_by(self, public_pem: str) -> bool:
        return verify(public_pem, self.body, self.signature)


def snapshots(target: Target) -> tuple[list[str], list[str]]:
    """(complete, incomplete) snapshot stamps, oldest first."""
    seen: dict[str, bool] = {}
    for path in target.list("snapshots/"):
        parts = path.split("/")
        if len(parts) == 3:
            seen[parts[1]] = seen.get(parts[1], False) or parts[2] == v.MANIFEST
    complete = sorted(s for s, done in seen.items() if done)
    return complete, sorted(s for s, done in seen.items() if not done)


def read(target: Target, stamp: str | None = None) -> Manifest:
    """The manifest of snapshot ``stamp`` (default: the newest complete one)."""
    complete, incomplete = snapshots(target)
    if stamp is None:
        if not complete:
            raise BadBackup(
                f"{target.where} holds no complete backup"
                + (f" ({len(incomplete)} incomplete: no manifest)" if incomplete else "")
            )
        stamp = complete[-1]
    elif stamp in incomplete:
        raise BadBackup(
            f"snapshot {stamp} is incomplete (no manifest: the backup was interrupted); "
            "it is never verified or restored"
        )
    elif stamp not in complete:
        raise BadBackup(f"{target.where} holds no snapshot {stamp}")
    try:
        doc = json.loads(target.read(snapshot_dir(stamp) + v.MANIFEST))
        body, signature, public_key = doc["manifest"], doc["signature"], doc["public_key"]
        if body.get("format") != v.MANIFEST_FORMAT or body.get("stamp") != stamp:
            raise BadBackup(f"snapshot {stamp}: the manifest is not this snapshot's")
    except (ValueError, KeyError, TypeError) as exc:
        raise BadBackup(f"snapshot {stamp}: unreadable manifest ({type(exc).__name__})") from None
    return Manifest(stamp, body, signature, public_key)


def check_part(manifest: Manifest, name: str, local: Path) -> None:
    """The downloaded part is what the manifest says, byte for byte."""
    want = manifest.parts.get(name)
    if want is None:
        raise BadBackup(f"snapshot {manifest.stamp}: the manifest names no part {name}")
    size, digest = sha256_file(local)
    if size != want["size"] or digest != want["sha256"]:
        raise BadBackup(
            f"snapshot {manifest.stamp}: part {name} was altered or damaged "
            f"(size {size}, expected {want['size']}; SHA-256 differs: {digest != want['sha256']})"
        )
