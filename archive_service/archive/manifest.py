"""Reading an import manifest (导入目录): an Excel workbook (its first sheet) or a CSV file
(UTF-8 with or without a BOM, else GB18030), one document per row after a header row.

Rows are streamed: a 100,000-row sheet is never held whole (openpyxl's read-only mode, the
csv module over the open file). A cell holding a formula is never evaluated: it is
reported (its text is no data of the old archive). Pure reading — nothing here knows the
database.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

# Each column the import reads, and the headers that name it (English code or Chinese).
COLUMNS: dict[str, tuple[str, ...]] = {
    "customer": ("customer", "customer_name", "客户", "客户名称"),
    "credit_code": ("credit_code", "统一社会信用代码", "信用代码"),
    "customer_type": ("customer_type", "客户类型"),
    "department": ("department", "部门", "所属部门"),
    "category": ("category", "类别", "档案类别"),
    "title": ("title", "题名"),
    "document_date": ("document_date", "文件日期", "形成时间", "形成日期"),
    "filing_date": ("filing_date", "归档日期"),
    "old_number": ("old_number", "原档号"),
    "retention_class": ("retention_class", "保管期限"),
    "file": ("file", "path", "文件", "文件路径"),
}
REQUIRED = ("category", "title", "retention_class", "file")
FACT_PREFIX = "fact."
_HEADER_OF = {alias.lower(): column for column, aliases in COLUMNS.items() for alias in aliases}
READ_CHUNK = 1 << 20
DECODE_CHUNK = 1 << 16


class ManifestError(Exception):
    """The manifest cannot be read at all (not a workbook, no header row …)."""


@dataclass(frozen=True)
class Cell:
    """A cell's value as read: text, a date (Excel dates), a number, or None (empty);
    ``formula`` when the cell holds one (its value is then the formula's text)."""

    value: str | date | int | float | None
    formula: bool = False


@dataclass(frozen=True)
class Row:
    number: int  # the row's number in the sheet (the header is row 1)
    cells: dict[str, Cell]  # column (a COLUMNS key, or ``fact.<name>``) → cell


@dataclass(frozen=True)
class Header:
    """The header row: which column each position holds; the problems it has."""

    columns: list[str | None]
    problems: list[tuple[str, str]]  # (column, problem)


def digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(READ_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def read_header(raw: list[Any], fact_names: set[str]) -> Header:
    """Map the header cells to columns: a known header (English or Chinese), a fact name of
    some category (or ``fact.<name>``); anything else, a column twice or a required column
    missing is a problem."""
    columns: list[str | None] = []
    problems: list[tuple[str, str]] = []
    for cell in raw:
        text = str(cell).strip() if cell is not None else ""
        if not text:
            columns.append(None)
            continue
        key = text.lower()
        column = _HEADER_OF.get(key)
        if column is None:
            name = key.removeprefix(FACT_PREFIX)
            if name in fact_names:
                column = FACT_PREFIX + name
        if column is None:
            problems.append((text, f"unknown column {text!r}"))
        elif column in columns:
            problems.append((text, f"column {text!r} appears twice"))
            column = None
        columns.append(column)
    for column in REQUIRED:
        if column not in columns:
            problems.append((column, f"the required column {column!r} is missing"))
    if "customer" not in columns and "credit_code" not in columns:
        problems.append(("customer", "a customer or credit_code column is required"))
    return Header(columns, problems)


def rows(path: Path, fact_names: set[str]) -> tuple[Header, Iterator[Row]]:
    """The header and an iterator over the data rows (blank rows left out)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        raw = _xlsx_rows(path)
    elif suffix in (".csv", ".txt"):
        raw = _csv_rows(path)
    else:
        raise ManifestError("the manifest must be an .xlsx or a .csv file")
    try:
        first = next(raw)
    except StopIteration:
        raise ManifestError("the manifest is empty (no header row)") from None
    header = read_header([c.value for c in first[1]], fact_names)

    def data() -> Iterator[Row]:
        for number, cells in raw:
            if all(c.value in (None, "") for c in cells):
                continue
            out: dict[str, Cell] = {}
            for i, column in enumerate(header.columns):
                if column is not None and i < len(cells):
                    out[column] = cells[i]
            yield Row(number, out)

    return header, data()


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[Cell]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # data_only=False: a formula comes back as its text and its kind, never evaluated
        book = load_workbook(path, read_only=True, data_only=False)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise ManifestError(f"not a readable Excel workbook: {type(exc).__name__}") from exc
    except Exception as exc:  # noqa: BLE001 - zipfile and XML errors of a damaged file
        raise ManifestError(f"not a readable Excel workbook: {type(exc).__name__}") from exc
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(), start=1):
            yield number, [_xlsx_cell(c) for c in row]
    finally:
        book.close()


def _xlsx_cell(cell: Any) -> Cell:
    value = getattr(cell, "value", None)
    if getattr(cell, "data_type", None) == "f":
        return Cell(str(value), formula=True)
    if isinstance(value, datetime):
        return Cell(value.date())
    if isinstance(value, str | date | int | float) or value is None:
        return Cell(value)
    return Cell(str(value))


def encoding_of(path: Path) -> str:
    """UTF-8 (a BOM is dropped) when the whole file decodes as UTF-8, else GB18030 (what
    Excel and WPS write for a Chinese CSV); read in chunks, never whole."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            while chunk := f.read(DECODE_CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _csv_rows(path: Path) -> Iterator[tuple[int, list[Cell]]]:
    encoding = encoding_of(path)
    try:
        with path.open(encoding=encoding, newline="") as f:
            # A CSV cell starting with "=" is text: nothing here evaluates it, and the
            # report escapes it (report_csv) so a spreadsheet does not either.
            for number, cells in enumerate(csv.reader(f), start=1):
                yield number, [Cell(c) for c in cells]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ManifestError(f"the CSV file cannot be read: {exc}") from exc


def spreadsheet_safe(text: str) -> str:
    """A cell of a report CSV that a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
