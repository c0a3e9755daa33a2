"""The SearchBackend contract, run against every backend: Whoosh's SearchIndex on one
machine, and the same index replicated to another machine's folder through a shelf.

A second backend joins ``BACKENDS`` and must pass the same tests; the service uses
nothing but the protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from search import AccessFilter, QueryError, SearchBackend, SearchIndex, SearchQuery
from tests.search.conftest import KEY, Replicated, make_doc

BACKENDS: dict[str, Callable[[Path], SearchBackend]] = {
    "whoosh": lambda tmp: SearchIndex(tmp / "whoosh", key=KEY),
    # Writes to the indexer's index (published to a shared folder), reads from a replica
    # in another folder synced from it before each read.
    "whoosh-replica": lambda tmp: Replicated(tmp),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> SearchBackend:
    return BACKENDS[request.param](tmp_path)


def found(backend: SearchBackend, text: str, access: AccessFilter, **kw: object) -> list[int]:
    page = backend.search(SearchQuery(text=text, access=access, per_page=100, **kw))  # type: ignore[arg-type]
    assert page.total == len(page.hits)
    return sorted(h.id for h in page.hits)


def test_search_index_is_a_search_backend(tmp_path: Path) -> None:
    backend: SearchBackend = SearchIndex(tmp_path / "ix", key=KEY)  # checked by mypy, structurally
    assert isinstance(backend, SearchBackend)  # checked at run time (method names)
    assert not isinstance(object(), SearchBackend)


def test_writes_ids_and_count(backend: SearchBackend) -> None:
    assert backend.count() == 0 and backend.ids() == set()
    # A repeated id in one update: the last one wins.
    docs = [make_doc(1, body="旧合同"), make_doc(2), make_doc(1, body="新合同")]
    assert backend.update(docs) == 2
    assert backend.ids() == {1, 2} and backend.count() == 2
    everyone = AccessFilter(everything=True)
    assert found(backend, "新合同", everyone) == [1]
    assert found(backend, "旧合同", everyone) == []
    assert backend.remove([2, 99]) == 1
    assert backend.ids() == {1} and backend.count() == 1
    assert backend.update([]) == 0 and backend.remove([]) == 0
    # A rebuild replaces everything; there a repeated id keeps its first version.
    assert (
        backend.rebuild([make_doc(5, body="第一版"), make_doc(6), make_doc(5, body="第二版")]) == 2
    )
    assert backend.ids() == {5, 6} and backend.count() == 2
    assert found(backend, "第一版", everyone) == [5]
    assert found(backend, "第二版", everyone) == []


def test_access_is_applied_inside_the_query(backend: SearchBackend) -> None:
    backend.update(
        [
            make_doc(1, department="SALES", body="采购合同"),
            make_doc(2, department="OPS", body="采购合同", identifiers=("HT-2023-002",)),
            make_doc(3, department="OPS", customer_id=7, body="采购合同"),
        ]
    )
    sales = AccessFilter(departments=frozenset({"SALES"}), customers=frozenset({7}))
    page = backend.search(SearchQuery(text="采购", access=sales, per_page=1))
    assert page.total == 2 and len(page.hits) == 1 and page.hits[0].id in {1, 3}
    assert found(backend, "HT-2023-002", sales) == []  # an exact number reveals nothing
    assert found(backend, "", AccessFilter()) == []  # no access: nothing at all
    assert found(backend, "HT-2023-002", AccessFilter(documents=frozenset({2}))) == [2]


def test_bad_queries_raise_query_error(backend: SearchBackend) -> None:
    everyone = AccessFilter(everything=True)
    for query in (
        SearchQuery(text="，。", access=everyone),
        SearchQuery(text="合同", access=everyone, page=0),
        SearchQuery(text="合同", access=everyone, sort="size"),
    ):
        with pytest.raises(QueryError):
            backend.search(query)
