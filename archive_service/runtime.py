"""What a running process holds: settings, database, derived policies.

Built once per process by :func:`build_runtime` (web app factory, Celery
worker, command line) so every entry point runs the same code path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive_service import jobs
from archive_service.accounts.rules import LockoutPolicy
from archive_service.accounts.services import AccountSettings
from archive_service.archive.numbering import NumberPattern
from archive_service.archive.retention import RetentionRules
from archive_service.archive.services import ArchiveSettings
from archive_service.config import Settings
from archive_service.db import Database
from archive_service.disposal.signing import Signer, load_signer
from archive_service.vault.services import Vault
from archive_service.vault.setup import build_vault

if TYPE_CHECKING:
    from celery import Celery

    from search.index import SearchIndex


@dataclass
class Runtime:
    settings: Settings
    db: Database
    accounts: AccountSettings
    archive: ArchiveSettings
    vault: Vault
    signer: Signer
    _index: Any = field(default=None, repr=False)
    _celery: Any = field(default=None, repr=False)

    @property
    def search_index(self) -> SearchIndex:
        """The Whoosh index, opened on first use (web processes only read it)."""
        if self._index is None:
            from search.index import SearchIndex

            self._index = SearchIndex(self.settings.search_index_dir)
        return self._index  # type: ignore[no-any-return]

    @property
    def celery(self) -> Celery:
        """A Celery client for this runtime's broker (the tasks live in ``workers.tasks``)."""
        if self._celery is None:
            from workers.celery_app import make_celery

            self._celery = make_celery(self.settings)
        return self._celery  # type: ignore[no-any-return]

    @property
    def temp_dir(self) -> Path:
        """The private area (0700) where plaintext may briefly touch disk, then is removed."""
        path = Path(self.settings.temp_dir)
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        return path

    def close(self) -> None:
        if self._celery is not None:
            self._celery.close()
        self.db.dispose()


def build_runtime(settings: Settings) -> Runtime:
    accounts = AccountSettings(
        password_min_length=settings.password_min_length,
        lockout=LockoutPolicy(
            threshold=settings.lockout_threshold,
            window=timedelta(minutes=settings.lockout_window_minutes),
            duration=timedelta(minutes=settings.lockout_minutes),
        ),
        token_ttl=timedelta(hours=settings.token_ttl_hours),
    )
    rt = Runtime(
        settings=settings,
        db=Database(settings.database_url),
        accounts=accounts,
        archive=archive_settings(settings),
        vault=build_vault(settings),
        signer=load_signer(settings),
    )
    jobs.install(rt, rt.db.sessions)
    return rt


def archive_settings(settings: Settings) -> ArchiveSettings:
    rules = RetentionRules(
        class_years={
            "permanent": None,
            "long": settings.retention_long_years,
            "medium": settings.retention_medium_years,
            "short": settings.retention_short_years,
        },
        tier_minimum={
            "core": settings.tier_minimum_core,
            "important": settings.tier_minimum_important,
            "potential": settings.tier_minimum_potential,
            "ordinary": settings.tier_minimum_ordinary,
        },
        release_minimum_years=settings.hold_release_years,
    )
    return ArchiveSettings(
        number_pattern=NumberPattern(settings.number_pattern),
        fonds=settings.fonds,
        retention=rules,
        max_upload_bytes=settings.max_upload_mb * 1024 * 1024,
        joint_review_tiers=frozenset(
            t.strip() for t in settings.joint_review_tiers.split(",") if t.strip()
        ),
    )
