"""Reading import manifests (archive.manifest): headers, encodings, formulas, streaming."""

from __future__ import annotations

import csv
import tracemalloc
from pathlib import Path

import pytest
from openpyxl import Workbook

from archive_service.archive import manifest
from archive_service.archive.numbering import DEFAULT_PATTERN, NumberPattern, shape_of

HEADER = ["客户名称", "类别", "题名", "保管期限", "文件路径", "contract_number"]


def test_headers_in_chinese_or_english_and_fact_columns() -> None:
    header = manifest.read_header([*HEADER, "fact.valid_until"], {"contract_number", "valid_until"})
    assert header.columns == [
        "customer",
        "category",
        "title",
        "retention_class",
        "file",
        "fact.contract_number",
        "fact.valid_until",
    ]
    assert header.problems == []


def test_unknown_twice_and_missing_columns_are_problems() -> None:
    header = manifest.read_header(["title", "题名", "colour", "file"], set())
    assert {c for c, _ in header.problems} == {"题名", "colour", "category", "retention_class",
                                               "customer"}  # fmt: skip


def test_a_chinese_csv_of_excel_is_read_as_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "目录.csv"
    path.write_bytes(
        ",".join(HEADER).encode("gb18030") + b"\r\n" + "华夏,a,题,b,c,d".encode("gb18030")
    )
    assert manifest.encoding_of(path) == "gb18030"
    header, rows = manifest.rows(path, {"contract_number"})
    assert not header.problems
    assert [r.cells["customer"].value for r in rows] == ["华夏"]


def test_a_utf8_bom_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(",".join(HEADER) + "\n华夏,a,=1+1,b,c,d\n", encoding="utf-8-sig")
    header, rows = manifest.rows(path, {"contract_number"})
    assert header.columns[0] == "customer"
    (row,) = rows
    # In a CSV file a leading "=" is text: nothing evaluates it.
    assert row.cells["title"] == manifest.Cell("=1+1") and row.number == 2


def test_an_excel_formula_is_marked_not_evaluated(tmp_path: Path) -> None:
    book = Workbook()
    book.active.append(HEADER)
    book.active.append(["华夏", "basic.profile", "=A1&A1", "short", "a.pdf", None])
    path = tmp_path / "m.xlsx"
    book.save(path)
    _header, rows = manifest.rows(path, {"contract_number"})
    (row,) = rows
    assert row.cells["title"] == manifest.Cell("=A1&A1", formula=True)
    assert not row.cells["customer"].formula


def test_not_a_workbook_is_a_manifest_error(tmp_path: Path) -> None:
    path = tmp_path / "m.xlsx"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(manifest.ManifestError):
        manifest.rows(path, set())


def test_a_100000_row_sheet_is_streamed_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(100_000):
            out.writerow(
                [f"客户{i}", "basic.profile", f"题名 {i} " + "x" * 40, "short", f"{i}.pdf", ""]
            )
    size = path.stat().st_size
    tracemalloc.start()
    try:
        _header, rows = manifest.rows(path, set())
        count = sum(1 for _ in rows)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak < size / 4, (peak, size)  # a few rows at a time, never the sheet


def test_report_cells_are_not_formulas_to_a_spreadsheet() -> None:
    assert manifest.spreadsheet_safe("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert manifest.spreadsheet_safe("row 3") == "row 3"


def test_the_shape_of_the_archive_s_own_numbers() -> None:
    shape = shape_of(NumberPattern(DEFAULT_PATTERN))
    assert shape.fullmatch("K001202301")
    assert not shape.fullmatch("WS-2019-001")
    dat = shape_of(NumberPattern("{fonds}-{category}·{year}-{retention}-{seq:4}"))
    assert dat.fullmatch("Q001-K·2019-D10-0003") and not dat.fullmatch("Q001-K-2019")
