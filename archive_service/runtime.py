"""What a running process holds: settings, database, vault, signer, search backend, and the
sender of background jobs.

Built once per process by :func:`build_runtime` (web app factory, Celery worker, command
line) so every entry point runs the same code path. The job sender is handed in by the
entry point (``workers.sender.connect``): the runtime knows nothing of Celery. Use cases
receive the parts they use, never the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from archive_service import jobs
from archive_service.accounts.settings import AccountSettings
from archive_service.archive.settings import ArchiveSettings
from archive_service.audit.anchor import Anchor
from archive_service.audit.setup import build_anchor
from archive_service.checks.services import Checking
from archive_service.config import Settings
from archive_service.db import Database
from archive_service.disposal.signing import Signer, SigningKeySource
from archive_service.indexing.context import Indexing
from archive_service.indexing.term_key import load_search_key
from archive_service.vault.services import Vault
from archive_service.vault.setup import build_vault
from archive_service.viewing.workspace import Workspace
from search import SearchBackend
from search.extract import OcrLimits


@dataclass
class Runtime:
    settings: Settings
    db: Database
    accounts: AccountSettings
    archive: ArchiveSettings
    vault: Vault
    signing: SigningKeySource  # the destruction records' key, re-read when its file changes
    anchor: Anchor  # the audit trail's checkpoints outside the database
    search_key: bytes = field(default=b"", repr=False)  # keys the index's terms
    jobs: jobs.JobSender | None = None
    _index: Any = field(default=None, repr=False)

    @property
    def search_index(self) -> SearchBackend:
        """The search backend, opened on first use (web processes only read it): the index,
        the index publishing to web machines' replicas, or such a replica (settings)."""
        if self._index is None:
            from archive_service.indexing.replication import search_backend

            self._index = search_backend(self.settings, self.search_key)
        index: SearchBackend = self._index
        return index

    @property
    def signer(self) -> Signer:
        """The key that signs destruction records now (a rotated key file is picked up)."""
        return self.signing.current()

    @property
    def temp_dir(self) -> Path:
        """The private area (0700) where plaintext may briefly touch disk, then is removed."""
        path = Path(self.settings.temp_dir)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    @property
    def indexing(self) -> Indexing:
        """What the search use cases work with."""
        return Indexing(
            db=self.db,
            vault=self.vault,
            backend=lambda: self.search_index,
            temp_dir=self.temp_dir,
            extract_timeout=self.settings.extract_timeout_seconds,
            extract_memory_mb=self.settings.extract_memory_mb,
            ocr=OcrLimits(
                self.settings.ocr_max_pages,
                self.settings.ocr_page_seconds,
                self.settings.ocr_memory_mb,
            ),
        )

    @property
    def checking(self) -> Checking:
        """What the intake checks (四性检测) work with."""
        return Checking(
            db=self.db,
            vault=self.vault,
            temp_dir=self.temp_dir,
            archive=self.archive,
            timeout=self.settings.check_timeout_seconds,
            memory_mb=self.settings.check_memory_mb,
        )

    @property
    def viewing(self) -> Workspace:
        """Where supervised sessions keep their decrypted copies."""
        return Workspace(
            self.temp_dir / "viewing", self.vault, self.settings.render_timeout_seconds
        )

    def send(self, task: str, *args: Any) -> None:
        """Send a job now (outside any use case's transaction: schedulers, the CLI)."""
        if self.jobs is None:
            raise RuntimeError("this process has no job sender (workers.sender.connect)")
        self.jobs.send(task, *args)

    def close(self) -> None:
        closing = getattr(self.jobs, "close", None)
        if closing is not None:
            closing()
        self.db.dispose()


def build_runtime(settings: Settings) -> Runtime:
    rt = Runtime(
        settings=settings,
        db=Database(settings.database_url),
        accounts=AccountSettings.from_settings(settings),
        archive=ArchiveSettings.from_settings(settings),
        vault=build_vault(settings),
        signing=SigningKeySource(settings),
        anchor=build_anchor(settings),
        search_key=load_search_key(settings),
    )
    rt.signing.current()  # a bad key fails the start, not the first destruction
    jobs.install(rt.db.sessions, lambda: rt.jobs)
    return rt
