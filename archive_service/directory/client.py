"""The directory over LDAP (ldap3): the only module that speaks to it.

Every connection is TLS with the server's certificate checked: ``ldaps://`` from the first
byte, ``ldap://`` upgraded with StartTLS before anything is sent; there is no plaintext
mode. A directory that cannot be reached, refuses the service account or shows an
untrusted certificate raises :class:`DirectoryUnavailable`; a wrong password does not.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ldap3 import BASE, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from archive_service.directory import rules
from archive_service.directory.settings import DirectorySettings

log = logging.getLogger(__name__)

INVALID_CREDENTIALS = 49
NO_SUCH_OBJECT = 32


class DirectoryUnavailable(Exception):
    """The directory cannot be asked now (down, refusing, certificate not trusted)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Person:
    """A person as the directory describes them."""

    dn: str
    username: str
    display_name: str
    email: str | None
    department: str | None  # the directory's value (rules.department_value)
    groups: frozenset[str]  # the mapped groups they are in (normalised DNs)
    disabled: bool


def _first(attributes: dict[str, Any], name: str) -> str | None:
    for key, value in attributes.items():
        if key.lower() == name.lower():
            values = value if isinstance(value, list) else [value]
            for v in values:
                if v not in (None, ""):
                    return str(v)
    return None


def _all(attributes: dict[str, Any], name: str) -> list[str]:
    for key, value in attributes.items():
        if key.lower() == name.lower():
            return [str(v) for v in (value if isinstance(value, list) else [value])]
    return []


def _close(conn: Connection) -> None:
    """Close a connection, whatever state a failure left it in."""
    try:
        conn.unbind()
    except (LDAPException, OSError):
        log.debug("directory: closing a broken connection failed", exc_info=True)


class Reader:
    """Searches over one service-account connection (a sign-in, a whole sync)."""

    def __init__(self, conn: Connection, config: DirectorySettings) -> None:
        self._conn = conn
        self._config = config
        self._groups: dict[str, frozenset[str]] | None = None

    def _search(self, base: str, query: str, scope: str, attributes: list[str]) -> list[Any]:
        try:
            ok = self._conn.search(base, query, scope, attributes=attributes, size_limit=0)
        except LDAPException as exc:
            raise DirectoryUnavailable(f"search failed: {exc}") from exc
        if not ok and self._conn.result.get("result") not in (0, NO_SUCH_OBJECT):
            raise DirectoryUnavailable(f"search refused: {self._conn.result.get('description')}")
        if not ok and self._conn.result.get("result") == NO_SUCH_OBJECT:
            return []
        return [r for r in self._conn.response or [] if r.get("type") == "searchResEntry"]

    def find(self, username: str) -> tuple[str, dict[str, Any]] | None:
        """The entry (DN, attributes) of the one person with this username, if any."""
        config = self._config
        if not username:
            return None
        query = config.user_filter.replace("{username}", escape_filter_chars(username))
        wanted = [
            config.username_attribute,
            config.name_attribute,
            "cn",
            config.email_attribute,
        ]
        if config.department_attribute.lower() != "ou":
            wanted.append(config.department_attribute)
        found = self._search(config.user_base, query, SUBTREE, wanted)
        if not found and self._conn.result.get("result") == NO_SUCH_OBJECT:
            raise DirectoryUnavailable(f"the user base {config.user_base!r} does not exist")
        if len(found) != 1:
            if found:
                log.warning("directory: %d entries match %r; none is used", len(found), username)
            return None
        return str(found[0]["dn"]), dict(found[0].get("attributes") or {})

    def groups(self) -> dict[str, frozenset[str]]:
        """The members (normalised DNs) of every mapped group, read once per connection.
        A mapped group that does not exist is a setting gone wrong: an error, so a sync
        never takes roles away because of it."""
        if self._groups is None:
            members: dict[str, frozenset[str]] = {}
            for group in self._config.group_roles:
                found = self._search(group, "(objectClass=*)", BASE, ["member", "uniqueMember"])
                if not found:
                    raise DirectoryUnavailable(f"mapped group {group!r} not found")
                attrs = dict(found[0].get("attributes") or {})
                dns = _all(attrs, "member") + _all(attrs, "uniqueMember")
                members[group] = frozenset(rules.normalise_dn(d) for d in dns)
            self._groups = members
        return self._groups

    def disabled(self, dn: str) -> bool:
        if not self._config.disabled_filter:
            return False
        return bool(self._search(dn, self._config.disabled_filter, BASE, ["1.1"]))

    def person(self, username: str) -> Person | None:
        """The person with this username, their mapped groups, and whether disabled."""
        entry = self.find(username)
        if entry is None:
            return None
        return self.describe(*entry, username=username)

    def describe(self, dn: str, attributes: dict[str, Any], username: str) -> Person:
        """The person of an entry; their username as the directory spells it (``username``,
        as asked for, when the entry does not show that attribute)."""
        config = self._config
        me = rules.normalise_dn(dn)
        groups = frozenset(g for g, members in self.groups().items() if me in members)
        name = _first(attributes, config.username_attribute) or username
        return Person(
            dn=dn,
            username=name,
            display_name=(
                _first(attributes, config.name_attribute) or _first(attributes, "cn") or name
            ),
            email=_first(attributes, config.email_attribute),
            department=rules.department_value(
                dn, _all(attributes, config.department_attribute), config.department_attribute
            ),
            groups=groups,
            disabled=self.disabled(dn),
        )


class LdapDirectory:
    """The configured directory: sign-in by binding as the person, look-ups by the
    service account."""

    def __init__(self, config: DirectorySettings) -> None:
        self.config = config
        parts = urlsplit(config.url)
        self._ldaps = parts.scheme == "ldaps"
        # ssl's default context (TLS 1.2 or later); ldap3 then checks the name itself.
        tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=config.ca_file or None)
        assert parts.hostname is not None
        self._server = Server(
            parts.hostname,
            port=parts.port or (636 if self._ldaps else 389),
            use_ssl=self._ldaps,
            tls=tls,
            get_info=NONE,
            connect_timeout=config.timeout_seconds,
        )

    def _bind(self, user: str | None, password: str | None) -> Connection | None:
        """A TLS connection bound as ``user`` (None: the password was refused)."""
        conn = Connection(
            self._server,
            user=user,
            password=password,
            read_only=True,
            receive_timeout=self.config.timeout_seconds,
            raise_exceptions=False,
        )
        try:
            conn.open()
            if not self._ldaps:
                conn.start_tls()
            if conn.bind():
                return conn
        except LDAPException as exc:
            _close(conn)
            raise DirectoryUnavailable(f"{type(exc).__name__}: {exc}") from exc
        result, description = conn.result.get("result"), conn.result.get("description")
        _close(conn)
        if result == INVALID_CREDENTIALS:
            return None
        raise DirectoryUnavailable(f"bind refused: {description}")

    @contextmanager
    def reading(self) -> Iterator[Reader]:
        """Searches as the service account (anonymous when no bind DN is set)."""
        conn = self._bind(self.config.bind_dn or None, self.config.bind_password or None)
        if conn is None:
            raise DirectoryUnavailable("the service account's password was refused")
        try:
            yield Reader(conn, self.config)
        finally:
            _close(conn)

    def authenticate(self, username: str, password: str) -> tuple[str, Person | None]:
        """("ok", the person) when the directory accepts the password; ("unknown user",
        None) or ("wrong password", None) when it does not."""
        with self.reading() as reader:
            entry = reader.find(username)
            if entry is None:
                return "unknown user", None
            # An empty password would be an unauthenticated bind, which succeeds (RFC 4513).
            if not password:
                return "wrong password", None
            conn = self._bind(entry[0], password)
            if conn is None:
                return "wrong password", None
            _close(conn)
            return "ok", reader.describe(*entry, username=username)

    def person(self, username: str) -> Person | None:
        with self.reading() as reader:
            return reader.person(username)
