"""Importing an existing archive (档案导入): a manifest (目录, :mod:`archive.manifest`) naming
per row the customer, category, title, dates, old archive number (原档号), retention class,
facts and the file, plus the folder holding the files.

Every row goes through the same use cases as a clerk's upload and an archivist's
acceptance (customers.create_customer, documents.upload, review.accept), so the type
checks, the facts, the numbering, the disposal date and the audit trail apply unchanged;
the acceptance takes the manifest's filing date, so the number's year and the retention
clock count from the old archive's date. The old number is kept as an earlier number of
the document: find by number and search find it. An imported document is not judged
against its category's filing deadline (归档时限): it was filed in the old archive.

:func:`dry_run` checks every row and reports (row, problem) without storing anything.
:func:`run` checks first and refuses to start while any row has a problem (nothing is
half-imported); then it imports row by row, each row in its own transaction and recorded
by its row key (the old number, else a digest of the row) and its file's SHA-256. A row
already recorded is skipped, so a run again — after a kill, or after the run stopped at a
file it could not read — continues where it stopped, in the same batch. Extraction,
indexing, checks and previews are queued after each row's commit, as for an upload.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, SessionTransaction

from archive_service.archive import documents, intake, manifest, review
from archive_service.archive.customers import create_customer
from archive_service.archive.import_check import (
    Planned,
    Problem,
    Progress,
    Source,
    Tally,
    checked_rows,
    field_of,
    open_file,
    os_reason,
)
from archive_service.archive.models import (
    ArchiveNumber,
    Document,
    DocumentStatus,
    ImportBatch,
    ImportedRow,
)
from archive_service.archive.settings import ArchiveSettings
from archive_service.audit.services import record
from archive_service.checks.services import Checking, ChecksFailed
from archive_service.db import Database, note_write, utcnow
from archive_service.errors import Conflict, DomainError
from archive_service.policy import Caller

if TYPE_CHECKING:
    from archive_service.runtime import Runtime
    from archive_service.vault.services import Vault


# A small batch of rows per transaction: the commit, the audit chain's seal and the jobs'
# relay are paid once per batch; on SQLite the write lock is held no longer than this.
BATCH_ROWS = 25
BATCH_SECONDS = 1.0


@dataclass(frozen=True)
class Importing:
    """What the import use cases work with."""

    db: Database
    vault: Vault
    archive: ArchiveSettings
    checking: Checking

    @classmethod
    def of(cls, rt: Runtime) -> Importing:
        return cls(rt.db, rt.vault, rt.archive, rt.checking)


@dataclass
class Report(Tally):
    """What a dry run found, or what a run did. ``refused``: the run did not start, the
    check found problems. ``stopped_at``: the run stopped at this row (rows before it are
    in; a run again continues). ``notes`` are outcomes that need no fix (a second review)."""

    dry_run: bool = False
    imported: int = 0
    skipped: int = 0
    notes: list[Problem] = field(default_factory=list)
    batch_id: int | None = None
    refused: bool = False
    stopped_at: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.stopped_at is None and not self.refused

    def write_csv(self, path: Path) -> None:
        """The report as CSV (UTF-8 with a BOM, as Excel opens it), cells made safe from
        being read as formulas."""
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            write_report_csv(f, [*self.problems, *self.notes])


def write_report_csv(f: IO[str], lines: Iterable[Problem]) -> None:
    """A report's lines as CSV (row, column, problem), cells made safe from being read as
    formulas (the CLI's --report and the import page's download)."""
    out = csv.writer(f)
    out.writerow(["row", "column", "problem"])
    for p in lines:
        out.writerow(
            [p.row, manifest.spreadsheet_safe(p.column), manifest.spreadsheet_safe(p.message)]
        )


def dry_run(ctx: Importing, by: Caller, source: Source, progress: Progress | None = None) -> Report:
    """Check every row of the manifest; store nothing (not even an audit event)."""
    report = Report(dry_run=True)
    with ctx.db.read_only() as s:
        for _planned in checked_rows(s, ctx.archive, by, source, report, progress, "checking"):
            pass
    return report


def run(
    ctx: Importing,
    by: Caller,
    source: Source,
    progress: Progress | None = None,
    *,
    batch_rows: int = BATCH_ROWS,
) -> Report:
    """Check the whole manifest, then import it (see the module's docstring): each row in
    a savepoint of its own, committed every ``batch_rows`` rows or once a second; the
    progress counts committed rows."""
    checked = dry_run(ctx, by, source, progress)
    if checked.problems:
        checked.dry_run, checked.refused = False, True
        return checked
    report = Report(dry_run=False, rows=checked.rows)
    report.batch_id = batch_id = _open_batch(ctx, by, source, checked.rows)
    again = Tally()  # each row is checked again just before it is imported
    pending, since = 0, time.monotonic()
    done = 0
    with ctx.db.sessions() as s:
        # The check reads in the transaction the rows are written in, so a row sees what
        # the rows before it stored (a customer one of them opened).
        rows = checked_rows(s, ctx.archive, by, source, again, None, "importing", judge_files=False)
        for planned in rows:
            if again.problems:  # the files or the archive changed since the first check
                break
            try:
                going_on = _import_row(s, ctx, by, batch_id, planned, report)
            except OSError as exc:
                reason = f"the file could not be read: {os_reason(exc)}"
                report.problems.append(Problem(planned.number, "file", reason))
                going_on = False
            if not going_on:
                report.stopped_at = planned.number
                break
            pending += 1
            if pending >= batch_rows or time.monotonic() - since > BATCH_SECONDS:
                s.commit()
                done, pending, since = done + pending, 0, time.monotonic()
                if progress is not None:
                    progress(done, checked.rows, "importing")
        rows.close()
        s.commit()
    if progress is not None and pending:
        progress(done + pending, checked.rows, "importing")
    if again.problems and report.stopped_at is None:
        report.problems.extend(again.problems)
        report.stopped_at = again.problems[0].row
    _close_batch(ctx, by, batch_id, report)
    return report


# --------------------------------------------------------------------------- the batch


def _open_batch(ctx: Importing, by: Caller, source: Source, rows: int) -> int:
    """The open batch of this manifest (a run that stopped), continued; else a new one."""
    sha = manifest.digest(source.manifest)
    with ctx.db.unit_of_work() as s:
        batch = s.execute(
            select(ImportBatch)
            .where(ImportBatch.manifest_sha256 == sha, ImportBatch.finished_at.is_(None))
            .order_by(ImportBatch.id.desc())
        ).scalar_one_or_none()
        if batch is not None:
            record(s, by.actor, "import.resume", "import_batch", batch.id, rows=rows)
            return batch.id
        batch = ImportBatch(
            manifest_name=manifest_name(source.manifest),
            manifest_sha256=sha,
            started_by_id=by.user_id,
            rows_total=rows,
        )
        s.add(batch)
        s.flush()
        record(
            s,
            by.actor,
            "import.start",
            "import_batch",
            batch.id,
            manifest=batch.manifest_name,
            sha256=sha,
            rows=rows,
        )
        return batch.id


def manifest_name(path: Path) -> str:
    return intake.clean_filename(path.name, max_length=300)


def _close_batch(ctx: Importing, by: Caller, batch_id: int, report: Report) -> None:
    with ctx.db.unit_of_work() as s:
        batch = s.get(ImportBatch, batch_id)
        assert batch is not None
        batch.rows_imported += report.imported
        batch.rows_skipped = report.skipped
        batch.rows_failed = len(report.problems)
        counts = {
            "imported": report.imported,
            "skipped": report.skipped,
            "problems": len(report.problems),
        }
        if report.stopped_at is not None:
            record(
                s,
                by.actor,
                "import.stop",
                "import_batch",
                batch_id,
                row=report.stopped_at,
                reason=report.problems[-1].message[:300] if report.problems else None,
                **counts,
            )
            return
        batch.finished_at = utcnow()
        record(s, by.actor, "import.finish", "import_batch", batch_id, **counts)


# --------------------------------------------------------------------------- a row


def _import_row(
    s: Session, ctx: Importing, by: Caller, batch_id: int, p: Planned, report: Report
) -> bool:
    """Store, record and accept one row in a savepoint; False when the run must stop."""
    if p.imported is not None:
        return _again(s, ctx, by, p, report)
    savepoint = s.begin_nested()
    # The batch's transaction is kept while the file streams in (intake would otherwise
    # end a transaction that has not written yet, and with it this savepoint).
    note_write(s)
    doc_id: int | None = None
    try:
        customer_id = p.customer_id
        if customer_id is None:
            assert p.new_customer is not None
            customer_id = create_customer(s, by, p.new_customer).id
        with open_file(p.path) as f:
            doc = documents.upload(
                s,
                by,
                ctx.vault,
                documents.Upload(
                    customer_id=customer_id,
                    category=p.category,
                    title=p.title,
                    retention_class=p.retention_class,
                    document_date=p.document_date,
                    filename=p.filename,
                    stream=f,
                    facts=p.facts,
                    judged=False,  # filed in the earlier archive: no filing deadline here
                ),
                ctx.archive,
            )
        version = doc.current_version
        if version is None or version.sha256 != p.sha256:
            raise Conflict("the file changed after it was checked")
        doc_id = doc.id
        now = utcnow()
        if p.old_number:
            s.add(
                ArchiveNumber(
                    number=p.old_number,
                    document_id=doc.id,
                    assigned_at=now,
                    assigned_by_id=by.user_id,
                    reason=f"imported: the number in the earlier archive (batch {batch_id})",
                    superseded_at=now,
                )
            )
        row = ImportedRow(
            batch_id=batch_id,
            row_number=p.number,
            row_key=p.key,
            sha256=p.sha256,
            document_id=doc.id,
            status="stored",
        )
        s.add(row)
        s.flush()
        record(
            s,
            by.actor,
            "document.import",
            "document",
            doc.id,
            batch_id=batch_id,
            row=p.number,
            old_number=p.old_number,
            sha256=p.sha256,
        )
        # A failed mandatory check commits what is stored so far (the document waits in
        # the review queue) and raises: the row is then marked below.
        accepted = review.accept(
            s, by, doc.id, ctx.archive, ctx.checking, filing_date=p.filing_date
        )
        row.status = _status_of(accepted)
        savepoint.commit()
    except ChecksFailed as exc:
        assert doc_id is not None
        _waits_for_checks(s, p, doc_id, exc, report)
        report.imported += 1
        return True
    except BaseException as exc:
        return _refused(savepoint, p, exc, report)
    report.imported += 1
    if row.status == "first_review":
        report.notes.append(Problem(p.number, "", _second_review(row.document_id)))
    return True


def _again(s: Session, ctx: Importing, by: Caller, p: Planned, report: Report) -> bool:
    """A row imported before: skipped, or — stored but not yet accepted (a run stopped
    between the two) — accepted now."""
    assert p.imported is not None
    doc_id = p.imported.document_id
    doc = s.get(Document, doc_id)
    status = doc.status if doc is not None else None
    if p.imported.status != "stored" or status != DocumentStatus.SUBMITTED:
        report.skipped += 1
        if status == DocumentStatus.SUBMITTED and p.imported.status == "checks_failed":
            report.problems.append(Problem(p.number, "file", _waiting(doc_id, "checks failed")))
        return True
    savepoint = s.begin_nested()
    try:
        accepted = review.accept(
            s, by, doc_id, ctx.archive, ctx.checking, filing_date=p.filing_date
        )
        _mark(s, p.key, _status_of(accepted))
        savepoint.commit()
    except ChecksFailed as exc:
        _waits_for_checks(s, p, doc_id, exc, report)
    except BaseException as exc:
        return _refused(savepoint, p, exc, report)
    report.imported += 1
    return True


def _waits_for_checks(
    s: Session, p: Planned, doc_id: int, exc: ChecksFailed, report: Report
) -> None:
    """A stored row whose file failed a mandatory check: it waits in the review queue."""
    _mark(s, p.key, "checks_failed")
    report.problems.append(Problem(p.number, "file", _checks_failed(doc_id, exc)))


def _refused(savepoint: SessionTransaction, p: Planned, exc: BaseException, report: Report) -> bool:
    """Roll the row back and report why it was refused (False); anything that is not a
    refusal goes on up."""
    if savepoint.is_active:
        savepoint.rollback()
    if not isinstance(exc, DomainError):
        raise exc
    report.problems.append(Problem(p.number, field_of(exc) or "file", exc.message))
    return False


def _status_of(doc: Document) -> str:
    return "accepted" if doc.status == DocumentStatus.ACCEPTED else "first_review"


def _mark(s: Session, key: str, status: str) -> None:
    row = s.execute(select(ImportedRow).where(ImportedRow.row_key == key)).scalar_one()
    row.status = status
    s.flush()


def _checks_failed(doc_id: int, exc: ChecksFailed) -> str:
    items = ", ".join(str(f.get("code")) for f in exc.details.get("failed", []))
    return _waiting(doc_id, f"mandatory checks failed: {items}")


def _waiting(doc_id: int, why: str) -> str:
    return f"stored as document {doc_id}, not accepted ({why}): it waits in the review queue"


def _second_review(doc_id: int) -> str:
    return (
        f"document {doc_id} is a core customer's (joint review, 双人审核): it waits in the "
        "review queue for the archivists"
    )
