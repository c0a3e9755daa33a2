"""The secret that keys the search index's terms: from the settings, or generated into the
instance folder (embedded default). Never kept in the index folder, which the web mounts
and which backups copy: the index read without it reveals no word, number or code."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from archive_service.config import Settings
from archive_service.instance import write_secret_file

log = logging.getLogger(__name__)
KEY_FILE = "search_key"
KEY_BYTES = 32


def new_key_text() -> str:
    """A fresh key, as a key file holds it (64 hex digits and a newline)."""
    return secrets.token_hex(KEY_BYTES) + "\n"


def _parse(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError(f"{where}: the search key must be hexadecimal digits") from None
    if len(key) < KEY_BYTES:
        raise ValueError(f"{where}: the search key must be at least {KEY_BYTES * 2} hex digits")
    return key


def _inside(path: Path, folder: str) -> bool:
    if not folder:
        return False
    return path.resolve().is_relative_to(Path(folder).resolve())


def load_search_key(settings: Settings) -> bytes:
    """``ARCHIVE_SEARCH_KEY``, else the file ``ARCHIVE_SEARCH_KEY_FILE``, else
    ``<instance>/search_key``, generated on first use (logged loudly outside the embedded
    default: every process that reads or writes the index needs the same key)."""
    if settings.search_key:
        return _parse(settings.search_key, "ARCHIVE_SEARCH_KEY")
    path = Path(settings.search_key_file or Path(settings.instance_dir) / KEY_FILE)
    if _inside(path, settings.search_index_dir):
        raise ValueError(
            "ARCHIVE_SEARCH_KEY_FILE lies inside the search index folder: keep the key "
            "where a copy of the index does not reach"
        )
    if not settings.search_key_file and not path.exists():
        if not settings.embedded:
            log.warning(
                "no ARCHIVE_SEARCH_KEY_FILE set: generated %s; processes on other hosts "
                "would key the index differently — mount one key everywhere",
                path,
            )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_secret_file(path, new_key_text())
    return _parse(path.read_text(encoding="ascii"), str(path))
