"""The directory's and the SSO gateway's settings as their use cases need them, read and
checked once at start (a mapping naming an unknown role fails the start, not a sign-in)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from archive_service.config import Settings
from archive_service.directory import rules


class HeaderSource(Protocol):
    """A request's headers (werkzeug's, or a plain mapping)."""

    def get(self, key: str) -> str | None: ...


@dataclass(frozen=True)
class DirectorySettings:
    """Where the directory is, how people are found in it, and what their groups give."""

    url: str
    user_base: str
    bind_dn: str = ""
    bind_password: str = field(default="", repr=False)
    ca_file: str = ""
    user_filter: str = "(&(objectClass=inetOrgPerson)(uid={username}))"
    username_attribute: str = "uid"
    disabled_filter: str = ""
    group_roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    department_attribute: str = "departmentNumber"
    departments: Mapping[str, str] = field(default_factory=dict)
    name_attribute: str = "displayName"
    email_attribute: str = "mail"
    timeout_seconds: int = 5

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise ValueError("ARCHIVE_LDAP_URL: ldaps://host[:port] or ldap://host[:port]")
        if not self.user_base:
            raise ValueError("ARCHIVE_LDAP_USER_BASE is required with ARCHIVE_LDAP_URL")
        if "{username}" not in self.user_filter:
            raise ValueError("ARCHIVE_LDAP_USER_FILTER must hold {username}")
        if not self.group_roles:
            raise ValueError("ARCHIVE_LDAP_GROUP_ROLES is required with ARCHIVE_LDAP_URL")

    @property
    def managed_roles(self) -> frozenset[str]:
        return rules.managed_roles(self.group_roles)

    @classmethod
    def from_settings(cls, settings: Settings) -> DirectorySettings | None:
        if not settings.ldap_url:
            return None
        password = settings.ldap_bind_password
        if settings.ldap_bind_password_file:
            password = Path(settings.ldap_bind_password_file).read_text().strip()
        return cls(
            url=settings.ldap_url,
            user_base=settings.ldap_user_base,
            bind_dn=settings.ldap_bind_dn,
            bind_password=password,
            ca_file=settings.ldap_ca_file,
            user_filter=settings.ldap_user_filter,
            username_attribute=settings.ldap_username_attribute,
            disabled_filter=settings.ldap_disabled_filter,
            group_roles=rules.group_roles(settings.ldap_group_roles),
            department_attribute=settings.ldap_department_attribute,
            departments=rules.departments(settings.ldap_departments),
            name_attribute=settings.ldap_name_attribute,
            email_attribute=settings.ldap_email_attribute,
            timeout_seconds=settings.ldap_timeout_seconds,
        )


@dataclass(frozen=True)
class SsoGate:
    """A reverse proxy (a WeCom / DingTalk SSO gateway) that has signed the person in and
    names them in ``header``; believed only from the ``proxies`` networks."""

    header: str
    proxies: tuple[rules.Network, ...]

    def username(self, headers: HeaderSource, peer: str | None) -> str | None:
        """The user the request's header names, if it came from a trusted proxy."""
        if not rules.trusted(peer, self.proxies):
            return None
        return rules.sso_username(headers.get(self.header))

    @classmethod
    def from_settings(cls, settings: Settings) -> SsoGate | None:
        if not settings.sso_header:
            return None
        proxies = rules.networks(settings.sso_trusted_proxies)
        if not proxies:
            raise ValueError("ARCHIVE_SSO_HEADER needs ARCHIVE_SSO_TRUSTED_PROXIES")
        return cls(header=settings.sso_header, proxies=proxies)
