"""The instance folder: created on first start, holds the embedded default's state.

Secrets generated here (the session secret; the master keyring later) are
written with 0600 permissions; production mounts them instead.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from archive_service.config import Settings

log = logging.getLogger(__name__)


def write_secret_file(path: Path, content: str) -> None:
    """Create ``path`` readable by the owner only, atomically."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def ensure_instance(settings: Settings) -> None:
    inst = Path(settings.instance_dir)
    inst.mkdir(parents=True, exist_ok=True, mode=0o700)
    for folder in (settings.storage_dir, settings.search_index_dir):
        if folder and "://" not in folder:
            Path(folder).mkdir(parents=True, exist_ok=True, mode=0o700)


def secret_key(settings: Settings) -> str:
    """The session-signing secret: from settings, else generated into the instance folder."""
    if settings.secret_key:
        return settings.secret_key
    if not settings.embedded:
        raise RuntimeError("ARCHIVE_SECRET_KEY must be set outside the embedded default")
    path = Path(settings.instance_dir) / "secret_key"
    if not path.exists():
        ensure_instance(settings)
        write_secret_file(path, secrets.token_urlsafe(48))
        log.warning("generated a session secret in %s (embedded default)", path)
    return path.read_text().strip()
