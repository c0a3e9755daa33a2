"""Every use of Whoosh's private or undocumented parts, in one place, for Whoosh-Reloaded 2.7.5.

The index reads codec blocks and columns directly, replaces the segment writer's
posting pool, and knows how FileStorage names files: all of it here, so that an
upgrade is checked in one file. Importing this module with another Whoosh version
raises ImportError: update the pin only after ``tests/search`` passes.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import pickle
import re
import shutil
from collections.abc import Callable, Iterator
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import whoosh

PINNED_VERSION = (2, 7, 5)  # pyproject.toml: Whoosh-Reloaded==2.7.5


def check_version(found: Any = None) -> None:
    """Refuse any Whoosh but the pinned one: what follows relies on its internals."""
    found = whoosh.__version__ if found is None else found
    if tuple(found)[:3] != PINNED_VERSION:
        wanted = ".".join(map(str, PINNED_VERSION))
        have = ".".join(map(str, tuple(found)))
        raise ImportError(
            f"search/whoosh_internals.py is written for Whoosh-Reloaded {wanted} and found "
            f"{have}: it reads that version's private codec, writer and storage internals. "
            f"Install Whoosh-Reloaded=={wanted}, or review this module against the new "
            f"version, run tests/search and then change PINNED_VERSION and the pin."
        )


check_version()

# Imported only once the version is known to be the pinned one.
from whoosh.codec.whoosh3 import LENGTHS_COLUMN  # noqa: E402
from whoosh.reading import TermNotFound  # noqa: E402
from whoosh.system import pack_uint  # noqa: E402
from whoosh.util.numeric import byte_to_length  # noqa: E402
from whoosh.writing import SegmentWriter  # noqa: E402

__all__ = [
    "PINNED_VERSION",
    "BufferedSegmentWriter",
    "PostingPool",
    "check_version",
    "decode_positions",
    "position_lists",
    "delete_index_files",
    "encode_postings",
    "field_lengths",
    "finish_segment",
    "generation_files",
    "index_names",
    "leaf_readers",
    "numeric_column",
    "posting_blocks",
]


# --------------------------------------------------------------------------- postings format


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


def decode_positions(value: bytes) -> set[int]:
    """Positions from a Whoosh ``Positions`` value: a count, then pickled deltas."""
    if not value.endswith(b"."):
        value += b"."
    return set(itertools.accumulate(pickle.loads(value[4:])))  # noqa: S301 - our own index


def position_lists(values: list[bytes]) -> list[list[int]]:
    """Each Whoosh ``Positions`` value's positions, ascending (the positions side files
    are written from them; values read back from a merged segment may lack the pickle's
    final stop)."""
    loads, accumulate = pickle.loads, itertools.accumulate
    return [
        list(accumulate(loads(v[4:] if v[-1:] == b"." else v[4:] + b".")))  # noqa: S301
        for v in values
    ]


# --------------------------------------------------------------------------- reading


def leaf_readers(searcher: Any) -> Iterator[tuple[Any, int, frozenset[int], str | None]]:
    """Each segment of a searcher: its reader, the number of its first document in the
    searcher, its deleted documents (segment numbers) and its segment id (None: none)."""
    for leaf, offset in searcher.leaf_searchers():
        reader = leaf.reader()
        deleted = reader.deleted_docs_set if reader.has_deletions() else frozenset()
        segment = reader.segment()
        yield reader, offset, deleted, segment.segment_id() if segment is not None else None


def _block_values(raw: Any) -> Any:
    """The values (positions) of the block ``raw`` is on, decoded on demand."""
    raw._read_values()
    return raw._values


def posting_blocks(
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


_BYTE_TO_LENGTH = np.array([byte_to_length(i) for i in range(256)], dtype=np.uint32)


def field_lengths(reader: Any, field: str, count: int) -> np.ndarray | None:
    """Each of the segment's ``count`` documents' length in ``field``, read in one go
    from Whoosh 3's column of one length byte per document; None for another codec."""
    try:
        column = reader._perdoc._cached_reader(f"_{field}_len", LENGTHS_COLUMN)
        raw = column._dbfile.get(column._basepos, column._count) if column else b""
        codes = np.frombuffer(raw, dtype=np.uint8)[:count]
        found = np.zeros(count, dtype=np.uint32)
        found[: len(codes)] = _BYTE_TO_LENGTH[codes]
        return found
    except (AttributeError, TypeError):
        return None


def numeric_column(column: Any, count: int) -> np.ndarray | None:
    """The ``count`` values of a Whoosh numeric column reader (fixed-width big-endian
    numbers, the default after the last document given one), read in one go; None for
    another column type."""
    try:
        width, stored = column._fixedlen, column._count
        raw = column._dbfile.get(column._basepos, width * stored) if stored else b""
        values = np.frombuffer(raw, dtype=np.dtype(">" + column._typecode))
        if values.dtype.itemsize != width or len(values) != stored:
            raise TypeError("unexpected column layout")
        found = np.full(count, int(column._default or 0), dtype=np.int64)
        found[: min(count, stored)] = values[:count]
        return found
    except (AttributeError, TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- writing


class PostingPool(Protocol):
    """What SegmentWriter asks of its posting pool (Whoosh's own is ``PostingPool``),
    plus ``terms``: the postings held, as the segment's side file is written from them."""

    fieldnames: set[str]

    def add(self, item: tuple[str, bytes, int, float, bytes | None]) -> None: ...

    def iter_postings(self) -> Iterator[tuple[str, bytes, int, float, bytes]]: ...

    def cleanup(self) -> None: ...

    @property
    def terms(self) -> Any: ...


# Called with (storage folder, segment id, document count, the pool's terms) once a new
# segment's files are complete and before anything can commit it.
SegmentHook = Callable[[str, str, int, Any], None]


class BufferedSegmentWriter(SegmentWriter):  # type: ignore[misc]
    """Whoosh's segment writer with another posting pool and cached field lengths, and
    a hook called with each new segment's postings before the segment can be committed.

    ``lock=False`` writes segments without Whoosh's index lock (a rebuild worker: the
    caller holds the directory lock and commits the segments).
    """

    def __init__(
        self, ix: Any, pool: PostingPool, on_segment: SegmentHook, *, lock: bool = True
    ) -> None:
        super().__init__(ix, _lk=lock)
        self.pool = pool
        self._on_segment = on_segment
        self._side_terms: Any = None

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
        self._on_segment(self.storage.folder, segment.segment_id(), segment.doc_count_all(), terms)
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


def finish_segment(writer: BufferedSegmentWriter) -> Any:
    """The writer's segment, complete on disk but not committed (its side file written)."""
    segment = writer._finalize_segment()
    # No writer._finish(): it would delete the temporary directory that concurrent
    # workers share (Whoosh names it after the index); the publishing commit does.
    return segment


# --------------------------------------------------------------------------- storage files


def index_names(directory: Path, name_pattern: str) -> set[str]:
    """Names (matching ``name_pattern``) of the indexes with files in ``directory``.

    FileStorage names an index's files ``_<index>_<generation>.toc`` and
    ``<index>_<segment>.<ext>`` (side files and locks follow the second form).
    """
    names = set()
    for path in directory.iterdir():
        m = re.match(rf"^_?({name_pattern})_", path.name)
        if m:
            names.add(m.group(1))
    return names


def delete_index_files(directory: Path, name: str) -> None:
    """Delete every file of index ``name``, and its writers' temporary directory."""
    for path in directory.iterdir():
        if path.name.startswith((f"{name}_", f"_{name}_")):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    shutil.rmtree(directory / f"{name}.tmp", ignore_errors=True)


def generation_files(directory: Path, name: str) -> list[str]:
    """Every file a reader of index ``name``'s latest generation opens: each segment's
    files (``<segment id>.<any extension>``: Whoosh's and the side files alike), then the
    table of contents ``_<name>_<generation>.toc`` (segment list and deletions) last."""
    from whoosh.filedb.filestore import FileStorage
    from whoosh.index import TOC

    toc = TOC.read(FileStorage(str(directory)), name)
    ids = {segment.segment_id() for segment in toc.segments}
    files = sorted(
        path.name
        for path in directory.iterdir()
        if path.is_file() and path.name.split(".", 1)[0] in ids and "." in path.name
    )
    return [*files, f"_{name}_{toc.generation}.toc"]
