"""Replicas of the index on web machines: what a sync copies, what it refuses, and what a
replica serves when the shelf is half-written or out of reach. The contract itself runs
over the replica in test_backend.py."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from archive_service.backup.target import FolderTarget, S3Place, S3Target
from search import AccessFilter, SearchBackend, SearchIndex, SearchQuery
from search.publish import MANIFEST, Manifest, PublishedIndex, Publisher, file_path
from search.replica import NOT_REPLICATED, ReplicaReadOnly, SearchReplica
from tests.search.conftest import KEY, Replicated, make_doc
from tests.storage.conftest import moto_endpoint  # noqa: F401 - the S3 server fixture

EVERYONE = AccessFilter(everything=True)


def found(backend: SearchBackend, text: str) -> list[int]:
    page = backend.search(SearchQuery(text=text, access=EVERYONE, per_page=100))
    return sorted(h.id for h in page.hits)


def manifest(shelf: FolderTarget | S3Target) -> Manifest:
    return Manifest.from_json(shelf.read(MANIFEST))


def test_both_sides_are_search_backends(tmp_path: Path) -> None:
    pair = Replicated(tmp_path)
    backends: list[SearchBackend] = [pair.primary, pair.replica]
    assert all(isinstance(b, SearchBackend) for b in backends)
    with pytest.raises(ReplicaReadOnly):
        pair.replica.update([make_doc(1)])
    with pytest.raises(ReplicaReadOnly):
        pair.replica.remove([1])


def test_a_replica_before_its_first_sync_says_so(tmp_path: Path) -> None:
    shelf = FolderTarget(tmp_path / "nothing-published")
    replica = SearchReplica(tmp_path / "web", key=KEY, shelf=shelf, check_seconds=0)
    assert replica.needs_rebuild() == NOT_REPLICATED and replica.count() == 0
    assert "FileNotFoundError" in (replica.status().error or "")


def test_an_update_uploads_only_its_new_files_and_removals_reach_the_replica(
    tmp_path: Path,
) -> None:
    pair = Replicated(tmp_path)
    pair.update([make_doc(i, body=f"采购合同第{i}号") for i in range(1, 41)])
    first = manifest(pair.shelf)
    assert found(pair, "采购合同") == list(range(1, 41))
    pair.update([make_doc(41, body="采购合同补充协议")])
    second = manifest(pair.shelf)
    assert second.serial == first.serial + 1
    # The earlier segment's files are not uploaded again: only the new segment and the TOC.
    assert 0 < pair.primary.publisher.last_uploaded < second.size
    assert {f["sha256"] for f in first.files if not f["name"].endswith(".toc")} <= {
        f["sha256"] for f in second.files
    }
    # A removal is a new table of contents (Whoosh keeps deletions there): the replica
    # stops finding the document once it syncs.
    pair.remove([7, 41])
    assert 7 not in found(pair, "采购合同") and 41 not in found(pair, "补充协议")
    assert pair.replica.count() == 39


def test_a_rebuild_switches_generation_and_old_files_leave_both_sides(tmp_path: Path) -> None:
    shelf = FolderTarget(tmp_path / "shared")
    primary = PublishedIndex(SearchIndex(tmp_path / "indexer", key=KEY), Publisher(shelf))
    primary.publisher.grace_seconds = 0  # delete retired content at once
    replica = SearchReplica(tmp_path / "web", key=KEY, shelf=shelf, check_seconds=0)
    primary.update([make_doc(1, body="旧档案")])
    assert found(replica, "旧档案") == [1]
    old_names = {f["name"] for f in manifest(shelf).files}
    primary.rebuild([make_doc(2, body="新档案")], workers=0)
    assert found(replica, "旧档案") == [] and found(replica, "新档案") == [2]
    new = manifest(shelf)
    assert new.generation != "archive_1" and replica.status().generation == new.generation
    primary.update([make_doc(3, body="新档案")])
    replica.sync()
    # The generation before the current one stays one more switch (a reader may open it),
    # then goes; on the shelf, retired content goes after the grace period.
    local = {p.name for p in (tmp_path / "web").iterdir()}
    assert not old_names & local
    on_shelf = set(shelf.list("files/"))
    assert {file_path(f["sha256"]) for f in manifest(shelf).files} <= on_shelf
    assert len(on_shelf) == len(manifest(shelf).files)


def test_a_half_published_generation_is_not_switched_to(tmp_path: Path) -> None:
    pair = Replicated(tmp_path)
    pair.update([make_doc(1, body="第一份合同")])
    assert found(pair, "合同") == [1]
    good, first = pair.replica.status(), manifest(pair.shelf)

    # The writer's files are there but its manifest is not (yet): nothing changes.
    manifest_bytes = pair.shelf.read(MANIFEST)
    pair.primary.index.update([make_doc(2, body="第二份合同")])
    pair.shelf.delete(MANIFEST)
    assert found(pair, "合同") == [1]
    assert "no manifest" in (pair.replica.status().error or "")
    pair.shelf.write(MANIFEST, manifest_bytes)

    # A manifest naming a file whose content is wrong: refused, the old copy serves on.
    published = pair.primary.publish()
    toc = published.files[-1]
    new_segment = next(
        f for f in published.files if f["sha256"] not in {g["sha256"] for g in first.files}
    )
    real = pair.shelf.read(file_path(new_segment["sha256"]))
    pair.shelf.write(file_path(new_segment["sha256"]), b"x" * len(real))
    assert found(pair, "合同") == [1]
    status = pair.replica.status()
    assert "ReplicaCorrupt" in (status.error or "") and status.serial == good.serial
    assert not (tmp_path / "web" / toc["name"]).exists()  # the switch was never made

    pair.shelf.write(file_path(new_segment["sha256"]), real)
    assert found(pair, "合同") == [1, 2]
    assert pair.replica.status().error is None


def test_an_unreachable_shelf_keeps_the_last_good_generation(tmp_path: Path) -> None:
    pair = Replicated(tmp_path)
    pair.update([make_doc(1, body="保管期限")])
    assert found(pair, "保管期限") == [1]
    checked = pair.replica.status().checked_at
    (tmp_path / "shared").rename(tmp_path / "gone")  # the store is out of reach
    assert found(pair, "保管期限") == [1]
    status = pair.replica.status()
    assert status.error and status.checked_at == checked  # the age keeps growing
    assert status.age_seconds(now=(checked or 0) + 120) == pytest.approx(120)
    (tmp_path / "gone").rename(tmp_path / "shared")
    pair.update([make_doc(2, body="保管期限")])
    assert found(pair, "保管期限") == [1, 2]


class StalledShelf(FolderTarget):
    """A store whose downloads hang until released (a stalled network)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.release = threading.Event()

    def download(self, path: str, local: Path) -> None:
        self.release.wait()
        super().download(path, local)


def test_a_search_does_not_wait_for_a_stalled_download(tmp_path: Path) -> None:
    shelf = StalledShelf(tmp_path / "shared")
    primary = PublishedIndex(SearchIndex(tmp_path / "indexer", key=KEY), Publisher(shelf))
    replica = SearchReplica(
        tmp_path / "web", key=KEY, shelf=shelf, check_seconds=0, wait_seconds=0.05
    )
    primary.update([make_doc(1, body="档案移交")])
    shelf.release.set()
    replica.sync()
    shelf.release.clear()
    primary.update([make_doc(2, body="档案移交")])
    # The sync hangs in its download; the search answers from the generation it has.
    assert found(replica, "档案移交") == [1]
    shelf.release.set()
    while replica.status().serial != manifest(shelf).serial:
        replica.sync()
    assert found(replica, "档案移交") == [1, 2]


def test_processes_of_one_machine_share_its_copy(tmp_path: Path) -> None:
    pair = Replicated(tmp_path)
    pair.update([make_doc(1, body="借阅登记")])
    pair.replica.sync()
    # Another process on the same folder: the copy is fresh (checked just now), so it
    # serves it without asking the shelf again.
    other = SearchReplica(tmp_path / "web", key=KEY, shelf=pair.shelf, check_seconds=3600)
    assert found(other, "借阅登记") == [1]


class FlakyShelf(FolderTarget):
    """A store that can be cut off: reads then fail, or hang until released and fail."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.down = False
        self.hang = threading.Event()
        self.release = threading.Event()

    def read(self, path: str) -> bytes:
        if self.hang.is_set():
            self.release.wait()
        if self.down:
            raise ConnectionError("the store is unreachable")
        return super().read(path)


def test_after_a_failed_sync_searches_stop_waiting_for_the_shelf(tmp_path: Path) -> None:
    shelf = FlakyShelf(tmp_path / "shared")
    primary = PublishedIndex(SearchIndex(tmp_path / "indexer", key=KEY), Publisher(shelf))
    primary.update([make_doc(1, body="档案鉴定")])
    replica = SearchReplica(
        tmp_path / "web", key=KEY, shelf=shelf, check_seconds=0, wait_seconds=3600
    )
    assert found(replica, "档案鉴定") == [1]
    shelf.down = True
    assert found(replica, "档案鉴定") == [1]  # failed quickly; recorded
    shelf.hang.set()  # the next try hangs (a connection timing out)
    answered: list[list[int]] = []
    search = threading.Thread(
        target=lambda: answered.append(found(replica, "档案鉴定")), daemon=True
    )
    search.start()
    search.join(30)  # far below wait_seconds: the search did not wait for the hanging sync
    shelf.release.set()
    assert answered == [[1]]
    shelf.hang.clear()
    shelf.down = False
    while replica.status().error is not None:
        replica.sync()
    assert found(replica, "档案鉴定") == [1]


def test_the_replica_syncs_through_s3(
    tmp_path: Path,
    moto_endpoint: str,  # noqa: F811
) -> None:
    shelf = S3Target(
        S3Place(moto_endpoint, "testing", "testing-secret", False, "search-share", "ix/")
    )
    shelf.ensure_ready()
    primary = PublishedIndex(SearchIndex(tmp_path / "indexer", key=KEY), Publisher(shelf))
    replica = SearchReplica(tmp_path / "web", key=KEY, shelf=shelf, check_seconds=0)
    primary.update([make_doc(1, body="销毁清册"), make_doc(2, body="销毁清册")])
    assert found(replica, "销毁清册") == [1, 2]
    primary.remove([1])
    assert found(replica, "销毁清册") == [2]
    assert replica.status().generation == manifest(shelf).generation
