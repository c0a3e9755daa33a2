"""A notification's words in a language: its line filled from the vocabulary (the subject
``%(what)s``, the outcome), and the message every external channel sends (Chinese first,
then English, then the link)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archive_service.notifications.channels import Message
from archive_service.notifications.models import Notification
from archive_service.notifications.vocabulary import (
    KINDS,
    OUTCOMES,
    SUBJECTS,
    TITLE,
    Kind,
)
from archive_service.vocabulary import Label, chinese

Translate = Callable[[Label], str]


def english(label: Label) -> str:
    return label.english


class _Words(dict[str, Any]):
    """Fills a line; a word a line names and the notification lacks is shown as empty."""

    def __missing__(self, key: str) -> str:
        return ""


def line(n: Notification, translate: Translate) -> str:
    """The one line a notification says, in the language of ``translate``."""
    words = _Words(n.words or {})
    words["number"] = n.archive_number or words.get("number", "")
    subject = SUBJECTS.get(n.subject)
    if subject is not None:
        words["what"] = translate(subject.label) % {"number": words["number"]}
    if words.get("outcome") in OUTCOMES:
        words["outcome"] = translate(OUTCOMES[words["outcome"]].label)
    kind = KINDS.get(n.kind)
    text = translate(kind.line) if kind is not None else n.kind
    return text % words


def link(n: Notification, public_url: str) -> str:
    return f"{public_url}{n.link}" if public_url else n.link


def message(items: list[Notification], public_url: str, title: Label = TITLE) -> Message:
    """The message for one notification, or for several (the digest), in both languages."""
    count = {"count": len(items)}
    return Message(
        title=f"{chinese(title) % count} / {title.english % count}",
        lines_zh=[line(n, chinese) for n in items],
        lines_en=[line(n, english) for n in items],
        link=link(items[0], public_url) if len(items) == 1 else f"{public_url}/notifications/",
    )


__all__ = ["Kind", "line", "link", "message"]
