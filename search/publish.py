"""Publishing the index for read-only replicas: its immutable files and a manifest, in a shelf.

The writer's generation is copied the way Lucene-family engines replicate: every file a
reader opens is uploaded once under ``files/<sha256>`` (segment files never change once
written; deletions and the segment list live in the table of contents, a new file per
commit), then ``manifest.json`` names them — written last, so a replica never sees a
generation whose files are not all there. The shelf is any place with whole-file writes
(a folder, S3): the service hands in its own (``archive_service/backup/target.py``).
The key never goes there: index files hold keyed terms, and ``CURRENT`` only its
fingerprint. See docs/search.md, "Several web machines".
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from search.index import SearchIndex
from search.types import IndexedDocument, PublishFailed, SearchPage, SearchQuery

__all__ = [
    "FORMAT",
    "MANIFEST",
    "Manifest",
    "PublishFailed",
    "PublishedIndex",
    "Publisher",
    "Shelf",
    "file_path",
    "sha256_of",
]

log = logging.getLogger(__name__)
FORMAT = "archive-search-replica/1"
MANIFEST = "manifest.json"
_CHUNK = 1 << 20


@runtime_checkable
class Shelf(Protocol):
    """Named whole files (``archive_service.backup.target.Target`` is one)."""

    def write(self, path: str, data: bytes) -> None:
        """Write a whole file; it appears under its name only when complete."""

    def upload(self, path: str, local: Path) -> None: ...

    def read(self, path: str) -> bytes:
        """The file's bytes; FileNotFoundError when there is none."""
        ...

    def download(self, path: str, local: Path) -> None: ...

    def delete(self, path: str) -> None: ...


def file_path(sha256: str) -> str:
    """Where a file of this content lives on the shelf."""
    return f"files/{sha256}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Manifest:
    """What a published generation is: files in the order a replica places them (the table
    of contents last), each with its size and SHA-256, and ``CURRENT``'s text."""

    serial: int
    generation: str
    current: str
    files: list[dict[str, Any]]  # {"name", "size", "sha256"}
    published_at: str = ""
    # Content no longer referenced: sha256 -> when it was dropped (Unix time). Deleted from
    # the shelf after the grace period, so a replica downloading it meanwhile still can.
    retired: dict[str, float] = field(default_factory=dict)

    def same_content(self, other: Manifest | None) -> bool:
        return (
            other is not None
            and other.current == self.current
            and [(f["name"], f["sha256"]) for f in other.files]
            == [(f["name"], f["sha256"]) for f in self.files]
        )

    @property
    def size(self) -> int:
        return sum(int(f["size"]) for f in self.files)

    def to_json(self) -> bytes:
        body = {
            "format": FORMAT,
            "serial": self.serial,
            "generation": self.generation,
            "current": self.current,
            "published_at": self.published_at,
            "files": self.files,
            "retired": self.retired,
        }
        return json.dumps(body, indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse and check a manifest; ValueError when it is not one of ours."""
        body = json.loads(data)
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise ValueError(f"not a search replica manifest ({FORMAT})")
        files = body.get("files")
        if not isinstance(files, list) or not all(
            isinstance(f, dict)
            and isinstance(f.get("name"), str)
            and "/" not in f["name"]
            and not f["name"].startswith(".")
            and isinstance(f.get("size"), int)
            and isinstance(f.get("sha256"), str)
            and len(f["sha256"]) == 64
            for f in files
        ):
            raise ValueError("the manifest's file list is malformed")
        return cls(
            serial=int(body["serial"]),
            generation=str(body["generation"]),
            current=str(body["current"]),
            files=files,
            published_at=str(body.get("published_at", "")),
            retired={str(k): float(v) for k, v in dict(body.get("retired") or {}).items()},
        )


def read_manifest(shelf: Shelf) -> Manifest | None:
    """The shelf's manifest; None when nothing was published yet."""
    try:
        data = shelf.read(MANIFEST)
    except FileNotFoundError:
        return None
    return Manifest.from_json(data)


class Publisher:
    """Copies a :class:`SearchIndex`'s published generation to ``shelf``.

    Files are hashed once per process (by name, size and mtime) and uploaded only when
    the shelf's manifest does not already name their content; content dropped from the
    index is deleted from the shelf ``grace_seconds`` later.
    """

    def __init__(self, shelf: Shelf, *, grace_seconds: float = 600.0) -> None:
        self.shelf = shelf
        self.grace_seconds = grace_seconds
        self._hashes: dict[str, tuple[tuple[int, int], str]] = {}
        self.last_uploaded = 0  # bytes uploaded by the last publish (benchmarks, logs)

    def publish(self, index: SearchIndex) -> Manifest:
        """Publish ``index``'s current generation (under its write lock, so no commit
        changes it meanwhile); returns the manifest now on the shelf."""
        self.last_uploaded = 0
        with index.held() as gen:
            previous = read_manifest(self.shelf)
            on_shelf = {f["sha256"] for f in previous.files} if previous else set()
            files = []
            for name in gen.files:
                path = gen.directory / name
                sha = self._sha256(path)
                size = path.stat().st_size
                if sha not in on_shelf:
                    self.shelf.upload(file_path(sha), path)
                    on_shelf.add(sha)
                    self.last_uploaded += size
                files.append({"name": name, "size": size, "sha256": sha})
            manifest = Manifest(
                serial=(previous.serial + 1) if previous else 1,
                generation=gen.name,
                current=gen.current,
                files=files,
            )
            if manifest.same_content(previous):
                assert previous is not None
                return previous
            manifest.retired = self._retire(previous, manifest)
            manifest.published_at = datetime.now(UTC).isoformat(timespec="seconds")
            self.shelf.write(MANIFEST, manifest.to_json())
        log.info(
            "search index published: %s serial %d, %d files, %d bytes uploaded",
            manifest.generation,
            manifest.serial,
            len(manifest.files),
            self.last_uploaded,
        )
        return manifest

    def _sha256(self, path: Path) -> str:
        st = path.stat()
        stamp = (st.st_size, st.st_mtime_ns)
        known = self._hashes.get(path.name)
        if known is not None and known[0] == stamp:
            return known[1]
        sha = sha256_of(path)
        self._hashes[path.name] = (stamp, sha)
        return sha

    def _retire(self, previous: Manifest | None, manifest: Manifest) -> dict[str, float]:
        """The retired content after this publish; what is past its grace is deleted."""
        if previous is None:
            return {}
        now = time.time()
        live = {f["sha256"] for f in manifest.files}
        retired = {sha: since for sha, since in previous.retired.items() if sha not in live}
        for f in previous.files:
            if f["sha256"] not in live:
                retired.setdefault(f["sha256"], now)
        for sha, since in list(retired.items()):
            if now - since >= self.grace_seconds:
                self.shelf.delete(file_path(sha))
                del retired[sha]
        return retired


class PublishedIndex:
    """The writer's :class:`SearchIndex`, publishing each committed write to a shelf.

    Reads are the index's own. A write that commits but cannot be published raises
    :class:`PublishFailed` (retry it, or call :meth:`publish`): the replicas keep serving
    the previous generation meanwhile.
    """

    def __init__(self, index: SearchIndex, publisher: Publisher) -> None:
        self.index = index
        self.publisher = publisher
        # Publish what is there now (an empty index, or writes a failed publish left):
        # replicas need a manifest before the first write.
        try:
            self.publish()
        except PublishFailed as exc:
            log.warning("%s", exc)

    def publish(self) -> Manifest:
        try:
            return self.publisher.publish(self.index)
        except Exception as exc:  # noqa: BLE001 - any shelf failure: the write stands
            raise PublishFailed(
                f"the search index was written but not published: {type(exc).__name__}: {exc}"
            ) from exc

    def update(self, docs: Iterable[IndexedDocument]) -> int:
        docs = list(docs)
        written = self.index.update(docs)
        if docs:
            self.publish()
        return written

    def remove(self, ids: Iterable[int]) -> int:
        ids = set(ids)
        removed = self.index.remove(ids)
        if ids:
            self.publish()
        return removed

    def rebuild(self, docs: Iterable[IndexedDocument], **options: Any) -> int:
        count = self.index.rebuild(docs, **options)
        self.publish()
        return count

    def needs_rebuild(self) -> str | None:
        return self.index.needs_rebuild()

    def ids(self) -> set[int]:
        return self.index.ids()

    def count(self) -> int:
        return self.index.count()

    def doc_count(self) -> int:
        return self.index.count()

    def search(self, query: SearchQuery) -> SearchPage:
        return self.index.search(query)
