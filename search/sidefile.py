"""The container both per-segment side files share: regions behind a JSON header.

The postings files (:mod:`search.index_postings`, ``.sidepost``) and the positions
files (:mod:`search.index_positions`, ``.sidepos``) store different arrays per term
but are laid out, written, checked and looked up the same way; that part lives here
once, so a fix to how a file is validated or renamed holds for both.

Layout (little-endian)::

    magic (8 bytes), u32 header length, JSON header (padded to 8 bytes)
    regions at the offsets the header gives, each 8-byte aligned:
      hashes  u64[n]    sorted BLAKE2b-64 of each key b"<field>\\0<term bytes>"
      meta    n records starting with key offset (u64) ... key length (u16)
      keys    the keys, concatenated
      ...     the file's own regions
    end marker (8 bytes)

The header holds ``segment``, ``doc_count``, ``terms``, the file's own fields and
``regions`` (name → [offset, size]); offsets are written zero-padded to a fixed width
so the header's length does not depend on them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mmap
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np


@dataclass(frozen=True)
class Format:
    """What tells one kind of side file from the other: its name, markers and record."""

    what: str  # for messages: "side file", "positions file"
    suffix: str
    magic: bytes
    end: bytes
    meta: np.dtype[Any]

    def path(self, directory: str | os.PathLike[str], segment_id: str) -> Path:
        return Path(directory) / f"{segment_id}{self.suffix}"


def term_key(field: str, term: bytes) -> bytes:
    return field.encode("utf-8") + b"\0" + term


def hash_key(key: bytes) -> int:
    """The term table's hash of a key."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")


def padded(size: int) -> int:
    return (size + 7) // 8 * 8


def meta_dtype(first: str, second: str) -> np.dtype[Any]:
    """A term record: key offset, the file's two region offsets (u64 each), posting
    count (u32), key length (u16), the kind of the file's per-posting values (u8)."""
    return np.dtype(
        [
            ("key_off", "<u8"),
            (first, "<u8"),
            (second, "<u8"),
            ("count", "<u4"),
            ("key_len", "<u2"),
            ("kind", "u1"),
            ("pad", "u1"),
        ]
    )


# --------------------------------------------------------------------------- writing


def term_tables(key_bytes: list[bytes], meta: np.ndarray) -> dict[str, np.ndarray]:
    """The ``hashes``, ``meta`` and ``keys`` regions for terms in key order: fills each
    record's key offset and length, then orders the records by hash."""
    n = len(key_bytes)
    lengths = np.fromiter((len(k) for k in key_bytes), dtype=np.int64, count=n)
    if n and int(lengths.max()) > 0xFFFF:
        raise ValueError("a term longer than 65,535 bytes")
    meta["key_off"] = np.cumsum(lengths) - lengths
    meta["key_len"] = lengths
    hashes = np.fromiter((hash_key(k) for k in key_bytes), dtype="<u8", count=n)
    order = np.argsort(hashes, kind="stable")
    return {
        "hashes": hashes[order],
        "meta": meta[order],
        "keys": np.frombuffer(b"".join(key_bytes), dtype=np.uint8),
    }


def plan(
    form: Format, header: dict[str, Any], sizes: dict[str, int], names: list[str]
) -> tuple[bytes, dict[str, list[int]], int]:
    """Place the regions ``names`` (of ``sizes`` bytes) after the header: sets the
    header's ``regions`` and returns the header block (magic, length, JSON, padding),
    each region's [offset, size] and the file's size without the end marker."""
    layout: dict[str, list[int]] = {}
    offset = 0
    for name in names:
        layout[name] = [offset, sizes[name]]
        offset += padded(sizes[name])
    header["regions"] = layout
    magic = form.magic
    body_start = padded(len(magic) + 4 + len(_header_bytes(header, 0)))
    for region in layout.values():
        region[0] += body_start
    raw_header = _header_bytes(header, body_start)
    head = magic + len(raw_header).to_bytes(4, "little") + raw_header
    head += b"\0" * (body_start - len(head))
    return head, layout, body_start + offset


def _header_bytes(header: dict[str, Any], body_start: int) -> bytes:
    fixed = dict(header)
    fixed["regions"] = {
        name: [f"{off:016d}", f"{size:016d}"] for name, (off, size) in header["regions"].items()
    }
    fixed["body"] = f"{body_start:016d}"
    return json.dumps(fixed, sort_keys=True).encode("ascii")


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[BinaryIO]:
    """A file to write ``path`` into, under a temporary name: flushed to disk and
    renamed when the block ends, removed if it fails, so the final name only ever holds
    a whole file."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


# --------------------------------------------------------------------------- reading


class SideFile:
    """A side file, memory-mapped and checked (markers, segment, document count, size,
    term tables); ``view`` gives a region as an array, ``find`` a term's meta record.

    Thread-safe (read-only views over a read-only map); the map stays open as long as
    this object or an array taken from it is referenced.
    """

    def __init__(self, path: Path, segment_id: str, doc_count: int, form: Format) -> None:
        magic, end = form.magic, form.end
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size < len(magic) + 4 + len(end):
                raise ValueError("too short")
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        mm = self._map
        if mm[: len(magic)] != magic or mm[size - len(end) :] != end:
            raise ValueError(f"not a {form.what}, or an incomplete one")
        length = int.from_bytes(mm[len(magic) : len(magic) + 4], "little")
        header = json.loads(mm[len(magic) + 4 : len(magic) + 4 + length])
        if header["segment"] != segment_id or header["doc_count"] != doc_count:
            raise ValueError(f"written for {header['segment']} ({header['doc_count']} documents)")
        regions = {name: (int(off), int(sz)) for name, (off, sz) in header["regions"].items()}
        last = max(off + padded(sz) for off, sz in regions.values())
        if last + len(end) != size:
            raise ValueError("size does not match the header")
        self.header: dict[str, Any] = header
        self.regions = regions
        self.terms = int(header["terms"])
        self.hashes = self.view("hashes", "<u8")
        self.meta = self.view("meta", form.meta)
        self._keys_at = regions["keys"][0]
        names = list(form.meta.names or ())
        self._key_fields = names.index("key_off"), names.index("key_len")
        if len(self.hashes) != self.terms or len(self.meta) != self.terms:
            raise ValueError("term tables do not match the header")

    def view(self, name: str, dtype: Any) -> np.ndarray:
        off, sz = self.regions[name]
        dtype = np.dtype(dtype)
        return np.frombuffer(self._map, dtype=dtype, count=sz // dtype.itemsize, offset=off)

    def find(self, field: str, term: bytes) -> tuple[Any, ...] | None:
        """The meta record of a term (as a tuple), or None if the file does not hold it."""
        key = term_key(field, term)
        wanted = hash_key(key)
        hashes = self.hashes
        key_off, key_len = self._key_fields
        i = int(hashes.searchsorted(np.uint64(wanted)))
        while i < len(hashes) and int(hashes[i]) == wanted:
            record: tuple[Any, ...] = self.meta[i].item()
            start = self._keys_at + record[key_off]
            if self._map[start : start + record[key_len]] == key:
                return record
            i += 1
        return None


Opened = TypeVar("Opened")


def open_or_none(
    opener: Callable[[Path, str, int], Opened],
    form: Format,
    directory: str | os.PathLike[str],
    segment_id: str,
    doc_count: int,
    log: logging.Logger,
) -> Opened | None:
    """``opener`` on the segment's file, or None when it is missing or unusable
    (logged): the segment is then read from Whoosh's own files."""
    path = form.path(directory, segment_id)
    try:
        return opener(path, segment_id, doc_count)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the search %s %s: %s", form.what, path, exc)
        return None
