"""The accounts' settings as their use cases need them: password policy, sign-in throttling,
token and web session lifetimes, the password hasher (argon2id; its cost is a setting
so tests can make it cheap while production keeps argon2-cffi's recommended strength), and
the directory and SSO gateway people may sign in through (``archive_service/directory``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from archive_service.accounts import rules
from archive_service.config import Settings
from archive_service.directory.client import LdapDirectory
from archive_service.directory.settings import DirectorySettings, SsoGate


@dataclass(frozen=True)
class HashCost:
    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4


class Passwords:
    """Hashing and checking passwords at one cost."""

    def __init__(self, cost: HashCost = HashCost()) -> None:
        self.cost = cost
        self._hasher = PasswordHasher(
            time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    @cached_property
    def dummy_hash(self) -> str:
        """Verified against unknown usernames, so a miss costs as long as a hit."""
        return self.hash("dummy password for timing")


@dataclass(frozen=True)
class AccountSettings:
    password_min_length: int = 12
    throttle: rules.ThrottlePolicy = rules.ThrottlePolicy()
    token_ttl: timedelta = timedelta(hours=12)
    sessions: rules.SessionTimeouts = rules.SessionTimeouts()
    passwords: Passwords = field(default_factory=Passwords)
    directory: LdapDirectory | None = None  # LDAP / AD (ARCHIVE_LDAP_*), if configured
    sso: SsoGate | None = None  # a trusted gateway's header (ARCHIVE_SSO_*), if configured

    @classmethod
    def from_settings(cls, settings: Settings) -> AccountSettings:
        return cls(
            password_min_length=settings.password_min_length,
            throttle=rules.ThrottlePolicy(
                threshold=settings.lockout_threshold,
                first_delay=timedelta(seconds=settings.lockout_first_delay_seconds),
                longest_delay=timedelta(minutes=settings.lockout_minutes),
                forget_after=timedelta(minutes=settings.lockout_window_minutes),
            ),
            token_ttl=timedelta(hours=settings.token_ttl_hours),
            sessions=rules.SessionTimeouts(
                idle=timedelta(minutes=settings.session_idle_minutes),
                lifetime=timedelta(hours=settings.session_hours),
            ),
            passwords=Passwords(
                HashCost(
                    time_cost=settings.password_hash_time_cost,
                    memory_kib=settings.password_hash_memory_kib,
                    parallelism=settings.password_hash_parallelism,
                )
            ),
            directory=_directory(settings),
            sso=SsoGate.from_settings(settings),
        )


def _directory(settings: Settings) -> LdapDirectory | None:
    config = DirectorySettings.from_settings(settings)
    return LdapDirectory(config) if config is not None else None


DEFAULT = AccountSettings()
