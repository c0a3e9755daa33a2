"""The archive's full-text index: a Whoosh index holding ids and filterable fields only.

:class:`SearchIndex` is the Whoosh :class:`~search.backend.SearchBackend`: it creates,
opens and publishes index generations and serialises writes on a directory lock. The
schema, writer, rebuild and search evaluation are in the modules it imports.

Bodies are analysed (see :mod:`search.analysis`) but never stored: the index
keeps each document's id, its filter fields and the terms' postings. Access
control is applied inside every search as a filter, so totals and pages count
only what the caller may open.

Terms of text, numbers and codes are keyed (:mod:`search.keyed`) with the key the caller
hands in; ``CURRENT`` names the published generation and the fingerprint of the key that
wrote it. An index written without a key, or with another, is refused
(:class:`~search.types.IndexNeedsRebuild`) until ``rebuild`` replaces it.

Writes take an exclusive lock on the index directory and wait for it (bounded);
each call is one Whoosh writer and one commit. ``rebuild`` writes a complete new
index beside the current one and then switches a pointer file atomically, so
readers see the old content until the new one is whole.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from whoosh import index
from whoosh.filedb.filestore import FileStorage

from search import evaluator
from search.keyed import TermKey, keyed_plan
from search.query import QueryError
from search.rebuild import build_segments, default_workers
from search.schema import MixedText, document_fields, make_schema
from search.snapshot import SegmentCaches, Snapshot
from search.types import (
    AccessFilter,
    Hit,
    IndexBusy,
    IndexedDocument,
    IndexNeedsRebuild,
    SearchPage,
    SearchQuery,
)
from search.whoosh_internals import delete_index_files, generation_files, index_names
from search.writer import commit, open_writer

__all__ = [
    "AccessFilter",
    "Generation",
    "Hit",
    "IndexBusy",
    "IndexNeedsRebuild",
    "IndexedDocument",
    "MixedText",
    "QueryError",
    "SearchIndex",
    "SearchPage",
    "SearchQuery",
]

# MixedText is exported because indexes written before search/schema.py existed
# pickled their schema's text fields as "search.index.MixedText": that name must
# keep resolving for them to open.

_CURRENT = "CURRENT"
_KEY_LINE = "terms "  # CURRENT's second line: "terms <fingerprint of the term key>"
_LOCK = "write.lock"
_NAME_RE = re.compile(r"^archive_(\d+)$")


@dataclass(frozen=True)
class Generation:
    """A published generation's files, as :meth:`SearchIndex.held` hands them out."""

    name: str
    current: str  # the text of CURRENT naming it (generation and key fingerprint, no key)
    directory: Path
    files: list[str]  # names inside ``directory``; the table of contents last


class SearchIndex:
    """The archive's Whoosh index in ``directory`` (created if missing).

    Safe to use from several threads and processes: searches read a snapshot,
    writes queue on a directory lock (``lock_timeout`` seconds at most).
    ``side_positions=False`` writes no positions side files and checks phrases on
    Whoosh's own positions (the earlier path, kept as the benchmark's baseline). ``key`` keys
    the terms (a :class:`~search.keyed.TermKey` or its secret, at least 32 bytes); keep
    it outside the index directory.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        key: TermKey | bytes,
        lock_timeout: float = 300.0,
        cache_postings: int = 1_000_000,
        side_positions: bool = True,
    ) -> None:
        self.key = key if isinstance(key, TermKey) else TermKey(key)
        self.directory = Path(directory)
        self.lock_timeout = lock_timeout
        # Postings decoded from Whoosh's blocks, for segments written without a side
        # file (~16 bytes each), shared by the process's threads; also bounds each
        # thread's cache of filter masks.
        self.cache_postings = cache_postings
        # Positions side files: written with every new segment and used for phrases
        # (False: neither, phrases are checked on Whoosh's positions as before them).
        self.side_positions = side_positions
        self.directory.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._caches = SegmentCaches(self.directory, cache_postings)
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
            self._refuse_other_keys()
            ix = self._open(self._current_name())
            writer = open_writer(ix, side_positions=self.side_positions)
            try:
                seen: set[int] = set()
                for doc in reversed(docs):  # the last version of a repeated id wins
                    if doc.id in seen:
                        continue
                    seen.add(doc.id)
                    writer.update_document(**document_fields(doc, self.key))
            except BaseException:
                writer.cancel()
                raise
            commit(writer)
        return len(seen)

    def remove(self, ids: Iterable[int]) -> int:
        """Delete documents by id in one commit; returns how many were in the index."""
        ids = set(ids)
        if not ids:
            return 0
        with self._write_lock():
            ix = self._open(self._current_name())
            writer = open_writer(ix, side_positions=self.side_positions)
            try:
                removed = sum(writer.delete_by_term("id", str(i)) for i in ids)
            except BaseException:
                writer.cancel()
                raise
            commit(writer)
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
            workers = default_workers()
        with self._write_lock():
            old = self._current_name()
            new = self._next_name()
            ix = self._create(new, publish=False)
            try:
                segments, count = build_segments(
                    self.directory,
                    new,
                    self.key,
                    docs,
                    workers,
                    segment_docs,
                    self.side_positions,
                )
                writer = ix.writer()
                # The built segments replace the (empty) content in one TOC commit.
                writer.commit(mergetype=lambda _writer, _old: list(segments))
            except BaseException:
                delete_index_files(self.directory, new)
                raise
            self._publish(new)
            # Keep the previous index: a reader may be opening it at this moment.
            for name in self._index_names():
                if name not in (new, old):
                    delete_index_files(self.directory, name)
        return count

    # ----------------------------------------------------------------- reads

    def needs_rebuild(self) -> str | None:
        """Why the index cannot be used with this key (None: it can): ``"unkeyed"``, an
        index written before terms were keyed; ``"other-key"``, one written with another
        key. Either gives wrong answers until :meth:`rebuild`."""
        return self._rebuild_reason(self._current()[1])

    def _rebuild_reason(self, fingerprint: str | None) -> str | None:
        if fingerprint == self.key.fingerprint:
            return None
        return "unkeyed" if fingerprint is None else "other-key"

    def ids(self) -> set[int]:
        """Every indexed document id."""
        reader = self._snapshot().searcher.reader()
        return {int(stored["id"]) for _docnum, stored in reader.iter_docs()}

    def count(self) -> int:
        """How many documents are indexed."""
        return int(self._snapshot().searcher.doc_count())

    def search(self, query: SearchQuery) -> SearchPage:
        """One page of the documents matching ``query`` that the caller may open, and
        their total."""
        plan = evaluator.plan_of(query)
        name, fingerprint = self._current()  # read once: the generation and its key
        reason = self._rebuild_reason(fingerprint)
        if reason is not None:
            raise IndexNeedsRebuild(reason)
        access = evaluator.access_query(query.access)
        if access is None:
            return SearchPage(hits=[], total=0)
        snapshot = self._snapshot(name)
        return evaluator.page(snapshot, query, keyed_plan(plan, self.key), access)

    @contextlib.contextmanager
    def held(self) -> Iterator[Generation]:
        """The published generation, held still (the write lock) while the caller copies its
        files: its name, ``CURRENT``'s text and every file a reader of it opens."""
        with self._write_lock():
            name = self._current_name()
            yield Generation(
                name=name,
                current=(self.directory / _CURRENT).read_text(encoding="ascii"),
                directory=self.directory,
                files=generation_files(self.directory, name),
            )

    # ----------------------------------------------------------------- internals

    def _refuse_other_keys(self) -> None:
        reason = self.needs_rebuild()
        if reason is not None:
            raise IndexNeedsRebuild(reason)

    def _snapshot(self, name: str | None = None) -> Snapshot:
        """This thread's view of generation ``name`` (default: the published one), reopened
        when the index changed."""
        local = self._local
        name = name or self._current_name()
        snap: Snapshot | None = getattr(local, "snapshot", None)
        if snap is not None and snap.name == name and snap.searcher.up_to_date():
            return snap
        if snap is not None:
            snap.searcher.close()
        # A fresh searcher, not searcher.refresh(): refresh reuses the reader of a
        # segment that only gained deletions, and would still see deleted documents.
        local.snapshot = snap = Snapshot.open(
            self.directory, name, self._caches, self.cache_postings, self.side_positions
        )
        return snap

    def _open(self, name: str) -> index.Index:
        return FileStorage(str(self.directory)).open_index(indexname=name)

    def _create(self, name: str, *, publish: bool = True) -> index.Index:
        ix = FileStorage(str(self.directory)).create_index(make_schema(), indexname=name)
        if publish:
            self._publish(name)
        return ix

    def _publish(self, name: str) -> None:
        tmp = self.directory / f"{_CURRENT}.tmp"
        tmp.write_text(f"{name}\n{_KEY_LINE}{self.key.fingerprint}\n", encoding="ascii")
        os.replace(tmp, self.directory / _CURRENT)

    def _current(self) -> tuple[str, str | None]:
        """The published generation, and the fingerprint of its key (None: unkeyed)."""
        lines = (self.directory / _CURRENT).read_text(encoding="ascii").split("\n")
        keyed = [line[len(_KEY_LINE) :].strip() for line in lines if line.startswith(_KEY_LINE)]
        return lines[0].strip(), (keyed[0] if keyed else None)

    def _current_name(self) -> str:
        return self._current()[0]

    def _index_names(self) -> set[str]:
        return index_names(self.directory, r"archive_\d+")

    def _next_name(self) -> str:
        numbers = [int(_NAME_RE.match(n).group(1)) for n in self._index_names()]  # type: ignore[union-attr]
        return f"archive_{max(numbers, default=0) + 1}"

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
