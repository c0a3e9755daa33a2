"""Vocabularies: the closed lists of codes the service stores (tiers, retention classes,
roles, statuses…), each stated once as a table with the words the interface shows.

A label is an English message in the vocabulary's context (gettext ``msgctxt``), so one
word can be translated two ways: the tier "important" (重要) is not the change flag
"important" (重要变更), the scale "medium" (中型) is not the retention class "medium"
(中期). Validation, API schemas, forms and templates all read the same table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from archive_service.errors import InvalidInput


@dataclass(frozen=True)
class Label:
    """A message to translate in a context; ``_t(context, english)`` marks one for extraction."""

    context: str
    english: str


def _t(context: str, english: str) -> Label:
    return Label(context, english)


@dataclass(frozen=True)
class Term:
    code: str
    label: Label


T = TypeVar("T", bound=Term)
_REGISTRY: dict[str, Vocabulary[Any]] = {}


class Vocabulary(Generic[T]):
    """An ordered table of terms; ``default`` is the one a form offers first."""

    def __init__(self, context: str, terms: Iterable[T], default: str | None = None) -> None:
        self.context = context
        self.terms: tuple[T, ...] = tuple(terms)
        self._by_code = {t.code: t for t in self.terms}
        if len(self._by_code) != len(self.terms):
            raise ValueError(f"vocabulary {context!r} repeats a code")
        if default is not None and default not in self._by_code:
            raise ValueError(f"default {default!r} is not in vocabulary {context!r}")
        for t in self.terms:
            if t.label.context != context:
                raise ValueError(f"term {t.code!r} is labelled in another context")
        self.default = default
        if context in _REGISTRY:
            raise ValueError(f"vocabulary {context!r} declared twice")
        _REGISTRY[context] = self

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.terms)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self) -> Iterator[T]:
        return iter(self.terms)

    def __getitem__(self, code: str) -> T:
        return self._by_code[code]

    def get(self, code: str | None) -> T | None:
        return self._by_code.get(code) if code is not None else None

    def check(
        self, value: Any, field: str, *, default: str | None = None, optional: bool = False
    ) -> str | None:
        """``value`` as a code of this vocabulary, or a 422 naming ``field``. An empty value
        is ``default`` if one is given, None when ``optional``, else refused."""
        if value in (None, ""):
            if default is not None:
                return default
            if optional:
                return None
        if value not in self._by_code:
            raise InvalidInput(f"{field} must be one of {', '.join(self.codes)}", field=field)
        return str(value)


def vocabulary(context: str) -> Vocabulary[Any]:
    """The vocabulary declared under ``context`` (templates label stored codes with it)."""
    return _REGISTRY[context]


def label_of(context: str, code: str | None) -> Label | None:
    """The label of a stored code, or None for an unknown vocabulary or code."""
    vocab = _REGISTRY.get(context)
    term = vocab.get(code) if vocab is not None else None
    return term.label if term is not None else None


def vocabularies() -> dict[str, Vocabulary[Any]]:
    return dict(_REGISTRY)


_CATALOGS: dict[str, Any] = {}


def chinese(label: Label) -> str:
    """The Chinese words of a label outside a request (the 409 of a blocked acceptance and
    the exports carry both languages)."""
    from pathlib import Path

    from babel.support import Translations

    catalog = _CATALOGS.get("zh")
    if catalog is None:
        here = Path(__file__).resolve().parent / "translations"
        catalog = _CATALOGS["zh"] = Translations.load(str(here), ["zh"])
    return str(catalog.pgettext(label.context, label.english))


def both_languages(words: Label | str) -> dict[str, str]:
    """``{"en": ..., "zh": ...}`` of a label, or the same text twice for words an operator
    wrote in a setting (shown as written)."""
    if isinstance(words, Label):
        return {"en": words.english, "zh": chinese(words)}
    return {"en": words, "zh": words}
