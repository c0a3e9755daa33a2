"""Extraction of every supported format, and of hostile files, in the limited child."""

from __future__ import annotations

import time
import zipfile
from email.message import EmailMessage
from pathlib import Path

import pytest

from search import extract
from search.extract import DOCX, PPTX, XLSX, decode_text
from tests.conftest import break_sandbox

CHINESE = "客户档案管理：采购合同已签订，付款条件为货到后三十日内。"


def _pdf(path: Path, lines: list[str]) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for number, line in enumerate(lines):
        pdf.setFont("STSong-Light", 12)
        pdf.drawString(72, 760, line)
        pdf.drawString(72, 740, f"Page {number + 1} contract HT-2023-001")
        pdf.showPage()
    pdf.save()
    return path


def test_pdf_with_chinese_text(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "a.pdf", [CHINESE, "第二页：投诉处理记录"])
    result = extract(path, "application/pdf", timeout=60)
    assert result.error is None, result.error
    text = result.text or ""
    assert "采购合同" in text
    assert "投诉处理记录" in text
    assert "HT-2023-001" in text
    assert not result.truncated


def test_docx_paragraphs_tables_and_headers(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph(CHINESE)
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "合同编号"
    table.cell(0, 1).text = "HT-2023-001"
    document.sections[0].header.paragraphs[0].text = "内部资料"
    document.save(str(tmp_path / "a.docx"))
    result = extract(tmp_path / "a.docx", DOCX)
    assert result.error is None, result.error
    assert "采购合同" in (result.text or "")
    assert "HT-2023-001" in (result.text or "")
    assert "内部资料" in (result.text or "")


def test_xlsx_cells(tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "对账单"
    sheet.append(["客户", "金额"])
    sheet.append(["深圳鼎盛贸易有限公司", 12345.5])
    workbook.save(tmp_path / "a.xlsx")
    result = extract(tmp_path / "a.xlsx", XLSX)
    assert result.error is None, result.error
    assert "深圳鼎盛贸易有限公司" in (result.text or "")
    assert "12345.5" in (result.text or "")
    assert "对账单" in (result.text or "")
    # The service extracts from a temp file without an extension (openpyxl used to refuse).
    (tmp_path / "a.xlsx").rename(tmp_path / "extract-abc123")
    nameless = extract(tmp_path / "extract-abc123", XLSX)
    assert nameless.error is None and "深圳鼎盛贸易有限公司" in (nameless.text or "")


def test_pptx_text_and_notes(tmp_path: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "年度审计报告"
    slide.placeholders[1].text = CHINESE
    slide.notes_slide.notes_text_frame.text = "备注：保密"
    deck.save(str(tmp_path / "a.pptx"))
    result = extract(tmp_path / "a.pptx", PPTX)
    assert result.error is None, result.error
    for expected in ("年度审计报告", "采购合同", "备注：保密"):
        assert expected in (result.text or "")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "big5"])
def test_text_encodings(tmp_path: Path, encoding: str) -> None:
    content = "客戶檔案，合同編號 HT-2023-001，付款完成。\n" if encoding == "big5" else CHINESE
    path = tmp_path / f"a-{encoding}.txt"
    path.write_bytes((content * 20).encode(encoding))
    result = extract(path, "text/plain")
    assert result.error is None, result.error
    assert (result.text or "").startswith(content.strip()[:10])
    assert content.strip() in (result.text or "")


def test_big5_and_gbk_are_told_apart() -> None:
    traditional = "本公司與客戶簽訂採購合同，請於三十日內付款，逾期將收取滯納金。"
    simplified = "本公司与客户签订采购合同，请于三十日内付款，逾期将收取滞纳金。"
    assert decode_text(traditional.encode("big5")) == traditional
    assert decode_text(simplified.encode("gbk")) == simplified


def test_csv(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_bytes("客户,金额\n上海华信,100\n".encode("gb18030"))
    result = extract(path, "text/csv")
    assert "上海华信" in (result.text or "")


def test_html_visible_text_only(tmp_path: Path) -> None:
    path = tmp_path / "a.html"
    path.write_text(
        "<html><head><style>p{color:red}</style><script>var x='隐藏';</script></head>"
        f"<body><h1>通知</h1><p>{CHINESE}</p><p>A &amp; B</p></body></html>",
        encoding="utf-8",
    )
    result = extract(path, "text/html; charset=utf-8")
    text = result.text or ""
    assert "通知" in text and "采购合同" in text and "A & B" in text
    assert "隐藏" not in text and "color" not in text


def test_eml_headers_and_body(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "关于采购合同的回复"
    message["From"] = "sales@example.com"
    message["To"] = "legal@example.com"
    message.set_content("附件为合同扫描件，请查收。", charset="gb18030")
    message.add_alternative("<p>附件为<b>合同扫描件</b></p>", subtype="html")
    message.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="scan.pdf")
    path = tmp_path / "a.eml"
    path.write_bytes(message.as_bytes())
    result = extract(path, "message/rfc822")
    text = result.text or ""
    assert result.error is None, result.error
    assert "关于采购合同的回复" in text
    assert "附件为合同扫描件" in text
    assert "scan.pdf" in text


@pytest.mark.parametrize("content_type", ["application/x-ole-storage", "application/x-foo", ""])
def test_unsupported_types(tmp_path: Path, content_type: str) -> None:
    path = tmp_path / "a.bin"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    result = extract(path, content_type)
    assert result.text is None
    assert result.error is not None and result.error.startswith("unsupported")
    assert result.reason == "unsupported"


def test_text_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("合同" * 10_000, encoding="utf-8")
    result = extract(path, "text/plain", max_chars=1000)
    assert result.truncated
    assert result.text == "合同" * 500


# --------------------------------------------------------------------------- hostile files


def test_zip_bomb_posing_as_docx(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(1024):  # 1 GiB of zeros, ~1 MiB compressed
                member.write(chunk)
    assert path.stat().st_size < 10 * 1024 * 1024
    started = time.monotonic()
    result = extract(path, DOCX, timeout=30, memory_mb=512)
    assert result.text is None
    assert result.error is not None and "zip bomb" in result.error
    assert result.reason == "parse_error"
    assert time.monotonic() - started < 30


def test_garbage_with_a_pdf_content_type(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_bytes(b"MZ\x90\x00" + bytes(range(256)) * 100)
    result = extract(path, "application/pdf", timeout=30)
    assert result.text is None
    assert result.error is not None


def test_pdf_with_a_page_tree_loop(tmp_path: Path) -> None:
    """A page tree whose node lists itself as its own kid: never more than the timeout."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length 0 >>\nstream\n\nendstream",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    body += f"startxref\n{xref}\n%%EOF\n".encode()
    path = tmp_path / "loop.pdf"
    path.write_bytes(body)
    started = time.monotonic()
    result = extract(path, "application/pdf", timeout=10)
    assert time.monotonic() - started < 30
    # pypdf detects the loop: a recorded parse failure, not a timeout or a crash.
    assert result.text is None
    assert result.error is not None and result.error.startswith("parse error"), result.error
    assert "cyclic" in result.error


def test_a_slow_parse_is_cut_at_the_timeout(tmp_path: Path) -> None:
    # ~5 s to parse on a fast machine: ten times the timeout, whatever the machine.
    path = _pdf(tmp_path / "long.pdf", ["采购合同" * 20] * 4000)
    started = time.monotonic()
    result = extract(path, "application/pdf", timeout=0.5)
    assert time.monotonic() - started < 15
    assert result.text is None
    assert result.error is not None and result.error.startswith("timeout")
    assert result.reason == "timeout"


def test_200_mb_text_file_is_truncated_within_limits(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    line = ("客户投诉处理记录，合同编号 HT-2023-001。" * 10 + "\n").encode("utf-8")
    with open(path, "wb") as handle:
        for _ in range((200 * 1024 * 1024) // len(line) + 1):
            handle.write(line)
    assert path.stat().st_size >= 200 * 1024 * 1024
    result = extract(path, "text/plain", timeout=60, memory_mb=512, max_chars=1_000_000)
    assert result.error is None, result.error
    assert result.truncated
    assert len(result.text or "") == 1_000_000


def test_memory_limit_is_a_recorded_failure(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes("合同".encode() * (30 * 1024 * 1024))  # 180 MB
    result = extract(path, "text/plain", memory_mb=200, max_chars=100_000_000)
    assert result.text is None
    assert result.error is not None and result.error.startswith("memory")
    assert result.reason == "memory"


def test_a_sandbox_that_cannot_start_is_its_own_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installation without the child script (a broken image): nothing was parsed, and
    the failure says so, so the service can retry it instead of blaming the file."""
    break_sandbox(monkeypatch, tmp_path / "missing")
    path = tmp_path / "a.txt"
    path.write_text("合同", encoding="utf-8")
    result = extract(path, "text/plain")
    assert result.text is None and result.reason == "sandbox_start"
    assert result.error is not None and result.error.startswith("sandbox could not start")


def test_a_parse_timeout_a_codec_reworded_is_still_a_timeout() -> None:
    # CI saw the alarm fire inside pypdf's cp1252 decode: Python rewrites the message of an
    # exception raised inside a codec, and that run was recorded as a parse error.
    from search.extract import TIMEOUT, _failure
    from search.sandbox import SandboxError

    reworded = SandboxError(
        "ParseTimeout: decoding with 'cp1252' codec failed "
        "(ParseTimeout: the parse took longer than its limit)"
    )
    reason, error = _failure(reworded)
    assert reason == TIMEOUT and error.startswith("timeout")
    assert _failure(SandboxError("KeyError: '/Root'"))[0] != TIMEOUT
