"""Text of legacy Office, RTF, OpenDocument and WPS files (through LibreOffice in the limited
child) and of OFD (its pages' TextCode); and the bad ones — an OFD zip bomb, an OFD whose
page content is missing, a truncated .doc, a password-protected DOCX — each end as a
recorded, readable failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.extract import DOCX, OFD, PARSE_ERROR, extract
from tests.office_samples import ODT, WORDS, encrypted_docx, odf, ofd, ofd_bomb, rtf
from tests.office_samples import legacy as legacy  # noqa: F401 - the fixture


def _file(tmp_path: Path, data: bytes) -> Path:
    # The service's temp files have no extension: nothing may depend on one.
    path = tmp_path / "extract-abc123"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [
        ("doc", "application/msword"),
        ("xls", "application/vnd.ms-excel"),
        ("ppt", "application/vnd.ms-powerpoint"),
        # .wps is the .doc path (the API test files one), .et and .dps those of .xls and .ppt
    ],
)
def test_binary_office_and_wps_text(
    tmp_path: Path,
    legacy: dict[str, bytes],  # noqa: F811
    kind: str,
    content_type: str,
) -> None:
    result = extract(_file(tmp_path, legacy[kind]), content_type)
    assert result.error is None, result.error
    assert WORDS[kind] in (result.text or "")
    assert [p.name for p in tmp_path.iterdir()] == ["extract-abc123"]  # nothing left behind


@pytest.mark.parametrize(
    ("data", "content_type", "words"),
    [
        pytest.param(rtf("客户投诉处理记录"), "application/rtf", "客户投诉处理记录", id="rtf"),
        pytest.param(odf(ODT, "营业执照副本"), ODT, "营业执照副本", id="odt"),
        # .ods and .odp take the same path (LibreOffice to XLSX/PPTX): left out for time
    ],
)
def test_rtf_and_opendocument_text(
    tmp_path: Path, data: bytes, content_type: str, words: str
) -> None:
    result = extract(_file(tmp_path, data), content_type)
    assert result.error is None, result.error
    assert words in (result.text or "")


def test_ofd_text_page_by_page(tmp_path: Path) -> None:
    data = ofd(
        ["增值税电子普通发票", "购买方：华夏贸易有限公司"],
        ["价税合计：壹仟贰佰元整"],
        template="国家税务总局监制",
    )
    result = extract(_file(tmp_path, data), OFD)
    assert result.error is None, result.error
    text = result.text or ""
    assert "增值税电子普通发票" in text and "价税合计" in text
    assert text.index("华夏贸易") < text.index("壹仟贰佰元整")
    assert text.count("国家税务总局监制") == 2  # the template's text, on each page


def test_ofd_positions_and_spacing() -> None:
    from search.ofd import _deltas

    assert _deltas("g 3 2.5 1 g 2 0.5") == (2.5, 2.5, 2.5, 1.0, 0.5, 0.5)
    assert _deltas("1 x") == ()


def test_a_newer_wps_file_that_is_ooxml_is_read_without_libreoffice(tmp_path: Path) -> None:
    from tests import samples

    result = extract(_file(tmp_path, samples.word("售后服务承诺")), "application/wps-office.wps")
    assert result.error is None and "售后服务承诺" in (result.text or "")


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(ofd_bomb(), "zip bomb", id="ofd-zip-bomb"),
        pytest.param(ofd(["第一页"], ["第二页"], missing_content=True), "missing", id="no-content"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 200, "OFD", id="not-a-zip"),
    ],
)
def test_bad_ofd_files_are_readable_failures(tmp_path: Path, data: bytes, words: str) -> None:
    result = extract(_file(tmp_path, data), OFD, timeout=20, memory_mb=512)
    assert result.text is None and result.reason == PARSE_ERROR
    assert words in (result.error or ""), result.error


def test_a_truncated_doc_is_a_readable_failure(
    tmp_path: Path,
    legacy: dict[str, bytes],  # noqa: F811
) -> None:
    data = legacy["doc"]
    result = extract(_file(tmp_path, data[: len(data) // 3]), "application/msword", timeout=30)
    # LibreOffice either gives up (a recorded failure) or reads what is there.
    if result.text is None:
        assert result.reason == PARSE_ERROR and result.error, result
    else:
        assert result.error is None


def test_a_password_protected_docx_says_it_is_encrypted(tmp_path: Path) -> None:
    result = extract(_file(tmp_path, encrypted_docx()), DOCX)
    assert result.text is None and result.reason == PARSE_ERROR
    assert "encrypted" in (result.error or "")
