"""Statements per request, counted (not timed): a search page costs the same few queries
however many hits it shows, reading a document re-reads nobody's roles, and each of the
hot requests costs exactly the statements it needs (issue 22)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from tests.conftest import bearer, token_for


@contextmanager
def counted(engine: Any) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # SQLite's explicit BEGIN (IMMEDIATE) is how a transaction starts there, not a
        # query: without it both databases cost the same.
        if not statement.startswith("BEGIN"):
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


def test_a_search_page_costs_the_same_statements_for_2_hits_as_for_5(client, people, rt):
    ids = _archive(people, 5)
    token = token_for(client, "clara")
    costs = {}
    for per_page in (2, 5):
        with counted(rt.db.engine) as statements:
            resp = client.get(
                f"/api/v1/documents?q=离心泵&per_page={per_page}", headers=bearer(token)
            )
        assert resp.status_code == 200
        body = resp.get_json()
        assert len(body["items"]) == per_page and body["total"] == len(ids)
        assert all(item["snippets"] for item in body["items"])
        costs[per_page] = len(statements)
    assert costs[5] == costs[2], costs


def test_reading_a_document_reads_the_callers_roles_once(client, people, rt):
    ids = _archive(people, 1)
    token = token_for(client, "clara")
    with counted(rt.db.engine) as statements:
        assert client.get(f"/api/v1/documents/{ids[0]}", headers=bearer(token)).status_code == 200
    roles = [s for s in statements if "user_roles" in s]  # joined or on its own
    assert len(roles) == 1, roles


# The statements each request needs, and no more:
#   /me        the token with its user, department and roles (one joined query)
#   metadata   + the document with its customer, category and versions (one query)
#   content    + the version's stored object, the access register's row, and the audit
#              event linked at commit (lock the head, move it, insert the event)
#   search     the token; the caller's live grant scopes (the index filter); the hits with
#              their versions; their text objects (snippets); the audit event (three)
#   list       the token; the count; the page with its versions
EXACT = {"me": 1, "metadata": 2, "content": 7, "search": 7, "list": 3}


def test_each_hot_request_costs_exactly_the_statements_it_needs(client, people, rt):
    ids = _archive(people, 5)
    token = token_for(client, "clara")
    urls = {
        "me": "/api/v1/me",
        "metadata": f"/api/v1/documents/{ids[0]}",
        "content": f"/api/v1/documents/{ids[0]}/content",
        "search": "/api/v1/documents?q=离心泵&per_page=5",
        "list": "/api/v1/documents?per_page=5",
    }
    costs = {}
    for name, url in urls.items():
        with counted(rt.db.engine) as statements:
            resp = client.get(url, headers=bearer(token))
            body = resp.get_data()  # the content streams: its statements come first
        assert resp.status_code == 200 and body, (name, resp.status_code)
        costs[name] = len(statements)
    assert costs == EXACT


def _grant_whole_archive(client, people, who: str) -> None:
    """``who`` (a requester in FIN) applies for the customer's whole archive; FIN's head and
    operations approve, as in the access workflow."""
    people.user(who, "requester", department="FIN")
    people.user("fin-head", "department_head", department="FIN")
    people.user("ops", "operations_head", department="OPS")
    now = datetime.now(UTC)
    req = client.post(
        "/api/v1/access-requests",
        headers=bearer(token_for(client, who)),
        json={
            "purpose": "核对合同",
            "mode": "download",
            "starts_at": (now - timedelta(minutes=1)).isoformat(),
            "ends_at": (now + timedelta(days=1)).isoformat(),
            "customer": "华夏贸易有限公司",
        },
    ).get_json()
    for approver in ("fin-head", "ops"):
        decided = client.post(
            f"/api/v1/access-requests/{req['id']}/decision",
            headers=bearer(token_for(client, approver)),
            json={"decision": "approve"},
        )
    assert decided.get_json()["grant_id"], decided.get_json()


def test_a_grant_holders_search_page_asks_for_their_grants_once(client, people, rt):
    """The policy checks each hit against the caller's grants (twice: the hit, its
    snippets); the grants are read once per request, not once per check."""
    ids = _archive(people, 5)
    _grant_whole_archive(client, people, "fay")
    token = token_for(client, "fay")
    costs = {}
    for per_page in (2, 5):
        with counted(rt.db.engine) as statements:
            resp = client.get(
                f"/api/v1/documents?q=离心泵&per_page={per_page}", headers=bearer(token)
            )
        body = resp.get_json()
        assert resp.status_code == 200 and body["total"] == len(ids), body
        assert len(body["items"]) == per_page and all(i["snippets"] for i in body["items"])
        costs[per_page] = len(statements)
    # the token; the grant scopes (index filter); the grants (policy); the hits with their
    # versions; their text objects; the audit event (three)
    assert costs == {2: 8, 5: 8}
