"""Statements per request, counted (not timed): a search page costs the same few queries
however many hits it shows, and reading a document re-reads nobody's roles."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.conftest import bearer, token_for


@contextmanager
def counted(engine: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _archive(people: Any, hits: int) -> list[int]:
    people.user("clara", "clerk")
    people.user("arch", "archivist", department="OPS")
    customer = people.customer("clara", responsible_clerk="clara")
    return [
        people.document(
            "clara",
            customer,
            f"第{n}号文件。本合同约定采购离心泵三百台。".encode(),
            title=f"合同{n}",
            filename=f"d{n}.txt",
            accepted_by=("arch",),
        )
        for n in range(hits)
    ]


def test_a_search_page_costs_the_same_statements_for_3_hits_as_for_12(client, people, rt):
    ids = _archive(people, 12)
    token = token_for(client, "clara")
    costs = {}
    for per_page in (3, 12):
        with counted(rt.db.engine) as statements:
            resp = client.get(
                f"/api/v1/documents?q=离心泵&per_page={per_page}", headers=bearer(token)
            )
        assert resp.status_code == 200
        body = resp.get_json()
        assert len(body["items"]) == per_page and body["total"] == len(ids)
        assert all(item["snippets"] for item in body["items"])
        costs[per_page] = len(statements)
    assert costs[12] == costs[3], costs


def test_reading_a_document_reads_the_callers_roles_once(client, people, rt):
    ids = _archive(people, 1)
    token = token_for(client, "clara")
    with counted(rt.db.engine) as statements:
        assert client.get(f"/api/v1/documents/{ids[0]}", headers=bearer(token)).status_code == 200
    roles = [s for s in statements if "FROM user_roles" in s]
    assert len(roles) == 1, roles
