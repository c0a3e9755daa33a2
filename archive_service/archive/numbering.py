"""Archive numbers (档案编号) from a configurable pattern, as pure functions.

A pattern is text with tokens in braces:

``{category}``   the category's archive letter (e.g. ``K``)
``{customer}``   the customer's sequence number
``{year}``       the year of filing
``{seq}``        a sequence within the scope of the tokens before it
``{retention}``  the retention code: ``Y`` permanent, else ``D`` and the class's years
                 (``D30``, ``D10``; ``D25`` when the long class is set to 25 years)
``{fonds}``      the fonds code (全宗号) from settings
``{department}`` the owning department's code

A width after a colon pads with zeros: ``{seq:2}`` → ``01``. The default,
``{category}{customer:3}{year}{seq:2}``, reproduces the rules' example
``K001202301``: category K, customer 001, filed 2023, first of that year. A
DA/T 13 style pattern is ``{fonds}-{category}·{year}-{retention}-{seq:4}``.

The sequence counts within its *scope*: the values of every other token in
the pattern (so ``{seq}`` restarts per category, customer and year in the
default). Allocation (``archive.review``) keeps one counter row per scope
and takes it under a row lock, so numbers are unique and gapless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

TOKEN_RE = re.compile(r"\{(\w+)(?::(\d+))?\}")
KNOWN_TOKENS = {"category", "customer", "year", "seq", "retention", "fonds", "department"}
DEFAULT_PATTERN = "{category}{customer:3}{year}{seq:2}"


class PatternError(ValueError):
    pass


@dataclass(frozen=True)
class NumberPattern:
    text: str

    def __post_init__(self) -> None:
        tokens = [m.group(1) for m in TOKEN_RE.finditer(self.text)]
        unknown = set(tokens) - KNOWN_TOKENS
        if unknown:
            raise PatternError(f"unknown tokens: {', '.join(sorted(unknown))}")
        if tokens.count("seq") != 1:
            raise PatternError("a pattern needs exactly one {seq}")
        if "{" in TOKEN_RE.sub("", self.text) or "}" in TOKEN_RE.sub("", self.text):
            raise PatternError("unbalanced braces")

    @cached_property
    def tokens(self) -> list[str]:
        return [m.group(1) for m in TOKEN_RE.finditer(self.text)]

    @cached_property
    def _parts(self) -> tuple[tuple[str, str | None, int], ...]:
        """The text cut at its tokens: (literal before, token or None at the end, width)."""
        parts: list[tuple[str, str | None, int]] = []
        at = 0
        for m in TOKEN_RE.finditer(self.text):
            parts.append((self.text[at : m.start()], m.group(1), int(m.group(2) or 0)))
            at = m.end()
        parts.append((self.text[at:], None, 0))
        return tuple(parts)

    def scope(self, values: dict[str, str | int]) -> str:
        """The counter key: the pattern and every non-sequence value it uses."""
        parts = [f"{t}={values[t]}" for t in self.tokens if t != "seq"]
        return self.text + "|" + "|".join(parts)

    def render(self, values: dict[str, str | int], seq: int) -> str:
        # Rendered once per number of a series by the acceptance's gap check (the whole
        # series each time): cut once, joined here. A width pads digits with zeros and
        # never cuts: a sequence past its width widens rather than wraps (never reused).
        missing = [t for t in self.tokens if t != "seq" and t not in values]
        if missing:
            raise PatternError(f"missing values for: {', '.join(missing)}")
        out: list[str] = []
        for literal, name, width in self._parts:
            out.append(literal)
            if name is None:
                continue
            text = str(seq if name == "seq" else values[name])
            out.append(text.zfill(width) if width and text.isdigit() else text)
        return "".join(out)


_TOKEN_SHAPES = {
    "category": r"[A-Za-z0-9]+",
    "customer": r"\d+",
    "year": r"\d{4}",
    "seq": r"\d+",
    "retention": r"(?:Y|D\d+)",
    "fonds": r".+?",
    "department": r".+?",
}


def shape_of(pattern: NumberPattern) -> re.Pattern[str]:
    """A regular expression every number ``pattern`` can render matches (any values): an
    earlier number of that shape could meet one handed out later, so an import refuses it
    as an alias."""
    parts: list[str] = []
    at = 0
    for m in TOKEN_RE.finditer(pattern.text):
        parts.append(re.escape(pattern.text[at : m.start()]))
        parts.append(_TOKEN_SHAPES[m.group(1)])
        at = m.end()
    parts.append(re.escape(pattern.text[at:]))
    return re.compile("".join(parts), re.IGNORECASE)


def series_gaps(
    pattern: NumberPattern, values: dict[str, str | int], last: int, existing: set[str]
) -> list[str]:
    """The numbers of one scope's series, 1 … ``last``, that are not in ``existing``: a gap
    in what should be gapless (a number handed out and then lost)."""
    return [
        n for n in (pattern.render(values, seq) for seq in range(1, last + 1)) if n not in existing
    ]
