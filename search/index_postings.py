"""Per-segment posting side files: every term's document numbers and frequencies as arrays.

Whoosh decodes its posting blocks in Python, so reading a common word's postings
costs tens of milliseconds per field and segment. The writer that creates a
segment also writes ``<segment id>.sidepost`` beside it, from the same in-memory
postings it hands Whoosh, and searchers memory-map it: a term's postings are
then two array views, without decoding or copying.

Consistency: the file is written completely (to a temporary name, flushed and
renamed) before the writer commits the segment, so a segment a reader can see
either has its whole side file or none; a reader checks the segment id, the
document count and the file's size and end marker, and uses Whoosh's postings
for a segment without a valid side file. Segments never change once written;
deletions are kept by Whoosh and applied by the reader. Whoosh deletes the file
with the segment's own files when a merge or rebuild retires the segment (its
name starts with the segment id).

Layout (little-endian; the container is :mod:`search.sidefile`'s)::

    b"WXSIDE01", u32 header length, JSON header (padded to 8 bytes)
    regions at the offsets the header gives, each 8-byte aligned:
      hashes  u64[n]    sorted BLAKE2b-64 of each key b"<field>\\0<term bytes>"
      meta    n records: key offset, docnum offset, weight offset (u64 each),
                         posting count (u32), key length (u16), weight kind (u8)
      keys    the keys, concatenated
      docs    u16 (segments of at most 65,536 documents) or u32; ascending per term
      w8, w16, w32      frequencies: u8 / u16 whole numbers, else f32
    b"WXSIDEND"

Size: about 3 bytes per posting (docnum and frequency; positions stay in Whoosh)
plus ~40 bytes per distinct term.
"""

from __future__ import annotations

import logging
import os
from array import array
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from search import sidefile

SUFFIX = ".sidepost"
FORMAT = sidefile.Format(
    what="side file",
    suffix=SUFFIX,
    magic=b"WXSIDE01",
    end=b"WXSIDEND",
    meta=sidefile.meta_dtype("doc_off", "w_off"),
)
# Weight kinds and their element types; a kind's region holds the weights of every
# term of that kind.
_KINDS: dict[int, np.dtype[Any]] = {1: np.dtype("u1"), 2: np.dtype("<u2"), 3: np.dtype("<f4")}
_REGION = {1: "w8", 2: "w16", 3: "w32"}

log = logging.getLogger(__name__)

Terms = Mapping[tuple[str, bytes], tuple["array[int]", "array[float]", Any]]


def side_path(directory: str | os.PathLike[str], segment_id: str) -> Path:
    return FORMAT.path(directory, segment_id)


# --------------------------------------------------------------------------- writing


def write_side_file(
    directory: str | os.PathLike[str],
    segment_id: str,
    doc_count: int,
    terms: Terms,
    *,
    slice_postings: int = 1 << 20,
) -> Path:
    """Write the side file of a segment from its postings: ``terms`` maps (field, term
    bytes) to (docnums, weights, values) as the writer's posting buffer holds them.

    Written under a temporary name, flushed to disk and renamed: the final name
    only ever holds a whole file. Call before the segment is committed. Postings
    are copied in slices of about a million, so the memory it takes beyond the
    writer's own buffer is ~100 bytes per term plus a few MB.
    """
    path = side_path(directory, segment_id)
    keys = sorted(terms)
    n = len(keys)
    counts = np.fromiter((len(terms[k][0]) for k in keys), dtype=np.int64, count=n)
    if n and int(counts.min()) < 1:
        raise ValueError("a term without postings")
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    total = int(starts[-1])
    term_slices = list(slices(starts, slice_postings))
    doc_type = np.dtype("<u2") if doc_count <= 1 << 16 else np.dtype("<u4")

    def weights_of(a: int, b: int) -> np.ndarray:
        return concat([terms[k][1] for k in keys[a:b]], np.float32)

    # Per term: the narrowest exact type for its frequencies.
    kinds = np.zeros(n, dtype=np.uint8)
    for a, b in term_slices:
        kinds[a:b] = _weight_kinds(weights_of(a, b), starts[a:b] - starts[a])
    meta = np.zeros(n, dtype=FORMAT.meta)
    meta["doc_off"] = starts[:-1]
    meta["count"] = counts
    meta["kind"] = kinds
    sizes = {"docs": total * doc_type.itemsize}
    for kind, dtype in _KINDS.items():
        chosen = kinds == kind
        meta["w_off"][chosen] = np.cumsum(counts[chosen]) - counts[chosen]
        sizes[_REGION[kind]] = int(counts[chosen].sum()) * dtype.itemsize
    tables = sidefile.term_tables([sidefile.term_key(f, t) for f, t in keys], meta)
    del meta
    sizes.update({name: table.nbytes for name, table in tables.items()})
    header: dict[str, Any] = {
        "segment": segment_id,
        "doc_count": doc_count,
        "terms": n,
        "postings": total,
        "doc_type": doc_type.str,
    }
    names = ["hashes", "meta", "keys", "docs", "w8", "w16", "w32"]
    header_block, _layout, _size = sidefile.plan(FORMAT, header, sizes, names)

    def write(out: Any, name: str, parts: Iterator[np.ndarray]) -> None:
        written = 0
        for part in parts:
            out.write(np.ascontiguousarray(part).reshape(-1).view(np.uint8).data)
            written += part.nbytes
        if written != sizes[name]:
            raise ValueError(f"{name}: wrote {written} bytes, expected {sizes[name]}")
        out.write(b"\0" * (sidefile.padded(written) - written))

    reorder: dict[int, np.ndarray] = {}  # term → the order that sorted its documents

    def docs_parts() -> Iterator[np.ndarray]:
        for a, b in term_slices:
            docs = concat([terms[k][0] for k in keys[a:b]], np.uint32)
            if len(docs) and int(docs.max()) >= doc_count:
                raise ValueError("a document number beyond the segment")
            for term, sorting in sort_runs(docs, starts[a : b + 1] - starts[a]).items():
                reorder[a + term] = sorting
            yield docs.astype(doc_type)

    def weight_parts(kind: int) -> Iterator[np.ndarray]:
        for a, b in term_slices:
            chosen = kinds[a:b] == kind
            if not chosen.any():
                continue
            weights = weights_of(a, b)
            for term in (t for t in reorder if a <= t < b):
                lo, hi = int(starts[term] - starts[a]), int(starts[term + 1] - starts[a])
                weights[lo:hi] = weights[lo:hi][reorder[term]]
            picked = weights[np.repeat(chosen, counts[a:b])]
            yield picked.astype(_KINDS[kind])

    with sidefile.replacing(path) as out:
        out.write(header_block)
        for name, table in tables.items():
            write(out, name, iter([table]))
        write(out, "docs", docs_parts())
        for kind in _KINDS:
            write(out, _REGION[kind], weight_parts(kind))
        out.write(FORMAT.end)
    return path


def slices(starts: np.ndarray, postings: int = 1 << 20) -> Iterator[tuple[int, int]]:
    """Ranges of terms holding about ``postings`` postings each (at least one term)."""
    n = len(starts) - 1
    a = 0
    while a < n:
        b = int(np.searchsorted(starts, starts[a] + postings, side="right")) - 1
        b = min(n, max(b, a + 1))
        yield a, b
        a = b


def _weight_kinds(weights: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per term (runs beginning at ``starts``): 1 if its frequencies fit u8, 2 u16
    (whole numbers), 3 otherwise (f32)."""
    if not len(starts):
        return np.zeros(0, dtype=np.uint8)
    wmax = np.maximum.reduceat(weights, starts)
    wmin = np.minimum.reduceat(weights, starts)
    whole = ~np.logical_or.reduceat(np.floor(weights) != weights, starts) & (wmin >= 0)
    kinds = np.where(whole & (wmax <= 0xFF), 1, np.where(whole & (wmax <= 0xFFFF), 2, 3))
    return kinds.astype(np.uint8)


def concat(parts: list[Any], dtype: Any) -> np.ndarray:
    """The arrays ``parts`` end to end, as one writable array of ``dtype``."""
    dtype = np.dtype(dtype)
    joined = bytearray().join(parts)  # one pass over the buffers, no per-part numpy call
    if len(joined) == dtype.itemsize * sum(len(p) for p in parts):
        return np.frombuffer(joined, dtype=dtype)
    # Items of another size (a platform whose array("I") is not 4 bytes): convert.
    return np.concatenate([np.asarray(p, dtype=dtype) for p in parts] or [np.zeros(0, dtype)])


def sort_runs(docs: np.ndarray, starts: np.ndarray) -> dict[int, np.ndarray]:
    """Make each term's document numbers ascending (the writer gives them so already);
    returns the order applied to each run it sorted, for the frequencies."""
    if len(docs) < 2:
        return {}
    descending = docs[1:] <= docs[:-1]
    inner = starts[1:-1] - 1  # a run's first posting may be below the previous run's last
    descending[inner[inner >= 0]] = False
    if not descending.any():
        return {}
    runs = np.unique(np.searchsorted(starts, np.flatnonzero(descending) + 1, side="right") - 1)
    orders = {}
    for run in runs.tolist():
        lo, hi = int(starts[run]), int(starts[run + 1])
        order = np.argsort(docs[lo:hi], kind="stable")
        docs[lo:hi] = docs[lo:hi][order]
        if (np.diff(docs[lo:hi].astype(np.int64)) == 0).any():
            raise ValueError("a document listed twice under one term")
        orders[run] = order
    return orders


# --------------------------------------------------------------------------- reading


class SidePostings:
    """A segment's side file, memory-mapped: ``get`` gives a term's postings as arrays.

    Thread-safe (read-only views over a read-only map); the map stays open as long as
    this object or an array taken from it is referenced.
    """

    def __init__(self, path: Path, segment_id: str, doc_count: int) -> None:
        self._file = file = sidefile.SideFile(path, segment_id, doc_count, FORMAT)
        self.terms = file.terms
        self.postings = int(file.header["postings"])
        self._docs = file.view("docs", file.header["doc_type"])
        self._weights = {kind: file.view(_REGION[kind], dtype) for kind, dtype in _KINDS.items()}

    def get(self, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """(segment docnums ascending, frequencies) of a term, or None if it is absent."""
        record = self._file.find(field, term)
        if record is None:
            return None
        _key_off, doc_off, w_off, count, _key_len, kind, _pad = record
        return self._docs[doc_off : doc_off + count], self._weights[kind][w_off : w_off + count]

    def present(self, field: str, terms: tuple[str, ...]) -> list[str]:
        """Those of ``terms`` this segment holds in ``field``, checked in one go."""
        hashes = self._file.hashes
        if not len(hashes) or not terms:
            return []
        wanted = _hashes_of(field, terms)
        at = hashes.searchsorted(wanted)
        at[at == len(hashes)] = 0
        hit = np.flatnonzero(hashes[at] == wanted)
        return [terms[i] for i in hit.tolist() if self.get(field, terms[i].encode("utf-8"))]


@lru_cache(maxsize=8)
def _hashes_of(field: str, terms: tuple[str, ...]) -> np.ndarray:
    """The table hashes of many terms of one field (a lone character's expansion)."""
    found = np.fromiter(
        (sidefile.hash_key(sidefile.term_key(field, t.encode("utf-8"))) for t in terms),
        dtype="<u8",
        count=len(terms),
    )
    found.flags.writeable = False
    return found


def open_side_file(
    directory: str | os.PathLike[str], segment_id: str, doc_count: int
) -> SidePostings | None:
    """The segment's side file, or None when it has none (or an unusable one)."""
    return sidefile.open_or_none(SidePostings, FORMAT, directory, segment_id, doc_count, log)
