"""The paper originals follow the electronic record (对纸质档案进行同步调整): an applied
change that replaces a contract's file asks the archivist to swap its paper original until
they confirm it. (A confirmed transfer takes the originals with it: test_transfers.py.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from archive_service.audit.models import AuditEvent
from archive_service.paper.models import PaperItem
from archive_service.runtime import Runtime
from tests import samples
from tests.integration.test_changes_api import decide, file, org  # noqa: F401 - fixtures
from tests.integration.test_web_accounts import csrf, login


def _box(client: Any, who: dict[str, str], code: str = "B1") -> int:
    got = client.post(
        "/api/v1/paper/locations", json={"code": code, "name": "盒 1", "kind": "box"}, headers=who
    )
    assert got.status_code == 201, got.get_json()
    return int(got.get_json()["id"])


def _state(rt: Runtime, doc: int) -> PaperItem:
    with rt.db.session() as s:
        item = s.scalars(select(PaperItem).where(PaperItem.document_id == doc)).one()
        s.expunge(item)
        return item


def test_a_replaced_file_asks_for_the_paper_swap(
    app: Any,
    client: Any,
    rt: Runtime,
    org: dict[str, Any],  # noqa: F811
) -> None:
    h = org["h"]
    box = _box(client, h["arch"])
    kept = client.put(
        f"/api/v1/documents/{org['doc']}/paper", json={"location_id": box}, headers=h["arch"]
    )
    assert kept.status_code == 200 and kept.get_json()["swap_change_id"] is None
    swapped = f"/api/v1/documents/{org['doc']}/paper/swapped"
    assert client.post(swapped, headers=h["arch"]).status_code == 409  # nothing waits

    cr = file(client, h["clara"], "document", org["doc"], "盖章版", replacement=samples.pdf("v2"))
    assert cr.status_code == 201, cr.get_json()
    cid = cr.get_json()["id"]
    for who in ("arch", "olga"):
        assert decide(client, h[who], cid).status_code == 200
    assert _state(rt, org["doc"]).swap_change_id == cid

    # The archivist sees it on the document and on the paper page, and confirms it.
    browser = app.test_client()
    assert login(browser, "arch").status_code == 302
    page = f"/documents/{org['doc']}"
    assert 'id="paper-swap"' in browser.get(page).get_data(as_text=True)
    assert 'id="swaps"' in browser.get("/paper/").get_data(as_text=True)
    assert client.post(swapped, headers=h["clara"]).status_code == 403
    done = browser.post(
        f"/paper/documents/{org['doc']}/swapped", data={"csrf_token": csrf(browser, page)}
    )
    assert done.status_code == 302
    assert _state(rt, org["doc"]).swap_change_id is None
    with rt.db.session() as s:
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target_type == "document", AuditEvent.target_id == str(org["doc"]))
            .where(AuditEvent.action.like("paper.swap%"))
            .order_by(AuditEvent.seq)
        ).all()
    assert actions == ["paper.swap_due", "paper.swapped"]
