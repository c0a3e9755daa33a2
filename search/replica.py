"""A read-only replica of the index on a web machine, synced from the writer's shelf.

:class:`SearchReplica` keeps a local copy of the generation the writer published
(:mod:`search.publish`) and searches it with the same code as the writer. A sync reads
the manifest, downloads only the files it does not hold, checks each one's size and
SHA-256 before it takes its place, places the table of contents last and then ``CURRENT``:
a reader sees the old generation or the new one, never half of one. The processes of one
machine share the folder; one of them syncs at a time (a ``flock``), at most every
``check_seconds``, and a search waits for a sync at most ``wait_seconds``. A replica that
cannot reach the shelf keeps serving its last good generation; :meth:`SearchReplica.status`
says how old it is.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search.index import SearchIndex
from search.keyed import TermKey
from search.publish import Manifest, Shelf, file_path, read_manifest, sha256_of
from search.types import IndexedDocument, IndexNeedsRebuild, SearchPage, SearchQuery

__all__ = ["ReplicaCorrupt", "ReplicaReadOnly", "ReplicaStatus", "SearchReplica"]

log = logging.getLogger(__name__)
_STATE = "replica.json"  # what this folder holds and when it was last checked
_SYNC_LOCK = "sync.lock"
_CURRENT = "CURRENT"
_KEEP = {_STATE, _SYNC_LOCK, _CURRENT, "write.lock"}
NOT_REPLICATED = "not-replicated"  # needs_rebuild(): nothing was synced yet


class ReplicaReadOnly(RuntimeError):
    """Writes go to the indexer (the one writer), never to a web machine's replica."""


class ReplicaCorrupt(Exception):
    """A published file is not what the manifest says (size or SHA-256): not switched to."""


@dataclass(frozen=True)
class ReplicaStatus:
    generation: str | None
    serial: int | None
    published_at: str | None  # when the writer published what this replica serves
    checked_at: float | None  # last time the shelf confirmed it (Unix time)
    error: str | None  # why the last check failed, if it did
    fetched_bytes: int = 0  # downloaded by the last switch

    def age_seconds(self, now: float | None = None) -> float | None:
        """Seconds since the shelf last confirmed this generation (None: never)."""
        if self.checked_at is None:
            return None
        return max(0.0, (time.time() if now is None else now) - self.checked_at)


class SearchReplica:
    """A :class:`~search.backend.SearchBackend` that reads a local copy synced from ``shelf``.

    ``check_seconds``: the shelf is asked for a newer manifest at most this often, before a
    read (0: before every read). ``wait_seconds``: how long a read waits for that sync
    before it answers from the generation it has (the sync goes on in the background); after
    a sync that could not reach the shelf, reads do not wait for the next one. Writes
    raise :class:`ReplicaReadOnly`.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        key: TermKey | bytes,
        shelf: Shelf,
        check_seconds: float = 5.0,
        wait_seconds: float = 1.0,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.key = key if isinstance(key, TermKey) else TermKey(key)
        self.shelf = shelf
        self.check_seconds = check_seconds
        self.wait_seconds = wait_seconds
        self._reader: SearchIndex | None = None
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self._next_check = 0.0
        # The last sync could not reach the shelf: it probably still cannot (an unreachable
        # S3 endpoint takes seconds to give up), so reads stop waiting for the next try.
        self._failing = False

    # ----------------------------------------------------------------- reads

    def search(self, query: SearchQuery) -> SearchPage:
        return self._index().search(query)

    def ids(self) -> set[int]:
        return self._index().ids()

    def count(self) -> int:
        reader = self._opened()
        return 0 if reader is None else reader.count()

    def doc_count(self) -> int:
        return self.count()

    def needs_rebuild(self) -> str | None:
        reader = self._opened()
        return NOT_REPLICATED if reader is None else reader.needs_rebuild()

    def status(self) -> ReplicaStatus:
        state = self._state()
        return ReplicaStatus(
            generation=state.get("generation"),
            serial=state.get("serial"),
            published_at=state.get("published_at"),
            checked_at=state.get("checked_at"),
            error=state.get("error"),
            fetched_bytes=int(state.get("fetched_bytes") or 0),
        )

    # ----------------------------------------------------------------- writes

    def update(self, docs: Iterable[IndexedDocument]) -> int:
        raise ReplicaReadOnly("a search replica is read-only: index on the indexer")

    def remove(self, ids: Iterable[int]) -> int:
        raise ReplicaReadOnly("a search replica is read-only: index on the indexer")

    def rebuild(self, docs: Iterable[IndexedDocument]) -> int:
        raise ReplicaReadOnly("a search replica is read-only: index on the indexer")

    # ----------------------------------------------------------------- syncing

    def sync(self) -> bool:
        """Bring the local copy to the shelf's manifest now; True if it switched to a new
        one. False too when another process of this machine is syncing the folder."""
        with self._sync_lock() as mine:
            if not mine:
                return False
            state = self._state()
            try:
                manifest = read_manifest(self.shelf)
                if manifest is None:
                    raise FileNotFoundError("nothing published yet (no manifest)")
                switched = self._apply(manifest, state)
            except Exception as exc:  # noqa: BLE001 - any failure keeps the last good copy
                log.warning("search replica sync failed: %s: %s", type(exc).__name__, exc)
                state["error"] = f"{type(exc).__name__}: {exc}"[:300]
                self._save(state)
                # Out of reach (not merely half-published or corrupt): stop making reads
                # wait for it until a sync succeeds again.
                self._failing = not isinstance(exc, FileNotFoundError | ReplicaCorrupt | ValueError)
                return False
            self._failing = False
            return switched

    def _apply(self, manifest: Manifest, state: dict[str, Any]) -> bool:
        if state.get("serial") == manifest.serial and (self.directory / _CURRENT).exists():
            state.update(checked_at=time.time(), error=None)
            self._save(state)
            return False
        held: dict[str, str] = dict(state.get("files") or {})
        fetched = 0
        for entry in manifest.files:  # the table of contents comes last: the switch
            name, sha = entry["name"], entry["sha256"]
            if held.get(name) == sha and (self.directory / name).is_file():
                continue
            self._fetch(name, sha, int(entry["size"]))
            held[name] = sha
            fetched += int(entry["size"])
        self._replace(_CURRENT, manifest.current.encode("ascii"))
        names = {f["name"] for f in manifest.files}
        keep = names | set(state.get("current_files") or [])
        for path in self.directory.iterdir():
            if path.is_file() and path.name not in keep and path.name not in _KEEP:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
        state.update(
            serial=manifest.serial,
            generation=manifest.generation,
            published_at=manifest.published_at,
            checked_at=time.time(),
            error=None,
            files={n: s for n, s in held.items() if n in keep},
            # The generation before this one stays on disk until the next switch: a
            # reader may be opening it at this moment.
            current_files=sorted(names),
            fetched_bytes=fetched,
        )
        self._save(state)
        log.info(
            "search replica now at %s serial %d (%d bytes fetched)",
            manifest.generation,
            manifest.serial,
            fetched,
        )
        return True

    def _fetch(self, name: str, sha: str, size: int) -> None:
        fd, tmp_name = tempfile.mkstemp(prefix=".sync-", dir=self.directory)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            self.shelf.download(file_path(sha), tmp)
            if tmp.stat().st_size != size or sha256_of(tmp) != sha:
                raise ReplicaCorrupt(f"{name}: size or SHA-256 differs from the manifest")
            os.replace(tmp, self.directory / name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _replace(self, name: str, data: bytes) -> None:
        tmp = self.directory / f".sync-{name}"
        tmp.write_bytes(data)
        os.replace(tmp, self.directory / name)

    def _state(self) -> dict[str, Any]:
        try:
            found = json.loads((self.directory / _STATE).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def _save(self, state: dict[str, Any]) -> None:
        self._replace(_STATE, json.dumps(state, sort_keys=True).encode("utf-8"))

    @contextlib.contextmanager
    def _sync_lock(self) -> Iterator[bool]:
        with open(self.directory / _SYNC_LOCK, "a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _fresh(self) -> None:
        """Start a sync when the last check is older than ``check_seconds`` (in this
        process or, through the state file, in another one), and wait for it a bounded
        time."""
        now = time.monotonic()
        with self._guard:
            if self._thread is None and now >= self._next_check:
                checked = self._state().get("checked_at")
                if (
                    self.check_seconds > 0
                    and checked is not None
                    and time.time() - float(checked) < self.check_seconds
                ):
                    self._next_check = now + self.check_seconds - (time.time() - float(checked))
                else:
                    self._next_check = now + self.check_seconds
                    self._thread = threading.Thread(
                        target=self._sync_in_background, name="search-replica-sync", daemon=True
                    )
                    self._thread.start()
            thread = self._thread
        if thread is not None and not self._failing:
            thread.join(self.wait_seconds)

    def _sync_in_background(self) -> None:
        try:
            self.sync()
        finally:
            with self._guard:
                self._thread = None

    def _opened(self) -> SearchIndex | None:
        """The local copy, synced if due; None before the first sync."""
        self._fresh()
        if self._reader is None and (self.directory / _CURRENT).exists():
            self._reader = SearchIndex(self.directory, key=self.key)
        return self._reader

    def _index(self) -> SearchIndex:
        reader = self._opened()
        if reader is None:
            raise IndexNeedsRebuild(NOT_REPLICATED)
        return reader
