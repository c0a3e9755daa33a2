"""Text analysis for the archive index: folding, CJK bigrams, words and numbers.

Chinese is indexed as overlapping character bigrams with *sequential* positions
(``采购合同`` → 采购@0 购合@1 合同@2), so any Chinese word or phrase is found as a
phrase of its bigrams whatever a dictionary would have segmented, and phrase
queries work. Each run of Chinese characters also yields its first and last
character as unigrams at the positions of its first and last bigram, so
single-character terms next to digits or Latin letters (``2023年``, ``第3季度``)
still form phrases. Latin letters and digits form one lower-cased token per run
(``HT-2023-001`` → ``ht`` ``2023`` ``001``; ``91310000MA1FL8XQ30`` stays whole).

Before tokenizing, text is folded one character to one character: traditional
to simplified Chinese (zhconv's character table), full-width to ASCII, lower
case. Folding never changes the length, so offsets found in the folded text
are offsets in the original (used by highlighting).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from whoosh.analysis import Token, Tokenizer

# Han ideographs (unified, extension A, compatibility, supplementary planes), 〇,
# kana and hangul: scripts written without spaces, so they are bigrammed.
CJK_CHARS = (
    "\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\U00020000-\U0002ebef\U00030000-\U0003134f"
)
_TOKEN_RE = re.compile(rf"(?P<cjk>[{CJK_CHARS}]+)|(?P<word>[^\W_{CJK_CHARS}]+)")
_CJK_ONLY_RE = re.compile(rf"[{CJK_CHARS}]+")

# Middle-dot look-alikes that appear in archive numbers (Q001-K·2023-D30-0001).
_DOTS = "\u2027\u30fb\uff65\u2022\u2219\u22c5"


@cache
def _fold_table() -> dict[int, int]:
    """The one-character folding table, built once per process on first use."""
    from zhconv import zhconv  # imported here: the JSON dictionary costs ~50 ms

    table: dict[int, int] = {}
    # Lower case only where it stays one character, so folding keeps offsets.
    for code in range(0x10000):
        ch = chr(code)
        low = ch.lower()
        if low != ch and len(low) == 1:
            table[code] = ord(low)
    # Full-width ASCII (Ｈ Ｔ－２０２３) → ASCII, then lower-cased.
    for code in range(0xFF01, 0xFF5F):
        table[code] = ord(chr(code - 0xFEE0).lower())
    table[0x3000] = 0x20  # ideographic space
    for source, target in zhconv.getdict("zh-hans").items():
        if len(source) == 1 and len(target) == 1 and source != target and ord(source) > 0x7F:
            table[ord(source)] = ord(target)
    return table


def fold(text: str) -> str:
    """Traditional → simplified, full-width → ASCII, lower case; same length as ``text``."""
    return text.translate(_fold_table())


def normalize_identifier(value: str) -> str:
    """The exact-match form of a number or code: NFKC, one middle dot, no spaces, upper case.

    Case, full-width digits and look-alike dots are typing accidents, not a different number.
    """
    value = unicodedata.normalize("NFKC", value).strip()
    for dot in _DOTS:
        value = value.replace(dot, "\u00b7")
    return "".join(value.split()).upper()


def index_terms(text: str) -> dict[str, list[int]]:
    """Every term of ``text`` with its positions: the fast path used when indexing."""
    poses: dict[str, list[int]] = {}
    get = poses.get
    pos = 0
    for m in _TOKEN_RE.finditer(fold(text)):
        s = m.group()
        if m.lastgroup == "cjk" and len(s) > 1:
            first = get(s[0])
            if first is None:
                poses[s[0]] = [pos]
            else:
                first.append(pos)
            for i in range(len(s) - 1):
                bigram = s[i : i + 2]
                found = get(bigram)
                if found is None:
                    poses[bigram] = [pos]
                else:
                    found.append(pos)
                pos += 1
            # "哈哈" would put the same character twice at one position.
            if not (len(s) == 2 and s[0] == s[1]):
                last = get(s[-1])
                if last is None:
                    poses[s[-1]] = [pos - 1]
                else:
                    last.append(pos - 1)
        else:
            found = get(s)
            if found is None:
                poses[s] = [pos]
            else:
                found.append(pos)
            pos += 1
    return poses


@dataclass(frozen=True)
class QueryToken:
    """One term of an analysed query: ``cjk_char`` marks a lone Chinese character."""

    text: str
    cjk_char: bool = False


def query_terms(text: str) -> list[QueryToken]:
    """The terms of ``text`` in order, one per position, for term and phrase queries.

    Unlike indexing, no edge unigrams: a run of Chinese is exactly its bigrams, so the
    terms' positions are consecutive and a phrase of them matches the same characters.
    """
    out: list[QueryToken] = []
    for m in _TOKEN_RE.finditer(fold(text)):
        s = m.group()
        if m.lastgroup == "cjk":
            if len(s) == 1:
                out.append(QueryToken(s, cjk_char=True))
            else:
                out.extend(QueryToken(s[i : i + 2]) for i in range(len(s) - 1))
        else:
            out.append(QueryToken(s))
    return out


def spans(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, folded)`` for each run of Chinese or of letters/digits in ``text``."""
    folded = fold(text)
    for m in _TOKEN_RE.finditer(folded):
        yield m.start(), m.end(), m.group()


def is_cjk(text: str) -> bool:
    """Whether ``text`` is made only of bigrammed (CJK) characters."""
    return bool(_CJK_ONLY_RE.fullmatch(text))


class MixedTokenizer(Tokenizer):  # type: ignore[misc]
    """Whoosh tokenizer emitting exactly the terms of :func:`index_terms`.

    The index writes through :func:`index_terms` (faster); this class is the same
    analysis in Whoosh's token-stream form, for Whoosh tools that call the analyzer.
    """

    def __call__(  # noqa: PLR0913 - Whoosh's tokenizer signature
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for m in _TOKEN_RE.finditer(fold(value)):
            s, start = m.group(), m.start()
            if m.lastgroup == "cjk" and len(s) > 1:
                pieces = [(s[0], 0, start, start + 1)]
                pieces += [(s[i : i + 2], i, start + i, start + i + 2) for i in range(len(s) - 1)]
                if not (len(s) == 2 and s[0] == s[1]):
                    pieces.append((s[-1], len(s) - 2, start + len(s) - 1, start + len(s)))
                step = len(s) - 1
            else:
                pieces = [(s, 0, start, m.end())]
                step = 1
            for text, offset, begin, end in pieces:
                token.text = text
                token.boost = 1.0
                token.stopped = False
                if keeporiginal:
                    token.original = value[begin:end]
                if positions:
                    token.pos = pos + offset
                if chars:
                    token.startchar = start_char + begin
                    token.endchar = start_char + end
                yield token
            pos += step


def mixed_analyzer() -> MixedTokenizer:
    """The analyzer stored in the schema for the full-text fields."""
    return MixedTokenizer()
