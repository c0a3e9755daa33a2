"""What a running process holds: settings, database, derived policies.

Built once per process by :func:`build_runtime` (web app factory, Celery
worker, command line) so every entry point runs the same code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from archive_service.accounts.rules import LockoutPolicy
from archive_service.accounts.services import AccountSettings
from archive_service.archive.numbering import NumberPattern
from archive_service.archive.retention import RetentionRules
from archive_service.archive.services import ArchiveSettings
from archive_service.config import Settings
from archive_service.db import Database
from archive_service.vault.services import Vault
from archive_service.vault.setup import build_vault


@dataclass
class Runtime:
    settings: Settings
    db: Database
    accounts: AccountSettings
    archive: ArchiveSettings
    vault: Vault

    def close(self) -> None:
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
    return Runtime(
        settings=settings,
        db=Database(settings.database_url),
        accounts=accounts,
        archive=archive_settings(settings),
        vault=build_vault(settings),
    )


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
