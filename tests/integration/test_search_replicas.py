"""Several web machines: the indexer publishes each write to a shared folder, and two web
apps, each with its own index folder, search their replicas of it. A document the worker
indexed is found on both; once the worker removes it, neither finds it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from archive_service.config import Settings
from archive_service.indexing import maintenance
from archive_service.runtime import Runtime, build_runtime
from search.publish import PublishedIndex
from search.replica import SearchReplica
from tests.integration.test_search_api import filed, ids, search  # noqa: F401


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    # The indexer (here the eager worker of the test app) publishes to the shared place.
    return replace(settings, search_publish_to=str(tmp_path / "shared-index"))


@pytest.fixture
def webs(settings: Settings, tmp_path: Path) -> Iterator[list[Any]]:
    """Two web machines: same database and store, their own index folders, replicas of the
    shared place checked before every search."""
    from archive_service.app import create_app

    clients, runtimes = [], []
    for n in (1, 2):
        web = replace(
            settings,
            search_publish_to="",
            search_replica_from=settings.search_publish_to,
            search_index_dir=str(tmp_path / f"web{n}" / "index"),
            search_sync_seconds=0,
        )
        rt = build_runtime(web)
        assert isinstance(rt.search_index, SearchReplica)
        app = create_app(web, runtime=rt)
        app.config["TESTING"] = True
        clients.append(app.test_client())
        runtimes.append(rt)
    yield clients
    for rt in runtimes:
        rt.close()


def test_two_web_machines_find_what_the_worker_indexed_and_lose_what_it_removed(
    rt: Runtime,
    filed: dict[str, Any],  # noqa: F811
    webs: list[Any],
) -> None:
    assert isinstance(rt.search_index, PublishedIndex)
    h, docs = filed["h"], filed["docs"]
    contract, complaint = docs["docx"]["id"], docs["pdf"]["id"]
    for web in webs:
        assert ids(search(web, h["clara"], "离心泵")) == [contract]
        assert ids(search(web, h["clara"], docs["pdf"]["number"])) == [complaint]
        assert ids(search(web, h["carl"], "离心泵")) == []  # access applies on a replica too
        health = web.get("/api/v1/health").get_json()["checks"]["index"]
        assert health["ok"] and health["replica"]["fresh"]
    # The index worker removes a document (as for a destruction): gone from both machines.
    maintenance.remove(rt.indexing, [contract])
    for web in webs:
        assert ids(search(web, h["clara"], "离心泵")) == []
        assert ids(search(web, h["clara"], docs["pdf"]["number"])) == [complaint]


def test_a_web_machine_cut_off_from_the_shared_place_serves_its_last_copy(
    rt: Runtime,
    filed: dict[str, Any],  # noqa: F811
    webs: list[Any],
    settings: Settings,
) -> None:
    h, docs = filed["h"], filed["docs"]
    web = webs[0]
    assert ids(search(web, h["clara"], "离心泵")) == [docs["docx"]["id"]]
    shared = Path(settings.search_publish_to)
    shared.rename(shared.with_name("unreachable"))
    assert ids(search(web, h["clara"], "离心泵")) == [docs["docx"]["id"]]
    health = web.get("/api/v1/health").get_json()["checks"]["index"]
    assert health["replica"]["error"] == "FileNotFoundError"
    assert health["replica"]["confirmed_seconds_ago"] is not None
    # Back in reach: the next search syncs, and the health check is clean again.
    shared.with_name("unreachable").rename(shared)
    assert ids(search(web, h["clara"], "离心泵")) == [docs["docx"]["id"]]
    assert web.get("/api/v1/health").get_json()["checks"]["index"]["replica"]["error"] is None
