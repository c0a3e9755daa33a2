"""Keyed index terms: what the index holds in place of words, numbers and codes.

Every term of a field that carries document content or personal data is written as
HMAC-SHA256(key, field, term) cut to 96 bits (16 base64url characters), so the index
folder read without the key gives back no word, number or code; positions are kept, so
phrases still match. The key is handed in by the caller and is never written into the
index: only its fingerprint (a keyed hash of a fixed label) marks which key wrote an
index. Filter fields holding only internal ids and vocabulary codes stay plain
(:data:`PLAIN_FIELDS`; see docs/search.md).
"""

from __future__ import annotations

import base64
import hmac
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from search.query import Clause, Plan, UnitPlan

__all__ = ["KEYED_FIELDS", "PLAIN_FIELDS", "TermKey", "keyed_plan"]

# Fields whose terms are keyed: document text and personal data.
KEYED_FIELDS = frozenset(
    {"title", "body", "customer_name", "tags", "numbers", "identifiers", "customer_code"}
)
# Fields kept plain: internal numeric ids and vocabulary codes, used as filters.
PLAIN_FIELDS = frozenset(
    {"id", "customer_id", "category", "department", "status", "on_hold", "cust_cat"}
)

_TERM_BYTES = 12  # 96 bits: no collision to speak of among billions of distinct terms
_MIN_SECRET = 32
_CACHE_TERMS = 1 << 18  # per process: terms repeat across documents (Zipf)
_CACHE_EXPANSIONS = 8  # a lone character's ~20,000 terms per field (~1.5 MB each)
# A lone Chinese character is looked up as every bigram it can start: itself followed by
# each character of the basic CJK block (and 〇) that folding leaves as it is.
_FOLLOWERS: tuple[str, ...] | None = None
_FOLLOWERS_LOCK = threading.Lock()


def _followers() -> tuple[str, ...]:
    global _FOLLOWERS  # noqa: PLW0603 - built once per process, on first use
    with _FOLLOWERS_LOCK:
        if _FOLLOWERS is None:
            from search.analysis import fold

            chars = ["\u3007", *(chr(c) for c in range(0x4E00, 0xA000))]
            _FOLLOWERS = tuple(c for c in chars if fold(c) == c)
        return _FOLLOWERS


class TermKey:
    """The secret that keys an index's terms (at least 32 bytes), and what it derives.

    ``fingerprint`` names the key in the index (a keyed hash: it reveals nothing of the
    key); ``term`` gives the index term of a plain one. Thread-safe.
    """

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes) or len(secret) < _MIN_SECRET:
            raise ValueError(f"the search term key must be at least {_MIN_SECRET} bytes")
        self._terms_key = hmac.digest(secret, b"archive search: index terms v1", "sha256")
        mark = hmac.digest(secret, b"archive search: key fingerprint v1", "sha256")
        self.fingerprint = "hmac-sha256-96:" + mark[:8].hex()
        self._cache: dict[tuple[str, str], str] = {}
        self._expansions: OrderedDict[tuple[str, str], tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self) -> tuple[bytes, str]:
        # Handed to rebuild workers through their pipe: the derived key, no caches.
        return self._terms_key, self.fingerprint

    def __setstate__(self, state: tuple[bytes, str]) -> None:
        self._terms_key, self.fingerprint = state
        self._cache = {}
        self._expansions = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never the secret
        return f"TermKey({self.fingerprint})"

    def term(self, field: str, text: str) -> str:
        """The index term standing for ``text`` in ``field``."""
        found = self._cache.get((field, text))
        if found is None:
            mac = hmac.digest(
                self._terms_key, field.encode() + b"\0" + text.encode("utf-8"), "sha256"
            )
            found = base64.urlsafe_b64encode(mac[:_TERM_BYTES]).decode("ascii")
            if len(self._cache) >= _CACHE_TERMS:
                self._cache.clear()  # cheaper than LRU bookkeeping on every term
            self._cache[(field, text)] = found
        return found

    def terms(self, field: str, values: Iterable[str]) -> list[str]:
        """Index terms of exact values (numbers, codes), sorted."""
        return sorted({self.term(field, v) for v in values})

    def positions(self, field: str, poses: Mapping[str, list[int]]) -> dict[str, list[int]]:
        """``{term: positions}`` of analysed text with each term keyed, positions kept."""
        term = self.term
        return {term(field, text): plist for text, plist in poses.items()}

    def expansion(self, field: str, char: str) -> tuple[str, ...]:
        """Index terms of every bigram a lone Chinese character can start (see
        :func:`_followers`), cached for the last two characters asked (four fields each)."""
        key = (field, char)
        with self._lock:
            found = self._expansions.get(key)
            if found is not None:
                self._expansions.move_to_end(key)
                return found
        # Not through the term cache: 20,000 terms that are mostly in no document.
        prefix = field.encode() + b"\0" + char.encode("utf-8")
        digest, secret, encode = hmac.digest, self._terms_key, base64.urlsafe_b64encode
        found = tuple(
            encode(digest(secret, prefix + f.encode("utf-8"), "sha256")[:_TERM_BYTES]).decode()
            for f in _followers()
        )
        with self._lock:
            self._expansions[key] = found
            while len(self._expansions) > _CACHE_EXPANSIONS:
                self._expansions.popitem(last=False)
        return found


def _keyed_clause(clause: Clause, key: TermKey) -> Clause:
    if clause.field not in KEYED_FIELDS:
        return clause
    terms = tuple(key.term(clause.field, t) for t in clause.terms)
    expand = key.expansion(clause.field, clause.terms[0]) if clause.prefix else ()
    return Clause(clause.field, terms, clause.boost, False, clause.ordered, expand)


def keyed_plan(plan: Plan | None, key: TermKey) -> Plan | None:
    """``plan`` with the terms of every keyed field replaced by their index terms."""
    if plan is None:
        return None

    def unit(u: UnitPlan) -> UnitPlan:
        return tuple(_keyed_clause(c, key) for c in u)

    return Plan(
        groups=tuple(tuple(unit(u) for u in group) for group in plan.groups),
        excluded=tuple(unit(u) for u in plan.excluded),
        match_all=plan.match_all,
    )
