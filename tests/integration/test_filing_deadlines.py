"""Filing deadlines (归档时限): a submission is judged against its category's rule in working
days of the shipped calendar, marked late on the document, and counted per month,
department and clerk for those who may read the timeliness lists."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import time_machine
from sqlalchemy import select

from archive_service.archive import importing
from archive_service.archive.models import Document
from archive_service.audit.models import AuditEvent
from archive_service.policy import Caller
from archive_service.workdays import local_day
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_archive_api import new_customer, upload
from tests.integration.test_import import HEADER, files_for, write_csv
from tests.integration.test_web_accounts import login


def at(month: int, day: int, hour: int = 10) -> datetime:
    """``hour`` o'clock in Shanghai on that day of 2026."""
    return datetime(2026, month, day, hour - 8, 0, tzinfo=UTC)


def contract(client: Any, who: dict[str, str], cid: int, signed: str, n: int) -> dict[str, Any]:
    resp = upload(
        client,
        who,
        cid,
        samples.pdf(f"contract {n}"),
        filename=f"合同{n}.pdf",
        category="business.contract",
        retention_class="long",
        title=f"采购合同 {n}",
        document_date=signed,
        **{"facts.contract_number": f"HT-{n}", "facts.signing_date": signed},
    )
    assert resp.status_code == 201, resp.get_json()
    found: dict[str, Any] = resp.get_json()
    return found


ROLES = {
    "clara": ("clerk", "SALES"),
    "carl": ("clerk", "FIN"),
    "arch": ("archivist", "OPS"),
    "audrey": ("auditor", "OPS"),
    "olga": ("operations_head", "OPS"),
    "hugo": ("department_head", "SALES"),
    "fay": ("department_head", "FIN"),
    "root": ("admin", None),
}


def org(client: Any, people: People, *names: str) -> dict[str, dict[str, str]]:
    """The named people of ``ROLES``, each with a bearer token."""
    for name in names:
        role, department = ROLES[name]
        people.user(name, role, department=department)
    return {name: bearer(token_for(client, name)) for name in names}


def stats(client: Any, who: dict[str, str], month: str, **q: str) -> Any:
    return client.get(
        "/api/v1/statistics/timeliness", query_string={"month": month, **q}, headers=who
    )


def test_a_contract_filed_on_its_fifth_working_day_is_late_and_counted(
    client: Any, people: People
) -> None:
    h = org(client, people, "clara", "arch")
    cid = new_customer(client, h["clara"])
    # Signed Monday 2 November 2026: due Thursday the 5th (3 working days after).
    with time_machine.travel(at(11, 9), tick=False):  # Monday the 9th: the 5th working day
        late = contract(client, h["clara"], cid, "2026-11-02", 1)
    with time_machine.travel(at(11, 5, 17), tick=False):  # the due day itself
        on_time = contract(client, h["clara"], cid, "2026-11-02", 2)
    assert late["filing_deadline"] == {
        "due_on": "2026-11-05",
        "after": "signing_date",
        "late": True,
        "late_working_days": 2,
    }
    assert on_time["filing_deadline"]["late"] is False
    assert on_time["filing_deadline"]["late_working_days"] == 0

    got = stats(client, h["arch"], "2026-11")
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body["totals"] == {
        "on_time": 1,
        "late": 1,
        "total": 2,
        "late_working_days": 2,
        "late_share": 0.5,
    }
    assert [(d["code"], d["counts"]["late"]) for d in body["departments"]] == [("SALES", 1)]
    assert [
        (c["username"], c["counts"]["late"], c["counts"]["on_time"]) for c in body["clerks"]
    ] == [("clara", 1, 1)]
    (item,) = body["late"]
    assert item["document_id"] == late["id"] and item["late_working_days"] == 2
    assert item["title"] == "采购合同 1" and item["clerk"] == "clara"
    assert item["due_on"] == "2026-11-05" and item["department"] == "SALES"
    months = {m["month"]: m["counts"] for m in body["months"]}
    assert len(months) == 12 and months["2026-11"]["late"] == 1
    assert months["2026-10"]["total"] == 0 and "2025-12" in months

    # The document's page says so; the statistics page and the start page count it.
    login(client, "arch")
    page = client.get(f"/documents/{late['id']}").get_data(as_text=True)
    assert 'id="filing-due"' in page and "2026-11-05" in page
    assert 'id="filed-late">逾期 2 个工作日<' in page
    page = client.get(f"/documents/{late['id']}?lang=en").get_data(as_text=True)
    assert 'id="filed-late">late by 2 working days<' in page
    page = client.get(f"/documents/{on_time['id']}").get_data(as_text=True)
    assert 'id="filed-on-time"' in page
    assert "late by 2 working days" in client.get("/review").get_data(as_text=True)  # the queue
    page = client.get("/statistics/timeliness?month=2026-11").get_data(as_text=True)
    assert 'id="nav-timeliness"' in page
    assert 'data-document="{}"'.format(late["id"]) in page
    assert 'data-clerk="clara"' in page and 'data-department="SALES"' in page
    assert 'id="home-timeliness"' in client.get("/").get_data(as_text=True)


def test_holidays_are_skipped_and_make_up_days_count(client: Any, people: People) -> None:
    """Signed Wednesday 30 September 2026, the eve of National Day (1-7 October off,
    Saturday 10 October worked): due on Saturday the 10th, not Monday the 5th."""
    h = org(client, people, "clara", "olga")
    cid = new_customer(client, h["clara"])
    with time_machine.travel(at(10, 9), tick=False):
        friday = contract(client, h["clara"], cid, "2026-09-30", 1)
    with time_machine.travel(at(10, 12), tick=False):
        monday = contract(client, h["clara"], cid, "2026-09-30", 2)
    assert friday["filing_deadline"]["due_on"] == "2026-10-10"
    assert friday["filing_deadline"]["late"] is False
    assert monday["filing_deadline"]["late_working_days"] == 1

    # Other categories: 5 working days after the document date; no date, no deadline.
    with time_machine.travel(at(10, 9), tick=False):
        licence = upload(
            client, h["clara"], cid, samples.pdf("licence"), document_date="2026-09-29"
        ).get_json()
        undated = upload(client, h["clara"], cid, samples.pdf("undated"), title="无日期").get_json()
    # 29 September: the 30th, 8, 9, 10 (worked Saturday) and 12 October
    assert licence["filing_deadline"]["due_on"] == "2026-10-12"
    assert licence["filing_deadline"]["after"] == "document_date"
    assert undated["filing_deadline"] is None
    # A contract whose signing date is not recorded counts from its document date.
    with time_machine.travel(at(10, 9), tick=False):
        unsigned = upload(
            client,
            h["clara"],
            cid,
            samples.pdf("unsigned"),
            filename="合同.pdf",
            category="business.contract",
            retention_class="long",
            document_date="2026-09-28",
            **{"facts.contract_number": "HT-9"},
        ).get_json()
    assert unsigned["filing_deadline"] == {
        "due_on": "2026-10-08",
        "after": "document_date",
        "late": True,
        "late_working_days": 1,
    }
    body = stats(client, h["olga"], "2026-10").get_json()
    assert (body["totals"]["on_time"], body["totals"]["late"]) == (2, 2)


def test_complaints_count_from_their_closing_date(client: Any, people: People) -> None:
    h = org(client, people, "clara")
    cid = new_customer(client, h["clara"])
    tree = client.get("/api/v1/categories", headers=h["clara"]).get_json()["items"]
    rules = {c["code"]: c for top in tree for c in top["children"]}
    assert rules["service.complaint"]["filing_deadline"] == {"days": 3, "after": "closing_date"}
    assert any(f["name"] == "closing_date" for f in rules["service.complaint"]["facts"])
    assert rules["business.contract"]["filing_deadline"] == {"days": 3, "after": "signing_date"}
    assert rules["service.inquiry"]["filing_deadline"] == {"days": 5, "after": "document_date"}
    with time_machine.travel(at(12, 7), tick=False):  # Monday
        doc = upload(
            client,
            h["clara"],
            cid,
            samples.pdf("complaint"),
            category="service.complaint",
            title="投诉处理记录",
            document_date="2026-11-20",
            **{"facts.closing_date": "2026-12-01"},
        ).get_json()
    # Closed Tuesday 1 December: due Friday the 4th; Monday the 7th is one working day late.
    assert doc["filing_deadline"] == {
        "due_on": "2026-12-04",
        "after": "closing_date",
        "late": True,
        "late_working_days": 1,
    }


def test_a_rule_naming_a_fact_the_category_lacks_is_refused(
    rt: Any, client: Any, people: People
) -> None:
    h = org(client, people, "clara", "root")
    url = "/api/v1/categories/{}/filing-deadline"
    resp = client.put(
        url.format("basic.profile"), json={"days": 3, "after": "signing_date"}, headers=h["root"]
    )
    assert resp.status_code == 422
    assert "no fact 'signing_date'" in resp.get_json()["error"]["message"]
    resp = client.put(
        url.format("business.contract"),
        json={"days": 3, "after": "contract_number"},
        headers=h["root"],
    )
    assert resp.status_code == 422 and "not a date" in resp.get_json()["error"]["message"]
    resp = client.post(
        "/api/v1/categories",
        json={
            "code": "legal.court",
            "name_zh": "诉讼",
            "name_en": "Litigation",
            "facts": [{"name": "judgment_date", "type": "date"}],
            "filing_deadline": {"days": 2, "after": "hearing_date"},
        },
        headers=h["root"],
    )
    assert resp.status_code == 422
    # Unknown category, a clerk, a day count out of range.
    assert client.put(url.format("nope.x"), json={"days": 3}, headers=h["root"]).status_code == 404
    assert (
        client.put(url.format("basic.profile"), json={"days": 3}, headers=h["clara"]).status_code
        == 403
    )
    assert (
        client.put(url.format("basic.profile"), json={"days": 99}, headers=h["root"]).status_code
        == 422
    )

    # A rule the category can keep is saved, audited, and applies to the next submission.
    resp = client.put(
        url.format("business.contract"),
        json={"days": 1, "after": "signing_date"},
        headers=h["root"],
    )
    assert resp.status_code == 200
    assert resp.get_json()["filing_deadline"] == {"days": 1, "after": "signing_date"}
    cid = new_customer(client, h["clara"])
    with time_machine.travel(at(11, 4), tick=False):  # Wednesday: signed Monday, due Tuesday
        doc = contract(client, h["clara"], cid, "2026-11-02", 1)
    assert doc["filing_deadline"]["due_on"] == "2026-11-03"
    assert doc["filing_deadline"]["late_working_days"] == 1
    with rt.db.read_only() as s:
        (event,) = s.execute(
            select(AuditEvent).where(AuditEvent.action == "category.filing_deadline")
        ).scalars()
        assert event.details["before"] == {"days": 3, "after": "signing_date"}
        assert event.details["after"] == {"days": 1, "after": "signing_date"}


def test_who_may_read_the_timeliness_lists(client: Any, people: People) -> None:
    h = org(client, people, *ROLES)
    sales = new_customer(client, h["clara"])
    fin = new_customer(client, h["carl"], department="FIN", credit_code="91310000MA1FL8XQ30")
    with time_machine.travel(at(11, 9), tick=False):
        contract(client, h["clara"], sales, "2026-11-02", 1)
        contract(client, h["carl"], fin, "2026-11-06", 2)  # due the 11th: on time

    for who in ("arch", "audrey", "olga"):
        body = stats(client, h[who], "2026-11").get_json()
        assert body["department"] is None, who
        assert [d["code"] for d in body["departments"]] == ["FIN", "SALES"], who
    # The auditor counts and reads the list, but no title of a document they may not see.
    assert stats(client, h["audrey"], "2026-11").get_json()["late"][0]["title"] is None
    # A department head: their own department only.
    own = stats(client, h["hugo"], "2026-11").get_json()
    assert own["department"] == "SALES" and [d["code"] for d in own["departments"]] == ["SALES"]
    assert [c["username"] for c in own["clerks"]] == ["clara"]
    assert own["late"][0]["title"] == "采购合同 1"
    fin_head = stats(client, h["fay"], "2026-11").get_json()
    assert fin_head["totals"] == {
        "on_time": 1,
        "late": 0,
        "total": 1,
        "late_working_days": 0,
        "late_share": 0.0,
    }
    assert fin_head["late"] == []
    refused = stats(client, h["hugo"], "2026-11", department="FIN")
    assert refused.status_code == 403
    assert refused.get_json()["error"]["rule"] == "timeliness-own-department"
    # Everyone else: refused, naming the rule.
    for who in ("clara", "root"):
        resp = stats(client, h[who], "2026-11")
        assert resp.status_code == 403 and resp.get_json()["error"]["rule"] == "timeliness-readers"
    # Bad months are a 422; an archivist may narrow to one department.
    assert stats(client, h["arch"], "2026-13").status_code == 422
    assert stats(client, h["arch"], "11-2026").status_code == 422
    assert stats(client, h["arch"], "2026-11", department="NOPE").status_code == 422
    narrowed = stats(client, h["arch"], "2026-11", department="FIN").get_json()
    assert [d["code"] for d in narrowed["departments"]] == ["FIN"]

    login(client, "clara")
    assert 'id="nav-timeliness"' not in client.get("/").get_data(as_text=True)
    assert client.get("/statistics/timeliness").status_code == 403
    login(client, "hugo")
    page = client.get("/statistics/timeliness?month=2026-11")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'data-department="SALES"' in text and 'data-department="FIN"' not in text
    assert client.get("/statistics/timeliness?month=2026-13").status_code == 422
    assert client.get("/statistics/timeliness?department=FIN").status_code == 403


def test_imported_documents_are_not_judged(
    rt: Any, client: Any, people: People, tmp_path: Path
) -> None:
    people.department("SALES")
    rows = [
        ["华夏贸易有限公司", "91310000MA1FL8XQ30", "business.contract", "采购合同", "2018-05-02",
         "2018-06-01", "WS-2018-017", "D10", "HT-2018-09", "2020-12-31", "hx/contract.pdf"],
    ]  # fmt: skip
    source = importing.Source(
        write_csv(tmp_path / "目录.csv", [HEADER, *rows]), files_for(tmp_path), "SALES"
    )
    report = importing.run(importing.Importing.of(rt), Caller.cli(), source)
    assert report.ok and report.imported == 1, report.problems
    with rt.db.read_only() as s:
        doc = s.execute(select(Document)).scalar_one()
        assert doc.document_date == date(2018, 5, 2)
        assert (doc.filing_due_on, doc.filing_late_days, doc.filed_late) == (None, None, False)
        month = local_day(doc.submitted_at).strftime("%Y-%m")
    people.user("arch", "archivist", department="OPS")
    body = stats(client, bearer(token_for(client, "arch")), month).get_json()
    assert body["totals"]["total"] == 0
