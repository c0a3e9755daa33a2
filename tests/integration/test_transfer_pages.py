"""Transfers (移交) through the pages, as people do them: an archivist applies on the form
(a bad form shows its error and files nothing), the operations head and a leader approve
on the transfer's page, the archivist downloads the package (it verifies) and confirms the
receipt; the documents' pages say they were transferred; a document received into another
archive shows its history before the transfer; a clerk sees none of it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from archive_service.app import create_app
from archive_service.archive.models import Document
from archive_service.runtime import Runtime
from archive_service.transfer import receive
from archive_service.transfer.models import Transfer
from archive_service.transfer.verify import verify
from tests.conftest import People
from tests.integration.test_disposal_api import org  # noqa: F401 - fixture
from tests.integration.test_transfers import filed, other  # noqa: F401 - fixtures
from tests.integration.test_web_accounts import csrf, login


@pytest.fixture
def other_app(other: Runtime) -> tuple[Runtime, Any]:  # noqa: F811 - the fixture
    """A second archive (the receiver), on its own database, store and keys, with its pages."""
    application = create_app(other.settings, runtime=other)
    application.config["TESTING"] = True
    return other, application


def _as(app: Any, username: str) -> Any:
    browser = app.test_client()
    assert login(browser, username).status_code == 302
    return browser


def _post(browser: Any, path: str, page: str, **data: Any) -> Any:
    return browser.post(path, data={"csrf_token": csrf(browser, page), **data})


def _transfers(rt: Runtime) -> int:
    with rt.db.unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(Transfer)) or 0)


def _status(rt: Runtime, tid: int) -> str:
    with rt.db.unit_of_work() as s:
        t = s.get(Transfer, tid)
        assert t is not None
        return t.status


def test_a_transfer_through_its_pages(
    app: Any,
    rt: Runtime,
    people: People,
    filed: dict[str, int],  # noqa: F811 - the fixture
    other_app: tuple[Runtime, Any],
    tmp_path: Path,
) -> None:
    customer = filed["customer"]
    arch = _as(app, "arch")
    home = arch.get("/").get_data(as_text=True)
    assert 'id="nav-transfers"' in home and "移交" in home
    listing = arch.get("/transfers/").get_data(as_text=True)
    assert 'id="new-transfer"' in listing and "暂无" in listing

    # From the customer's page, the form opens with the customer chosen.
    page = arch.get(f"/customers/{customer}").get_data(as_text=True)
    assert 'id="transfer-customer"' in page
    form = arch.get(f"/transfers/new?customer_id={customer}").get_data(as_text=True)
    assert 'id="prefilled-customers"' in form and "移交客户" in form
    assert f'value="{customer}"' in form and "本单位副本移交后销毁" in form

    # A form that names no documents shows the refusal and files nothing; so does an
    # unknown category, an id that is not one, and a missing receiver.
    empty = dict(receiver="集团综合档案室", purpose="合作终止", disposition="keep")
    bad = _post(arch, "/transfers/new", "/transfers/new", **empty)
    assert bad.status_code == 200
    assert "choose the documents" in bad.get_data(as_text=True)
    assert 'id="transfer-form"' in bad.get_data(as_text=True)
    unknown = _post(
        arch, "/transfers/new", "/transfers/new", **empty, categories=["no.such"]
    ).get_data(as_text=True)
    assert "unknown categories" in unknown and "has-error" in unknown
    not_ids = _post(
        arch, "/transfers/new", "/transfers/new", **empty, customer_ids="1, x"
    ).get_data(as_text=True)
    assert "编号须为整数" in not_ids
    no_receiver = _post(
        arch,
        "/transfers/new",
        "/transfers/new",
        customer_ids=str(customer),
        purpose="合作终止",
        disposition="keep",
    )
    assert no_receiver.status_code == 200 and "has-error" in no_receiver.get_data(as_text=True)
    assert _transfers(rt) == 0

    made = _post(
        arch,
        "/transfers/new",
        "/transfers/new",
        customer_ids=str(customer),
        receiver="集团综合档案室",
        purpose="合作终止，移交集团档案室",
        disposition="destroy",
    )
    assert made.status_code == 302, made.get_data(as_text=True)
    tid = int(re.search(r"/transfers/(\d+)", made.headers["Location"])[1])  # type: ignore[index]
    detail = arch.get(made.headers["Location"]).get_data(as_text=True)
    assert "集团综合档案室" in detail and "待审批" in detail and "移交客户" in detail
    assert "合同" in detail and "营业执照" in detail and "别的" not in detail
    assert "基本资料（证照）" in detail  # the category in words
    assert 'id="approve"' not in detail  # nobody decides their own application
    # The same documents again: refused as spoken for, nothing filed.
    again = _post(
        arch,
        "/transfers/new",
        "/transfers/new",
        customer_ids=str(customer),
        receiver="R",
        purpose="P",
        disposition="keep",
    )
    assert again.status_code == 200 and "transfer under way" in again.get_data(as_text=True)
    assert _transfers(rt) == 1

    # The operations head, then a leader, approve on the page; each sees it waiting.
    leo = _as(app, "leo")
    assert 'id="approve"' not in leo.get(f"/transfers/{tid}").get_data(as_text=True)
    olga = _as(app, "olga")
    waiting = olga.get("/").get_data(as_text=True)
    assert 'id="transfers-waiting"' in waiting and f"/transfers/{tid}" in waiting
    reject = _post(olga, f"/transfers/{tid}/decision", f"/transfers/{tid}", decision="reject")
    assert reject.status_code == 302 and _status(rt, tid) == "pending"  # a reason is needed
    assert "reason" in olga.get(f"/transfers/{tid}").get_data(as_text=True)
    for browser in (olga, leo):
        page = browser.get(f"/transfers/{tid}").get_data(as_text=True)
        assert 'id="approve"' in page
        done = _post(browser, f"/transfers/{tid}/decision", f"/transfers/{tid}", decision="approve")
        assert done.status_code == 302
    assert _status(rt, tid) == "approved"
    assert f"/transfers/{tid}" in arch.get("/").get_data(as_text=True)  # export waits

    # The archivist downloads the package: it verifies, and the page shows its digest.
    page = arch.get(f"/transfers/{tid}").get_data(as_text=True)
    assert 'id="download-package"' in page and 'id="confirm-receipt"' not in page
    got = _post(arch, f"/transfers/{tid}/package", f"/transfers/{tid}")
    assert got.status_code == 200, got.get_data(as_text=True)[:300]
    assert got.headers["Cache-Control"] == "no-store"
    assert got.mimetype == "application/zip"
    zip_path = tmp_path / "package.zip"
    zip_path.write_bytes(got.data)
    checked = verify(zip_path)
    assert checked.ok, checked.problems
    assert not list(rt.temp_dir.glob("transfer-*.zip"))  # the temporary file is gone
    page = arch.get(f"/transfers/{tid}").get_data(as_text=True)
    sha = got.headers["X-Manifest-SHA256"]
    assert re.search(rf'id="manifest-sha256">{sha}<', page)
    assert 'id="signing-key"' in page and "已导出" in page
    assert 'id="confirm-receipt"' in page

    # The receipt: required, then confirmed; the documents' pages say where they went.
    _post(arch, f"/transfers/{tid}/confirm", f"/transfers/{tid}", receipt="")
    assert _status(rt, tid) == "exported"
    confirmed = _post(
        arch, f"/transfers/{tid}/confirm", f"/transfers/{tid}", receipt="接收回执 2026-001"
    )
    assert confirmed.status_code == 302 and _status(rt, tid) == "confirmed"
    page = arch.get(f"/transfers/{tid}").get_data(as_text=True)
    assert "接收回执 2026-001" in page and "已确认接收" in page
    assert f"/transfers/{tid}" in arch.get("/transfers/?status=confirmed").get_data(as_text=True)
    assert f"/transfers/{tid}" not in arch.get("/transfers/?status=pending").get_data(as_text=True)
    assert f"/transfers/{tid}" in arch.get("/transfers/?status=nonsense").get_data(as_text=True)
    assert 'id="download-package"' not in page and 'id="confirm-receipt"' not in page
    doc_page = arch.get(f"/documents/{filed['contract']}").get_data(as_text=True)
    assert 'id="transferred"' in doc_page and f"T{tid}" in doc_page
    assert "集团综合档案室" in doc_page and "本单位副本将经销毁流程销毁" in doc_page
    assert "<td>移交</td>" in doc_page  # its register: the export, in words
    untouched = arch.get(f"/documents/{filed['elsewhere']}").get_data(as_text=True)
    assert 'id="transferred"' not in untouched
    # The access register names the export in words, not by its code.
    audrey = _as(app, "audrey")
    register = audrey.get("/access/register").get_data(as_text=True)
    assert "<td>移交" in register and ">transfer<" not in register
    assert "transfer" in audrey.get("/access/register?lang=en").get_data(as_text=True)

    # Received into another archive, the document's page shows its history before.
    other, other_web = other_app  # noqa: F811 - the fixture's runtime
    receiver = People(other)
    receiver.user("rita", "archivist", "clerk", department="ARCH")
    with other.db.session() as s:
        rita = receiver.caller(s, "rita")
    receive.receive(receive.Receiving.of(other), rita, zip_path, "ARCH")
    with other.db.unit_of_work() as s:
        here = s.scalars(select(Document).where(Document.title == "合同")).one().id
    browser = _as(other_web, "rita")
    page = browser.get(f"/documents/{here}").get_data(as_text=True)
    assert 'id="received-history"' in page and "移交前的历史" in page
    section = page[page.index('id="received-history"') :]
    assert "document.upload" in section and "document.accept" in section
    assert "<td>arch</td>" in section and "<td>移交</td>" in section
    assert 'id="transferred"' not in page
    # A document filed in this archive has no such section.
    assert 'id="received-history"' not in untouched


def test_a_clerk_sees_no_transfer_pages(
    app: Any,
    rt: Runtime,
    filed: dict[str, int],  # noqa: F811 - the fixture
) -> None:
    arch = _as(app, "arch")
    made = _post(
        arch,
        "/transfers/new",
        "/transfers/new",
        customer="91310000TRANSFER",  # the customer by its credit code
        receiver="R",
        purpose="P",
        disposition="keep",
    )
    tid = int(re.search(r"/transfers/(\d+)", made.headers["Location"])[1])  # type: ignore[index]
    assert "营业执照" in arch.get(f"/transfers/{tid}").get_data(as_text=True)
    # Not approved yet: no package; the page says why, and no temporary file stays.
    early = _post(arch, f"/transfers/{tid}/package", f"/transfers/{tid}")
    assert early.status_code == 302
    assert "not approved" in arch.get(f"/transfers/{tid}").get_data(as_text=True)
    clara = _as(app, "clara")
    assert 'id="nav-transfers"' not in clara.get("/").get_data(as_text=True)
    page = clara.get(f"/customers/{filed['customer']}").get_data(as_text=True)
    assert 'id="transfer-customer"' not in page
    for path in ("/transfers/", "/transfers/new", f"/transfers/{tid}"):
        assert clara.get(path).status_code == 403, path
    token = csrf(clara, "/")
    for path in (
        "/transfers/new",
        f"/transfers/{tid}/decision",
        f"/transfers/{tid}/package",
        f"/transfers/{tid}/confirm",
    ):
        got = clara.post(path, data={"csrf_token": token, "decision": "approve", "receipt": "r"})
        assert got.status_code in (302, 403), path
    assert _status(rt, tid) == "pending" and _transfers(rt) == 1
    assert "transfer-" not in str(list(rt.temp_dir.iterdir()))
