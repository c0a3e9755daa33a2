"""Customers and documents through the API: intake checks, review, numbering, retention,
holds, retrieval through the access register, visibility by department."""

from __future__ import annotations

import io
import re
import threading
from datetime import date
from typing import IO, Any, cast

import pytest
from sqlalchemy import select

from archive_service.archive.models import AccessRecord, Document, Rendition
from archive_service.vault.models import StoredObject
from tests import samples
from tests.conftest import People, bearer, token_for

YEAR = date.today().year


@pytest.fixture
def org(client: Any, people: People) -> dict[str, dict[str, str]]:
    people.department("FIN", "财务部")
    people.user("clara", "clerk", department="SALES")
    people.user("carl", "clerk", department="FIN")
    people.user("arch1", "archivist", department="OPS")
    people.user("arch2", "archivist", department="OPS")
    people.user("mona", "manager", department="OPS")
    people.user("root", "admin", department=None)
    return {
        name: bearer(token_for(client, name))
        for name in ("clara", "carl", "arch1", "arch2", "mona", "root")
    }


def new_customer(client: Any, who: dict[str, str], tier: str = "ordinary", **extra: Any) -> int:
    body = {
        "name": "华夏贸易有限公司",
        "customer_type": "enterprise",
        "department": "SALES",
        "tier": tier,
        "credit_code": "91310000MA1FL0AB2X",
        "phone": "021-5555 0101",
        **extra,
    }
    resp = client.post("/api/v1/customers", json=body, headers=who)
    assert resp.status_code == 201, resp.get_json()
    return int(resp.get_json()["id"])


def upload(
    client: Any,
    who: dict[str, str],
    customer_id: int,
    data: bytes,
    filename: str = "营业执照.pdf",
    category: str = "basic.profile",
    retention_class: str = "short",
    **fields: Any,
) -> Any:
    form = {
        "customer_id": str(customer_id),
        "category": category,
        "title": fields.pop("title", "营业执照"),
        "retention_class": retention_class,
        "file": (io.BytesIO(data), filename),
        **fields,
    }
    return client.post(
        "/api/v1/documents", data=form, headers=who, content_type="multipart/form-data"
    )


def test_customer_visibility_follows_the_department(client: Any, org: Any) -> None:
    cid = new_customer(client, org["clara"])
    got = client.get(f"/api/v1/customers/{cid}", headers=org["clara"]).get_json()
    assert got["seq"] == 1 and got["phone"] == "021-5555 0101" and got["department"] == "SALES"
    assert client.get(f"/api/v1/customers/{cid}", headers=org["carl"]).status_code == 404
    assert client.get(f"/api/v1/customers/{cid}", headers=org["root"]).status_code == 404
    assert client.get(f"/api/v1/customers/{cid}", headers=org["arch1"]).status_code == 200
    assert client.get("/api/v1/customers", headers=org["carl"]).get_json()["total"] == 0
    assert client.get("/api/v1/customers", headers=org["clara"]).get_json()["total"] == 1


def test_clerk_cannot_open_another_departments_customer(client: Any, org: Any) -> None:
    resp = client.post(
        "/api/v1/customers",
        headers=org["carl"],
        json={"name": "X", "customer_type": "enterprise", "department": "SALES"},
    )
    assert resp.status_code == 403
    assert resp.get_json()["error"]["rule"] == "own-department-clerk"
    resp = client.post(
        "/api/v1/customers",
        headers=org["clara"],
        json={"name": "X", "customer_type": "alien", "department": "SALES"},
    )
    assert resp.status_code == 422 and "customer_type" in resp.get_json()["error"]["fields"]


def test_upload_review_accept_download(client: Any, org: Any, rt: Any) -> None:
    cid = new_customer(client, org["clara"])
    data = samples.pdf("licence")
    resp = upload(client, org["clara"], cid, data)
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert doc["status"] == "submitted" and doc["content_type"] == "application/pdf"
    assert doc["size"] == len(data) and doc["filename"] == "营业执照.pdf"
    import hashlib

    assert doc["sha256"] == hashlib.sha256(data).hexdigest()
    queue = client.get("/api/v1/documents/review-queue", headers=org["arch1"]).get_json()
    assert [d["id"] for d in queue["items"]] == [doc["id"]]
    assert client.get("/api/v1/documents/review-queue", headers=org["clara"]).status_code == 403
    accepted = client.post(f"/api/v1/documents/{doc['id']}/accept", headers=org["arch1"])
    assert accepted.status_code == 200, accepted.get_json()
    body = accepted.get_json()
    assert body["archive_number"] == f"K001{YEAR}01"
    assert body["disposal_date"] == date.today().replace(year=YEAR + 5).isoformat()
    again = client.post(f"/api/v1/documents/{doc['id']}/accept", headers=org["arch2"])
    assert again.status_code == 409
    got = client.get(f"/api/v1/documents/{doc['id']}/content", headers=org["clara"])
    assert got.status_code == 200 and got.data == data
    assert got.headers["Content-Type"] == "application/pdf"
    assert "filename*=UTF-8''%E8%90%A5" in got.headers["Content-Disposition"]
    # Another department cannot know it exists; the admin sees no content.
    for who in ("carl", "root"):
        assert client.get(f"/api/v1/documents/{doc['id']}", headers=org[who]).status_code == 404
        assert (
            client.get(f"/api/v1/documents/{doc['id']}/content", headers=org[who]).status_code
            == 404
        )
    assert client.get("/api/v1/documents", headers=org["carl"]).get_json()["total"] == 0
    with rt.db.unit_of_work() as s:
        register = s.execute(select(AccessRecord)).scalars().all()
    assert [(r.username, r.action, r.archive_number) for r in register] == [
        ("clara", "download", f"K001{YEAR}01")
    ]


def test_numbers_follow_the_pattern_and_tier_minimum(client: Any, org: Any) -> None:
    ordinary = new_customer(client, org["clara"])
    important = new_customer(client, org["clara"], tier="important", name="重要客户")
    numbers = []
    for cid, name in ((ordinary, "a.pdf"), (important, "b.pdf"), (ordinary, "c.pdf")):
        doc = upload(client, org["clara"], cid, samples.pdf(name), filename=name).get_json()
        numbers.append(
            client.post(f"/api/v1/documents/{doc['id']}/accept", headers=org["arch1"]).get_json()
        )
    assert [n["archive_number"] for n in numbers] == [
        f"K001{YEAR}01",
        f"K002{YEAR}01",
        f"K001{YEAR}02",
    ]
    # short (5 y) is raised to 10 years for an important customer.
    assert numbers[1]["disposal_date"] == date.today().replace(year=YEAR + 10).isoformat()
    assert numbers[0]["disposal_date"] == date.today().replace(year=YEAR + 5).isoformat()
    found = client.get(f"/api/v1/documents?number=K002{YEAR}01", headers=org["clara"]).get_json()
    assert found["total"] == 1 and found["items"][0]["id"] == numbers[1]["id"]


def test_core_customer_needs_two_archivists(client: Any, org: Any) -> None:
    cid = new_customer(client, org["clara"], tier="core")
    doc = upload(client, org["clara"], cid, samples.pdf()).get_json()
    assert doc["needs_joint_review"] is True
    first = client.post(f"/api/v1/documents/{doc['id']}/accept", headers=org["arch1"]).get_json()
    assert first["status"] == "submitted" and first["archive_number"] is None
    same = client.post(f"/api/v1/documents/{doc['id']}/accept", headers=org["arch1"])
    assert same.status_code == 409
    second = client.post(f"/api/v1/documents/{doc['id']}/accept", headers=org["arch2"]).get_json()
    assert second["status"] == "accepted" and second["archive_number"]


def test_returned_with_a_reason(client: Any, org: Any) -> None:
    cid = new_customer(client, org["clara"])
    doc = upload(client, org["clara"], cid, samples.pdf()).get_json()
    r = client.post(
        f"/api/v1/documents/{doc['id']}/return", json={"reason": "缺少盖章页"}, headers=org["arch1"]
    )
    assert r.status_code == 200 and r.get_json()["returned_reason"] == "缺少盖章页"
    mine = client.get(f"/api/v1/documents/{doc['id']}", headers=org["clara"]).get_json()
    assert mine["status"] == "returned" and mine["returned_reason"] == "缺少盖章页"


@pytest.mark.parametrize(
    ("data", "filename", "status"),
    [
        (samples.windows_exe(), "合同.pdf", 415),  # an executable dressed as a PDF
        (samples.elf(), "report.docx", 415),
        (b"#!/bin/sh\nrm -rf /\n", "notes.txt", 415),  # a script dressed as text
        (samples.pdf(), "scan.docx", 415),  # the name does not match the content
        (b"", "empty.pdf", 422),
    ],
)
def test_intake_refuses_bad_files_and_keeps_nothing(
    client: Any, org: Any, rt: Any, data: bytes, filename: str, status: int
) -> None:
    cid = new_customer(client, org["clara"])
    resp = upload(client, org["clara"], cid, data, filename=filename)
    assert resp.status_code == status, resp.get_json()
    assert client.get("/api/v1/documents", headers=org["clara"]).get_json()["total"] == 0
    with rt.db.unit_of_work() as s:
        assert s.execute(select(StoredObject)).first() is None


def test_hostile_filenames_are_only_metadata(client: Any, org: Any) -> None:
    cid = new_customer(client, org["clara"])
    names = ["../../etc/passwd.txt", "a\x00b.txt", "x" * 300 + ".txt", "invoice\u202etxt.exe.txt"]
    for i, name in enumerate(names):
        resp = upload(client, org["clara"], cid, f"plain text {i}".encode(), filename=name)
        assert resp.status_code == 201, (name, resp.get_json())
        clean = resp.get_json()["filename"]
        assert "/" not in clean and "\x00" not in clean and "\u202e" not in clean
        assert len(clean) <= 200 and clean.endswith(".txt")


def test_unknown_customer_or_category_names_the_field(client: Any, org: Any) -> None:
    cid = new_customer(client, org["clara"])
    r = upload(client, org["clara"], 9999, samples.pdf())
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "customer_id"
    r = upload(client, org["clara"], cid, samples.pdf(), category="business.nothing")
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "category"
    r = upload(client, org["clara"], cid, samples.pdf(), retention_class="forever")
    assert r.status_code == 422 and "retention_class" in r.get_json()["error"]["fields"]
    r = upload(client, org["carl"], cid, samples.pdf())  # not his department's customer
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "customer_id"


def test_oversize_upload_is_413(client: Any, org: Any, app: Any) -> None:
    from dataclasses import replace

    rt = app.extensions["archive"]
    rt.archive = replace(rt.archive, intake=replace(rt.archive.intake, max_bytes=64 * 1024))
    app.config["MAX_CONTENT_LENGTH"] = 10 * 1024 * 1024
    cid = new_customer(client, org["clara"])
    r = upload(client, org["clara"], cid, b"%PDF-1.4\n" + b"0" * 200_000, filename="big.pdf")
    assert r.status_code == 413
    app.config["MAX_CONTENT_LENGTH"] = 100 * 1024
    r = upload(client, org["clara"], cid, b"%PDF-1.4\n" + b"0" * 200_000, filename="big.pdf")
    assert r.status_code == 413  # refused from the Content-Length, before reading
    assert client.get("/api/v1/documents", headers=org["clara"]).get_json()["total"] == 0


def test_duplicates_are_reported_unless_insisted(client: Any, org: Any, rt: Any) -> None:
    cid = new_customer(client, org["clara"])
    first = upload(client, org["clara"], cid, samples.pdf("same")).get_json()
    dup = upload(client, org["clara"], cid, samples.pdf("same"), filename="again.pdf")
    assert dup.status_code == 409 and dup.get_json()["error"]["duplicate_of"] == first["id"]
    with rt.db.unit_of_work() as s:
        renditions = select(Document.text_object_id).where(Document.text_object_id.is_not(None))
        previews = select(Rendition.stored_object_id).where(
            Rendition.stored_object_id.is_not(None), Rendition.shares_original.is_(False)
        )
        contents = s.execute(
            select(StoredObject).where(
                StoredObject.id.not_in(renditions), StoredObject.id.not_in(previews)
            )
        )
        assert len(contents.all()) == 1
    from archive_service.vault.services import consistency

    with rt.db.unit_of_work() as s:
        assert consistency(s, rt.vault).ok  # the refused copy left no object behind
    forced = upload(client, org["clara"], cid, samples.pdf("same"), allow_duplicate="true")
    assert forced.status_code == 201


def test_manager_reads_with_a_stated_purpose(client: Any, org: Any, rt: Any) -> None:
    cid = new_customer(client, org["clara"])
    doc = upload(client, org["clara"], cid, samples.pdf()).get_json()
    client.post(f"/api/v1/documents/{doc['id']}/accept", headers=org["arch1"])
    r = client.get(f"/api/v1/documents/{doc['id']}/content", headers=org["mona"])
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "purpose"
    r = client.get(
        f"/api/v1/documents/{doc['id']}/content?purpose=年度审计抽查&disposition=inline",
        headers=org["mona"],
    )
    assert r.status_code == 200 and r.headers["Content-Disposition"].startswith("inline")
    with rt.db.unit_of_work() as s:
        rec = s.execute(select(AccessRecord)).scalar_one()
    assert (rec.username, rec.action, rec.purpose, rec.rule) == (
        "mona",
        "preview",
        "年度审计抽查",
        "manager-registered",
    )


def test_hold_stops_the_clock_and_release_keeps_five_more_years(client: Any, org: Any) -> None:
    cid = new_customer(client, org["clara"])
    doc = upload(client, org["clara"], cid, samples.pdf()).get_json()
    client.post(f"/api/v1/documents/{doc['id']}/accept", headers=org["arch1"])
    assert (
        client.post(
            f"/api/v1/documents/{doc['id']}/hold", json={"reason": ""}, headers=org["arch1"]
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/v1/documents/{doc['id']}/hold", json={"reason": "诉讼"}, headers=org["clara"]
        ).status_code
        == 403
    )
    held = client.post(
        f"/api/v1/documents/{doc['id']}/hold",
        json={"reason": "合同纠纷诉讼中"},
        headers=org["arch1"],
    ).get_json()
    assert held["on_hold"] is True and held["disposal_date"] is None
    assert (
        client.post(
            f"/api/v1/documents/{doc['id']}/hold", json={"reason": "again"}, headers=org["arch1"]
        ).status_code
        == 409
    )
    released = client.delete(
        f"/api/v1/documents/{doc['id']}/hold", json={"reason": "已结案"}, headers=org["arch1"]
    ).get_json()
    assert released["on_hold"] is False
    assert released["disposal_date"] == date.today().replace(year=YEAR + 5).isoformat()


def test_contract_runs_from_its_expiry(client: Any, org: Any) -> None:
    cid = new_customer(client, org["clara"])
    r = upload(
        client,
        org["clara"],
        cid,
        samples.pdf(),
        category="business.contract",
        retention_class="medium",
        title="销售合同",
    )
    assert r.status_code == 422 and r.get_json()["error"]["field"] == "contract_number"
    r = upload(
        client,
        org["clara"],
        cid,
        samples.pdf(),
        category="business.contract",
        retention_class="medium",
        title="销售合同",
        **{"facts.contract_number": "HT-2024-0017", "facts.valid_until": "2030-06-30"},
    )
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["facts"] == {"contract_number": "HT-2024-0017", "valid_until": "2030-06-30"}
    body = client.post(
        f"/api/v1/documents/{r.get_json()['id']}/accept", headers=org["arch1"]
    ).get_json()
    assert body["disposal_date"] == "2040-06-30"


def test_reclassification_renumbers_and_the_old_number_still_finds_it(
    client: Any, org: Any, rt: Any
) -> None:
    from archive_service.archive import review
    from archive_service.policy import Caller

    cid = new_customer(client, org["clara"])
    doc = upload(client, org["clara"], cid, samples.pdf()).get_json()
    old = client.post(f"/api/v1/documents/{doc['id']}/accept", headers=org["arch1"]).get_json()[
        "archive_number"
    ]
    with rt.db.unit_of_work() as s:
        from archive_service.accounts.users import user_by_username

        archivist = Caller.of(user_by_username(s, "arch1"))
        moved = review.reclassify(s, archivist, doc["id"], "basic.credit", "归类错误", rt.archive)
        new = moved.archive_number
        history = [
            (h.number, h.reason, h.superseded_at is not None)
            for h in review.number_history(s, doc["id"])
        ]
    assert new is not None and new != old and re.fullmatch(rf"K001{YEAR}\d\d", new)
    assert history == [(old, "accepted", True), (new, "reclassified: 归类错误", False)]
    by_old = client.get(f"/api/v1/documents/by-number/{old}", headers=org["clara"]).get_json()
    assert by_old["id"] == doc["id"] and by_old["archive_number"] == new


def test_concurrent_acceptances_get_unique_gapless_numbers(client: Any, org: Any, app: Any) -> None:
    cid = new_customer(client, org["clara"])
    ids = [
        upload(client, org["clara"], cid, samples.pdf(f"doc {i}"), filename=f"{i}.pdf").get_json()[
            "id"
        ]
        for i in range(24)
    ]
    results: list[Any] = []
    lock = threading.Lock()

    def accept(doc_id: int, who: str) -> None:
        resp = app.test_client().post(f"/api/v1/documents/{doc_id}/accept", headers=org[who])
        with lock:
            results.append((resp.status_code, resp.get_json()))

    threads = [
        threading.Thread(target=accept, args=(d, "arch1" if i % 2 else "arch2"))
        for i, d in enumerate(ids)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(code == 200 for code, _ in results), results
    numbers = sorted(body["archive_number"] for _, body in results)
    assert numbers == [f"K001{YEAR}{i:02d}" for i in range(1, 25)]


def test_admin_extends_the_category_tree(client: Any, org: Any, rt: Any) -> None:
    r = client.post(
        "/api/v1/categories",
        headers=org["clara"],
        json={"code": "legal", "name_zh": "法务", "name_en": "Legal"},
    )
    assert r.status_code == 403
    assert (
        client.post(
            "/api/v1/categories",
            headers=org["root"],
            json={"code": "legal", "name_zh": "法务", "name_en": "Legal"},
        ).status_code
        == 201
    )
    r = client.post(
        "/api/v1/categories",
        headers=org["root"],
        json={
            "code": "legal.court",
            "name_zh": "诉讼文书",
            "name_en": "Court papers",
            "retention_trigger": "judgment_date",
            "facts": [
                {"name": "case_number", "required": True},
                {"name": "judgment_date", "type": "date"},
            ],
        },
    )
    assert r.status_code == 201, r.get_json()
    assert (
        client.post(
            "/api/v1/categories",
            headers=org["root"],
            json={"code": "nothing.here", "name_zh": "x", "name_en": "x"},
        ).status_code
        == 422
    )
    tree = client.get("/api/v1/categories", headers=org["clara"]).get_json()["items"]
    legal = next(t for t in tree if t["code"] == "legal")
    assert [c["code"] for c in legal["children"]] == ["legal.court"]
    cid = new_customer(client, org["clara"])
    r = upload(
        client,
        org["clara"],
        cid,
        samples.pdf(),
        category="legal.court",
        retention_class="short",
        **{"facts.case_number": "(2024)沪01民初17号", "facts.judgment_date": "2025-01-10"},
    )
    assert r.status_code == 201, r.get_json()
    body = client.post(
        f"/api/v1/documents/{r.get_json()['id']}/accept", headers=org["arch1"]
    ).get_json()
    # The latest of the filing and the judgment counts: judged before it was filed, the
    # period runs from the filing.
    assert body["disposal_date"] == date.today().replace(year=YEAR + 5).isoformat()
    _new_required_fact_holds_on_every_path(client, org, rt, cid, r.get_json()["id"])


def _new_required_fact_holds_on_every_path(
    client: Any, org: Any, rt: Any, cid: int, court_doc: int
) -> None:
    """A category an admin added with a required fact, and no code: upload, a change
    request and a reclassification all refuse a document without it."""
    import json

    from archive_service.accounts.users import user_by_username
    from archive_service.archive import review
    from archive_service.errors import InvalidInput
    from archive_service.policy import Caller

    missing = upload(client, org["clara"], cid, samples.pdf("no case"), category="legal.court")
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "case_number"

    def change(doc: int, values: dict[str, Any]) -> Any:
        return client.post(
            "/api/v1/change-requests",
            headers=org["clara"],
            content_type="multipart/form-data",
            data={"target_type": "document", "target_id": str(doc), "reason": "更正",
                  "values": json.dumps(values)},
        )  # fmt: skip

    blanked = change(court_doc, {"facts": {"case_number": ""}})
    assert blanked.status_code == 422 and blanked.get_json()["error"]["field"] == "case_number"
    plain = upload(client, org["clara"], cid, samples.pdf("plain"), category="basic.profile")
    plain_id = plain.get_json()["id"]
    client.post(f"/api/v1/documents/{plain_id}/accept", headers=org["arch1"])
    moved = change(plain_id, {"category": "legal.court"})
    assert moved.status_code == 422 and moved.get_json()["error"]["field"] == "case_number"
    with pytest.raises(InvalidInput) as refused, rt.db.unit_of_work() as s:
        archivist = Caller.of(user_by_username(s, "arch1"))
        review.reclassify(s, archivist, plain_id, "legal.court", "归类", rt.archive)
    assert refused.value.field == "case_number"


def test_an_upload_cut_off_half_way_leaves_nothing(client: Any, org: Any, rt: Any) -> None:
    from archive_service.accounts.users import user_by_username
    from archive_service.archive import documents
    from archive_service.policy import Caller
    from archive_service.vault.services import consistency

    cid = new_customer(client, org["clara"])

    class CutOff(io.RawIOBase):
        def __init__(self) -> None:
            self.sent = 0

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            if self.sent > 3 << 20:
                raise ConnectionResetError("client went away")
            self.sent += 64 << 10
            return (b"%PDF-1.4\n" + b"x" * (64 << 10))[: 64 << 10]

    with pytest.raises(ConnectionResetError), rt.db.unit_of_work() as s:
        clerk = Caller.of(user_by_username(s, "clara"))
        documents.upload(
            s,
            clerk,
            rt.vault,
            documents.Upload(
                customer_id=cid,
                category="basic.profile",
                title="cut",
                retention_class="short",
                document_date=None,
                filename="cut.pdf",
                stream=cast(IO[bytes], CutOff()),
            ),
            rt.archive,
        )
    assert client.get("/api/v1/documents", headers=org["clara"]).get_json()["total"] == 0
    with rt.db.unit_of_work() as s:
        assert s.execute(select(StoredObject)).first() is None
        assert consistency(s, rt.vault).ok
