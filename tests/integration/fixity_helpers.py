"""Stored objects for the fixity tests, and the damage done to them on disk."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from archive_service.config import Settings
from archive_service.fixity.rules import Plan
from archive_service.fixity.services import Sweeper
from archive_service.vault.models import StoredObject

UNLIMITED = Plan.from_settings(Settings(fixity_mb_per_s=0))


def put(rt: Any, data: bytes) -> StoredObject:
    with rt.db.unit_of_work() as s:
        return rt.vault.put(s, io.BytesIO(data))


def path_of(rt: Any, obj: StoredObject) -> Path:
    return Path(rt.settings.storage_dir) / obj.object_name[:2] / obj.object_name


def flip_byte(rt: Any, obj: StoredObject, at: int | None = None) -> None:
    """Change one byte of the ciphertext in place (a rotting disk)."""
    path = path_of(rt, obj)
    raw = bytearray(path.read_bytes())
    where = len(raw) // 2 if at is None else at
    raw[where] ^= 0x01
    path.write_bytes(bytes(raw))


def age(path: Path, seconds: float) -> None:
    then = path.stat().st_mtime - seconds
    os.utime(path, (then, then))


def sweeper(rt: Any, **kwargs: Any) -> Sweeper:
    return Sweeper(rt.db, rt.vault, kwargs.pop("plan", UNLIMITED), **kwargs)
