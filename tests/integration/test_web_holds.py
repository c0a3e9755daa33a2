"""Hold case pages: a hold keeper opens a case, adds a document and a customer, and
releases it with a reason; a refused form changes nothing; others see no menu link."""

from __future__ import annotations

import re
from typing import Any

from archive_service.archive.models import Document, HoldCase
from archive_service.runtime import Runtime
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_web_accounts import csrf, login


def _post(client: Any, path: str, page: str, **data: str) -> Any:
    return client.post(path, data={"csrf_token": csrf(client, page), **data})


def _held(rt: Runtime, doc_id: int) -> bool:
    with rt.db.unit_of_work() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None
        return doc.on_hold


def test_a_case_through_its_pages(client: Any, rt: Runtime, people: People) -> None:
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    customer = people.customer("clara")
    other = people.customer("clara", name="另一客户", credit_code="X2")
    doc = people.document("clara", customer, samples.pdf("one"), accepted_by=("arch",))

    login(client, "clara")
    assert 'id="nav-holds"' not in client.get("/").get_data(as_text=True)
    assert client.get("/holds/").status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client, "/")})

    login(client, "arch")
    assert 'id="nav-holds"' in client.get("/").get_data(as_text=True)
    assert "合同纠纷" not in client.get("/holds/").get_data(as_text=True)
    bad = _post(
        client,
        "/holds/new",
        "/holds/new",
        name="合同纠纷",
        basis="dispute",
        reason="诉前保全",
        document_ids="1, x",
    )
    assert bad.status_code == 200 and "整数" in bad.get_data(as_text=True)
    unknown = _post(
        client,
        "/holds/new",
        "/holds/new",
        name="合同纠纷",
        basis="dispute",
        reason="诉前保全",
        document_ids="999999",
    )
    assert unknown.status_code == 200 and "999999" in unknown.get_data(as_text=True)
    with rt.db.unit_of_work() as s:
        assert s.query(HoldCase).count() == 0
    made = _post(
        client,
        "/holds/new",
        "/holds/new",
        name="合同纠纷",
        basis="dispute",
        reference="(2026)沪01民初1号",
        reason="诉前保全",
        document_ids=str(doc),
    )
    assert made.status_code == 302
    page_url = made.headers["Location"]
    case_id = int(re.search(r"/holds/(\d+)", page_url).group(1))  # type: ignore[union-attr]
    assert _held(rt, doc)
    page = client.get(page_url).get_data(as_text=True)
    assert "合同纠纷" in page and "纠纷" in page and "营业执照" in page and "诉前保全" in page

    assert (
        _post(client, f"/holds/{case_id}/items", page_url, customer_ids=str(other)).status_code
        == 302
    )
    page = client.get(page_url).get_data(as_text=True)
    assert "另一客户" in page
    # The document page names the case holding it.
    assert f"/holds/{case_id}" in client.get(f"/documents/{doc}").get_data(as_text=True)

    assert _post(client, f"/holds/{case_id}/release", page_url, reason="").status_code == 302
    assert _held(rt, doc)  # no reason: nothing changed
    assert _post(client, f"/holds/{case_id}/release", page_url, reason="已和解").status_code == 302
    assert not _held(rt, doc)
    page = client.get(page_url).get_data(as_text=True)
    assert "已和解" in page and 'id="release"' not in page
    listed = client.get("/holds/?state=released").get_data(as_text=True)
    assert "合同纠纷" in listed
    assert "合同纠纷" not in client.get("/holds/?state=open").get_data(as_text=True)


def test_a_large_case_shows_its_items_in_pages(client: Any, rt: Runtime, people: People) -> None:
    from archive_service.archive import hold_cases
    from archive_service.archive.hold_serializers import ITEMS_PER_PAGE

    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    ids = [
        people.customer("clara", name=f"客户{n:03d}", credit_code=f"C{n:03d}")
        for n in range(ITEMS_PER_PAGE + 5)
    ]
    with rt.db.unit_of_work() as s:
        case = hold_cases.open_case(
            s,
            people.caller(s, "arch"),
            hold_cases.CaseIn(name="大案", basis="audit", reason="审计"),
            rt.archive.retention,
            customer_ids=ids,
        )
        case_id = case.id
    login(client, "arch")
    first = client.get(f"/holds/{case_id}").get_data(as_text=True)
    names = re.compile(r"<td>客户\d{3}</td>")
    assert (
        len(names.findall(first)) == ITEMS_PER_PAGE
        and "客户000" in first
        and "客户104" not in first
    )
    assert 'id="items-next"' in first and 'id="items-prev"' not in first
    assert f"{ITEMS_PER_PAGE + 5}" in first
    second = client.get(f"/holds/{case_id}?page=2").get_data(as_text=True)
    assert len(names.findall(second)) == 5 and "客户104" in second and "客户000" not in second
    assert 'id="items-prev"' in second and 'id="items-next"' not in second
    past = client.get(f"/holds/{case_id}?page=99").get_data(as_text=True)
    assert "客户104" in past  # past the end: the last page
    assert client.get(f"/holds/{case_id}?page=x").status_code == 200  # not a page: the first
    # The API answers the whole case, as before.
    api = client.get(f"/api/v1/holds/{case_id}", headers=bearer(token_for(client, "arch")))
    assert len(api.get_json()["items"]) == ITEMS_PER_PAGE + 5
