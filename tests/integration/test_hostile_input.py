"""Hostile input gets a clear 4xx and changes nothing: ids and page numbers past what the
database holds, multipart parts without a name, methods a route does not take.

A fuzzing run found these answering 500 (OverflowError, "integer out of range" on
PostgreSQL, a nameless multipart part); they run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import PASSWORD, People, bearer, token_for

HUGE = "99999999999999999999999"  # past 64 bits
PAST_32 = str(2**31)  # past PostgreSQL's integer
PAST_64 = str(2**63)  # past SQLite's integer


@pytest.fixture
def who(client: Any, people: People) -> dict[str, dict[str, str]]:
    people.user("clara", "clerk", department="SALES")
    people.user("root", "admin", department=None)
    people.user("audrey", "auditor", department=None)
    return {n: bearer(token_for(client, n)) for n in ("clara", "root", "audrey")}


BIG = (HUGE, PAST_64, PAST_32)


def test_api_ids_past_the_database_are_404(client: Any, who: Any) -> None:
    for big in BIG:
        for path in (
            "/api/v1/documents/{n}",
            "/api/v1/customers/{n}",
            "/api/v1/documents/{n}/history",
            "/api/v1/access-requests/{n}",
            "/api/v1/destructions/{n}",
            "/api/v1/role-grants/{n}",
            "/api/v1/documents/1/pages/{n}",
        ):
            resp = client.get(path.format(n=big), headers=who["root"])
            assert resp.status_code == 404, (path, big, resp.get_data(as_text=True))
            assert resp.get_json()["error"]["code"] == "not_found"
        resp = client.post(
            f"/api/v1/documents/{big}/hold", json={"reason": "x"}, headers=who["root"]
        )
        assert resp.status_code == 404


def test_api_query_integers_past_the_database_are_422(client: Any, who: Any) -> None:
    for big in BIG:
        for path, field in (
            ("/api/v1/customers?page={n}", "page"),
            ("/api/v1/documents?page={n}", "page"),
            ("/api/v1/documents?customer_id={n}", "customer_id"),
            ("/api/v1/documents/1/content?version={n}", "version"),
            ("/api/v1/audit?page={n}", "page"),
            ("/api/v1/access-register?document_id={n}", "document_id"),
            ("/api/v1/retention-reviews?page={n}", "page"),
        ):
            headers = who["audrey"] if "audit" in path or "register" in path else who["root"]
            resp = client.get(path.format(n=big), headers=headers)
            assert resp.status_code == 422, (path, big, resp.get_data(as_text=True))
            assert field in resp.get_json()["error"]["fields"]


@pytest.mark.parametrize("big", [HUGE, PAST_32])
def test_api_body_integers_past_the_database_are_422(client: Any, who: Any, big: str) -> None:
    resp = client.post("/api/v1/viewing-sessions", json={"grant_id": int(big)}, headers=who["root"])
    assert resp.status_code == 422
    assert "grant_id" in resp.get_json()["error"]["fields"]
    resp = client.post(
        "/api/v1/change-requests",
        data={"target_type": "document", "target_id": big, "reason": "r"},
        headers=who["clara"],
    )
    assert resp.status_code == 422
    assert "target_id" in resp.get_json()["error"]["fields"]


def test_a_multipart_part_without_a_name_is_a_4xx(client: Any, who: Any) -> None:
    body = (
        b"--B\r\n"
        b'Content-Disposition: form-data; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n"
        b"%PDF-1.4\r\n"
        b"--B\r\n"
        b"Content-Disposition: form-data\r\n\r\n"
        b"value\r\n"
        b"--B--\r\n"
    )
    paths = (
        "/api/v1/documents",
        "/api/v1/change-requests",
        "/api/v1/access-requests/1/legal-basis",
    )
    for path in paths:
        resp = client.post(
            path,
            data=body,
            content_type="multipart/form-data; boundary=B",
            headers=who["clara"],
        )
        assert 400 <= resp.status_code < 500, (path, resp.status_code)
        assert resp.get_json()["error"]["code"]


def test_405_names_the_methods_allowed(client: Any, who: Any) -> None:
    resp = client.put("/api/v1/documents", headers=who["root"])
    assert resp.status_code == 405
    assert set(resp.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert resp.get_json()["error"]["code"] == "method_not_allowed"
    web = client.put("/login")
    assert web.status_code == 405
    assert "GET" in web.headers["Allow"]


def _web_sign_in(client: Any, username: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    resp = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token[1]}
    )
    assert resp.status_code == 302


@pytest.mark.parametrize("big", BIG)
def test_web_ids_and_pages_past_the_database_are_not_500(
    client: Any, people: People, big: str
) -> None:
    people.user("root", "admin", department=None)
    people.user("audrey", "auditor", department=None)
    _web_sign_in(client, "root")
    for path in (
        f"/documents/{big}",
        f"/customers/{big}",
        f"/admin/users/{big}",
        f"/disposal/reviews/{big}",
        f"/viewing/sessions/{big}/documents/{big}/pages/{big}.png",
        f"/customers?page={big}",
        f"/search?page={big}&q=x",
        f"/search?customer_id={big}",
        f"/documents/1/view?page={big}",
        f"/viewing/sessions/1/documents/1?page={big}",
        f"/changes/new?target_type=document&target_id={big}",
    ):
        resp = client.get(path)
        assert resp.status_code in (200, 302, 400, 404), (path, resp.status_code)
    _web_sign_in(client, "audrey")
    for path in (
        f"/audit/?page={big}",
        f"/access/register?page={big}",
        f"/access/register?document_id={big}",
    ):
        resp = client.get(path)
        assert resp.status_code in (200, 400, 404), (path, resp.status_code)


def test_no_route_parses_an_unbounded_number() -> None:
    """Query and form numbers go through ``http.db_int``; ``type=int`` lets any size in."""
    from pathlib import Path

    import archive_service

    root = Path(archive_service.__file__).parent
    found = [
        str(p.relative_to(root))
        for area in ("web", "api")
        for p in (root / area).glob("*.py")
        if "type=int)" in p.read_text() or "int(request" in p.read_text()
    ]
    assert found == []
