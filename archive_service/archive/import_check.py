"""The check of an import manifest (导入目录的检查), row by row: every column against the
archive's vocabularies and rules (the category, the retention class, the dates, the
customer and the caller's right to upload for it — the upload's own check — the facts),
the old number, the file under the files folder (no way out of it: no absolute path, no
``..``, no symbolic link; its type judged by its bytes as intake judges it), and each row
against the rows before it (the same row, the same file twice). Only reads.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.accounts.departments import department_by_code
from archive_service.archive import containers, documents, intake, manifest
from archive_service.archive.categories import category_by_code
from archive_service.archive.models import (
    ArchiveNumber,
    Category,
    Customer,
    Document,
    DocumentStatus,
    DocumentVersion,
    ImportedRow,
)
from archive_service.archive.numbering import shape_of
from archive_service.archive.settings import ArchiveSettings
from archive_service.archive.vocabulary import CUSTOMER_TYPES, RETENTION_CLASSES
from archive_service.db import utcnow
from archive_service.errors import DomainError
from archive_service.policy import Caller, may

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
NUMBER_LIMIT = 64  # ArchiveNumber.number
# (rows done, rows in all or None while unknown, the stage: "checking" or "importing")
Progress = Callable[[int, int | None, str], None]


@dataclass(frozen=True)
class Source:
    """A manifest, the folder its paths are relative to, and the department new customers
    are opened in when a row names none."""

    manifest: Path
    files: Path
    department: str | None = None


@dataclass(frozen=True)
class Problem:
    """One thing wrong: ``row`` is the sheet's row (1 is the header, 0 the manifest as a
    whole), ``column`` the column it is in."""

    row: int
    column: str
    message: str


@dataclass
class Tally:
    """What a check counted and found."""

    rows: int = 0
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Planned:
    """A row that passed the check: what its import stores."""

    number: int
    key: str
    customer_id: int | None
    new_customer: dict[str, Any] | None
    category: str
    title: str
    retention_class: str
    document_date: date | None
    filing_date: date
    old_number: str | None
    facts: dict[str, Any]
    path: Path
    filename: str
    sha256: str
    imported: ImportedRow | None


def open_file(path: Path) -> IO[bytes]:
    """The file, not through a symbolic link (the check refused links; one made since is
    not followed)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    return os.fdopen(fd, "rb")


def os_reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def field_of(exc: DomainError) -> str:
    return str(exc.details.get("field") or "")


def checked_rows(
    s: Session,
    settings: ArchiveSettings,
    by: Caller,
    source: Source,
    report: Tally,
    progress: Progress | None,
    stage: str,
    *,
    judge_files: bool = True,
) -> Generator[Planned, None, None]:
    """Check the manifest row by row, adding the problems to ``report``; yields each row
    that passed. Only reads."""
    categories = list(s.execute(select(Category)).scalars())
    fact_names = {f["name"] for c in categories for f in c.facts or []}
    if not source.files.is_dir():
        report.problems.append(Problem(0, "files", "the files folder does not exist"))
        return
    accepting = may(by, "document.review", None)
    if not accepting:  # each imported document is accepted: the caller must be able to
        report.problems.append(Problem(0, "", f"the import accepts: {accepting.reason}"))
        return
    try:
        header, rows = manifest.rows(source.manifest, fact_names)
    except (manifest.ManifestError, OSError) as exc:
        report.problems.append(Problem(0, "manifest", _message(exc)))
        return
    report.problems.extend(Problem(1, c, m) for c, m in header.problems)
    if header.problems:
        return
    checker = _RowCheck(s, settings, by, source, judge_files)
    seen = 0
    try:
        for row in rows:
            seen += 1
            report.rows = seen
            problems: list[Problem] = []
            planned = checker.check(row, problems)
            report.problems.extend(problems)
            if progress is not None and seen % 100 == 0:
                progress(seen, None, stage)
            if planned is not None and not problems:
                yield planned
    except manifest.ManifestError as exc:
        report.problems.append(Problem(seen + 2, "manifest", str(exc)))
    if report.rows == 0 and not report.problems:
        report.problems.append(Problem(0, "manifest", "the manifest has no rows"))
    if progress is not None:
        progress(seen, seen, stage)


def _message(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return f"the manifest cannot be read: {os_reason(exc)}"
    return str(exc)


class _RowCheck:
    """The check of one row against the archive and the rows before it."""

    def __init__(
        self,
        s: Session,
        settings: ArchiveSettings,
        by: Caller,
        source: Source,
        judge_files: bool = True,
    ) -> None:
        self.s, self.settings, self.by, self.source = s, settings, by, source
        # Without: the type and structure are not judged again (intake judges them as the
        # file is stored); the path, the size and the digest are.
        self.judge_files = judge_files
        self.root = source.files.resolve()
        self.shape = shape_of(settings.number_pattern)
        self.keys: dict[str, int] = {}
        self.files: dict[tuple[str, str], int] = {}
        self.new_customers: dict[str, int] = {}
        self.retention = {c: c for c in RETENTION_CLASSES.codes}
        for c in RETENTION_CLASSES.codes:
            self.retention.setdefault(settings.retention.code(c).upper(), c)

    def check(self, row: manifest.Row, problems: list[Problem]) -> Planned | None:
        n = row.number

        def problem(column: str, message: str) -> None:
            problems.append(Problem(n, column, message))

        for column, cell in row.cells.items():
            if cell.formula:
                problem(column, "the cell holds a formula: give its value instead")
        text = _Texts(row)
        category = self._category(text("category"), problem)
        retention_class = self._retention(text("retention_class"), problem)
        title = text("title")
        if not title:
            problem("title", "the title is empty")
        document_date = _date(row, "document_date", problem)
        filing_date = _date(row, "filing_date", problem) or document_date
        if filing_date is None and not any(p.column == "filing_date" for p in problems):
            problem("filing_date", "a filing date (or a document date) is required")
        customer, customer_key, new_customer = self._customer(text, problem)
        facts = {
            c.removeprefix(manifest.FACT_PREFIX): _fact_value(cell)
            for c, cell in row.cells.items()
            if c.startswith(manifest.FACT_PREFIX) and not cell.formula
        }
        up = documents.Upload(
            customer_id=customer.id if customer is not None and customer.id else 0,
            category=category.code if category is not None else "",
            title=title,
            retention_class=retention_class or "",
            document_date=document_date,
            filename="",
            stream=None,
            facts=facts,
        )
        if customer is not None and category is not None and retention_class and title:
            try:  # the upload's own check: the caller's right, the title, the facts
                if customer.id:
                    documents.check_upload(self.s, self.by, up)
                else:
                    documents.check_upload_for(self.s, self.by, customer, up)
            except DomainError as exc:
                problem(field_of(exc) or "customer", exc.message)
        found = self._file(text("file"), problem)
        old_number = text("old_number") or None
        key = (
            f"old:{old_number}"
            if old_number
            else "row:"
            + hashlib.sha256(
                json.dumps(
                    [customer_key, up.category, title, str(document_date), text("file")],
                    ensure_ascii=False,
                ).encode()
            ).hexdigest()
        )
        if len(key) > 128:
            problem("old_number", "the old number is too long")
        earlier = self.keys.setdefault(key, n)
        if earlier != n:
            problem("old_number" if old_number else "", f"the same row as row {earlier}")
        imported = self.s.execute(
            select(ImportedRow).where(ImportedRow.row_key == key)
        ).scalar_one_or_none()
        if old_number:
            self._old_number(old_number, imported, problem)
        if found is None:
            return None
        path, sha = found
        if imported is not None and imported.sha256 != sha:
            problem("file", f"row key {key[:80]} was imported before with another file")
        earlier = self.files.setdefault((customer_key, sha), n)
        if earlier != n:
            problem("file", f"the same file as row {earlier} for the same customer")
        if imported is None and customer is not None and customer.id:
            duplicate = self.s.execute(
                select(Document.id)
                .join(DocumentVersion, DocumentVersion.document_id == Document.id)
                .where(
                    Document.customer_id == customer.id,
                    DocumentVersion.sha256 == sha,
                    Document.status != DocumentStatus.DESTROYED,
                )
            ).first()
            if duplicate:
                problem(
                    "file", f"the same file is already in this customer's archive ({duplicate[0]})"
                )
        if problems or category is None or retention_class is None or filing_date is None:
            return None
        return Planned(
            number=n,
            key=key,
            customer_id=customer.id if customer is not None and customer.id else None,
            new_customer=new_customer,
            category=category.code,
            title=title,
            retention_class=retention_class,
            document_date=document_date,
            filing_date=filing_date,
            old_number=old_number,
            facts=facts,
            path=path,
            filename=intake.clean_filename(path.name),
            sha256=sha,
            imported=imported,
        )

    # ----------------------------------------------------------------- the columns

    def _category(self, code: str, problem: Callable[[str, str], None]) -> Category | None:
        try:
            return category_by_code(self.s, code)
        except DomainError as exc:
            problem("category", exc.message)
            return None

    def _retention(self, value: str, problem: Callable[[str, str], None]) -> str | None:
        found = self.retention.get(value) or self.retention.get(value.upper())
        if found is None:
            codes = ", ".join(sorted(self.retention))
            problem("retention_class", f"unknown retention class {value!r} (one of {codes})")
        return found

    def _customer(
        self, text: _Texts, problem: Callable[[str, str], None]
    ) -> tuple[Customer | None, str, dict[str, Any] | None]:
        """The customer a row names: by credit code, else by name; one to open when none
        has it (then also the fields it is opened with)."""
        name, code = text("customer"), text("credit_code")
        if not name and not code:
            problem("customer", "the row names no customer (name or credit code)")
            return None, "", None
        column, value = ("credit_code", code) if code else ("customer", name)
        key = f"{column}:{value}"
        ids = self._ids(Customer.credit_code == code) if code else []
        if code and not ids and name:
            # Not by its code: a customer of that name is it when its code is not recorded
            # (an archive opened without one); with another code it is someone else.
            ids = self._ids(Customer.name == name)
            if len(ids) == 1:
                other = self.s.get(Customer, ids[0])
                if other is not None and other.credit_code:
                    problem("credit_code", f"{name!r} has another credit code in the archive")
                    return None, key, None
        elif not code:
            ids = self._ids(Customer.name == name)
        if len(ids) > 1:
            problem(column, f"more than one customer has {column} {value!r}")
            return None, key, None
        if ids:
            return self.s.get(Customer, ids[0]), key, None
        if not name:
            problem("customer", f"no customer has credit code {code!r}; give a name to open one")
            return None, key, None
        fields: dict[str, Any] = {
            "name": name,
            "credit_code": code or None,
            "department": text("department") or self.source.department,
            "customer_type": text("customer_type") or None,
        }
        if not fields["department"]:
            problem("department", "a new customer needs a department (column or --department)")
            return None, key, None
        try:
            dept = department_by_code(self.s, fields["department"])
            fields["customer_type"] = CUSTOMER_TYPES.check(
                fields["customer_type"], "customer_type", default=CUSTOMER_TYPES.default
            )
        except DomainError as exc:
            problem(field_of(exc) or "department", exc.message)
            return None, key, None
        if not may(self.by, "customer.create", dept.id):
            problem("customer", f"not allowed to open a customer's archive in {dept.code}")
            return None, key, None
        # Not stored: what the upload's check asks of a customer (its department).
        return Customer(name=name, department_id=dept.id, department=dept), key, fields

    def _ids(self, where: Any) -> list[int]:
        return list(self.s.execute(select(Customer.id).where(where).limit(2)).scalars())

    def _old_number(
        self, number: str, imported: ImportedRow | None, problem: Callable[[str, str], None]
    ) -> None:
        if len(number) > NUMBER_LIMIT:
            problem("old_number", f"the old number is longer than {NUMBER_LIMIT} characters")
            return
        if self.shape.fullmatch(number):
            problem(
                "old_number",
                "the old number has the shape of this archive's own numbers "
                f"({self.settings.number_pattern.text}): it could meet a new one",
            )
        taken = self.s.get(ArchiveNumber, number)
        if taken is not None and (imported is None or taken.document_id != imported.document_id):
            problem("old_number", f"the number {number} is already a document's number")

    def _file(self, raw: str, problem: Callable[[str, str], None]) -> tuple[Path, str] | None:
        """The row's file under --files: no absolute path, no ``..``, no symbolic link on
        the way; a regular file intake would take (type by its bytes, size), with its
        SHA-256."""
        rel = raw.replace("\\", "/")
        if not rel:
            problem("file", "the file path is empty")
            return None
        pure = PurePosixPath(rel)
        if pure.is_absolute() or (len(rel) > 1 and rel[1] == ":"):
            problem("file", "the path must be relative to --files")
            return None
        if ".." in pure.parts:
            problem("file", "the path leaves --files (..)")
            return None
        path = self.root
        for part in pure.parts:
            path = path / part
            if path.is_symlink():
                problem("file", "the path goes through a symbolic link")
                return None
        if not path.resolve().is_relative_to(self.root):
            problem("file", "the path leaves --files")
            return None
        if not path.exists():
            problem("file", "no such file")
            return None
        if not path.is_file():
            problem("file", "not a regular file")
            return None
        limits = self.settings.intake
        try:
            size = path.stat().st_size
            if size > limits.max_bytes:
                problem("file", f"the file is larger than {limits.max_bytes} bytes")
                return None
            with open_file(path) as f:
                if self.judge_files:
                    head = f.read(intake.SNIFF_BYTES)
                    name = intake.clean_filename(path.name)
                    sniffed = intake.sniff(head, name, limits.allowed_types)
                    f.seek(0)
                    containers.check(f, sniffed.content_type)
                    f.seek(0)
                sha = hashlib.sha256()
                while chunk := f.read(manifest.READ_CHUNK):
                    sha.update(chunk)
        except intake.Refused as exc:
            problem("file", exc.message)
            return None
        except containers.NotWhatItClaims as exc:
            problem("file", f"the file is not what its name claims: {exc}")
            return None
        except OSError as exc:
            problem("file", f"the file cannot be read: {os_reason(exc)}")
            return None
        return path, sha.hexdigest()


class _Texts:
    """A row's cells as trimmed text ('' for an empty cell or a formula)."""

    def __init__(self, row: manifest.Row) -> None:
        self.row = row

    def __call__(self, column: str) -> str:
        cell = self.row.cells.get(column)
        if cell is None or cell.formula or cell.value is None:
            return ""
        value = cell.value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, date):
            return value.isoformat()
        return str(value).strip()


def _date(row: manifest.Row, column: str, problem: Callable[[str, str], None]) -> date | None:
    cell = row.cells.get(column)
    if cell is None or cell.formula or cell.value in (None, ""):
        return None
    value: date | None = None
    if isinstance(cell.value, date):
        value = cell.value
    else:
        text = str(cell.value).strip()
        for fmt in DATE_FORMATS:
            try:
                value = datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date
                break
            except ValueError:
                continue
        if value is None:
            problem(column, f"not a date: {text[:40]!r} (use YYYY-MM-DD)")
            return None
    if value > utcnow().date():
        problem(column, f"the date {value.isoformat()} is in the future")
        return None
    return value


def _fact_value(cell: manifest.Cell) -> Any:
    if isinstance(cell.value, date):
        return cell.value.isoformat()
    if isinstance(cell.value, float) and cell.value.is_integer():
        return str(int(cell.value))
    return cell.value if cell.value is None else str(cell.value)
