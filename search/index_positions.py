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

Layout (little-endian)::

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

import contextlib
import itertools
import json
import logging
import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np

from search.index_postings import Terms, concat, hash_key, slices, sort_runs, term_key
from search.whoosh_internals import position_lists

SUFFIX = ".sidepos"
_MAGIC = b"WXSPOS01"
_END = b"WXSPOSND"
_META = np.dtype(
    [
        ("key_off", "<u8"),
        ("cnt_off", "<u8"),
        ("pos_off", "<u8"),
        ("count", "<u4"),
        ("key_len", "<u2"),
        ("kind", "u1"),
        ("pad", "u1"),
    ]
)
_COUNTS: dict[int, np.dtype[Any]] = {1: np.dtype("u1"), 2: np.dtype("<u2"), 3: np.dtype("<u4")}
_REGION = {1: "c8", 2: "c16", 3: "c32"}
_NAMES = ["hashes", "meta", "keys", "c8", "c16", "c32", "pos"]

log = logging.getLogger(__name__)


def positions_path(directory: str | os.PathLike[str], segment_id: str) -> Path:
    return Path(directory) / f"{segment_id}{SUFFIX}"


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
    tmp = path.with_name(path.name + ".tmp")
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

    key_bytes = [term_key(f, t) for f, t in keys]
    lengths = np.fromiter((len(k) for k in key_bytes), dtype=np.int64, count=n)
    meta = np.zeros(n, dtype=_META)
    meta["key_off"] = np.cumsum(lengths) - lengths
    meta["key_len"] = lengths
    meta["pos_off"] = np.cumsum(pos_per_term) - pos_per_term
    meta["count"] = per_term
    meta["kind"] = kinds
    sizes = {"pos": int(pos_per_term.sum()) * pos_type.itemsize}
    for kind, dtype in _COUNTS.items():
        chosen = kinds == kind
        meta["cnt_off"][chosen] = np.cumsum(per_term[chosen]) - per_term[chosen]
        sizes[_REGION[kind]] = int(per_term[chosen].sum()) * dtype.itemsize
    hashes = np.fromiter((hash_key(k) for k in key_bytes), dtype="<u8", count=n)
    order = np.argsort(hashes, kind="stable")
    tables = {
        "hashes": hashes[order],
        "meta": meta[order],
        "keys": np.frombuffer(b"".join(key_bytes), dtype=np.uint8),
    }
    del key_bytes, hashes
    sizes.update({name: table.nbytes for name, table in tables.items()})

    layout: dict[str, list[int]] = {}
    offset = 0
    for name in _NAMES:
        layout[name] = [offset, sizes[name]]
        offset += _padded(sizes[name])
    header: dict[str, Any] = {
        "segment": segment_id,
        "doc_count": doc_count,
        "terms": n,
        "postings": int(term_starts[-1]),
        "pos_type": pos_type.str,
        "regions": layout,
    }
    body_start = _padded(len(_MAGIC) + 4 + len(_header_bytes(header, 0)))
    for region in layout.values():
        region[0] += body_start
    raw_header = _header_bytes(header, body_start)
    head = _MAGIC + len(raw_header).to_bytes(4, "little") + raw_header
    head += b"\0" * (body_start - len(head))
    total_size = offset + body_start + len(_END)
    try:
        with open(tmp, "wb") as out:
            out.write(head)
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
            os.pwrite(fd, _END, total_size - len(_END))
            os.ftruncate(fd, total_size)
            os.fsync(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def _header_bytes(header: dict[str, Any], body_start: int) -> bytes:
    # Fixed-width numbers: the header's length does not depend on the offsets.
    fixed = dict(header)
    fixed["regions"] = {
        name: [f"{off:016d}", f"{size:016d}"] for name, (off, size) in header["regions"].items()
    }
    fixed["body"] = f"{body_start:016d}"
    return json.dumps(fixed, sort_keys=True).encode("ascii")


def _padded(size: int) -> int:
    return (size + 7) // 8 * 8


# --------------------------------------------------------------------------- reading


class SidePositions:
    """A segment's positions file, memory-mapped; ``get`` gives a term's per-posting
    counts and its positions, as array views. Thread-safe (read-only)."""

    def __init__(self, path: Path, segment_id: str, doc_count: int) -> None:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < len(_MAGIC) + 4 + len(_END):
                raise ValueError("too short")
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        mm = self._map
        if mm[: len(_MAGIC)] != _MAGIC or mm[size - len(_END) :] != _END:
            raise ValueError("not a positions file, or an incomplete one")
        length = int.from_bytes(mm[len(_MAGIC) : len(_MAGIC) + 4], "little")
        header = json.loads(mm[len(_MAGIC) + 4 : len(_MAGIC) + 4 + length])
        if header["segment"] != segment_id or header["doc_count"] != doc_count:
            raise ValueError(f"written for {header['segment']} ({header['doc_count']} documents)")
        regions = {name: (int(off), int(sz)) for name, (off, sz) in header["regions"].items()}
        end = max(off + _padded(sz) for off, sz in regions.values())
        if end + len(_END) != size:
            raise ValueError("size does not match the header")
        self.terms = int(header["terms"])

        def view(name: str, dtype: Any) -> np.ndarray:
            off, sz = regions[name]
            dtype = np.dtype(dtype)
            return np.frombuffer(mm, dtype=dtype, count=sz // dtype.itemsize, offset=off)

        self._hashes = view("hashes", "<u8")
        self._meta = view("meta", _META)
        self._keys_at = regions["keys"][0]
        self._counts = {kind: view(_REGION[kind], dtype) for kind, dtype in _COUNTS.items()}
        self._positions = view("pos", header["pos_type"])
        if len(self._hashes) != self.terms or len(self._meta) != self.terms:
            raise ValueError("term tables do not match the header")

    def get(self, field: str, term: bytes) -> tuple[np.ndarray, np.ndarray] | None:
        """(positions per posting, every position end to end) of a term, or None."""
        key = term_key(field, term)
        wanted = hash_key(key)
        hashes = self._hashes
        i = int(hashes.searchsorted(np.uint64(wanted)))
        while i < len(hashes) and int(hashes[i]) == wanted:
            key_off, cnt_off, pos_off, count, key_len, kind, _pad = self._meta[i].item()
            start = self._keys_at + key_off
            if self._map[start : start + key_len] == key:
                counts = self._counts[kind][cnt_off : cnt_off + count]
                total = int(counts.sum(dtype=np.int64))
                return counts, self._positions[pos_off : pos_off + total]
            i += 1
        return None


def open_positions_file(
    directory: str | os.PathLike[str], segment_id: str, doc_count: int
) -> SidePositions | None:
    """The segment's positions file, or None when it has none (or an unusable one)."""
    path = positions_path(directory, segment_id)
    try:
        return SidePositions(path, segment_id, doc_count)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the search positions file %s: %s", path, exc)
        return None
