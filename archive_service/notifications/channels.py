"""The channels a notification goes out on: e-mail over SMTP (STARTTLS or TLS, with AUTH)
and the WeCom (企业微信) and DingTalk (钉钉) group robots' webhooks.

Small adapters on the standard library rather than Apprise: Apprise's ``wecombot://`` and
``dingtalk://`` post to the vendors' fixed hosts from a key, so neither a self-hosted relay
nor the tests' receiver can be named, and they leave no place to refuse a webhook on a
private address before connecting; the SMTP path is ``smtplib`` either way.

A failure is a :class:`DeliveryError` whose text is safe to store and show (the error's
class, the server's code): never the password, the robot's key or the signing secret.
"""

from __future__ import annotations

import json
import smtplib
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from archive_service.config import Settings
from archive_service.notifications.rules import address_allowed, dingtalk_sign
from archive_service.notifications.vocabulary import Channel


class DeliveryError(Exception):
    """A channel could not deliver; ``str()`` is safe to keep and show to admins."""


class NotConfigured(DeliveryError):
    """The channel is not set up in this installation (no mail server): not a failure."""


class Refused(DeliveryError):
    """Delivery will never work as configured (a webhook on a private address): not retried."""


@dataclass(frozen=True)
class Message:
    """What every channel sends: a title and lines in Chinese and English, and a link."""

    title: str
    lines_zh: list[str]
    lines_en: list[str]
    link: str

    def text(self) -> str:
        return "\n".join([*self.lines_zh, *self.lines_en, self.link])

    def markdown(self) -> str:
        body = "\n\n".join([*self.lines_zh, *self.lines_en])
        return f"**{self.title}**\n\n{body}\n\n[{self.link}]({self.link})"


@dataclass(frozen=True)
class Smtp:
    host: str = ""
    port: int = 587
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    starttls: bool = True
    tls: bool = False  # implicit TLS (port 465) instead of STARTTLS
    ca_file: str = ""  # a private CA for the server's certificate (else the system's)
    timeout: float = 10.0

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender)

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)

    def send(self, to: str, message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self.sender
        mail["To"] = to
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        mail.set_content(message.text())
        try:
            if self.tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.starttls and not self.tls:
                    client.starttls(context=self._context())
                if self.username:
                    client.login(self.username, self.password)
                client.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"{type(exc).__name__}: SMTP {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(type(exc).__name__) from None


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A robot's answer is never followed elsewhere: a redirect could lead the post to an
    address ``Webhooks.check`` would refuse (it is an error, answered as its status)."""

    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class Webhooks:
    """Posting to group robots: which private addresses are allowed, and how long to wait."""

    allowed: tuple[str, ...] = ()
    timeout: float = 10.0

    def check(self, url: str) -> None:
        """Refuse a URL that is not http(s) or whose host is private and not allow-listed."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise Refused("a webhook is an http(s) URL")
        try:
            infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
        except OSError:
            infos = []
        addresses = sorted({str(info[4][0]) for info in infos})
        ok, why = address_allowed(parts.hostname, addresses, self.allowed)
        if not ok:
            raise Refused(f"webhook refused: {why}")

    def post(self, url: str, payload: dict[str, object]) -> None:
        self.check(url)
        request = urllib.request.Request(  # noqa: S310 - check() allowed http(s) only
            url,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
            method="POST",
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as resp:
                answer = json.loads(resp.read(65536) or b"{}")
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise DeliveryError(type(exc).__name__) from None
        code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        if code:
            raise DeliveryError(f"robot answered errcode {code}")

    def wecom(self, url: str, message: Message) -> None:
        """A WeCom group robot: ``{"msgtype": "markdown", "markdown": {"content"}}``."""
        self.post(url, {"msgtype": "markdown", "markdown": {"content": message.markdown()}})

    def dingtalk(self, url: str, secret: str | None, message: Message) -> None:
        """A DingTalk group robot; with a secret, the URL is signed (``timestamp``, ``sign``)."""
        if secret:
            ts = int(time.time() * 1000)
            sign = urllib.parse.quote_plus(dingtalk_sign(secret, ts))
            url = f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={sign}"
        self.post(
            url,
            {
                "msgtype": "markdown",
                "markdown": {"title": message.title, "text": message.markdown()},
            },
        )


@dataclass(frozen=True)
class Channels:
    """The channels as configured for this process (``from_settings``)."""

    smtp: Smtp = Smtp()
    webhooks: Webhooks = Webhooks()
    public_url: str = ""  # links in messages are absolute when this is set

    @classmethod
    def from_settings(cls, s: Settings) -> Channels:
        allowed = tuple(a.strip() for a in s.notify_allowed_hosts.split(",") if a.strip())
        return cls(
            smtp=Smtp(
                host=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                sender=s.smtp_from,
                starttls=s.smtp_starttls,
                tls=s.smtp_tls,
                ca_file=s.smtp_ca_file,
                timeout=float(s.smtp_timeout_seconds),
            ),
            webhooks=Webhooks(allowed, float(s.notify_webhook_timeout_seconds)),
            public_url=s.public_url.rstrip("/"),
        )

    def available(self) -> set[str]:
        """The external channels this process can use."""
        return ({Channel.EMAIL} if self.smtp.configured else set()) | {
            Channel.WECOM,
            Channel.DINGTALK,
        }
