"""The index as one searcher sees it: term postings, filter masks and per-document arrays.

A :class:`Snapshot` is a thread's read-only view of one generation; :class:`SegmentCaches`
holds what the threads of a process share per segment (side files, lengths, dates).
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import query as wq
from whoosh.filedb.filestore import FileStorage
from whoosh.searching import Searcher

from search.index_positions import SidePositions, open_positions_file
from search.index_postings import SidePostings, open_side_file
from search.phrases import leaf_phrase
from search.query import Clause
from search.whoosh_internals import (
    decode_positions,
    field_lengths,
    leaf_readers,
    numeric_column,
    posting_blocks,
)

__all__ = ["NO_DOCS", "NO_WEIGHTS", "Leaf", "Postings", "SegmentCaches", "SizedCache", "Snapshot"]

# A term's postings over the snapshot: global document numbers (int64, ascending,
# live documents only) and the term's frequency in each (float64).
Postings = tuple[np.ndarray, np.ndarray]
NO_DOCS = np.zeros(0, dtype=np.int64)
NO_WEIGHTS = np.zeros(0, dtype=np.float64)
NO_DOCS.flags.writeable = NO_WEIGHTS.flags.writeable = False


@dataclass
class Leaf:
    """One segment of a snapshot: its reader, where its documents start, and its postings."""

    reader: Any
    offset: int
    count: int
    deleted: frozenset[int]
    segment_id: str | None
    side: SidePostings | None  # None: postings come from Whoosh's blocks
    # None: phrases are checked on Whoosh's positions (no .sidepos file, or not wanted)
    positions: SidePositions | None = None


class SizedCache:
    """Least-recently-used cache of collections, bounded by their total length; thread-safe."""

    def __init__(self, capacity: int, size: Callable[[Any], int] = len) -> None:
        self.capacity = capacity
        self._size_of = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Any, value: Any) -> None:
        size = self._size_of(value)
        if size > self.capacity:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= self._size_of(old)
            self._items[key] = value
            self._size += size
            while self._size > self.capacity:
                _key, evicted = self._items.popitem(last=False)
                self._size -= self._size_of(evicted)


class SegmentCaches:
    """What a process keeps per segment, shared by its threads (segments never change
    once written): side files (None: the segment has none), per-document arrays (field
    lengths, dates), the same joined over a generation, and postings decoded from
    Whoosh for segments without a side file (at most ``cache_postings``, ~16 bytes each).
    """

    def __init__(self, directory: Path, cache_postings: int) -> None:
        self.directory = directory
        self._side: dict[str, SidePostings | None] = {}
        self._positions: dict[str, SidePositions | None] = {}
        self._segment_arrays: dict[tuple[str, str], np.ndarray] = {}
        self._joined: dict[tuple[Any, str], np.ndarray] = {}
        self._whoosh = SizedCache(cache_postings, size=lambda p: max(1, len(p[0])))

    def side_file(self, segment_id: str, count: int) -> SidePostings | None:
        if segment_id not in self._side:
            self._side[segment_id] = open_side_file(self.directory, segment_id, count)
        return self._side[segment_id]

    def positions_file(self, segment_id: str, count: int) -> SidePositions | None:
        if segment_id not in self._positions:
            self._positions[segment_id] = open_positions_file(self.directory, segment_id, count)
        return self._positions[segment_id]

    def segment_array(self, leaf: Leaf, kind: str, load: Callable[[Any], np.ndarray]) -> np.ndarray:
        key = (leaf.segment_id or "", kind)
        found = self._segment_arrays.get(key)
        if found is None or len(found) != leaf.count:
            found = load(leaf.reader)
            found.flags.writeable = False
            if leaf.segment_id:
                self._segment_arrays[key] = found
        return found

    def joined(
        self,
        generation: Any,
        leaves: list[Leaf],
        kind: str,
        load: Callable[[Any], np.ndarray],
        dtype: Any,
    ) -> np.ndarray:
        """A per-document array over a generation's ``leaves``, joined from theirs."""
        key = (generation, kind)
        found = self._joined.get(key)
        if found is None:
            parts = [self.segment_array(leaf, kind, load) for leaf in leaves]
            found = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
            found = found.astype(dtype, copy=False)
            found.flags.writeable = False
            if all(leaf.segment_id for leaf in leaves):
                self._joined[key] = found
        return found

    def whoosh_postings(self, leaf: Leaf, field: str, word: str) -> Postings:
        """A segment's postings of a term decoded from Whoosh's blocks (deleted documents
        included), for segments without a side file; cached for the process."""
        key = (leaf.segment_id, field, word)
        found = self._whoosh.get(key)
        if found is None:
            ids: list[int] = []
            weights: list[float] = []
            for block_ids, block_weights, _values in posting_blocks(leaf.reader, field, word):
                ids.extend(block_ids)
                weights.extend(block_weights)
            found = (np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64))
            found[0].flags.writeable = found[1].flags.writeable = False
            self._whoosh.put(key, found)
        return found  # type: ignore[no-any-return]

    def forget_segments_but(self, live: set[str]) -> None:
        """Drop what is kept for segments a newer generation no longer has (threads still
        on an older snapshot keep their own references)."""
        for segment_id in list(self._side):
            if segment_id not in live:
                self._side.pop(segment_id, None)
        for segment_id in list(self._positions):
            if segment_id not in live:
                self._positions.pop(segment_id, None)
        for key in list(self._segment_arrays):
            if key[0] not in live:
                self._segment_arrays.pop(key, None)
        for joined in list(self._joined):
            if any(segment_id not in live for segment_id, _count in joined[0]):
                self._joined.pop(joined, None)


class Snapshot:
    """One generation of the index as a searcher sees it, with the caches searches use.

    Documents are numpy arrays over the snapshot's document numbers: filters are
    boolean masks, a term's postings two arrays, read from the segment's side file
    (memory-mapped, no decoding) or, for a segment without one, decoded once from
    Whoosh's blocks into the index's shared cache; :mod:`search.evaluator` combines
    and scores them. Whoosh's matchers would step through every posting of a common
    word in Python, which at 100k documents costs seconds.
    """

    def __init__(
        self,
        name: str,
        searcher: Searcher,
        caches: SegmentCaches,
        cache_postings: int,
        side_positions: bool = True,
    ) -> None:
        self.name = name
        self.searcher = searcher
        self._caches = caches
        self.doc_count_all = searcher.doc_count_all()
        self.doc_count = max(1, searcher.doc_count())
        self.live = np.ones(self.doc_count_all, dtype=bool)
        self.leaves: list[Leaf] = []
        for reader, offset, deleted, segment_id in leaf_readers(searcher):
            if deleted:
                self.live[offset + np.fromiter(deleted, dtype=np.int64, count=len(deleted))] = False
            count = reader.doc_count_all()
            side = caches.side_file(segment_id, count) if segment_id and count else None
            positions = None
            if side is not None and side_positions and segment_id:
                positions = caches.positions_file(segment_id, count)
            self.leaves.append(Leaf(reader, offset, count, deleted, segment_id, side, positions))
        self.segment_ids = {leaf.segment_id for leaf in self.leaves if leaf.segment_id}
        self.generation = tuple((leaf.segment_id, leaf.count) for leaf in self.leaves)
        # Filter masks repeat (a user's access, a department): bounded by their size.
        self._filters = SizedCache(2 * cache_postings)
        self._lengths: dict[str, np.ndarray | None] = {}
        self._dates: np.ndarray | None = None

    @classmethod
    def open(
        cls,
        directory: Path,
        name: str,
        caches: SegmentCaches,
        cache_postings: int,
        side_positions: bool = True,
    ) -> Snapshot:
        """A snapshot of the index ``name`` as it is now, its unused shared caches dropped."""
        # Read through files, not Whoosh's memory maps: with a map, each reader copies its
        # segment's whole posting file into memory (a BytesIO), per thread.
        storage = FileStorage(str(directory), supports_mmap=False)
        searcher = storage.open_index(indexname=name).searcher()
        snap = cls(name, searcher, caches, cache_postings, side_positions)
        caches.forget_segments_but(snap.segment_ids)
        return snap

    # -- postings

    def postings(self, field: str, word: str) -> Postings:
        """The live documents holding ``word`` in ``field``, with its frequency in each."""
        if field not in self.searcher.schema:
            return NO_DOCS, NO_WEIGHTS
        term = word.encode("utf-8")
        docs, weights = [], []
        for leaf in self.leaves:
            found = self._leaf_postings(leaf, field, word, term)
            if found is not None:
                docs.append(found[0])
                weights.append(found[1])
        if not docs:
            return NO_DOCS, NO_WEIGHTS
        if len(docs) == 1:
            return docs[0], weights[0]
        return np.concatenate(docs), np.concatenate(weights)

    def _leaf_postings(self, leaf: Leaf, field: str, word: str, term: bytes) -> Postings | None:
        """One segment's postings of a term, as global numbers; None if it has none."""
        if leaf.side is not None:
            found = leaf.side.get(field, term)
        else:
            found = self._caches.whoosh_postings(leaf, field, word)
        if found is None or not len(found[0]):
            return None
        docs = found[0].astype(np.int64)
        docs += leaf.offset
        weights = found[1].astype(np.float64)
        if leaf.deleted:
            keep = self.live[docs]
            docs, weights = docs[keep], weights[keep]
        return docs, weights

    def term_docs(self, field: str, word: str, expand: tuple[str, ...] = ()) -> Postings:
        """Documents containing ``word`` in ``field`` (or any of the terms ``expand``
        lists: frequencies added up), with the frequency in each."""
        if not expand:
            return self.postings(field, word)
        total = np.zeros(self.doc_count_all, dtype=np.float64)
        present = np.zeros(self.doc_count_all, dtype=bool)
        for leaf in self.leaves:
            if field not in leaf.reader.schema:
                continue
            for text in (word, *self._present(leaf, field, expand)):
                found = self._leaf_postings(leaf, field, text, text.encode("utf-8"))
                if found is not None:
                    total[found[0]] += found[1]
                    present[found[0]] = True
        docs = np.flatnonzero(present)
        return docs, total[docs]

    def _present(self, leaf: Leaf, field: str, terms: tuple[str, ...]) -> list[str]:
        """Those of ``terms`` the segment holds in ``field``: one vectorised look-up in the
        side file, else the segment's term dictionary (keyed terms have no prefixes)."""
        if leaf.side is not None:
            return leaf.side.present(field, terms)
        held = {t.decode("utf-8") for t in leaf.reader.lexicon(field)}
        return [t for t in terms if t in held]

    def all_docs(self, field: str, words: tuple[str, ...], within: np.ndarray) -> Postings:
        """Documents in ``within`` containing every one of ``words`` (in any order), with
        the smallest of their frequencies."""
        lists = sorted((self.postings(field, w) for w in set(words)), key=lambda p: len(p[0]))
        docs, freq = lists[0]
        keep = within[docs]
        docs, freq = docs[keep], freq[keep]
        for other, other_freq in lists[1:]:
            if not len(docs) or not len(other):
                return NO_DOCS, NO_WEIGHTS
            at = np.searchsorted(other, docs)
            at[at == len(other)] = 0
            keep = other[at] == docs
            docs, freq = docs[keep], np.minimum(freq[keep], other_freq[at[keep]])
        return docs, freq

    def phrase_docs(self, field: str, words: tuple[str, ...], within: np.ndarray) -> Postings:
        """Documents in ``within`` where ``words`` follow each other in ``field``, with
        the number of times they do: from the side files in segments that have them
        (:mod:`search.phrases`), from Whoosh's positions in the others."""
        if field not in self.searcher.schema:
            return NO_DOCS, NO_WEIGHTS
        docs, counts = [], []
        slow = within
        for leaf in self.leaves:
            if leaf.positions is None or leaf.side is None:
                continue
            end = leaf.offset + leaf.count
            allowed = within[leaf.offset : end] & self.live[leaf.offset : end]
            found = leaf_phrase(leaf.side, leaf.positions, field, words, allowed)
            if found is None:  # the side files disagree: this segment the slow way
                continue
            if slow is within:
                slow = within.copy()
            slow[leaf.offset : end] = False
            docs.append(found[0] + leaf.offset)
            counts.append(found[1])
        if slow is not within and not slow.any():
            return np.concatenate(docs), np.concatenate(counts)
        rest = self._whoosh_phrase_docs(field, words, slow)
        if not docs:
            return rest
        all_docs = np.concatenate([*docs, rest[0]])
        all_counts = np.concatenate([*counts, rest[1]])
        order = np.argsort(all_docs, kind="stable")
        return all_docs[order], all_counts[order]

    def _whoosh_phrase_docs(
        self, field: str, words: tuple[str, ...], within: np.ndarray
    ) -> Postings:
        """:meth:`phrase_docs` from Whoosh's positions (segments without a positions
        file): candidates' positions decoded one posting at a time."""
        # Rarest word first: positions are read only in the blocks that can hold a
        # remaining candidate, and each word narrows the candidates for the next.
        unique = sorted(set(words), key=lambda w: self._doc_frequency(field, w))
        if all(leaf.side is not None for leaf in self.leaves):
            candidates = self.all_docs(field, words, within)[0].tolist()
        else:  # decoding common words' whole posting lists from Whoosh would cost more
            docs = self.postings(field, unique[0])[0]
            candidates = docs[within[docs]].tolist()
        where: dict[str, dict[int, set[int]]] = {}
        for word in unique:
            if not candidates:
                return NO_DOCS, NO_WEIGHTS
            where[word] = self._positions(field, word, candidates)
            candidates = [d for d in candidates if d in where[word]]
        first, rest = where[words[0]], [(i, where[w]) for i, w in enumerate(words[1:], start=1)]
        found, counts = [], []
        for d in candidates:
            later = [(i, ps[d]) for i, ps in rest]
            count = sum(1 for p in first[d] if all(p + i in ps for i, ps in later))
            if count:
                found.append(d)
                counts.append(float(count))
        return np.array(found, dtype=np.int64), np.array(counts, dtype=np.float64)

    def _doc_frequency(self, field: str, word: str) -> int:
        return sum(
            leaf.reader.doc_frequency(field, word)
            for leaf in self.leaves
            if field in leaf.reader.schema
        )

    def _positions(self, field: str, word: str, docs: list[int]) -> dict[int, set[int]]:
        """``word``'s positions in each of the sorted global ``docs`` that hold it."""
        out: dict[int, set[int]] = {}
        for leaf in self.leaves:
            if field not in leaf.reader.schema:
                continue
            lo = bisect.bisect_left(docs, leaf.offset)
            hi = bisect.bisect_left(docs, leaf.offset + leaf.count)
            if lo == hi:
                continue
            wanted = [d - leaf.offset for d in docs[lo:hi]]
            wanted_set = set(wanted)
            for ids, _weights, values in posting_blocks(leaf.reader, field, word, wanted=wanted):
                hits = [i for i, d in enumerate(ids) if d in wanted_set]
                if hits:
                    block = values()
                    for i in hits:
                        out[leaf.offset + ids[i]] = decode_positions(block[i])
        return out

    def clause_docs(self, clause: Clause, within: np.ndarray) -> Postings:
        """Documents matching one clause (phrases, words: only among ``within``), with
        frequency."""
        if len(clause.terms) == 1:
            return self.term_docs(clause.field, clause.terms[0], clause.expand)
        if clause.ordered:
            return self.phrase_docs(clause.field, clause.terms, within)
        return self.all_docs(clause.field, clause.terms, within)

    # -- filters

    def filter_mask(self, query: wq.Query) -> np.ndarray:
        """Live documents matching a filter query; cached (a user's filters repeat)."""
        key = repr(query)
        found = self._filters.get(key)
        if found is None:
            found = self._query_mask(query)
            found.flags.writeable = False
            self._filters.put(key, found)
        return found  # type: ignore[no-any-return]

    def _query_mask(self, query: wq.Query) -> np.ndarray:
        if isinstance(query, wq.Every) and query.fieldname in (None, "", "*"):
            return self.live.copy()
        mask = np.zeros(self.doc_count_all, dtype=bool)
        if isinstance(query, wq.Term) and isinstance(query.text, str):
            mask[self.postings(query.fieldname, query.text)[0]] = True
        elif isinstance(query, wq.Or):
            for sub in query.subqueries:
                mask |= self._query_mask(sub)
        else:
            mask[list(self.searcher.docs_for_query(query))] = True
        return mask

    def date_mask(self, low: int, high: int) -> np.ndarray:
        """Documents dated from ``low`` to ``high`` (YYYYMMDD, inclusive); undated never.

        From the date column rather than a Whoosh NumericRange, which ignores the
        upper bound of an unsigned field.
        """
        key = f"date:{low}:{high}"
        found = self._filters.get(key)
        if found is None:
            dates = self.dates()
            found = (dates != 0) & (dates >= low) & (dates <= high) & self.live
            found.flags.writeable = False
            self._filters.put(key, found)
        return found  # type: ignore[no-any-return]

    # -- per-document arrays

    def lengths(self, field: str) -> np.ndarray | None:
        """Each document's length (in terms) in ``field``; None for unscored fields."""
        if field not in self._lengths:
            found = None
            if self.searcher.schema[field].scorable and self.leaves:
                found = self._joined("len:" + field, _length_loader(field), np.uint32)
            self._lengths[field] = found
        return self._lengths[field]

    def dates(self) -> np.ndarray:
        """Each document's date as YYYYMMDD (0 when unknown), for sorting."""
        if self._dates is None:
            self._dates = self._joined("date", _date_loader, np.int64)
        return self._dates

    def _joined(self, kind: str, load: Callable[[Any], np.ndarray], dtype: Any) -> np.ndarray:
        """A per-document array over the snapshot, shared with the process's other
        threads on the same segments."""
        return self._caches.joined(self.generation, self.leaves, kind, load, dtype)


def _length_loader(field: str) -> Callable[[Any], np.ndarray]:
    def load(reader: Any) -> np.ndarray:
        count = reader.doc_count_all()
        found = field_lengths(reader, field, count)
        if found is None:  # another codec: one call per document (None where the field is empty)
            lengths = (reader.doc_field_length(d, field) or 0 for d in range(count))
            found = np.fromiter(lengths, dtype=np.uint32, count=count)
        return found

    return load


def _date_loader(reader: Any) -> np.ndarray:
    count = reader.doc_count_all()
    if not reader.has_column("document_date"):
        return np.zeros(count, dtype=np.int64)
    column = reader.column_reader("document_date", translate=False)
    found = numeric_column(column, count)
    if found is None:  # another column type: one call each
        found = np.fromiter(
            (int(column[d] or 0) for d in range(count)), dtype=np.int64, count=count
        )
    return found
