"""Importing an existing archive (issue 17): a manifest and its files, on both databases.

The import runs the upload and acceptance use cases, so these tests look at what an
archivist sees afterwards: the numbers, the old number finding the document (service,
API, search), the disposal dates from the manifest's filing dates, the audit trail, and
that a bad manifest stores nothing at all.
"""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from archive_service.archive import documents, importing
from archive_service.archive.models import (
    ArchiveNumber,
    Customer,
    Document,
    DocumentStatus,
    ImportBatch,
    ImportedRow,
)
from archive_service.audit import services as audit
from archive_service.audit.models import AuditEvent
from archive_service.policy import Caller
from tests import check_files, samples
from tests.conftest import People, bearer, token_for

OPERATOR = Caller.cli()
HEADER = [
    "customer",
    "credit_code",
    "category",
    "title",
    "document_date",
    "filing_date",
    "old_number",
    "retention_class",
    "contract_number",
    "valid_until",
    "file",
]
GOOD = [
    ["华夏贸易有限公司", "91310000MA1FL8XQ30", "basic.profile", "营业执照", "2019-02-20",
     "2019-03-01", "WS-2019-001", "short", "", "", "hx/licence.pdf"],
    ["华夏贸易有限公司", "91310000MA1FL8XQ30", "business.contract", "采购合同", "2018-05-02",
     "2018-06-01", "WS-2018-017", "D10", "HT-2018-09", "2020-12-31", "hx/contract.pdf"],
    ["远航物流", "", "service.inquiry", "咨询记录", "2016/07/08", "", "WS-2016-100", "short",
     "", "", "yh/inquiry.txt"],
]  # fmt: skip


def files_for(root: Path) -> Path:
    folder = root / "files"
    (folder / "hx").mkdir(parents=True)
    (folder / "yh").mkdir()
    (folder / "hx" / "licence.pdf").write_bytes(samples.pdf("licence 2019"))
    (folder / "hx" / "contract.pdf").write_bytes(samples.pdf("contract 2018"))
    (folder / "yh" / "inquiry.txt").write_text("客户咨询：运费报价 2016", encoding="utf-8")
    return folder


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture
def ctx(rt: Any, people: People) -> importing.Importing:
    people.department("SALES")
    return importing.Importing.of(rt)


@pytest.fixture
def good(tmp_path: Path) -> importing.Source:
    files = files_for(tmp_path)
    return importing.Source(write_csv(tmp_path / "目录.csv", [HEADER, *GOOD]), files, "SALES")


def counts(rt: Any) -> dict[str, int]:
    with rt.db.read_only() as s:
        return {
            m.__tablename__: s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Document, Customer, ImportBatch, ImportedRow, ArchiveNumber, AuditEvent)
        }


def test_a_good_manifest_imports_with_old_numbers_and_filing_dates(
    rt: Any, ctx: importing.Importing, good: importing.Source, client: Any, people: People
) -> None:
    checked = importing.dry_run(ctx, OPERATOR, good)
    assert checked.ok and checked.rows == 3, checked.problems
    report = importing.run(ctx, OPERATOR, good)
    assert report.ok, report.problems
    assert (report.imported, report.skipped) == (3, 0)
    with rt.db.read_only() as s:
        licence = documents.find_by_number(s, OPERATOR, "WS-2019-001")
        contract = documents.find_by_number(s, OPERATOR, "WS-2018-017")
        inquiry = documents.find_by_number(s, OPERATOR, "WS-2016-100")
        for doc in (licence, contract, inquiry):
            assert doc.status == DocumentStatus.ACCEPTED
            assert doc.archive_number and not doc.archive_number.startswith("WS-")
        # The number's year and the clock count from the old archive's filing date.
        assert licence.filing_date == date(2019, 3, 1)
        assert str(licence.archive_number).endswith("201901")
        assert licence.disposal_date == date(2024, 3, 1)  # short: 5 years
        assert contract.disposal_date == date(2030, 12, 31)  # 10 years from valid_until
        assert contract.facts == {"contract_number": "HT-2018-09", "valid_until": "2020-12-31"}
        assert inquiry.filing_date == date(2016, 7, 8)  # no filing date: the document's
        assert licence.customer_id == contract.customer_id != inquiry.customer_id
        assert inquiry.customer.department.code == "SALES"
        assert s.get(ArchiveNumber, "WS-2019-001").superseded_at is not None
        batch = s.execute(select(ImportBatch)).scalar_one()
        assert batch.finished_at is not None and batch.rows_imported == 3
        events = list(s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars())
        imports = [e for e in events if e.action == "document.import"]
        assert sorted(e.target_id for e in imports) == sorted(
            str(d.id) for d in (licence, contract, inquiry)
        )
        assert {e.details["batch_id"] for e in imports} == {batch.id}
        assert [e.action for e in events if e.target_type == "import_batch"] == [
            "import.start",
            "import.finish",
        ]
        accepts = [e.details["filing_date"] for e in events if e.action == "document.accept"]
        assert sorted(accepts) == ["2016-07-08", "2018-06-01", "2019-03-01"]
        contract_id, inquiry_id = contract.id, inquiry.id
        assert audit.verify(s).ok  # the rows' savepoints left the chain whole

    people.user("arch", "archivist", department="ARCH")
    h = bearer(token_for(client, "arch"))
    resp = client.get("/api/v1/documents/by-number/WS-2018-017", headers=h)
    assert resp.status_code == 200 and resp.get_json()["id"] == contract_id
    found = client.get("/api/v1/documents", query_string={"q": "WS-2016-100"}, headers=h)
    assert [d["id"] for d in found.get_json()["items"]] == [inquiry_id]


def test_running_again_skips_every_row(
    rt: Any, ctx: importing.Importing, good: importing.Source
) -> None:
    assert importing.run(ctx, OPERATOR, good).imported == 3
    before = counts(rt)
    again = importing.run(ctx, OPERATOR, good)
    assert again.ok and (again.imported, again.skipped) == (0, 3)
    after = counts(rt)
    for table in ("documents", "customers", "imported_rows", "archive_numbers"):
        assert after[table] == before[table], table


def test_a_run_that_stops_at_an_unreadable_file_continues_when_run_again(
    rt: Any, ctx: importing.Importing, good: importing.Source
) -> None:
    third = good.files / "yh" / "inquiry.txt"
    kept = third.read_bytes()

    def lose_the_third(done: int, _total: int | None, stage: str) -> None:
        if stage == "importing" and done == 2:
            third.unlink()  # the share goes away after the check passed
            third.mkdir()  # and a folder stands in its place: the read fails

    stopped = importing.run(ctx, OPERATOR, good, lose_the_third, batch_rows=1)
    assert stopped.stopped_at == 4 and stopped.imported == 2
    assert [p.row for p in stopped.problems] == [4]
    with rt.db.read_only() as s:
        batch = s.execute(select(ImportBatch)).scalar_one()
        assert batch.finished_at is None
        batch_id = batch.id
        assert s.execute(select(func.count()).select_from(Document)).scalar_one() == 2
    third.rmdir()
    third.write_bytes(kept)
    resumed = importing.run(ctx, OPERATOR, good)
    assert resumed.ok, resumed.problems
    assert (resumed.imported, resumed.skipped, resumed.batch_id) == (1, 2, batch_id)
    with rt.db.read_only() as s:
        batch = s.execute(select(ImportBatch)).scalar_one()
        assert batch.finished_at is not None and batch.rows_imported == 3
        actions = [
            e.action
            for e in s.execute(
                select(AuditEvent).where(AuditEvent.target_type == "import_batch")
            ).scalars()
        ]
    assert actions == ["import.start", "import.stop", "import.resume", "import.finish"]


class Killed(Exception):
    pass


def test_a_killed_run_continues_where_it_stopped(
    rt: Any, ctx: importing.Importing, good: importing.Source
) -> None:
    def kill_after_two(done: int, _total: int | None, stage: str) -> None:
        if stage == "importing" and done == 2:  # progress counts committed rows
            raise Killed

    with pytest.raises(Killed):
        importing.run(ctx, OPERATOR, good, kill_after_two, batch_rows=2)
    resumed = importing.run(ctx, OPERATOR, good)
    assert resumed.ok and (resumed.imported, resumed.skipped) == (1, 2)
    with rt.db.read_only() as s:
        assert s.execute(select(func.count()).select_from(Document)).scalar_one() == 3
        assert s.execute(select(func.count()).select_from(ImportBatch)).scalar_one() == 1


def test_every_bad_row_is_reported_and_nothing_is_stored(
    rt: Any, ctx: importing.Importing, tmp_path: Path
) -> None:
    files = files_for(tmp_path)
    outside = tmp_path / "secret.pdf"
    outside.write_bytes(samples.pdf("not yours"))
    (files / "link.pdf").symlink_to(outside)
    (files / "program.pdf").write_bytes(samples.elf())

    def row(**changes: str) -> list[str]:
        n = len(rows) + 1
        (files / f"row{n}.pdf").write_bytes(samples.pdf(f"row {n}"))
        base = dict(zip(HEADER, GOOD[0], strict=True))
        base.update(old_number=f"OLD-{n}", file=f"row{n}.pdf")
        return list({**base, **changes}.values())

    rows: list[list[str]] = [HEADER]
    rows.append(row())  # 2: fine
    rows.append(row(category="business.unknown"))  # 3
    rows.append(row(retention_class="forever"))  # 4
    rows.append(row(document_date="2019-13-45"))  # 5
    rows.append(row(filing_date="2999-01-01"))  # 6
    rows.append(row(file="../secret.pdf"))  # 7
    rows.append(row(file=str(outside)))  # 8
    rows.append(row(file="link.pdf"))  # 9
    rows.append(row(file="hx/missing.pdf"))  # 10
    rows.append(row(file="program.pdf"))  # 11
    rows.append(row(old_number="OLD-2"))  # 12: the same row as row 2
    rows.append(row(file="row2.pdf"))  # 13: the same file for the same customer
    rows.append(row(category="business.contract", file="hx/contract.pdf"))  # 14: no contract no.
    rows.append(row(old_number="K001201901"))  # 15: shaped like the archive's own numbers
    rows.append(row(title=""))  # 16
    source = importing.Source(write_csv(tmp_path / "bad.csv", rows), files, "SALES")
    before = counts(rt)
    report = importing.dry_run(ctx, OPERATOR, source)
    problems = {(p.row, p.column) for p in report.problems}
    assert problems == {
        (3, "category"),
        (4, "retention_class"),
        (5, "document_date"),
        (6, "filing_date"),
        (7, "file"),
        (8, "file"),
        (9, "file"),
        (10, "file"),
        (11, "file"),
        (12, "old_number"),
        (13, "file"),
        (14, "contract_number"),
        (15, "old_number"),
        (16, "title"),
    }, report.problems
    refused = importing.run(ctx, OPERATOR, source)
    assert refused.refused and {(p.row, p.column) for p in refused.problems} == problems
    assert counts(rt) == before  # not a customer, a document, a batch or an audit event


def test_a_header_without_required_columns_is_refused(
    rt: Any, ctx: importing.Importing, tmp_path: Path
) -> None:
    files = files_for(tmp_path)
    header = [h for h in HEADER if h not in ("title", "retention_class")] + ["colour"]
    rows = [header, [c for h, c in zip(HEADER, GOOD[0], strict=True) if h in header] + ["red"]]
    source = importing.Source(write_csv(tmp_path / "m.csv", rows), files, "SALES")
    report = importing.run(ctx, OPERATOR, source)
    assert report.refused
    assert {(p.row, p.column) for p in report.problems} == {
        (1, "title"),
        (1, "retention_class"),
        (1, "colour"),
    }
    assert counts(rt)["import_batches"] == 0


def test_an_excel_manifest_in_chinese_imports_and_its_formulas_are_refused(
    rt: Any, ctx: importing.Importing, tmp_path: Path
) -> None:
    files = files_for(tmp_path)
    book = Workbook()
    sheet = book.active
    sheet.append(
        ["客户名称", "档案类别", "题名", "形成时间", "归档日期", "原档号", "保管期限", "文件路径"]
    )
    sheet.append(["华夏贸易有限公司", "basic.profile", "营业执照", date(2019, 2, 20),
                  date(2019, 3, 1), "WS-2019-001", "short", "hx/licence.pdf"])  # fmt: skip
    path = tmp_path / "目录.xlsx"
    book.save(path)
    source = importing.Source(path, files, "SALES")
    assert importing.run(ctx, OPERATOR, source).imported == 1

    sheet.append(["远航物流", "service.inquiry", '=HYPERLINK("http://x","咨询")', date(2016, 7, 8),
                  None, "WS-2016-100", "short", "yh/inquiry.txt"])  # fmt: skip
    book.save(path)
    before = counts(rt)
    report = importing.run(ctx, OPERATOR, source)
    assert report.refused
    assert [(p.row, p.column) for p in report.problems] == [(3, "title"), (3, "title")]
    assert "formula" in report.problems[0].message
    assert counts(rt) == before


def test_a_gb18030_manifest_with_chinese_headers_is_read(
    ctx: importing.Importing, tmp_path: Path
) -> None:
    files = files_for(tmp_path)
    rows = [
        ["客户名称", "类别", "题名", "归档日期", "原档号", "保管期限", "文件"],
        [
            "远航物流",
            "service.inquiry",
            "咨询记录",
            "2016年07月08日",
            "旧-1",
            "Y",
            "yh/inquiry.txt",
        ],
    ]
    source = importing.Source(write_csv(tmp_path / "m.csv", rows, "gb18030"), files, "SALES")
    report = importing.dry_run(ctx, OPERATOR, source)
    assert report.ok and report.rows == 1, report.problems


def test_the_command_line_reports_a_dry_run_and_imports(
    settings: Any,
    people: People,
    ctx: importing.Importing,
    good: importing.Source,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from archive_service.cli import main

    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ARCHIVE_CELERY_ALWAYS_EAGER", "1")
    args = ["import", "--manifest", str(good.manifest), "--files", str(good.files)]
    broken = tmp_path / "broken.csv"
    write_csv(broken, [HEADER, [*GOOD[0][:-1], "../x.pdf"]])
    runner = CliRunner()
    bad = runner.invoke(main, ["import", "--manifest", str(broken), "--files", str(good.files),
                               "--dry-run", "--report", str(tmp_path / "r.csv")])  # fmt: skip
    assert bad.exit_code == 1, bad.output
    assert "leaves --files" in bad.output
    assert "leaves --files" in (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    nowhere = runner.invoke(main, [*args, "--dry-run"])
    assert nowhere.exit_code == 1 and "--department" in nowhere.output, nowhere.output
    dry = runner.invoke(main, [*args, "--dry-run", "--department", "SALES"])
    assert dry.exit_code == 0 and "ready to import" in dry.output, dry.output
    people.user("clara", "clerk")
    as_clerk = runner.invoke(main, [*args, "--dry-run", "--department", "SALES", "--as", "clara"])
    assert as_clerk.exit_code == 1 and "import an existing archive" in as_clerk.output
    people.user("arno", "archivist")  # the import's rule stands for the uploads, as on the page
    as_archivist = [*args, "--department", "SALES", "--as", "arno"]
    dry_as = runner.invoke(main, [*as_archivist, "--dry-run"])
    assert dry_as.exit_code == 0 and "ready to import" in dry_as.output, dry_as.output
    nobody = runner.invoke(main, [*args, "--dry-run", "--as", "nobody"])
    assert nobody.exit_code != 0 and "no active user" in nobody.output
    done = runner.invoke(main, [*args, "--department", "SALES"])
    assert done.exit_code == 0 and "3 imported" in done.output, done.output
    assert os.path.exists(good.manifest)


def test_a_file_that_fails_a_mandatory_check_waits_in_the_review_queue(
    rt: Any, ctx: importing.Importing, good: importing.Source
) -> None:
    (good.files / "hx" / "licence.pdf").write_bytes(check_files.pdf_with_javascript())
    report = importing.run(ctx, OPERATOR, good)
    assert (report.imported, report.stopped_at) == (3, None)
    assert [p.row for p in report.problems] == [2]
    assert "active_content" in report.problems[0].message
    with rt.db.read_only() as s:
        held_back = documents.find_by_number(s, OPERATOR, "WS-2019-001")
        assert held_back.status == DocumentStatus.SUBMITTED and held_back.archive_number is None
        others = [documents.find_by_number(s, OPERATOR, n) for n in ("WS-2018-017", "WS-2016-100")]
        assert {d.status for d in others} == {DocumentStatus.ACCEPTED}
        statuses = sorted(r.status for r in s.execute(select(ImportedRow)).scalars())
    assert statuses == ["accepted", "accepted", "checks_failed"]
    again = importing.run(ctx, OPERATOR, good)
    assert (again.imported, again.skipped) == (0, 3)
    assert [p.row for p in again.problems] == [2]  # still waiting for the archivist


def test_a_caller_who_may_not_accept_cannot_import(
    rt: Any, ctx: importing.Importing, good: importing.Source, people: People
) -> None:
    people.user("clara", "clerk")  # uploads for SALES, but accepts nothing
    with rt.db.sessions() as s:  # closed, not rolled back: the user stays loaded
        clara = people.caller(s, "clara")
    report = importing.run(ctx, clara, good)
    assert report.refused and [(p.row, p.column) for p in report.problems] == [(0, "")]
    assert "archivist" in report.problems[0].message
    assert counts(rt)["documents"] == 0


def test_a_customer_is_matched_by_credit_code_then_by_name(
    rt: Any, ctx: importing.Importing, good: importing.Source, people: People, tmp_path: Path
) -> None:
    people.user("clara", "clerk")
    known = people.customer("clara", name="华夏贸易有限公司")  # opened without a code
    other = people.customer("clara", name="远航物流", credit_code="91110000000000000X")
    assert importing.run(ctx, OPERATOR, good).ok
    with rt.db.read_only() as s:
        assert {d.customer_id for d in s.execute(select(Document)).scalars()} == {known, other}
        assert s.execute(select(func.count()).select_from(Customer)).scalar_one() == 2
    # The same name with another code is another customer: a problem, not a guess.
    row = [*GOOD[2]]
    row[1], row[6] = "91440000000000000Y", "WS-2016-101"
    elsewhere = write_csv(tmp_path / "other.csv", [HEADER, row])
    report = importing.dry_run(ctx, OPERATOR, importing.Source(elsewhere, good.files, "SALES"))
    assert [(p.row, p.column) for p in report.problems] == [(2, "credit_code")]


def test_a_core_customer_s_documents_wait_for_the_joint_review(
    rt: Any, ctx: importing.Importing, good: importing.Source, people: People
) -> None:
    people.user("clara", "clerk")
    people.customer("clara", name="华夏贸易有限公司", credit_code="91310000MA1FL8XQ30", tier="core")
    report = importing.run(ctx, OPERATOR, good)
    assert report.ok and report.imported == 3
    assert [n.row for n in report.notes] == [2, 3]  # a note, not a problem
    with rt.db.read_only() as s:
        licence = documents.find_by_number(s, OPERATOR, "WS-2019-001")
        assert licence.status == DocumentStatus.SUBMITTED and licence.archive_number is None
        statuses = sorted(r.status for r in s.execute(select(ImportedRow)).scalars())
    assert statuses == ["accepted", "first_review", "first_review"]
    again = importing.run(ctx, OPERATOR, good)
    assert again.ok and (again.imported, again.skipped) == (0, 3)
