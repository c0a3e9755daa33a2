"""Where good copies of the encrypted objects come from: the backup target's objects.

The one place that knows it, so the repair takes whatever store it is handed. For now a
folder target (``ARCHIVE_BACKUP_TO``) holds the objects verbatim under ``objects/``.
"""

from __future__ import annotations

from pathlib import Path

from archive_service.config import Settings
from storage.backends.base import ObjectStore
from storage.backends.local import LocalStore


def good_copies(settings: Settings) -> ObjectStore | None:
    """The backup's objects as a store, or None when there is no folder target."""
    target = settings.extra.get("backup_to") or settings.backup_to
    if not target or "://" in str(target):
        return None
    objects = Path(target) / "objects"
    return LocalStore(objects) if objects.is_dir() else None
