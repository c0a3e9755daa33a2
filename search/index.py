"""The archive's full-text index: a Whoosh index holding ids and filterable fields only.

Bodies are analysed (see :mod:`search.analysis`) but never stored: the index
keeps each document's id, its filter fields and the terms' postings. Access
control is applied inside every search as a filter, so totals and pages count
only what the caller may open.

Writes take an exclusive lock on the index directory and wait for it (bounded);
each call is one Whoosh writer and one commit. ``rebuild`` writes a complete new
index beside the current one and then switches a pointer file atomically, so
readers see the old content until the new one is whole.
"""

from __future__ import annotations

import bisect
import contextlib
import fcntl
import itertools
import math
import os
import pickle
import re
import shutil
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import fields, index
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import TermNotFound
from whoosh.searching import Searcher
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from search.analysis import index_terms, mixed_analyzer, normalize_identifier
from search.index_postings import SidePostings, open_side_file, write_side_file
from search.query import Clause, Plan, QueryError, parse
from search.types import AccessFilter, Hit, IndexBusy, IndexedDocument, SearchPage, SearchQuery

__all__ = [
    "AccessFilter",
    "Hit",
    "IndexBusy",
    "IndexedDocument",
    "QueryError",
    "SearchIndex",
    "SearchPage",
    "SearchQuery",
]


# --------------------------------------------------------------------------- schema


class MixedText(fields.TEXT):  # type: ignore[misc]
    """Full-text field analysed by :func:`search.analysis.index_terms`, positions kept.

    ``index`` bypasses Whoosh's token stream: the same terms, several times faster.
    """

    def __init__(self) -> None:
        super().__init__(analyzer=mixed_analyzer(), phrase=True, stored=False)

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        return iter(encode_postings(index_terms(value), self.format.field_boost))


def encode_postings(
    poses: dict[str, list[int]], boost: float = 1.0
) -> list[tuple[bytes, int, float, bytes]]:
    """Whoosh ``Positions`` postings (term bytes, freq, weight, encoded positions)."""
    out = []
    single = _single_position
    for term, plist in poses.items():
        n = len(plist)
        if n == 1:
            value = single(plist[0])
        else:
            # Same bytes as whoosh.formats.Positions.encode: count, then pickled deltas.
            deltas = [plist[0]]
            deltas += [b - a for a, b in zip(plist, plist[1:], strict=False)]
            value = pack_uint(n) + pickle.dumps(deltas, 2)
        out.append((term.encode("utf-8"), n, n * boost, value))
    return out


@lru_cache(maxsize=65536)
def _single_position(pos: int) -> bytes:
    # Most terms occur once in a document; their encodings repeat across documents.
    return pack_uint(1) + pickle.dumps([pos], 2)


TEXT_FIELDS = ("title", "body", "customer_name", "tags")


def make_schema() -> fields.Schema:
    """The index schema: only ``id`` is stored; everything else is for finding and filtering."""
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        title=MixedText(),
        body=MixedText(),
        customer_name=MixedText(),
        tags=MixedText(),
        numbers=fields.ID(),
        identifiers=fields.ID(),
        customer_code=fields.ID(),
        customer_id=fields.ID(),
        category=fields.ID(),  # both "business" and "business.contract"
        department=fields.ID(),
        status=fields.ID(),
        on_hold=fields.ID(),
        cust_cat=fields.ID(),  # "<customer id>/<category or its top level>"
        document_date=fields.NUMERIC(int, bits=32, signed=False, sortable=True, default=0),
        filing_date=fields.NUMERIC(int, bits=32, signed=False),
    )


def _day(value: date | None) -> int | None:
    return None if value is None else value.year * 10000 + value.month * 100 + value.day


def _category_levels(code: str) -> list[str]:
    top = code.split(".", 1)[0]
    return [top] if top == code else [top, code]


def document_fields(doc: IndexedDocument) -> dict[str, Any]:
    """Keyword arguments for ``writer.add_document`` (lists bypass the ID analyzer)."""
    levels = _category_levels(doc.category)
    out: dict[str, Any] = {
        "id": str(doc.id),
        "numbers": sorted({normalize_identifier(n) for n in doc.numbers if n.strip()}),
        "identifiers": sorted({normalize_identifier(n) for n in doc.identifiers if n.strip()}),
        "customer_id": str(doc.customer_id),
        "category": levels,
        "department": doc.department,
        "status": doc.status,
        "on_hold": "1" if doc.on_hold else "0",
        "cust_cat": [f"{doc.customer_id}/{c}" for c in levels],
    }
    if doc.customer_code and doc.customer_code.strip():
        out["customer_code"] = [normalize_identifier(doc.customer_code)]
    texts = {
        "title": doc.title,
        "body": doc.body,
        "customer_name": doc.customer_name,
        # Tags are separate phrases: a newline keeps them apart.
        "tags": "\n".join(doc.tags),
    }
    out.update({k: v for k, v in texts.items() if v})
    for name in ("document_date", "filing_date"):
        day = _day(getattr(doc, name))
        if day is not None:
            out[name] = day
    return {k: v for k, v in out.items() if v not in ([], "")}


# --------------------------------------------------------------------------- the index

_CURRENT = "CURRENT"
_LOCK = "write.lock"
_NAME_RE = re.compile(r"^archive_(\d+)$")


class SearchIndex:
    """The archive's Whoosh index in ``directory`` (created if missing).

    Safe to use from several threads and processes: searches read a snapshot,
    writes queue on a directory lock (``lock_timeout`` seconds at most).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        lock_timeout: float = 300.0,
        cache_postings: int = 1_000_000,
    ) -> None:
        self.directory = Path(directory)
        self.lock_timeout = lock_timeout
        # Postings decoded from Whoosh's blocks, for segments written without a side
        # file (~16 bytes each), shared by the process's threads; also bounds each
        # thread's cache of filter masks.
        self.cache_postings = cache_postings
        self.directory.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        # Shared by the threads, per segment (segments never change once written): side
        # files (None: the segment has none), per-document arrays (field lengths, dates)
        # and postings decoded from Whoosh for segments without a side file.
        self._side: dict[str, SidePostings | None] = {}
        self._segment_cache: dict[tuple[str, str], np.ndarray] = {}
        self._joined: dict[tuple[Any, str], np.ndarray] = {}  # the same, over a generation
        self._whoosh_cache = _SizedCache(cache_postings, size=lambda p: max(1, len(p[0])))
        if not (self.directory / _CURRENT).exists():
            with self._write_lock():
                if not (self.directory / _CURRENT).exists():
                    self._create(self._next_name())

    # ----------------------------------------------------------------- writes

    def update(self, docs: Iterable[IndexedDocument]) -> int:
        """Add or replace ``docs`` (by id) in one writer and one commit; returns the count."""
        docs = list(docs)
        if not docs:
            return 0
        with self._write_lock():
            ix = self._open(self._current_name())
            writer = _Writer(ix)
            try:
                seen: set[int] = set()
                for doc in reversed(docs):  # the last version of a repeated id wins
                    if doc.id in seen:
                        continue
                    seen.add(doc.id)
                    writer.update_document(**document_fields(doc))
            except BaseException:
                writer.cancel()
                raise
            _commit(writer)
        return len(seen)

    def remove(self, ids: Iterable[int]) -> int:
        """Delete documents by id in one commit; returns how many were in the index."""
        ids = set(ids)
        if not ids:
            return 0
        with self._write_lock():
            ix = self._open(self._current_name())
            writer = _Writer(ix)
            try:
                removed = sum(writer.delete_by_term("id", str(i)) for i in ids)
            except BaseException:
                writer.cancel()
                raise
            _commit(writer)
        return removed

    def rebuild(
        self,
        docs: Iterable[IndexedDocument],
        *,
        workers: int | None = None,
        segment_docs: int = 25_000,
    ) -> int:
        """Replace the whole content with ``docs``; returns the count.

        The new index is written beside the current one, under the write lock, and
        switched in atomically: searches see the old content until the new one is
        whole. Segments of ``segment_docs`` documents are built by ``workers``
        processes (0: in this process) and published by one commit.
        """
        if workers is None:
            workers = _default_workers()
        with self._write_lock():
            old = self._current_name()
            new = self._next_name()
            ix = self._create(new, publish=False)
            try:
                segments, count = _build_segments(self.directory, new, docs, workers, segment_docs)
                writer = ix.writer()
                # The built segments replace the (empty) content in one TOC commit.
                writer.commit(mergetype=lambda _writer, _old: list(segments))
            except BaseException:
                self._delete_index_files(new)
                raise
            self._publish(new)
            # Keep the previous index: a reader may be opening it at this moment.
            for name in self._index_names():
                if name not in (new, old):
                    self._delete_index_files(name)
        return count

    # ----------------------------------------------------------------- reads

    def ids(self) -> set[int]:
        """Every indexed document id."""
        reader = self._snapshot().searcher.reader()
        return {int(stored["id"]) for _docnum, stored in reader.iter_docs()}

    def count(self) -> int:
        """How many documents are indexed."""
        return int(self._snapshot().searcher.doc_count())

    def doc_count(self) -> int:
        """The same as :meth:`count` (the service's health check calls it by this name)."""
        return self.count()

    def search(self, query: SearchQuery) -> SearchPage:
        """One page of the documents matching ``query`` that the caller may open, and
        their total."""
        if query.page < 1 or not 1 <= query.per_page <= 1000:
            raise QueryError("page must be at least 1 and per_page between 1 and 1000.")
        if query.sort not in ("relevance", "date"):
            raise QueryError('sort must be "relevance" or "date".')
        plan = parse(query.text)
        access = _access_query(query.access)
        if access is None:
            return SearchPage(hits=[], total=0)
        snap = self._snapshot()
        # Filters first: every later step only looks at what they allow.
        masks = [snap.filter_mask(f) for f in [access, *_filter_queries(query)]]
        if query.date_from or query.date_to:
            masks.append(
                snap.date_mask(_day(query.date_from) or 0, _day(query.date_to) or 99991231)
            )
        matches = masks[0].copy()
        for other in masks[1:]:
            matches &= other
        scores: np.ndarray | None = None
        if plan is not None and matches.any():
            matches, scores = snap.evaluate(plan, matches)
            if not plan.groups:  # only "*" or exclusions: nothing to rank by
                scores = None
        end = query.page * query.per_page
        found = np.flatnonzero(matches)
        if scores is None or query.sort == "date":
            top = _top(found, snap.dates()[found], end)
        else:
            top = _top(found, scores[found], end)
        stored = snap.searcher.stored_fields
        hits = [
            Hit(id=int(stored(d)["id"]), score=0.0 if scores is None else float(scores[d]))
            for d in top[end - query.per_page :].tolist()
        ]
        return SearchPage(hits=hits, total=len(found))

    # ----------------------------------------------------------------- internals

    def _snapshot(self) -> _Snapshot:
        """This thread's view of the index, reopened when the index changed."""
        local = self._local
        name = self._current_name()
        snap: _Snapshot | None = getattr(local, "snapshot", None)
        if snap is not None and snap.name == name and snap.searcher.up_to_date():
            return snap
        if snap is not None:
            snap.searcher.close()
        # A fresh searcher, not searcher.refresh(): refresh reuses the reader of a
        # segment that only gained deletions, and would still see deleted documents.
        # Read through files, not Whoosh's memory maps: with a map, each reader copies its
        # segment's whole posting file into memory (a BytesIO), per thread.
        storage = FileStorage(str(self.directory), supports_mmap=False)
        searcher = storage.open_index(indexname=name).searcher()
        local.snapshot = snap = _Snapshot(name, searcher, self)
        self._forget_segments_but(snap.segment_ids)
        return snap

    def _side_file(self, segment_id: str, count: int) -> SidePostings | None:
        if segment_id not in self._side:
            self._side[segment_id] = open_side_file(self.directory, segment_id, count)
        return self._side[segment_id]

    def _segment_array(
        self, leaf: _Leaf, kind: str, load: Callable[[Any], np.ndarray]
    ) -> np.ndarray:
        key = (leaf.segment_id or "", kind)
        found = self._segment_cache.get(key)
        if found is None or len(found) != leaf.count:
            found = load(leaf.reader)
            found.flags.writeable = False
            if leaf.segment_id:
                self._segment_cache[key] = found
        return found

    def _whoosh_postings(self, leaf: _Leaf, field: str, word: str) -> Postings:
        """A segment's postings of a term decoded from Whoosh's blocks (deleted documents
        included), for segments without a side file; cached for the process."""
        key = (leaf.segment_id, field, word)
        found = self._whoosh_cache.get(key)
        if found is None:
            ids: list[int] = []
            weights: list[float] = []
            for block_ids, block_weights, _values in _posting_blocks(leaf.reader, field, word):
                ids.extend(block_ids)
                weights.extend(block_weights)
            found = (np.array(ids, dtype=np.int64), np.array(weights, dtype=np.float64))
            found[0].flags.writeable = found[1].flags.writeable = False
            self._whoosh_cache.put(key, found)
        return found  # type: ignore[no-any-return]

    def _forget_segments_but(self, live: set[str]) -> None:
        """Drop what is kept for segments a newer generation no longer has (threads still
        on an older snapshot keep their own references)."""
        for segment_id in list(self._side):
            if segment_id not in live:
                self._side.pop(segment_id, None)
        for key in list(self._segment_cache):
            if key[0] not in live:
                self._segment_cache.pop(key, None)
        for joined in list(self._joined):
            if any(segment_id not in live for segment_id, _count in joined[0]):
                self._joined.pop(joined, None)

    def _open(self, name: str) -> index.Index:
        return FileStorage(str(self.directory)).open_index(indexname=name)

    def _create(self, name: str, *, publish: bool = True) -> index.Index:
        ix = FileStorage(str(self.directory)).create_index(make_schema(), indexname=name)
        if publish:
            self._publish(name)
        return ix

    def _publish(self, name: str) -> None:
        tmp = self.directory / f"{_CURRENT}.tmp"
        tmp.write_text(name + "\n", encoding="ascii")
        os.replace(tmp, self.directory / _CURRENT)

    def _current_name(self) -> str:
        return (self.directory / _CURRENT).read_text(encoding="ascii").strip()

    def _index_names(self) -> set[str]:
        names = set()
        for path in self.directory.iterdir():
            m = re.match(r"^_?(archive_\d+)_", path.name)
            if m:
                names.add(m.group(1))
        return names

    def _next_name(self) -> str:
        numbers = [int(_NAME_RE.match(n).group(1)) for n in self._index_names()]  # type: ignore[union-attr]
        return f"archive_{max(numbers, default=0) + 1}"

    def _delete_index_files(self, name: str) -> None:
        for path in self.directory.iterdir():
            if path.name.startswith((f"{name}_", f"_{name}_")):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        shutil.rmtree(self.directory / f"{name}.tmp", ignore_errors=True)

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """The directory's exclusive write lock; waits up to ``lock_timeout`` seconds.

        flock is released by the kernel when a holder dies, so a killed worker
        leaves no stale lock behind.
        """
        deadline = time.monotonic() + self.lock_timeout
        with open(self.directory / _LOCK, "a+b") as handle:
            delay = 0.01
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise IndexBusy(
                            f"the search index is locked by another writer for more than "
                            f"{self.lock_timeout:g} s"
                        ) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class _PostingBuffer:
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


class _Writer(SegmentWriter):  # type: ignore[misc]
    """Whoosh's segment writer with the in-memory posting buffer and cached field lengths,
    writing each new segment's side file (see :mod:`search.index_postings`) before the
    segment can be committed."""

    def __init__(self, ix: index.Index, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        self.pool = _PostingBuffer()
        self._side_terms: dict[Any, Any] | None = None

    def _flush_segment(self) -> None:
        # As SegmentWriter._flush_segment, but each document's field length is read
        # from disk once instead of once per posting.
        self.perdocwriter.close()
        lengths = _CachedLengths(self.per_document_reader())
        try:
            self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
            self.fieldwriter.close()
        finally:
            lengths.close()
        # The very postings Whoosh just wrote (new documents and merged segments alike).
        self._side_terms = self.pool.terms

    def _finalize_segment(self) -> Any:
        # After Whoosh assembles the segment's compound file (which would swallow any
        # file named after the segment) and before anything commits it.
        segment = super()._finalize_segment()
        terms, self._side_terms = self._side_terms or {}, None
        write_side_file(self.storage.folder, segment.segment_id(), segment.doc_count_all(), terms)
        return segment


class _CachedLengths:
    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._cache: dict[tuple[int, str], int] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        key = (docnum, fieldname)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._reader.doc_field_length(docnum, fieldname, default)
        return found

    def close(self) -> None:
        self._reader.close()
        self._cache.clear()


def _commit(writer: _Writer) -> None:
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


def _finish_segment(writer: _Writer) -> Any:
    segment = writer._finalize_segment()
    # No writer._finish(): it would delete the temporary directory that concurrent
    # workers share (Whoosh names it after the index); the publishing commit does.
    return segment


def _segments_from(
    directory: str, name: str, batches: Iterable[list[IndexedDocument]], segment_docs: int
) -> list[Any]:
    """Whoosh segments holding the documents of ``batches``, at most ``segment_docs`` each,
    written but not yet part of the index (the caller holds the lock and commits them)."""
    ix = FileStorage(directory).open_index(indexname=name)
    segments = []
    writer: _Writer | None = None
    try:
        for batch in batches:
            for doc in batch:
                if writer is None:
                    writer = _Writer(ix, _lk=False)
                writer.add_document(**document_fields(doc))
                if writer.doc_count() >= segment_docs:
                    segments.append(_finish_segment(writer))
                    writer = None
        if writer is not None:
            segments.append(_finish_segment(writer))
            writer = None
    finally:
        if writer is not None:
            writer.cancel()
    return segments


def _segment_worker(directory: str, name: str, jobs: Any, results: Any, segment_docs: int) -> None:
    """A rebuild worker: batches from ``jobs`` until None, then its segments to ``results``."""
    try:
        batches = iter(jobs.get, None)
        results.put(("ok", _segments_from(directory, name, batches, segment_docs)))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def _batches(docs: Iterable[IndexedDocument], size: int) -> Iterator[list[IndexedDocument]]:
    batch: list[IndexedDocument] = []
    seen: set[int] = set()
    for doc in docs:
        if doc.id in seen:  # an id is indexed once: the first occurrence wins
            continue
        seen.add(doc.id)
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _build_segments(
    directory: Path, name: str, docs: Iterable[IndexedDocument], workers: int, segment_docs: int
) -> tuple[list[Any], int]:
    """Segments for ``docs``, written here or by ``workers`` spawned processes, and the count.

    Still one writer: the workers only write segment files, which count for nothing
    until the caller (holding the lock) commits them.
    """
    count = 0

    def counted() -> Iterator[list[IndexedDocument]]:
        nonlocal count
        for batch in _batches(docs, 200):
            count += len(batch)
            yield batch

    if workers <= 1:
        return _segments_from(str(directory), name, counted(), segment_docs), count
    import multiprocessing as mp
    import queue

    # Spawned, not forked: the caller may hold threads, locks and connections.
    ctx = mp.get_context("spawn")
    jobs = ctx.Queue(maxsize=workers * 2)  # bounded: documents are produced as consumed
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_segment_worker,
            args=(str(directory), name, jobs, results, segment_docs),
            daemon=True,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        proc.start()
    try:

        def put(item: list[IndexedDocument] | None) -> None:
            while True:
                try:
                    jobs.put(item, timeout=1.0)
                    return
                except queue.Full:
                    if not any(p.is_alive() for p in procs):
                        raise RuntimeError("the index rebuild workers died") from None

        for batch in counted():
            put(batch)
        for _ in procs:
            put(None)
        segments: list[Any] = []
        for _ in procs:
            while True:
                try:
                    status, value = results.get(timeout=1.0)
                    break
                except queue.Empty:
                    if not any(p.is_alive() for p in procs) and results.empty():
                        raise RuntimeError("an index rebuild worker died") from None
            if status != "ok":
                raise RuntimeError(f"an index rebuild worker failed: {value}")
            segments += value
        return segments, count
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()


def _default_workers() -> int:
    """Two processes where there are cores, none inside a daemonic process (a Celery
    prefork child), which may not start children."""
    import multiprocessing as mp

    if mp.current_process().daemon:
        return 0
    return min(2, os.cpu_count() or 1)


_K1, _B = 1.2, 0.75  # BM25, as Whoosh's default BM25F
_MAX_PREFIX_TERMS = 2000  # a lone character expands to at most this many bigrams
_BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.uint32)

# A term's postings over the snapshot: global document numbers (int64, ascending,
# live documents only) and the term's frequency in each (float64).
Postings = tuple[np.ndarray, np.ndarray]
_NO_DOCS = np.zeros(0, dtype=np.int64)
_NO_WEIGHTS = np.zeros(0, dtype=np.float64)
_NO_DOCS.flags.writeable = _NO_WEIGHTS.flags.writeable = False


@dataclass
class _Leaf:
    reader: Any
    offset: int
    count: int
    deleted: frozenset[int]
    segment_id: str | None
    side: SidePostings | None  # None: postings come from Whoosh's blocks


class _Snapshot:
    """One generation of the index as a searcher sees it, with the caches searches use.

    Documents are numpy arrays over the snapshot's document numbers: filters are
    boolean masks, a term's postings two arrays, read from the segment's side file
    (memory-mapped, no decoding) or, for a segment without one, decoded once from
    Whoosh's blocks into the index's shared cache. Only the documents left after the
    filters and every word are scored, with BM25 over the per-field term
    frequencies, vectorised. Whoosh's matchers would step through every posting of
    a common word in Python, which at 100k documents costs seconds.
    """

    def __init__(self, name: str, searcher: Searcher, owner: SearchIndex) -> None:
        self.name = name
        self.searcher = searcher
        self._owner = owner
        self.doc_count_all = searcher.doc_count_all()
        self.doc_count = max(1, searcher.doc_count())
        self.live = np.ones(self.doc_count_all, dtype=bool)
        self.leaves: list[_Leaf] = []
        for leaf, offset in searcher.leaf_searchers():
            reader = leaf.reader()
            deleted = reader.deleted_docs_set if reader.has_deletions() else frozenset()
            if deleted:
                self.live[offset + np.fromiter(deleted, dtype=np.int64, count=len(deleted))] = False
            segment = reader.segment()
            count = reader.doc_count_all()
            segment_id = segment.segment_id() if segment is not None else None
            side = owner._side_file(segment_id, count) if segment_id and count else None
            self.leaves.append(_Leaf(reader, offset, count, deleted, segment_id, side))
        self.segment_ids = {leaf.segment_id for leaf in self.leaves if leaf.segment_id}
        self.generation = tuple((leaf.segment_id, leaf.count) for leaf in self.leaves)
        # Filter masks repeat (a user's access, a department): bounded by their size.
        self._filters = _SizedCache(2 * owner.cache_postings)
        self._lengths: dict[str, np.ndarray | None] = {}
        self._dates: np.ndarray | None = None

    # -- postings

    def postings(self, field: str, word: str) -> Postings:
        """The live documents holding ``word`` in ``field``, with its frequency in each."""
        if field not in self.searcher.schema:
            return _NO_DOCS, _NO_WEIGHTS
        term = word.encode("utf-8")
        docs, weights = [], []
        for leaf in self.leaves:
            found = self._leaf_postings(leaf, field, word, term)
            if found is not None:
                docs.append(found[0])
                weights.append(found[1])
        if not docs:
            return _NO_DOCS, _NO_WEIGHTS
        if len(docs) == 1:
            return docs[0], weights[0]
        return np.concatenate(docs), np.concatenate(weights)

    def _leaf_postings(self, leaf: _Leaf, field: str, word: str, term: bytes) -> Postings | None:
        """One segment's postings of a term, as global numbers; None if it has none."""
        if leaf.side is not None:
            found = leaf.side.get(field, term)
        else:
            found = self._owner._whoosh_postings(leaf, field, word)
        if found is None or not len(found[0]):
            return None
        docs = found[0].astype(np.int64)
        docs += leaf.offset
        weights = found[1].astype(np.float64)
        if leaf.deleted:
            keep = self.live[docs]
            docs, weights = docs[keep], weights[keep]
        return docs, weights

    def term_docs(self, field: str, word: str, prefix: bool = False) -> Postings:
        """Documents containing ``word`` in ``field`` (or, with ``prefix``, any term it
        starts: frequencies added up), with the frequency in each."""
        if not prefix:
            return self.postings(field, word)
        total = np.zeros(self.doc_count_all, dtype=np.float64)
        present = np.zeros(self.doc_count_all, dtype=bool)
        for leaf in self.leaves:
            if field not in leaf.reader.schema:
                continue
            for each in itertools.islice(leaf.reader.expand_prefix(field, word), _MAX_PREFIX_TERMS):
                text = each.decode("utf-8") if isinstance(each, bytes) else each
                found = self._leaf_postings(leaf, field, text, text.encode("utf-8"))
                if found is not None:
                    total[found[0]] += found[1]
                    present[found[0]] = True
        docs = np.flatnonzero(present)
        return docs, total[docs]

    def all_docs(self, field: str, words: tuple[str, ...], within: np.ndarray) -> Postings:
        """Documents in ``within`` containing every one of ``words`` (in any order), with
        the smallest of their frequencies."""
        lists = sorted((self.postings(field, w) for w in set(words)), key=lambda p: len(p[0]))
        docs, freq = lists[0]
        keep = within[docs]
        docs, freq = docs[keep], freq[keep]
        for other, other_freq in lists[1:]:
            if not len(docs) or not len(other):
                return _NO_DOCS, _NO_WEIGHTS
            at = np.searchsorted(other, docs)
            at[at == len(other)] = 0
            keep = other[at] == docs
            docs, freq = docs[keep], np.minimum(freq[keep], other_freq[at[keep]])
        return docs, freq

    def phrase_docs(self, field: str, words: tuple[str, ...], within: np.ndarray) -> Postings:
        """Documents in ``within`` where ``words`` follow each other in ``field``, with
        the number of times they do."""
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
                return _NO_DOCS, _NO_WEIGHTS
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
            for ids, _weights, values in _posting_blocks(leaf.reader, field, word, wanted=wanted):
                hits = [i for i, d in enumerate(ids) if d in wanted_set]
                if hits:
                    block = values()
                    for i in hits:
                        out[leaf.offset + ids[i]] = _decode_positions(block[i])
        return out

    def clause_docs(self, clause: Clause, within: np.ndarray) -> Postings:
        """Documents matching one clause (phrases, words: only among ``within``), with
        frequency."""
        if len(clause.terms) == 1:
            return self.term_docs(clause.field, clause.terms[0], clause.prefix)
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

    # -- evaluation and scoring

    def evaluate(self, plan: Plan, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The allowed documents matching ``plan`` (a mask), and their scores."""
        matches = allowed.copy()
        found: dict[Clause, Postings] = {}
        # Plain terms first: they are cheap sets, and they narrow where phrases are checked.
        groups = sorted(
            plan.groups, key=lambda g: any(len(c.terms) > 1 and c.ordered for u in g for c in u)
        )
        for group in groups:
            docs = np.zeros(self.doc_count_all, dtype=bool)
            for unit in group:
                for clause in unit:
                    found[clause] = self.clause_docs(clause, matches)
                    docs[found[clause][0]] = True
            matches &= docs
            if not matches.any():
                return matches, np.zeros(self.doc_count_all)
        for unit in plan.excluded:
            for clause in unit:
                matches[self.clause_docs(clause, matches)[0]] = False
        scores = np.zeros(self.doc_count_all)
        if matches.any():
            for clause, (docs_of, freqs) in found.items():
                self._score(clause, docs_of, freqs, matches, scores)
        return matches, scores

    def _score(
        self,
        clause: Clause,
        docs: np.ndarray,
        freqs: np.ndarray,
        matches: np.ndarray,
        scores: np.ndarray,
    ) -> None:
        """Add BM25 (Whoosh's BM25F: B=0.75, K1=1.2) for one clause to ``scores``."""
        if not len(docs):
            return
        idf = math.log(self.doc_count / (len(docs) + 1)) + 1.0
        weight = clause.boost * max(idf, 0.1)
        lengths = self.lengths(clause.field)
        total = self.searcher.field_length(clause.field)
        avg = total / self.doc_count if total else 0.0
        keep = matches[docs]
        d, tf = docs[keep], freqs[keep]
        # The same operations, in the same order, as the scalar formula: same floats.
        norm = (1 - _B) + _B * lengths[d] / avg if avg and lengths is not None else 1.0
        scores[d] += weight * tf * (_K1 + 1) / (tf + _K1 * norm)

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
        key = (self.generation, kind)
        found = self._owner._joined.get(key)
        if found is None:
            parts = [self._owner._segment_array(leaf, kind, load) for leaf in self.leaves]
            found = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
            found = found.astype(dtype, copy=False)
            found.flags.writeable = False
            if all(leaf.segment_id for leaf in self.leaves):
                self._owner._joined[key] = found
        return found  # type: ignore[no-any-return]


def _top(docs: np.ndarray, keys: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` documents with the largest keys, largest first; ties by document number."""
    n = len(docs)
    if n > k:
        kth = np.partition(keys, n - k)[n - k]
        chosen = keys >= kth
        docs, keys = docs[chosen], keys[chosen]
    return docs[np.lexsort((docs, -keys))[:k]]


class _SizedCache:
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


def _block_values(raw: Any) -> Any:
    """The values (positions) of the block ``raw`` is on, decoded on demand."""
    raw._read_values()
    return raw._values


def _posting_blocks(
    reader: Any, field: str, word: str, values: bool = False, wanted: list[int] | None = None
) -> Iterator[tuple[Any, Any, Callable[[], Any]]]:
    """A term's postings as blocks: (docnums, weights, a function giving the values).

    With ``wanted`` (sorted segment docnums), blocks that cannot hold one of them are
    skipped without being decoded. Deleted documents are included: callers skip them.
    """
    try:
        matcher = reader.postings(field, word)
    except TermNotFound:
        return
    raw = getattr(matcher, "child", matcher)  # unwrap the deleted-documents filter
    if all(hasattr(raw, a) for a in ("_read_ids", "_read_weights", "_read_values", "_maxid")):
        # Whoosh 3 codec: whole blocks (arrays) instead of stepping document by document;
        # a block's header gives its last docnum before its data is decompressed.
        previous_max = -1
        while raw.is_active():
            block_max = raw._maxid
            if wanted is not None:
                i = bisect.bisect_right(wanted, previous_max)
                if i == len(wanted):
                    return
                if wanted[i] > block_max:
                    previous_max = block_max
                    raw._next_block()
                    continue
            raw._read_ids()
            raw._read_weights()
            yield raw._ids, raw._weights, partial(_block_values, raw)
            previous_max = block_max
            raw._next_block()
        return
    ids, weights, vals = [], [], []
    while raw.is_active():
        ids.append(raw.id())
        weights.append(raw.weight())
        vals.append(raw.value() if values or wanted is not None else None)
        raw.next()
    yield ids, weights, lambda: vals


def _decode_positions(value: bytes) -> set[int]:
    """Positions from a Whoosh ``Positions`` value: a count, then pickled deltas."""
    if not value.endswith(b"."):
        value += b"."
    return set(itertools.accumulate(pickle.loads(value[4:])))  # noqa: S301 - our own index


def _length_loader(field: str) -> Callable[[Any], np.ndarray]:
    def load(reader: Any) -> np.ndarray:
        count = reader.doc_count_all()
        try:
            # Whoosh 3 keeps one length byte per document: read the column in one go.
            column = reader._perdoc._cached_reader(f"_{field}_len", LENGTHS_COLUMN)
            raw = column._dbfile.get(column._basepos, column._count) if column else b""
            codes = np.frombuffer(raw, dtype=np.uint8)[:count]
            found = np.zeros(count, dtype=np.uint32)
            found[: len(codes)] = _BYTE_TO_LENGTH[codes]
            return found
        except (AttributeError, TypeError):  # another codec: one call per document
            lengths = (reader.doc_field_length(d, field, 0) for d in range(count))
            return np.fromiter(lengths, dtype=np.uint32, count=count)

    return load


def _date_loader(reader: Any) -> np.ndarray:
    count = reader.doc_count_all()
    if not reader.has_column("document_date"):
        return np.zeros(count, dtype=np.int64)
    column = reader.column_reader("document_date", translate=False)
    try:
        # Whoosh's numeric column: fixed-width big-endian numbers, the default after the
        # last document given one. Read in one go.
        width, stored = column._fixedlen, column._count
        raw = column._dbfile.get(column._basepos, width * stored) if stored else b""
        values = np.frombuffer(raw, dtype=np.dtype(">" + column._typecode))
        if values.dtype.itemsize != width or len(values) != stored:
            raise TypeError("unexpected column layout")
        found = np.full(count, int(column._default or 0), dtype=np.int64)
        found[: min(count, stored)] = values[:count]
        return found
    except (AttributeError, TypeError, ValueError):  # another column type: one call each
        return np.fromiter((int(column[d] or 0) for d in range(count)), dtype=np.int64, count=count)


def _access_query(access: AccessFilter) -> wq.Query | None:
    if access.everything:
        return wq.Every()
    clauses: list[wq.Query] = [wq.Term("department", d) for d in sorted(access.departments)]
    clauses += [wq.Term("customer_id", str(c)) for c in sorted(access.customers)]
    clauses += [
        wq.Term("cust_cat", f"{cid}/{cat}") for cid, cat in sorted(access.customer_categories)
    ]
    clauses += [wq.Term("id", str(d)) for d in sorted(access.documents)]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else wq.Or(clauses)


def _filter_queries(q: SearchQuery) -> list[wq.Query]:
    out: list[wq.Query] = []
    if q.customer_id is not None:
        out.append(wq.Term("customer_id", str(q.customer_id)))
    if q.category:
        out.append(wq.Term("category", q.category))
    if q.department:
        out.append(wq.Term("department", q.department))
    if q.status:
        out.append(wq.Term("status", q.status))
    return out
