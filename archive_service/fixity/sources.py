"""Where good copies of the encrypted objects come from: the backup target's objects
(``ARCHIVE_BACKUP_TO``, a folder or an S3 prefix), under the document store's names.

The one place that knows it, so the repair takes whatever store it is handed.
"""

from __future__ import annotations

import logging

from archive_service.backup.target import TargetError, open_objects
from archive_service.config import Settings
from storage.backends.base import ObjectStore

log = logging.getLogger(__name__)


def good_copies(settings: Settings) -> ObjectStore | None:
    """The backup's objects as a store, or None when no target is set or it is unusable
    (the sweep then records failures as not repairable, and says why)."""
    try:
        return open_objects(settings)
    except TargetError:
        log.exception("backup target unusable: failures cannot be repaired from it")
        return None
