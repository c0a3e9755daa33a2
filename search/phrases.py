"""Phrases checked on a segment's side files: documents first, positions only for candidates.

A phrase (its terms in order: a quoted phrase's bigrams, a mixed word's pieces) is found
in one segment in two steps, all numpy: the documents holding every term, among the
allowed ones, come from the ``.sidepost`` file (sorted lists intersected, rarest term
first); then for those candidates only, each term's positions are gathered from the
``.sidepos`` file and the phrase's starts kept where term ``j`` stands at start + ``j``
for every ``j``. Candidates that lose every start are dropped before the next term's
positions are gathered. The counts (how often the phrase occurs in a document) are what
the Whoosh path gave, so scores are the same.
"""

from __future__ import annotations

import numpy as np

from search.index_positions import SidePositions
from search.index_postings import SidePostings

__all__ = ["leaf_phrase"]

_SHIFT = np.int64(32)  # key = document << 32 | (position - j + len(words))


def _gather(
    counts: np.ndarray, positions: np.ndarray, at: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of postings ``at`` (indices into the term's postings), end to end, and
    for each its posting's place in ``at``."""
    ends = np.cumsum(counts, dtype=np.int64)
    lengths = counts[at].astype(np.int64)
    firsts = ends[at] - lengths
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(at), dtype=np.int64), lengths)
    run_ends = np.cumsum(lengths)
    index = np.arange(total, dtype=np.int64) + np.repeat(firsts - (run_ends - lengths), lengths)
    return positions[index].astype(np.int64), owner


def _runs(ascending: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array and how often each occurs (``np.unique``
    without its sort: the keys are built in order)."""
    if not len(ascending):
        return ascending, np.zeros(0, dtype=np.int64)
    first = np.empty(len(ascending), dtype=bool)
    first[0] = True
    np.not_equal(ascending[1:], ascending[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return ascending[starts], np.diff(np.append(starts, len(ascending)))


def leaf_phrase(
    side: SidePostings,
    positions: SidePositions,
    field: str,
    words: tuple[str, ...],
    allowed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Segment documents (ascending) where ``words`` follow each other in ``field``, and
    how many times they do, among ``allowed`` (a mask over the segment's documents).

    None when the side files disagree (a term's postings counted differently in the two):
    the caller checks this segment the slow way.
    """
    empty = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    terms: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for word in set(words):
        raw = word.encode("utf-8")
        postings = side.get(field, raw)
        held = positions.get(field, raw)
        if postings is None or held is None:
            return empty if (postings is None) == (held is None) else None
        if len(held[0]) != len(postings[0]):
            return None
        terms[word] = (postings[0], held[0], held[1])
    order = sorted(terms, key=lambda w: len(terms[w][0]))
    # Documents holding every term, among the allowed ones.
    candidates = terms[order[0]][0]
    candidates = candidates[allowed[candidates]].astype(np.int64)
    for word in order[1:]:
        if not len(candidates):
            return empty
        other = terms[word][0]
        at = np.searchsorted(other, candidates)
        at[at == len(other)] = 0
        candidates = candidates[other[at] == candidates]
    # Positions, for the candidates left, term by term (rarest first). Keys are
    # document << 32 | the phrase's start implied by the position (+ len(words), so
    # never negative): ascending, since documents and their positions are.
    offsets = {w: [j for j, x in enumerate(words) if x == w] for w in order}
    span = np.int64(len(words))
    keys: np.ndarray | None = None
    for word in order:
        if not len(candidates):
            return empty
        docs, counts, where = terms[word]
        at = np.searchsorted(docs, candidates)
        found, owner = _gather(counts, where, at)
        base = (candidates[owner] << _SHIFT) + found + span
        for j in offsets[word]:
            starts = base - j
            if keys is None:
                keys = starts
                continue
            hit = np.searchsorted(starts, keys)
            hit[hit == len(starts)] = 0
            keys = keys[starts[hit] == keys]
        if keys is None or not len(keys):
            return empty
        candidates = _runs(keys >> _SHIFT)[0]
    assert keys is not None
    matched, times = _runs(keys >> _SHIFT)
    return matched, times.astype(np.float64)
