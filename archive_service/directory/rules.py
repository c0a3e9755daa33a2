"""Pure rules of the directory: reading the mappings an operator writes, the roles and the
department a person's groups and entry give, and whether an address may name the user
(an SSO gateway's header)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from typing import Protocol

from archive_service.accounts.vocabulary import EXTERNAL_ROLE, ROLES

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def normalise_dn(dn: str) -> str:
    """A DN as compared here: lower case, no spaces around ``,`` and ``=`` (directories
    answer ``CN=Archive Clerks, OU=Groups`` and ``cn=archive clerks,ou=groups`` alike)."""
    parts = []
    for rdn in dn.split(","):
        key, _sep, value = rdn.partition("=")
        parts.append(f"{key.strip().lower()}={value.strip().lower()}")
    return ",".join(parts)


def parse_mapping(text: str, what: str) -> dict[str, list[str]]:
    """``key=value;key=value`` or a JSON object (values a string or a list of strings).

    A key may hold ``=`` itself (a DN): each item is split at its *last* ``=``.
    """
    text = (text or "").strip()
    if not text:
        return {}
    out: dict[str, list[str]] = {}
    if text.startswith("{"):
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{what}: not valid JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise ValueError(f"{what}: a JSON object is expected")
        for key, value in raw.items():
            values = [value] if isinstance(value, str) else value
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"{what}: {key!r} must map to a string or a list of strings")
            out.setdefault(str(key).strip(), []).extend(v.strip() for v in values)
        return out
    for item in text.split(";"):
        if not item.strip():
            continue
        key, sep, value = item.rpartition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"{what}: {item.strip()!r} is not key=value")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def group_roles(text: str) -> dict[str, frozenset[str]]:
    """``ARCHIVE_LDAP_GROUP_ROLES`` as {normalised group DN: roles}. Every role must exist;
    the external viewer's role is never given by a group (only from an application)."""
    out: dict[str, frozenset[str]] = {}
    for group, roles in parse_mapping(text, "ARCHIVE_LDAP_GROUP_ROLES").items():
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ValueError(f"ARCHIVE_LDAP_GROUP_ROLES: unknown roles {', '.join(unknown)}")
        if EXTERNAL_ROLE in roles:
            raise ValueError(
                f"ARCHIVE_LDAP_GROUP_ROLES: the {EXTERNAL_ROLE} role comes only from an "
                "approved account application"
            )
        key = normalise_dn(group)
        out[key] = out.get(key, frozenset()) | frozenset(roles)
    return out


def departments(text: str) -> dict[str, str]:
    """``ARCHIVE_LDAP_DEPARTMENTS`` as {directory value, lower case: department code}."""
    out = {}
    for value, codes in parse_mapping(text, "ARCHIVE_LDAP_DEPARTMENTS").items():
        if len(codes) != 1:
            raise ValueError(f"ARCHIVE_LDAP_DEPARTMENTS: {value!r} names several departments")
        out[value.lower()] = codes[0].upper()
    return out


def managed_roles(mapping: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The roles the directory decides: those some mapped group gives."""
    return frozenset().union(*mapping.values()) if mapping else frozenset()


def roles_from_groups(
    groups: Iterable[str], mapping: Mapping[str, frozenset[str]]
) -> frozenset[str]:
    """The roles a person's groups (normalised DNs) give."""
    found: set[str] = set()
    for group in groups:
        found |= mapping.get(group, frozenset())
    return frozenset(found)


def next_roles(
    current: Iterable[str], from_directory: Iterable[str], managed: Iterable[str]
) -> list[str]:
    """The account's roles after the directory speaks: the managed roles as its groups
    give them; roles no group gives (given here, by admins) stay as they are."""
    managed_set = set(managed)
    return sorted((set(current) - managed_set) | (set(from_directory) & managed_set))


class Found(Protocol):
    """A person as the directory describes them (``client.Person``)."""

    @property
    def disabled(self) -> bool: ...


def leaves(person: Found | None) -> bool:
    """Does the sync close the account of this person (None: no longer in the directory)?"""
    return person is None or person.disabled


def too_many_leavers(closing: int, limit: int) -> bool:
    """A sync that would close more than ``limit`` accounts at once changes nothing
    (0: no limit): an empty answer from a misconfigured directory must not close everyone."""
    return limit > 0 and closing > limit


def department_value(dn: str, attribute_values: Iterable[str], attribute: str) -> str | None:
    """The directory's word for the person's department: the attribute's first value, or
    with ``ou`` the entry's own (first) organisational unit."""
    if attribute.lower() == "ou":
        for rdn in dn.split(",")[1:]:
            key, _sep, value = rdn.partition("=")
            if key.strip().lower() == "ou" and value.strip():
                return value.strip()
        return None
    for value in attribute_values:
        if value and value.strip():
            return value.strip()
    return None


def department_code(value: str | None, mapping: Mapping[str, str]) -> str | None:
    """The department code for the directory's value: through the mapping when one is set,
    else the value itself (as a code: upper case)."""
    if value is None:
        return None
    if mapping:
        return mapping.get(value.lower())
    return value.upper()


def networks(text: str) -> tuple[Network, ...]:
    """``ARCHIVE_SSO_TRUSTED_PROXIES``: comma- or space-separated addresses and CIDRs."""
    out = []
    for item in (text or "").replace(",", " ").split():
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"ARCHIVE_SSO_TRUSTED_PROXIES: {item!r} is not an address") from exc
    return tuple(out)


def trusted(address: str | None, allowed: Iterable[Network]) -> bool:
    """Is ``address`` (the connection's peer) one of the allow-listed proxies?"""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in allowed)


def sso_username(value: str | None) -> str | None:
    """The user a gateway's header names, as sent (no realm is cut off: ``name@other``
    is not ``name``)."""
    name = (value or "").strip()
    return name[:150] or None
