"""Web forms that run one use case and report its outcome: holds and returns.

The state is read back through the API: a refused form changes nothing, an
accepted one does exactly what the API would.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_web_accounts import csrf, login


@pytest.fixture
def filed(client: Any, people: People) -> dict[str, Any]:
    people.department("OPS", "运营部")
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    h = {n: bearer(token_for(client, n)) for n in ("clara", "arch")}
    cid = client.post(
        "/api/v1/customers",
        headers=h["clara"],
        json={"name": "华夏贸易", "customer_type": "enterprise", "department": "SALES"},
    ).get_json()["id"]
    ids = []
    for n in range(2):
        doc = client.post(
            "/api/v1/documents",
            headers=h["clara"],
            content_type="multipart/form-data",
            data={
                "customer_id": str(cid),
                "category": "basic.profile",
                "title": f"文件{n}",
                "retention_class": "short",
                "file": (io.BytesIO(samples.pdf(f"file {n}")), f"f{n}.pdf"),
            },
        ).get_json()
        ids.append(doc["id"])
    client.post(f"/api/v1/documents/{ids[0]}/accept", headers=h["arch"])
    return {"h": h, "accepted": ids[0], "submitted": ids[1]}


def _doc(client: Any, filed: dict[str, Any], doc_id: int) -> dict[str, Any]:
    resp = client.get(f"/api/v1/documents/{doc_id}", headers=filed["h"]["arch"])
    return resp.get_json()  # type: ignore[no-any-return]


def _post(client: Any, path: str, page: str, **data: str) -> Any:
    return client.post(path, data={"csrf_token": csrf(client, page), **data})


def test_hold_needs_a_reason_and_a_hold_keeper(client: Any, filed: dict[str, Any]) -> None:
    doc = filed["accepted"]
    page, action = f"/documents/{doc}", f"/documents/{doc}/hold"
    login(client, "clara")
    assert _post(client, action, page, reason="诉讼").status_code == 302
    assert _doc(client, filed, doc)["on_hold"] is False  # refused: not a hold keeper
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    login(client, "arch")
    assert _post(client, action, page, reason="").status_code == 302
    assert _doc(client, filed, doc)["on_hold"] is False  # refused: no reason
    assert _post(client, action, page, reason="诉讼保全").status_code == 302
    assert _doc(client, filed, doc)["on_hold"] is True
    assert _post(client, action, page, reason="再次").status_code == 302  # already held: 409
    assert _doc(client, filed, doc)["on_hold"] is True
    assert _post(client, action, page, reason="结案", release="1").status_code == 302
    assert _doc(client, filed, doc)["on_hold"] is False


def test_return_to_clerk_from_the_review_queue(client: Any, filed: dict[str, Any]) -> None:
    doc = filed["submitted"]
    login(client, "arch")
    action = f"/documents/{doc}/return"
    assert _post(client, action, "/review", reason="").status_code == 302
    assert _doc(client, filed, doc)["status"] == "submitted"
    follow = client.post(
        action,
        data={"csrf_token": csrf(client, "/review"), "reason": "扫描不清晰"},
        follow_redirects=True,
    )
    assert follow.status_code == 200
    assert _doc(client, filed, doc)["status"] == "returned"
