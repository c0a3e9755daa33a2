"""Full-text search through the API, as the issue's walk-through: a clerk files a Chinese
DOCX, PDF and GBK text file; after acceptance each is found by a word of its body, by its
archive number and by its customer's name, and nobody of another department finds any."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from archive_service.archive.models import Document
from archive_service.audit.models import AuditEvent
from archive_service.runtime import Runtime
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_archive_api import new_customer, upload

BODIES = {
    "docx": "本合同约定华夏贸易向本公司采购离心泵三百台，交货期为九十日。",
    "pdf": "客户投诉处理记录：付款延迟已经协调财务部门解决，客户表示满意。",
    "gbk": "市场调研报告：华东地区对节能空调的需求明显增长，竞争对手降价。",
}


@pytest.fixture
def filed(client: Any, people: People) -> dict[str, Any]:
    people.department("FIN", "财务部")
    people.user("clara", "clerk", department="SALES")
    people.user("carl", "clerk", department="FIN")
    people.user("arch", "archivist", department="OPS")
    people.user("audrey", "auditor", department="OPS")
    h = {n: bearer(token_for(client, n)) for n in ("clara", "carl", "arch", "audrey")}
    cid = new_customer(
        client, h["clara"], name="华夏贸易有限公司", credit_code="91310000MA1FL8XQ30"
    )
    files = {
        "docx": (
            samples.word(BODIES["docx"]),
            "采购合同.docx",
            "business.contract",
            {"facts.contract_number": "HT-2024-007"},
        ),
        "pdf": (samples.pdf_zh(BODIES["pdf"]), "投诉记录.pdf", "service.complaint", {}),
        "gbk": (BODIES["gbk"].encode("gbk") * 3, "调研.txt", "research.needs", {}),
    }
    docs: dict[str, Any] = {}
    for kind, (data, name, category, extra) in files.items():
        resp = upload(
            client,
            h["clara"],
            cid,
            data,
            filename=name,
            category=category,
            title=name.rsplit(".", 1)[0],
            **extra,
        )
        assert resp.status_code == 201, resp.get_json()
        doc = resp.get_json()["id"]
        accepted = client.post(f"/api/v1/documents/{doc}/accept", headers=h["arch"]).get_json()
        docs[kind] = {"id": doc, "number": accepted["archive_number"]}
    return {"h": h, "docs": docs, "customer": cid}


def search(client: Any, who: dict[str, str], q: str, **params: Any) -> Any:
    resp = client.get("/api/v1/documents", query_string={"q": q, **params}, headers=who)
    assert resp.status_code == 200, (q, resp.get_json())
    return resp.get_json()


def ids(result: Any) -> list[int]:
    return [d["id"] for d in result["items"]]


def test_each_file_is_found_by_body_number_and_customer(
    client: Any, filed: dict[str, Any], rt: Runtime
) -> None:
    h, docs = filed["h"], filed["docs"]
    with rt.db.unit_of_work() as s:
        states = {
            d.id: (d.extraction, d.extraction_error) for d in s.execute(select(Document)).scalars()
        }
    assert all(state == ("done", None) for state in states.values()), states
    for kind, word in (("docx", "离心泵"), ("pdf", "付款延迟"), ("gbk", "节能空调")):
        got = search(client, h["clara"], word)
        assert ids(got)[:1] == [docs[kind]["id"]], (kind, word, got)
        assert any("<mark>" in s for s in got["items"][0]["snippets"]), got["items"][0]
        assert search(client, h["carl"], word)["total"] == 0
    for kind in docs:
        by_number = search(client, h["clara"], docs[kind]["number"])
        assert ids(by_number) == [docs[kind]["id"]]
    by_customer = search(client, h["clara"], "华夏贸易有限公司")
    assert sorted(ids(by_customer)) == sorted(d["id"] for d in docs.values())
    assert search(client, h["carl"], "华夏贸易有限公司")["total"] == 0
    assert ids(search(client, h["clara"], "HT-2024-007")) == [docs["docx"]["id"]]
    assert ids(search(client, h["clara"], "91310000MA1FL8XQ30"))  # the customer's code
    # Traditional characters find simplified text.
    assert ids(search(client, h["clara"], "採購"))[:1] == [docs["docx"]["id"]]
    # Phrases.
    assert ids(search(client, h["clara"], '"付款延迟"')) == [docs["pdf"]["id"]]
    assert search(client, h["clara"], '"延迟付款"')["total"] == 0


def test_filters_sort_and_paging(client: Any, filed: dict[str, Any]) -> None:
    h, docs = filed["h"], filed["docs"]
    everything = search(client, h["arch"], "华夏贸易有限公司", per_page=1)
    assert everything["total"] == 3 and len(everything["items"]) == 1
    second = search(client, h["arch"], "华夏贸易有限公司", per_page=1, page=2)
    assert second["total"] == 3 and ids(second) != ids(everything)
    business = search(client, h["arch"], "华夏贸易有限公司", category="business")
    assert ids(business) == [docs["docx"]["id"]]
    assert search(client, h["arch"], "华夏贸易有限公司", department="FIN")["total"] == 0
    assert search(client, h["arch"], "华夏贸易有限公司", department="SALES")["total"] == 3
    assert search(client, h["arch"], "华夏贸易有限公司", status="submitted")["total"] == 0
    bad = client.get(
        "/api/v1/documents", query_string={"q": "x", "category": "nope"}, headers=h["arch"]
    )
    assert bad.status_code == 422


def test_malformed_queries_never_fail(client: Any, filed: dict[str, Any]) -> None:
    # One filed archive for all of them: filing it is what costs (seconds), not the queries.
    for q in ('"unbalanced', "AND", "OR (", "*", ":", "))", "NOT", "title:", "^"):
        resp = client.get("/api/v1/documents", query_string={"q": q}, headers=filed["h"]["clara"])
        assert resp.status_code in (200, 422), (q, resp.get_json())


def test_searches_are_audited(client: Any, filed: dict[str, Any], rt: Runtime) -> None:
    search(client, filed["h"]["carl"], "离心泵")
    with rt.db.unit_of_work() as s:
        ev = (
            s.execute(
                select(AuditEvent)
                .where(AuditEvent.action == "document.search")
                .order_by(AuditEvent.seq.desc())
            )
            .scalars()
            .first()
        )
        assert ev is not None and ev.actor == "carl" and ev.details["q"] == "离心泵"
        assert ev.details["total"] == 0


def test_a_broken_file_is_recorded_and_its_metadata_stays_searchable(
    client: Any, filed: dict[str, Any], rt: Runtime
) -> None:
    h = filed["h"]
    broken = b"%PDF-1.4\n" + bytes(range(256)) * 40
    resp = upload(
        client, h["clara"], filed["customer"], broken, filename="坏文件.pdf", title="破损扫描件"
    )
    assert resp.status_code == 201
    doc = resp.get_json()["id"]
    with rt.db.unit_of_work() as s:
        row = s.get(Document, doc)
        assert row is not None and row.extraction == "failed" and row.extraction_error
    assert ids(search(client, h["clara"], "破损扫描件")) == [doc]


def test_reindex_and_the_check_both_ways(
    client: Any, filed: dict[str, Any], rt: Runtime, settings: Any, monkeypatch: Any
) -> None:
    from archive_service.cli import main
    from archive_service.indexing import maintenance

    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ARCHIVE_KEYRING_FILE", settings.keyring_file)
    runner = CliRunner()
    docs = filed["docs"]
    ok = runner.invoke(main, ["search", "check"])
    assert ok.exit_code == 0, ok.output
    rt.search_index.remove([docs["pdf"]["id"]])
    from search import IndexedDocument

    rt.search_index.update(
        [
            IndexedDocument(
                id=99999,
                numbers=(),
                title="ghost",
                customer_id=1,
                customer_name="x",
                customer_code=None,
                category="basic.profile",
                department="SALES",
                status="accepted",
                on_hold=False,
                document_date=None,
                filing_date=None,
                tags=(),
                identifiers=(),
                body="",
            )
        ]
    )
    bad = runner.invoke(main, ["search", "check"])
    assert bad.exit_code == 1 and '"missing": [' + str(docs["pdf"]["id"]) in bad.output
    assert "99999" in bad.output
    rebuilt = runner.invoke(main, ["search", "reindex"])
    assert rebuilt.exit_code == 0 and "indexed 3 documents" in rebuilt.output
    with rt.db.unit_of_work() as s:
        assert maintenance.check(rt.indexing, s).ok
    # Re-indexing reads the text renditions: the body is still found, nothing re-extracted.
    assert ids(search(client, filed["h"]["clara"], "付款延迟"))[:1] == [docs["pdf"]["id"]]


def test_an_index_without_this_key_answers_503_and_the_indexer_rebuilds_it(
    client: Any, filed: dict[str, Any], rt: Runtime, settings: Any, monkeypatch: Any
) -> None:
    """After an upgrade (an index of plain terms) or a key change, the index is refused —
    never searched with the wrong terms — and the index worker's next write rebuilds it."""
    from archive_service.cli import main
    from archive_service.indexing import maintenance
    from search import SearchIndex

    h, docs = filed["h"], filed["docs"]
    SearchIndex(settings.search_index_dir, key=bytes(range(32))).rebuild([], workers=0)
    assert rt.search_index.needs_rebuild() == "other-key"
    resp = client.get("/api/v1/documents", query_string={"q": "付款延迟"}, headers=h["clara"])
    assert resp.status_code == 503, resp.get_json()
    assert resp.get_json()["error"]["code"] == "search_rebuilding"
    health = client.get("/api/v1/health").get_json()
    assert health["checks"]["index"] == {"ok": False, "rebuild": "other-key"}
    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ARCHIVE_KEYRING_FILE", settings.keyring_file)
    checked = CliRunner().invoke(main, ["search", "check"])
    assert checked.exit_code == 1 and '"rebuild": "other-key"' in checked.output
    # The indexer's next job rebuilds the whole index, in this key, from the renditions.
    assert maintenance.index_documents(rt.indexing, [docs["pdf"]["id"]]) == 1
    assert rt.search_index.needs_rebuild() is None
    assert ids(search(client, h["clara"], "付款延迟")) == [docs["pdf"]["id"]]
    assert ids(search(client, h["clara"], docs["docx"]["number"])) == [docs["docx"]["id"]]
    assert len(ids(search(client, h["clara"], "91310000MA1FL8XQ30"))) == 3
    with rt.db.unit_of_work() as s:
        events = s.execute(
            select(AuditEvent).where(AuditEvent.action == "search.reindex")
        ).scalars()
        assert [e.details.get("reason") for e in events] == ["other-key"]


def test_starting_after_an_upgrade_queues_the_rebuild(
    client: Any, filed: dict[str, Any], rt: Runtime, settings: Any
) -> None:
    """``archive init`` (compose) and ``archive run`` (embedded) queue the rebuild of an index
    of plain terms for the index worker, so search is back without waiting for the hourly
    repair."""
    from archive_service.cli.start import initialise
    from search import SearchIndex

    h, docs = filed["h"], filed["docs"]
    SearchIndex(settings.search_index_dir, key=bytes(range(32))).rebuild([], workers=0)
    assert rt.search_index.needs_rebuild() == "other-key"
    started, _ = initialise(settings)  # eager jobs here: the queued repair runs at commit
    started.close()
    assert rt.search_index.needs_rebuild() is None
    assert ids(search(client, h["clara"], "付款延迟")) == [docs["pdf"]["id"]]


def test_a_scanned_licence_is_found_by_the_words_in_its_image(
    client: Any, people: People, rt: Runtime
) -> None:
    """A photo of a business licence comes in, is accepted, and its OCR'd text is searchable;
    BMP and WebP are accepted types too (sniffed from the bytes)."""
    people.user("clara", "clerk", department="SALES")
    people.user("arch", "archivist", department="OPS")
    h = {n: bearer(token_for(client, n)) for n in ("clara", "arch")}
    cid = new_customer(client, h["clara"], name="恒泰隆贸易", credit_code="91310115MA1K3YJ82X")
    licence = samples.scan("营业执照", "名称：上海恒泰隆贸易有限公司", "经营范围：离心泵销售")
    resp = upload(client, h["clara"], cid, samples.image_bytes(licence, "JPEG"), "执照.jpg")
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()["id"]
    assert client.post(f"/api/v1/documents/{doc}/accept", headers=h["arch"]).status_code == 200
    assert ids(search(client, h["clara"], "离心泵销售")) == [doc]
    with rt.db.unit_of_work() as s:
        event = (
            s.execute(select(AuditEvent).where(AuditEvent.action == "document.extract"))
            .scalars()
            .all()[-1]
        )
        assert event.details["ocr_pages"] == 1, event.details
    for fmt, name in (("BMP", "scan.bmp"), ("WEBP", "scan.webp")):
        data = samples.image_bytes(samples.scan(), fmt)
        assert upload(client, h["clara"], cid, data, name).status_code == 201, fmt
    assert (
        upload(client, h["clara"], cid, samples.image_bytes(licence, "BMP"), "a.png").status_code
        == 415
    )
