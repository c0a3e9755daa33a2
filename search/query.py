"""The one query box: a small, forgiving parser to a search plan, and highlighting.

Syntax: words and ``"quoted phrases"`` are all required (AND); ``a OR b`` makes
either enough; ``-word`` or ``NOT word`` excludes from the whole box, wherever it
stands (``(A AND NOT B) OR C`` is (A OR C) AND NOT B: a document holding B is never
returned); a lone ``*`` matches everything.
Each word is looked for in the title, body, customer name and tags, and exactly
in the archive numbers, identifiers and customer code. A quoted phrase or a word
mixing scripts (``HT-2023-001``, ``2023年``) must appear as that sequence of
terms; an unquoted Chinese word must contain all its bigrams. Anything else
(parentheses, ``:``, a missing closing quote) is read as plain text or ignored;
a query left with nothing to search for raises :class:`QueryError`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from search.analysis import CJK_CHARS, fold, is_cjk, normalize_identifier, query_terms, spans


class QueryError(ValueError):
    """A query that cannot be searched; the message is fit to show to the user."""


# Full-text fields and their weights: a match in the title or a customer's name
# says more about a document than one somewhere in a long body.
TEXT_FIELDS: dict[str, float] = {"title": 3.0, "customer_name": 2.0, "tags": 2.0, "body": 1.0}
# Exact fields: typing a number in the box should put that document first.
EXACT_FIELDS: dict[str, float] = {"numbers": 8.0, "identifiers": 6.0, "customer_code": 4.0}

_OPERATORS = {"AND", "OR", "NOT"}
_HAS_ALNUM = re.compile(r"[0-9A-Za-z]")


@dataclass(frozen=True)
class Unit:
    """A word or quoted phrase of the query box."""

    text: str
    negated: bool = False
    phrase: bool = False


def split_units(text: str) -> list[Unit | str]:
    """Words, phrases and the operators ``OR`` / ``NOT`` (as strings), in order."""
    items: list[Unit | str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        negated = False
        if ch == "-" and i + 1 < n and not text[i + 1].isspace():
            negated, i = True, i + 1
            ch = text[i]
        if ch in '"“”':
            # A missing closing quote runs the phrase to the end: forgiving, not an error.
            end = min((j for j in (text.find(q, i + 1) for q in '"“”') if j != -1), default=n)
            items.append(Unit(text[i + 1 : end], negated=negated, phrase=True))
            i = end + 1
            continue
        end = i
        while end < n and not text[end].isspace() and (end == i or text[end] not in '"“”'):
            end += 1
        word = text[i:end]
        i = end
        if not negated and word in _OPERATORS:
            items.append(word)
        else:
            items.append(Unit(word, negated=negated))
    return items


@dataclass(frozen=True)
class Clause:
    """One way a unit can match: ``terms`` in order in ``field`` (one term: a term query)."""

    field: str
    terms: tuple[str, ...]
    boost: float
    # A lone Chinese character: it is indexed as a unigram only at the edges of a
    # run of Chinese, and inside a run it starts a bigram, so both are looked up.
    prefix: bool = False
    # Several terms: must they be checked to follow each other (positions), or is
    # containing them all enough? An unquoted Chinese word is its overlapping bigrams,
    # which almost never all occur without the word itself; skipping the position
    # check makes common words ~10x cheaper. Quoted phrases and mixed text are exact.
    ordered: bool = True
    # Keyed plans only (search.keyed): the index terms of every bigram a lone Chinese
    # character can start, looked up in place of the term dictionary's prefixes.
    expand: tuple[str, ...] = ()


# One unit: a document matches when any of its clauses does.
UnitPlan = tuple[Clause, ...]


@dataclass(frozen=True)
class Plan:
    """A parsed query box: every group must match (a group is units joined by OR);
    no excluded unit may match. ``match_all`` is a lone ``*``: every document."""

    groups: tuple[tuple[UnitPlan, ...], ...] = ()
    excluded: tuple[UnitPlan, ...] = ()
    match_all: bool = False


def unit_plan(unit: Unit) -> UnitPlan:
    """Where one word or phrase may match: full-text fields and exact fields."""
    clauses: list[Clause] = []
    terms = query_terms(unit.text)
    if terms:
        words = tuple(t.text for t in terms)
        prefix = len(terms) == 1 and terms[0].cjk_char
        runs = [run for _s, _e, run in spans(unit.text)]
        ordered = unit.phrase or len(runs) != 1 or not is_cjk(runs[0])
        clauses += [Clause(f, words, b, prefix, ordered) for f, b in TEXT_FIELDS.items()]
    if _HAS_ALNUM.search(unit.text) or re.search(r"[０-９Ａ-Ｚａ-ｚ]", unit.text):
        exact = normalize_identifier(unit.text)
        clauses += [Clause(f, (exact,), b) for f, b in EXACT_FIELDS.items()]
    return tuple(clauses)


def parse(text: str) -> Plan | None:
    """The plan for the query box; None for an empty box.

    Raises :class:`QueryError` when there is text but nothing searchable in it.
    """
    if not text or not text.strip():
        return None
    if len(text) > 1000:
        raise QueryError("The search text is too long (at most 1000 characters).")
    groups: list[list[UnitPlan]] = []
    excluded: list[UnitPlan] = []
    pending_or = pending_not = match_all = False
    for item in split_units(text):
        if isinstance(item, str):
            if item == "OR":
                pending_or = bool(groups)
            elif item == "NOT":
                pending_not = True
            continue
        if item.text.strip() == "*" and not item.negated:
            match_all = True
            continue
        plan = unit_plan(item)
        if not plan:
            continue
        if item.negated or pending_not:
            excluded.append(plan)
        elif pending_or:
            groups[-1].append(plan)
        else:
            groups.append([plan])
        pending_or = pending_not = False
    if not groups and not excluded and not match_all:
        raise QueryError(
            "Nothing to search for: type words, numbers or a quoted phrase "
            "(operators and punctuation alone are not searched)."
        )
    return Plan(tuple(tuple(g) for g in groups), tuple(excluded), match_all)


# --------------------------------------------------------------------------- highlighting

_BOUNDARY = rf"[^\W_{CJK_CHARS}]"
_CJK_CLASS = rf"[{CJK_CHARS}]"


def _unit_pattern(unit_text: str) -> str | None:
    """A regex over *folded* text matching where the unit's phrase query matches."""
    pieces = [m.group() for m in re.finditer(rf"{_CJK_CLASS}+|{_BOUNDARY}+", fold(unit_text))]
    if not pieces:
        return None
    out = []
    for k, piece in enumerate(pieces):
        first, last = k == 0, k == len(pieces) - 1
        if re.match(_CJK_CLASS, piece):
            # Inside a longer run of Chinese only at the ends of the query's sequence.
            out.append(
                ("" if first else rf"(?<!{_CJK_CLASS})")
                + re.escape(piece)
                + ("" if last else rf"(?!{_CJK_CLASS})")
            )
        else:
            out.append(rf"(?<!{_BOUNDARY}){re.escape(piece)}(?!{_BOUNDARY})")
    return r"[\W_]*?".join(out)


def _matches(text: str, query_text: str) -> list[tuple[int, int, int]]:
    """(start, end, unit number) of every match of a non-excluded unit, sorted."""
    folded = fold(text)
    found: list[tuple[int, int, int]] = []
    units = [u for u in split_units(query_text) if isinstance(u, Unit) and not u.negated]
    for number, unit in enumerate(units):
        pattern = _unit_pattern(unit.text)
        if pattern is None:
            continue
        found += [(m.start(), m.end(), number) for m in re.finditer(pattern, folded) if m.end()]
    found.sort()
    # Drop overlaps so every <mark> is well nested.
    kept: list[tuple[int, int, int]] = []
    for start, end, number in found:
        if kept and start < kept[-1][1]:
            continue
        kept.append((start, end, number))
    return kept


def highlight(
    text: str, query_text: str, max_fragments: int = 3, fragment_chars: int = 160
) -> list[str]:
    """Snippets of ``text`` around the query's terms, HTML-escaped, with matches in <mark>…</mark>.

    Fragments are chosen to show as many different query words as possible, then
    in document order; an empty list when nothing matches.
    """
    if max_fragments <= 0 or not text or not query_text:
        return []
    matches = _matches(text, query_text)
    if not matches:
        return []
    # Candidate windows start a little before each match; the first few hundred
    # matches are plenty to choose three snippets from, and keep this linear.
    head = matches[:500]
    lead = fragment_chars // 4
    windows = []
    for i, (start, _end, _n) in enumerate(head):
        begin = max(0, start - lead)
        end = min(len(text), begin + fragment_chars)
        near = head[max(0, i - 50) : i + 50]
        units = frozenset(n for s, e, n in near if s >= begin and e <= end)
        windows.append((begin, end, units))
    windows.sort(key=lambda w: (-len(w[2]), w[0]))
    chosen: list[tuple[int, int]] = []
    shown: set[int] = set()
    for prefer_new in (True, False):  # first windows that show a word not yet shown
        for begin, end, units in windows:
            if len(chosen) >= max_fragments:
                break
            if any(begin < e and b < end for b, e in chosen):
                continue
            if prefer_new and chosen and units <= shown:
                continue
            chosen.append((begin, end))
            shown |= units
    return [_render(text, begin, end, matches) for begin, end in sorted(chosen)]


def _render(text: str, begin: int, end: int, matches: list[tuple[int, int, int]]) -> str:
    parts: list[str] = ["…" if begin > 0 else ""]
    cursor = begin
    for start, stop, _n in matches:
        if start < begin or stop > end:
            continue
        parts.append(html.escape(text[cursor:start]))
        parts.append(f"<mark>{html.escape(text[start:stop])}</mark>")
        cursor = stop
    parts.append(html.escape(text[cursor:end]))
    if end < len(text):
        parts.append("…")
    return "".join(parts)
