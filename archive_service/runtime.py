"""What a running process holds: settings, database, derived policies.

Built once per process by :func:`build_runtime` (web app factory, Celery
worker, command line) so every entry point runs the same code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from archive_service.accounts.rules import LockoutPolicy
from archive_service.accounts.services import AccountSettings
from archive_service.config import Settings
from archive_service.db import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    accounts: AccountSettings

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
    return Runtime(settings=settings, db=Database(settings.database_url), accounts=accounts)
