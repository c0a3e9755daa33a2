"""Paper originals end to end: an archivist sets up the storage places, records a
contract's paper original in a box, prints its label (a QR code of the scan page's
address) and finds the record by scanning it; a stocktake of the cabinet with one item
missing, one misplaced and one lent produces the report, which the operations head — not
the one who counted — signs off and exports. Another archive's label, a destroyed item,
an unknown number and the wrong people are refused plainly, changing nothing."""

from __future__ import annotations

import io
import zipfile
from typing import Any
from urllib.parse import urlencode

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from archive_service.audit.models import AuditEvent
from archive_service.paper.models import PaperItem, Stocktake
from archive_service.paper.vocabulary import ItemState
from archive_service.runtime import Runtime
from tests import samples
from tests.conftest import People
from tests.integration.test_disposal_api import headers, org  # noqa: F401 - fixtures
from tests.integration.test_web_accounts import csrf, login


@pytest.fixture
def shelved(client: Any, people: People, org: None) -> dict[str, Any]:  # noqa: F811
    """A room › cabinet › two boxes, and four accepted contracts of one customer."""
    h = headers(client)
    customer = people.customer("clara", name="纸质客户")
    docs = [
        people.document(
            "clara",
            customer,
            samples.pdf(f"合同 {i}"),
            title=f"合同 {i}",
            filename=f"合同{i}.pdf",
            accepted_by=("arch",),
        )  # fmt: skip
        for i in range(4)
    ]
    ids: dict[str, int] = {}
    for code, name, kind, parent in (
        ("R1", "档案室一", "room", None),
        ("C01", "柜 01", "cabinet", "R1"),
        ("B001", "盒 001", "box", "C01"),
        ("B002", "盒 002", "box", "C01"),
        ("B900", "别处的盒", "box", "R1"),
    ):
        got = client.post(
            "/api/v1/paper/locations",
            json={"code": code, "name": name, "kind": kind, "parent_id": ids.get(parent or "")},
            headers=h["arch"],
        )
        assert got.status_code == 201, got.get_json()
        ids[code] = got.get_json()["id"]
    return {"h": h, "docs": docs, "places": ids, "customer": customer}


def _qr_codes(pdf: bytes) -> list[str]:
    """The QR codes on the first page of a PDF, as a camera would read them."""
    import cv2
    import numpy as np
    import pypdfium2 as pdfium

    page = pdfium.PdfDocument(pdf)[0].render(scale=3).to_pil().convert("L")
    found, texts, _points, _codes = cv2.QRCodeDetector().detectAndDecodeMulti(np.array(page))
    return [t for t in texts if t] if found else []


def _number(client: Any, h: dict[str, Any], doc: int) -> str:
    got = client.get(f"/api/v1/documents/{doc}", headers=h["arch"])
    return str(got.get_json()["archive_number"])


def _place(client: Any, h: dict[str, Any], doc: int, where: int, **extra: Any) -> Any:
    return client.put(
        f"/api/v1/documents/{doc}/paper", json={"location_id": where, **extra}, headers=h["arch"]
    )


def test_places_originals_labels_and_the_scan(
    client: Any, rt: Runtime, shelved: dict[str, Any]
) -> None:
    h, docs, places = shelved["h"], shelved["docs"], shelved["places"]
    got = _place(client, h, docs[0], places["B001"], pages=12, note="原件盖章")
    assert got.status_code == 200, got.get_json()
    assert got.get_json()["path"] == "档案室一 › 柜 01 › 盒 001"
    assert got.get_json()["state"] == "in_place" and got.get_json()["pages"] == 12
    listed = client.get("/api/v1/paper/locations", headers=h["audrey"]).get_json()
    assert [p["code"] for p in listed["items"]] == ["R1", "B900", "C01", "B001", "B002"]
    assert {p["code"]: p["items"] for p in listed["items"]}["B001"] == 1

    # Places are data with an order: a box does not hold a cabinet; codes are unique.
    bad = client.post(
        "/api/v1/paper/locations",
        json={"code": "C99", "name": "x", "kind": "cabinet", "parent_id": places["B001"]},
        headers=h["arch"],
    )
    assert bad.status_code == 422 and "parent_id" in str(bad.get_json())
    again = client.post(
        "/api/v1/paper/locations",
        json={"code": "R1", "name": "x", "kind": "room"},
        headers=h["arch"],
    )
    assert again.status_code == 409
    clerk = client.post(
        "/api/v1/paper/locations",
        json={"code": "R2", "name": "x", "kind": "room"},
        headers=h["clara"],
    )
    assert clerk.status_code == 403
    assert _place(client, h, docs[0], 10**6).status_code == 422

    # Moving the original is recorded; the audit trail has both.
    assert _place(client, h, docs[0], places["B002"]).get_json()["moved_at"]
    with rt.db.session() as s:
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target_type == "document")
            .where(AuditEvent.target_id == str(docs[0]))
            .where(AuditEvent.action.like("paper.%"))
            .order_by(AuditEvent.seq)
        ).all()
    assert actions == ["paper.record", "paper.update"]

    # The label sheet: the number, title and customer, and a QR code of the scan address.
    sheet = client.post("/api/v1/paper/labels", json={"document_ids": [docs[0]]}, headers=h["arch"])
    assert sheet.status_code == 200 and sheet.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(sheet.data)).pages[0].extract_text()
    number = _number(client, h, docs[0])
    assert number in text and "合同 0" in text and "纸质客户" in text
    # The QR code, read off the printed page, opens this archive's scan page for it.
    assert _qr_codes(sheet.data) == [
        f"http://localhost/paper/scan?{urlencode({'n': number, 'f': rt.archive.fonds})}"
    ]
    assert (
        client.post(
            "/api/v1/paper/labels", json={"document_ids": [docs[0]]}, headers=h["clara"]
        ).status_code
        == 403
    )

    # Scanning: the QR code's address or the bare number finds the record for those
    # allowed; another archive's label, an unknown number say so.
    fonds = rt.archive.fonds
    for code in (f"http://localhost/paper/scan?n={number}&f={fonds}", number):
        found = client.get("/api/v1/paper/scan", query_string={"code": code}, headers=h["arch"])
        assert found.status_code == 200, found.get_json()
        assert found.get_json()["document_id"] == docs[0]
        assert found.get_json()["paper"]["location"] == "B002"
    other = client.get(
        "/api/v1/paper/scan",
        query_string={"code": f"https://elsewhere/paper/scan?n={number}&f=Z999"},
        headers=h["arch"],
    )
    assert other.status_code == 422 and "another archive" in other.get_json()["error"]["message"]
    unknown = client.get("/api/v1/paper/scan", query_string={"code": "NO-SUCH"}, headers=h["arch"])
    assert unknown.status_code == 404


def test_a_stocktake_with_missing_misplaced_and_unexpected_items(
    client: Any, rt: Runtime, shelved: dict[str, Any]
) -> None:
    h, docs, places = shelved["h"], shelved["docs"], shelved["places"]
    for doc, box in zip(docs, ("B001", "B001", "B002", "B900"), strict=True):
        assert _place(client, h, doc, places[box]).status_code == 200
    with rt.db.unit_of_work() as s:  # the third is lent out (as a loan would leave it)
        lent = s.scalars(select(PaperItem).where(PaperItem.document_id == docs[2])).one()
        lent.state = ItemState.LENT
    numbers = [_number(client, h, d) for d in docs]

    started = client.post(
        "/api/v1/paper/stocktakes", json={"location_id": places["C01"]}, headers=h["arch"]
    )
    assert started.status_code == 201, started.get_json()
    tid = started.get_json()["id"]
    # One count of a place at a time; the second start names the one under way.
    twice = client.post(
        "/api/v1/paper/stocktakes", json={"location_id": places["C01"]}, headers=h["arch"]
    )
    assert twice.status_code == 409

    def find(code: str, where: str | None) -> Any:
        return client.post(
            f"/api/v1/paper/stocktakes/{tid}/finds",
            json={"code": code, "location_id": places[where] if where else None},
            headers=h["arch"],
        )

    # The first is found where it belongs, the second not at all, the lent one turns up
    # in box 2, and the one kept outside the cabinet cannot be found "here".
    assert find(numbers[0], "B001").status_code == 200
    assert find(numbers[2], "B002").status_code == 200
    outside = find(numbers[3], "B900")
    assert outside.status_code == 422 and "location_id" in str(outside.get_json())
    moved = find(f"http://x/paper/scan?n={numbers[3]}&f={rt.archive.fonds}", "B002")
    assert moved.status_code == 200
    so_far = moved.get_json()
    assert so_far["state"] == "open" and so_far["totals"]["missing"] == 1

    # Interrupted, the count goes on where it stopped (the finds are kept).
    assert client.get(f"/api/v1/paper/stocktakes/{tid}", headers=h["arch"]).get_json()["finds"] == 3
    assert (
        client.post(f"/api/v1/paper/stocktakes/{tid}/finish", headers=h["clara"]).status_code == 403
    )
    done = client.post(f"/api/v1/paper/stocktakes/{tid}/finish", headers=h["arch"])
    assert done.status_code == 200, done.get_json()
    report = {x["archive_number"]: x["finding"] for x in done.get_json()["report"]}
    assert report == {
        numbers[0]: "found",
        numbers[1]: "missing",
        numbers[2]: "unexpected",
        numbers[3]: "unexpected",
    }
    assert done.get_json()["totals"] == {"found": 1, "missing": 1, "misplaced": 0, "unexpected": 2}
    assert find(numbers[1], "B001").status_code == 409  # finished: no more finds

    # The operations head signs it off; the archivist who counted may not.
    assert (
        client.post(f"/api/v1/paper/stocktakes/{tid}/sign", json={}, headers=h["arch"]).status_code
        == 403
    )
    signed = client.post(
        f"/api/v1/paper/stocktakes/{tid}/sign", json={"comment": "缺失件已报告"}, headers=h["olga"]
    )
    assert signed.status_code == 200 and signed.get_json()["signed_by"] == "olga"
    pdf = client.get(f"/api/v1/paper/stocktakes/{tid}/report", headers=h["audrey"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert numbers[1] in text and "缺失" in text and "缺失件已报告" in text
    xlsx = client.get(
        f"/api/v1/paper/stocktakes/{tid}/report", query_string={"format": "xlsx"}, headers=h["olga"]
    )
    assert xlsx.status_code == 200
    assert zipfile.ZipFile(io.BytesIO(xlsx.data)).testzip() is None
    with rt.db.session() as s:
        take = s.get(Stocktake, tid)
        assert take is not None and take.state == "signed"
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.target_type == "stocktake", AuditEvent.target_id == str(tid))
            .order_by(AuditEvent.seq)
        ).all()
    assert actions == [
        "stocktake.start", "stocktake.find", "stocktake.find", "stocktake.find",
        "stocktake.finish", "stocktake.sign",
    ]  # fmt: skip

    # A misplaced item: counted again with the record saying box 1, found in box 2.
    again = client.post(
        "/api/v1/paper/stocktakes", json={"location_id": places["C01"]}, headers=h["arch"]
    ).get_json()["id"]
    client.post(
        f"/api/v1/paper/stocktakes/{again}/finds",
        json={"code": numbers[0], "location_id": places["B002"]},
        headers=h["arch"],
    )
    lines = client.get(f"/api/v1/paper/stocktakes/{again}", headers=h["arch"]).get_json()["report"]
    assert {x["archive_number"]: x["finding"] for x in lines}[numbers[0]] == "misplaced"


def test_the_pages_of_a_count(app: Any, rt: Runtime, client: Any, shelved: dict[str, Any]) -> None:
    h, docs, places = shelved["h"], shelved["docs"], shelved["places"]
    arch = app.test_client()
    assert login(arch, "arch").status_code == 302
    page = f"/documents/{docs[0]}"
    shown = arch.get(page).get_data(as_text=True)
    assert 'id="paper"' in shown and 'id="paper-form"' in shown
    saved = arch.post(
        f"/paper/documents/{docs[0]}",
        data={"csrf_token": csrf(arch, page), "location_id": str(places["B001"]), "pages": "3"},
    )
    assert saved.status_code == 302
    assert "盒 001" in arch.get(page).get_data(as_text=True)
    label = arch.get(f"/paper/labels.pdf?ids={docs[0]}")
    assert label.status_code == 200 and label.mimetype == "application/pdf"

    # The QR code's address opens the record; a destroyed or foreign label says so.
    number = _number(client, h, docs[0])
    opened = arch.get("/paper/scan", query_string={"n": number, "f": rt.archive.fonds})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(page)
    foreign = arch.get("/paper/scan", query_string={"n": number, "f": "Z999"})
    assert foreign.status_code == 422
    assert "此标签属于另一个档案馆" in foreign.get_data(as_text=True)  # the zh default

    index = arch.get("/paper/").get_data(as_text=True)
    assert "档案室一" in index and 'id="start-stocktake"' in index
    started = arch.post(
        "/paper/stocktakes",
        data={"csrf_token": csrf(arch, "/paper/"), "location_id": str(places["B001"])},
    )
    assert started.status_code == 302
    take_page = started.headers["Location"]
    tid = int(take_page.rstrip("/").rsplit("/", 1)[1])
    arch.post(
        f"/paper/stocktakes/{tid}/finds",
        data={"csrf_token": csrf(arch, take_page), "item_code": number},
    )
    arch.post(f"/paper/stocktakes/{tid}/finish", data={"csrf_token": csrf(arch, take_page)})
    olga = app.test_client()
    assert login(olga, "olga").status_code == 302
    shown = olga.get(take_page).get_data(as_text=True)
    assert 'id="sign-form"' in shown
    olga.post(f"/paper/stocktakes/{tid}/sign", data={"csrf_token": csrf(olga, take_page)})
    with rt.db.session() as s:
        take = s.get(Stocktake, tid)
        assert take is not None and take.state == "signed" and take.report is not None
        assert [x["finding"] for x in take.report] == ["found"]
        assert s.scalar(select(func.count()).select_from(PaperItem)) == 1
