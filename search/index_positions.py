"""Per-segment positions side files: every positional term's positions as flat arrays.

Quoted phrases and mixed words (``合同HT-2023-001``) must check that their terms follow
each other. Whoosh keeps positions as one pickled list per posting, so checking them
meant decoding a pickle per candidate document and term in Python: linear in the
documents holding the phrase's words, ~0.4 s at 100k documents. The writer that creates
a segment also writes ``<segment id>.sidepos`` beside it (after its ``.sidepost``, from
the same in-memory postings), and :mod:`search.phrases` reads the positions of many
candidates with a few numpy operations.

The file holds keyed terms only (the same keys as the Whoosh segment and the
``.sidepost`` file: HMACs, never text), each posting's count of positions and the
positions themselves. Postings are in the order of the ``.sidepost`` file's document
numbers for the same term (ascending): a reader takes the documents from there and
checks that the counts agree.

Consistency is that of the ``.sidepost`` files: written whole under a temporary name,
flushed and renamed before the segment is committed; checked (segment id, document
count, size, end marker) when opened; ignored (the segment's phrases are checked from
Whoosh's blocks) when missing or unusable; deleted by Whoosh with its segment.

Layout (little-endian; the container is :mod:`search.sidefile`'s)::

    b"WXSPOS01", u32 header length, JSON header (padded to 8 bytes)
    regions at the offsets the header gives, each 8-byte aligned:
      hashes  u64[n]    sorted BLAKE2b-64 of each key b"<field>\\0<term bytes>"
      meta    n records: key offset, count offset, position offset (u64 each),
                         posting count (u32), key length (u16), count kind (u8)
      keys    the keys, concatenated
      c8, c16, c32      positions per posting: u8, or u16 / u32 for a term with more
      pos     u16 (every position of the segment below 65,536) or u32
    b"WXSPOSND"

Size: one byte per posting plus two per position, ~40 bytes per term.
"""

from __future__ import annotations

import itertools
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from search import sidefile
from search.index_postings import Terms, concat, slices, sort_runs
from search.whoosh_internals import position_lists

SUFFIX = ".sidepos"
FORMAT = sidefile.Format(
    what="positions file",
    suffix=SUFFIX,
    magic=b"WXSPOS01",
    end=b"WXSPOSND",
    meta=sidefile.meta_dtype("cnt_off", "pos_off"),
)
_COUNTS: dict[int, np.dtype[Any]] = {1: np.dtype("u1"), 2: np.dtype("<u2"), 3: np.dtype("<u4")}
_REGION = {1: "c8", 2: "c16", 3: "c32"}
_NAMES = ["hashes", "meta", "keys", "c8", "c16", "c32", "pos"]

log = logging.getLogger(__name__)


def positions_path(directory: str | os.PathLike[str], segment_id: str) -> Path:
    return FORMAT.path(directory, segment_id)


# --------------------------------------------------------------------------- writing


class _Decoder:
    """Whoosh ``Positions`` values to absolute positions, each distinct value decoded
    once: most are shared (a term once at position 12 is the same bytes everywhere)."""

    def __init__(self) -> None:
        self._ids: dict[bytes, int] = {}
        self.counts = np.zeros(0, dtype=np.int64)  # per value id
        self.starts = np.zeros(0, dtype=np.int64)  # per value id, into ``flat``
        self.flat = np.zeros(0, dtype=np.int64)

    def ids_of(self, values: list[bytes]) -> np.ndarray:
        table = self._ids
        before = len(table)
        # New values in the order first seen, then every value's id: C-level loops.
        fresh = [v for v in dict.fromkeys(values) if v not in table]
        table.update(zip(fresh, itertools.count(before)))
        ids = np.fromiter(map(table.__getitem__, values), dtype=np.int64, count=len(values))
        lists = position_lists(fresh)
        counts = [len(plist) for plist in lists]
        flat = list(itertools.chain.from_iterable(lists))
        if counts:
            new_counts = np.array(counts, dtype=np.int64)
            new_starts = len(self.flat) + np.cumsum(new_counts) - new_counts
            self.counts = np.concatenate([self.counts, new_counts])
            self.starts = np.concatenate([self.starts, new_starts])
            self.flat = np.concatenate([self.flat, np.array(flat, dtype=np.int64)])
        return ids


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices ``starts[i] .. starts[i] + lengths[i]`` for every i, end to end."""
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    shift = np.repeat(starts - (ends - lengths), lengths)
    return np.arange(total, dtype=np.int64) + shift


def write_positions_file(
    directory: str | os.PathLike[str],
    segment_id: str,
    doc_count: int,
    terms: Terms,
    *,
    slice_postings: int = 1 << 20,
) -> Path:
    """Write the positions file of a segment from the writer's ``terms`` (field, term
    bytes) → (docnums, weights, Whoosh position values); terms without positions (exact
    fields) are left out. Call before the segment is committed.

    Two passes over slices of about ``slice_postings`` postings (the first learns each
    term's sizes, the second writes): beyond the writer's own buffer it takes ~4 bytes
    per posting and some tens of MB.
    """
    path = positions_path(directory, segment_id)
    keys = sorted(k for k, v in terms.items() if len(v[2]) and v[2][0])
    n = len(keys)
    per_term = np.fromiter((len(terms[k][0]) for k in keys), dtype=np.int64, count=n)
    term_starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_term, out=term_starts[1:])
    term_slices = list(slices(term_starts, slice_postings))
    decoder = _Decoder()
    slice_ids: list[np.ndarray] = []  # per slice: each posting's value id, int32
    max_count = np.zeros(n, dtype=np.int64)
    pos_per_term = np.zeros(n, dtype=np.int64)
    for a, b in term_slices:
        values = list(itertools.chain.from_iterable(terms[k][2] for k in keys[a:b]))
        ids = decoder.ids_of(values)
        del values
        starts = term_starts[a : b + 1] - term_starts[a]
        if len(ids) != int(starts[-1]):
            raise ValueError("a term whose position values do not match its postings")
        # The .sidepost file sorts a term's documents if the writer did not give them in
        # order (it does): the same order here, so posting i is one document in both.
        docs = concat([terms[k][0] for k in keys[a:b]], np.uint32).copy()
        for run, order in sort_runs(docs, starts).items():
            ids[starts[run] : starts[run + 1]] = ids[starts[run] : starts[run + 1]][order]
        counts = decoder.counts[ids]
        if len(counts) and int(counts.min()) < 1:
            raise ValueError("a posting without positions")
        max_count[a:b] = np.maximum.reduceat(counts, starts[:-1])
        pos_per_term[a:b] = np.add.reduceat(counts, starts[:-1])
        slice_ids.append(ids.astype(np.int32))
    top = int(decoder.flat.max()) if len(decoder.flat) else 0
    if top >= 1 << 32:
        raise ValueError("a position beyond 2**32")
    pos_type = np.dtype("<u2") if top < 1 << 16 else np.dtype("<u4")
    kinds = np.where(max_count <= 0xFF, 1, np.where(max_count <= 0xFFFF, 2, 3)).astype(np.uint8)

    meta = np.zeros(n, dtype=FORMAT.meta)
    meta["pos_off"] = np.cumsum(pos_per_term) - pos_per_term
    meta["count"] = per_term
    meta["kind"] = kinds
    sizes = {"pos": int(pos_per_term.sum()) * pos_type.itemsize}
    for kind, dtype in _COUNTS.items():
        chosen = kinds == kind
        meta["cnt_off"][chosen] = np.cumsum(per_term[chosen]) - per_term[chosen]
        sizes[_REGION[kind]] = int(per_term[chosen].sum()) * dtype.itemsize
    tables = sidefile.term_tables([sidefile.term_key(f, t) for f, t in keys], meta)
    sizes.update({name: table.nbytes for name, table in tables.items()})
    header: dict[str, Any] = {
        "segment": segment_id,
        "doc_count": doc_count,
        "terms": n,
        "postings": int(term_starts[-1]),
        "pos_type": pos_type.str,
    }
    head, layout, body_end = sidefile.plan(FORMAT, header, sizes, _NAMES)
    total_size = body_end + len(FORMAT.end)
    with sidefile.replacing(path) as out:
        # Written in place (each region grows slice by slice), after the header block.
        out.write(head)
        out.flush()
        fd = out.fileno()
        for name, table in tables.items():
            os.pwrite(fd, np.ascontiguousarray(table).view(np.uint8).data, layout[name][0])
        cursor = {name: layout[name][0] for name in (*_REGION.values(), "pos")}
        for (a, b), ids in zip(term_slices, slice_ids, strict=True):
            counts = decoder.counts[ids]
            positions = decoder.flat[_ranges(decoder.starts[ids], counts)]
            parts = {"pos": positions.astype(pos_type)}
            per_posting_kind = np.repeat(kinds[a:b], per_term[a:b])
            for kind, dtype in _COUNTS.items():
                parts[_REGION[kind]] = counts[per_posting_kind == kind].astype(dtype)
            for name, part in parts.items():
                os.pwrite(fd, part.view(np.uint8).data, cursor[name])
                cursor[name] += part.nbytes
        for name in cursor:
            if cursor[name] != layout[name][0] + layout[name][1]:
                raise ValueError(f"{name}: wrote a different size than planned")
        os.pwrite(fd, FORMAT.end, total_size - len(FORMAT.end))
        os.ftruncate(fd, total_size)
    return path


# --------------------------------------------------------------------------- reading


class SidePositions:
    """A segment's positions file, memory-mapped; ``get`` gives a term's per-posting
    counts and its positions, as array views. Thread-safe (read-only)."""

    def __init__(self, path: Path, segment_id: str, doc_count: int) -> None:
        self._file = file = sidefile.SideFile(path, segment_id, doc_count, FORMAT)
        self.terms = file.terms
        self._counts = {kind: file.view(_REGION[kind], dtype) for kind, dtype in _COUNTS.items()}
        self._positions = file.view("pos", file.header["pos_type"])

    def get(self, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """(positions per posting, every position end to end) of a term, or None."""
        record = self._file.find(field, term)
        if record is None:
            return None
        _key_off, cnt_off, pos_off, count, _key_len, kind, _pad = record
        counts = self._counts[kind][cnt_off : cnt_off + count]
        total = int(counts.sum(dtype=np.int64))
        return counts, self._positions[pos_off : pos_off + total]


def open_positions_file(
    directory: str | os.PathLike[str], segment_id: str, doc_count: int
) -> SidePositions | None:
    """The segment's positions file, or None when it has none (or an unusable one)."""
    return sidefile.open_or_none(SidePositions, FORMAT, directory, segment_id, doc_count, log)
