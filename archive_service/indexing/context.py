"""What the search use cases work with: the database, the vault (renditions are encrypted
like documents), the search backend, the private temp area and the extraction and OCR limits."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archive_service.db import Database
from archive_service.vault.services import Vault
from search import SearchBackend
from search.extract import OcrLimits


@dataclass(frozen=True)
class Indexing:
    db: Database
    vault: Vault
    backend: Callable[[], SearchBackend]  # opened on first use
    temp_dir: Path
    extract_timeout: int = 60
    extract_memory_mb: int = 1024
    ocr: OcrLimits = OcrLimits()

    @property
    def index(self) -> SearchBackend:
        return self.backend()
