"""A full rebuild's segments, built in parallel by spawned worker processes.

Still one writer: workers only write segment files (and their side files), which
count for nothing until the caller, holding the index lock, commits them all at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from whoosh.filedb.filestore import FileStorage

from search.keyed import TermKey
from search.schema import document_fields
from search.types import IndexedDocument
from search.whoosh_internals import BufferedSegmentWriter, finish_segment
from search.writer import open_writer

__all__ = ["build_segments", "default_workers"]


def _segments_from(
    directory: str,
    name: str,
    key: TermKey,
    batches: Iterable[list[IndexedDocument]],
    segment_docs: int,
    side_positions: bool = True,
) -> list[Any]:
    """Whoosh segments holding the documents of ``batches``, at most ``segment_docs`` each,
    written but not yet part of the index (the caller holds the lock and commits them)."""
    ix = FileStorage(directory).open_index(indexname=name)
    segments = []
    writer: BufferedSegmentWriter | None = None
    try:
        for batch in batches:
            for doc in batch:
                if writer is None:
                    writer = open_writer(ix, lock=False, side_positions=side_positions)
                writer.add_document(**document_fields(doc, key))
                if writer.doc_count() >= segment_docs:
                    segments.append(finish_segment(writer))
                    writer = None
        if writer is not None:
            segments.append(finish_segment(writer))
            writer = None
    finally:
        if writer is not None:
            writer.cancel()
    return segments


def _segment_worker(  # noqa: PLR0913 - a process's arguments
    directory: str,
    name: str,
    key: TermKey,
    jobs: Any,
    results: Any,
    segment_docs: int,
    side_positions: bool = True,
) -> None:
    """A rebuild worker: batches from ``jobs`` until None, then its segments to ``results``."""
    try:
        batches = iter(jobs.get, None)
        segments = _segments_from(directory, name, key, batches, segment_docs, side_positions)
        results.put(("ok", segments))
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


def build_segments(  # noqa: PLR0913 - the rebuild's parameters, passed through
    directory: Path,
    name: str,
    key: TermKey,
    docs: Iterable[IndexedDocument],
    workers: int,
    segment_docs: int,
    side_positions: bool = True,
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
        built = _segments_from(str(directory), name, key, counted(), segment_docs, side_positions)
        return built, count
    import multiprocessing as mp
    import queue

    # Spawned, not forked: the caller may hold threads, locks and connections.
    ctx = mp.get_context("spawn")
    jobs = ctx.Queue(maxsize=workers * 2)  # bounded: documents are produced as consumed
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=_segment_worker,
            args=(str(directory), name, key, jobs, results, segment_docs, side_positions),
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


def default_workers() -> int:
    """Two processes where there are cores, none inside a daemonic process (a Celery
    prefork child), which may not start children."""
    import multiprocessing as mp

    if mp.current_process().daemon:
        return 0
    return min(2, os.cpu_count() or 1)
