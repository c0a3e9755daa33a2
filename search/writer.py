"""The index's segment writer: Whoosh's, with postings buffered in memory and a side file.

Every segment a writer creates gets its side files (postings,
:mod:`search.index_postings`; positions, :mod:`search.index_positions`) before it can be
committed; a failed commit releases Whoosh's lock. One writer at a time: callers hold the
index directory's lock (see :class:`search.index.SearchIndex`).
"""

from __future__ import annotations

import contextlib
from array import array
from collections.abc import Iterator
from typing import Any

from search import index_positions, index_postings
from search.whoosh_internals import BufferedSegmentWriter

__all__ = ["PostingBuffer", "commit", "open_writer"]


class PostingBuffer:
    """Drop-in for Whoosh's PostingPool that keeps postings grouped by term in memory.

    Whoosh's pool sorts every posting tuple and spills sorted runs with one pickle
    call per posting, which costs more than analysing the text. Documents arrive in
    docnum order, so grouping by (field, term) leaves only the terms to sort; docnums
    and weights go in compact arrays and the many identical small position blobs are
    shared. Memory is roughly 20-40 bytes per posting (~15 kB per 2 kB document).
    """

    def __init__(self) -> None:
        self.fieldnames: set[str] = set()
        self._terms: dict[tuple[str, bytes], tuple[array[int], array[float], list[bytes]]] = {}
        self._shared: dict[bytes, bytes] = {}

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None:
        fieldname, tbytes, docnum, weight, vbytes = item
        key = (fieldname, tbytes)
        entry = self._terms.get(key)
        if entry is None:
            entry = self._terms[key] = (array("I"), array("f"), [])
            self.fieldnames.add(fieldname)
        entry[0].append(docnum)
        entry[1].append(weight)
        if vbytes is None:
            vbytes = b""
        elif len(vbytes) <= 24:
            vbytes = self._shared.setdefault(vbytes, vbytes)
        entry[2].append(vbytes)

    @property
    def terms(self) -> dict[tuple[str, bytes], tuple[array[int], array[float], list[bytes]]]:
        return self._terms

    def iter_postings(self) -> Iterator[tuple[str, bytes, int, float, bytes]]:
        terms = self._terms
        for key in sorted(terms):
            fieldname, tbytes = key
            docnums, weights, values = terms[key]
            for i in range(len(docnums)):
                yield fieldname, tbytes, docnums[i], weights[i], values[i]

    def cleanup(self) -> None:
        # Replaced, not cleared: the writer still writes the side file from them.
        self._terms = {}
        self._shared = {}


def _write_side_file(folder: str, segment_id: str, doc_count: int, terms: Any) -> None:
    # Looked up at each call, so a test can make the write fail.
    index_postings.write_side_file(folder, segment_id, doc_count, terms)


def _write_side_files(folder: str, segment_id: str, doc_count: int, terms: Any) -> None:
    _write_side_file(folder, segment_id, doc_count, terms)
    index_positions.write_positions_file(folder, segment_id, doc_count, terms)


def open_writer(
    ix: Any, *, lock: bool = True, side_positions: bool = True
) -> BufferedSegmentWriter:
    """A writer on ``ix`` that buffers postings in memory and writes each new segment's
    side files before the segment can be committed (``side_positions=False``: the postings
    file only). ``lock=False``: without Whoosh's index lock (rebuild workers, whose
    segments the lock holder commits)."""
    hook = _write_side_files if side_positions else _write_side_file
    return BufferedSegmentWriter(ix, PostingBuffer(), hook, lock=lock)


def commit(writer: BufferedSegmentWriter) -> None:
    """Commit; if that fails (a full disk), release Whoosh's lock and temporary files so
    the next write can proceed. Files of an uncommitted segment are never read, and the
    next commit deletes them."""
    try:
        writer.commit()
    except BaseException:
        if not writer.is_closed:
            with contextlib.suppress(Exception):
                writer.cancel()
        raise
