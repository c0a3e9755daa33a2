"""An OFD in supervised reading: a view-only reader gets the pages drawn from it
(watermarked PNGs), never the OFD."""

from __future__ import annotations

from typing import Any

from tests.conftest import People, bearer, token_for
from tests.integration.test_view_only import _granted
from tests.office_samples import ofd


def test_a_view_grant_reads_an_ofd_as_watermarked_pages(client: Any, people: People) -> None:
    """An OFD invoice shown to a view-only reader: the pages drawn from it, not the file."""
    people.department("FIN", "财务部")
    people.department("OPS", "运营部")
    people.user("clara", "clerk", department="SALES")
    people.user("fay", "requester", department="FIN")
    people.user("fred", "department_head", department="FIN")
    people.user("olga", "operations_head", department="OPS")
    people.user("arch", "archivist", department="OPS")
    h = {n: bearer(token_for(client, n)) for n in ("clara", "fred", "olga", "arch")}
    cid = people.customer("clara", name="华夏贸易")
    invoice = ofd(["增值税电子普通发票"], ["价税合计：壹仟贰佰元整"])
    doc = people.document(
        "clara", cid, invoice, title="发票", filename="发票.ofd", accepted_by=("arch",)
    )
    number = client.get(f"/api/v1/documents/{doc}", headers=h["clara"]).get_json()["archive_number"]
    _granted(client, h, "fay", number, "view")
    fay = bearer(token_for(client, "fay"))
    assert client.get(f"/api/v1/documents/{doc}/pages", headers=fay).get_json()["pages"] == 2
    resp = client.get(f"/api/v1/documents/{doc}/pages/2", headers=fay)
    assert resp.status_code == 200 and resp.data.startswith(b"\x89PNG")
    assert invoice not in resp.data
