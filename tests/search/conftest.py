"""Fixtures for the search library's tests: real files built here, a small index."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from archive_service.backup.target import FolderTarget
from search import IndexedDocument, SearchIndex, SearchPage, SearchQuery
from search.publish import PublishedIndex, Publisher
from search.replica import SearchReplica

# The term key of the test indexes (a real deployment's comes from its secrets).
KEY = bytes(range(32))


def make_doc(doc_id: int, **fields: object) -> IndexedDocument:
    """A document with plausible defaults; tests override what they look at."""
    values: dict[str, object] = {
        "id": doc_id,
        "numbers": (f"K001202301{doc_id:04d}",),
        "title": f"文档{doc_id}",
        "customer_id": 1,
        "customer_name": "上海华信科技有限公司",
        "customer_code": None,
        "category": "business.contract",
        "department": "SALES",
        "status": "accepted",
        "on_hold": False,
        "document_date": date(2023, 1, 1),
        "filing_date": date(2023, 1, 2),
        "tags": (),
        "identifiers": (),
        "body": "",
    }
    values.update(fields)
    return IndexedDocument(**values)  # type: ignore[arg-type]


def positional_terms(per_doc: dict[tuple[str, bytes], dict[int, list[int]]]) -> dict[Any, Any]:
    """A segment writer's posting buffer for side-file tests: (field, term) → (docnums,
    weights, Whoosh position values), from each term's positions per document."""
    from array import array

    from search.whoosh_internals import encode_postings

    terms: dict[Any, Any] = {}
    for key, docs in per_doc.items():
        entry: tuple[Any, Any, list[bytes]] = (array("I"), array("f"), [])
        for doc, plist in docs.items():
            (_t, _n, weight, value) = encode_postings({"x": plist})[0]
            entry[0].append(doc)
            entry[1].append(weight)
            entry[2].append(value)
        terms[key] = entry
    return terms


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SearchIndex]:
    yield SearchIndex(tmp_path / "index", key=KEY)


class Replicated:
    """Two machines in one: writes go to the indexer's index, which publishes each one to
    a shared folder; reads go to a replica in its own folder that syncs before every read
    (``check_seconds=0``)."""

    def __init__(self, tmp: Path, **replica: Any) -> None:
        self.shelf = FolderTarget(tmp / "shared")
        self.primary = PublishedIndex(SearchIndex(tmp / "indexer", key=KEY), Publisher(self.shelf))
        options: dict[str, Any] = {"check_seconds": 0, "wait_seconds": 60, **replica}
        self.replica = SearchReplica(tmp / "web", key=KEY, shelf=self.shelf, **options)

    def update(self, docs: Iterable[IndexedDocument]) -> int:
        return self.primary.update(docs)

    def remove(self, ids: Iterable[int]) -> int:
        return self.primary.remove(ids)

    def rebuild(self, docs: Iterable[IndexedDocument], **options: Any) -> int:
        return self.primary.rebuild(docs, **{"workers": 0, **options})

    def needs_rebuild(self) -> str | None:
        return self.replica.needs_rebuild()

    def ids(self) -> set[int]:
        return self.replica.ids()

    def count(self) -> int:
        return self.replica.count()

    def search(self, query: SearchQuery) -> SearchPage:
        return self.replica.search(query)
