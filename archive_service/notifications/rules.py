"""The notifications' rules, plain and testable without a server: which channels a person
gets by default, how long a failed delivery waits before its next try, which webhook
addresses may be called, DingTalk's signature, and when a waiting step is reminded and
escalated (and to whom)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from archive_service.notifications.vocabulary import Channel, Stage

MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int, base_seconds: int) -> timedelta:
    """How long after its ``attempts``-th failed try a delivery is tried again: the base,
    then four times longer each time (1, 4, 16, 64 minutes with a one-minute base)."""
    return min(MAX_BACKOFF, timedelta(seconds=base_seconds * 4 ** max(0, attempts - 1)))


def default_channels(has_email: bool, webhooks: Iterable[str]) -> list[str]:
    """What a person gets who chose nothing: e-mail if the account has an address, and
    the group robots their department has (the notification centre always)."""
    return ([Channel.EMAIL] if has_email else []) + sorted(set(webhooks))


def address_allowed(
    host: str, addresses: Iterable[str], allowed: Iterable[str]
) -> tuple[bool, str]:
    """May a webhook on ``host`` (resolving to ``addresses``) be called? A public address
    may; a private, loopback, link-local or otherwise special one only when the host or a
    network holding the address is allow-listed (``ARCHIVE_NOTIFY_ALLOWED_HOSTS``): a URL
    an admin typed must not make the service probe its own network."""
    names = {a.strip().lower() for a in allowed if a.strip()}
    if host.lower() in names:
        return True, "allow-listed"
    networks = []
    for entry in names:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue  # a host name
    found = list(addresses)
    if not found:
        return False, "the host does not resolve"
    for text in found:
        ip = ipaddress.ip_address(text)
        if any(ip in net for net in networks):
            continue
        if not ip.is_global:
            return False, f"{host} is a private or local address"
    return True, "public"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64 of HMAC-SHA256 over ``"<timestamp>\\n<secret>"`` keyed by the
    secret (sent as the ``timestamp`` and ``sign`` query parameters, URL-encoded)."""
    text = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), text, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Waiting:
    """After how many working days a pending step reminds its approver, and after how many
    it tells the next person up."""

    remind: int
    escalate: int


# The rules' response times: access applications and role grants within a working day,
# change requests within two, destructions and transfers within three; escalation after
# twice the response time. ARCHIVE_REMIND_<CHAIN>_DAYS / ARCHIVE_ESCALATE_<CHAIN>_DAYS.
DEFAULT_WAITING = {
    "access": Waiting(1, 2),
    "role": Waiting(1, 2),
    "change": Waiting(2, 4),
    "destruction": Waiting(3, 6),
    "transfer": Waiting(3, 6),
}


def waiting_for(chain: str, remind: dict[str, int], escalate: dict[str, int]) -> Waiting:
    base = DEFAULT_WAITING[chain]
    return Waiting(remind.get(chain, base.remind), escalate.get(chain, base.escalate))


def stages_due(waited: int, waiting: Waiting, sent: Iterable[str]) -> list[str]:
    """The stages a step that has waited ``waited`` working days is owed and not yet sent."""
    done = set(sent)
    due = []
    if waited >= waiting.remind and Stage.REMINDED not in done:
        due.append(Stage.REMINDED)
    if waited >= waiting.escalate and Stage.ESCALATED not in done:
        due.append(Stage.ESCALATED)
    return due


@dataclass(frozen=True)
class Above:
    """Who is told when a step waits too long: holders of ``role``, in ``department``
    (a department code) or anywhere (None)."""

    role: str
    department: str | None


def next_up(step_role: str, step_department: str | None, operations: str) -> Above:
    """The next person up from a step's approver: the head of the step's department for a
    step decided in a department; the operations head above a department head (or a step
    of no department); the leader above the operations head."""
    if step_role == "operations_head":
        return Above("leader", None)
    if step_role == "leader":
        return Above("leader", None)  # nobody above: the other leaders
    if step_department is not None and step_role != "department_head":
        return Above("department_head", step_department)
    return Above("operations_head", operations)
