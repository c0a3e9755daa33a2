"""Office documents and text through LibreOffice: PDFs to render from, and nothing else.

Skipped when ``soffice`` is not installed, unless ``ARCHIVE_TEST_REQUIRE_PG=1`` (CI), which
makes a missing LibreOffice a failure.
"""

from __future__ import annotations

import http.server
import io
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from archive_service.viewing import (
    RenderError,
    Watermark,
    page_count,
    prepare,
    render_page,
)
from search import office as render_office
from tests.conftest import unavailable
from tests.viewing import files

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
WATERMARK = Watermark(
    "王检察官", "上海市人民检察院", datetime(2025, 5, 1, 9, 30, tzinfo=UTC), "S17"
)
A4 = (595.3, 841.9)


@pytest.fixture(scope="module", autouse=True)
def soffice() -> str:
    path = render_office.soffice_path()
    if path is None:
        unavailable(
            "LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui "
            "libreoffice-calc-nogui libreoffice-impress-nogui"
        )
    return path


@pytest.fixture()
def work_dir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def _source(work_dir: Path, data: bytes) -> Path:
    # Like the caller's decrypted plaintext: inside the work dir, a name without meaning.
    path = work_dir / "plaintext"
    path.write_bytes(data)
    return path


def _pdf_text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    try:
        return "".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


def _pdf_size(path: Path) -> tuple[float, float]:
    doc = pdfium.PdfDocument(str(path))
    try:
        return tuple(doc[0].get_size())  # type: ignore[return-value]
    finally:
        doc.close()


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text.encode() in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.fixture(scope="module")
def legacy(soffice: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """.doc, .xls and .ppt files, made by LibreOffice itself from the hand-built OOXML."""
    root = tmp_path_factory.mktemp("legacy")
    made = {}
    for name, data, target in [
        ("sample.docx", files.docx(["客户档案 旧格式"]), "doc"),
        ("sample.xlsx", files.xlsx([["客户", "旧格式"]]), "xls"),
        ("sample.pptx", files.pptx("客户档案 旧格式"), "ppt"),
    ]:
        (root / name).write_bytes(data)
        subprocess.run(
            [
                soffice,
                "--headless",
                "--norestore",
                f"-env:UserInstallation={(root / 'profile').as_uri()}",
                "--convert-to",
                target,
                "--outdir",
                str(root),
                str(root / name),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        made[target] = (root / f"sample.{target}").read_bytes()
    return made


def test_a_chinese_docx_becomes_a_pdf_that_renders(work_dir: Path) -> None:
    source = _source(work_dir, files.docx(["客户档案 第一页", "统一社会信用代码 91310000"]))
    started = time.monotonic()
    prepared = prepare(source, DOCX, work_dir)
    elapsed = time.monotonic() - started
    assert prepared.suffix == ".pdf" and prepared.is_relative_to(work_dir)
    assert "客户档案 第一页" in _pdf_text(prepared)
    assert page_count(prepared, DOCX) >= 1
    img = Image.open(io.BytesIO(render_page(prepared, DOCX, 1, WATERMARK)))
    assert img.width == 1240
    # Only the PDF is left: the copy LibreOffice read, its profile and temp files are gone.
    left = {p.relative_to(work_dir).as_posix() for p in work_dir.rglob("*") if p.is_file()}
    assert left == {"plaintext", prepared.relative_to(work_dir).as_posix()}
    assert elapsed < 60


@pytest.mark.parametrize(
    ("content_type", "make", "expected"),
    [
        (XLSX, lambda: files.xlsx([["客户名称", "信用等级"], ["上海某公司", "AA"]]), "上海某公司"),
        (PPTX, lambda: files.pptx("客户档案 演示"), "客户档案 演示"),
    ],
)
def test_spreadsheets_and_presentations_become_pdfs(
    work_dir: Path, content_type: str, make: object, expected: str
) -> None:
    prepared = prepare(_source(work_dir, make()), content_type, work_dir)  # type: ignore[operator]
    assert expected in _pdf_text(prepared)
    assert page_count(prepared, content_type) >= 1


@pytest.mark.parametrize(
    ("target", "content_type"),
    [
        ("doc", "application/msword"),
        ("xls", "application/vnd.ms-excel"),
        ("ppt", "application/vnd.ms-powerpoint"),
        ("doc", "application/wps-office.wps"),  # WPS's binary format is Word's
    ],
)
def test_legacy_office_formats_become_pdfs(
    work_dir: Path, legacy: dict[str, bytes], target: str, content_type: str
) -> None:
    prepared = prepare(_source(work_dir, legacy[target]), content_type, work_dir)
    assert "旧格式" in _pdf_text(prepared)


def test_opendocument_becomes_a_pdf_and_an_encrypted_docx_is_refused(work_dir: Path) -> None:
    from tests.office_samples import ODT, encrypted_docx, odf

    prepared = prepare(_source(work_dir, odf(ODT, "客户档案 开放文档")), ODT, work_dir)
    assert "客户档案 开放文档" in _pdf_text(prepared)
    with pytest.raises(RenderError, match="password-protected"):
        prepare(_source(work_dir, encrypted_docx()), DOCX, work_dir)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_chinese_plain_text_becomes_an_a4_pdf(work_dir: Path, encoding: str) -> None:
    text = "客户档案 查阅记录\nSecond line: 上海市人民检察院\n"
    prepared = prepare(_source(work_dir, text.encode(encoding)), "text/plain", work_dir)
    content = _pdf_text(prepared)
    assert "客户档案 查阅记录" in content and "上海市人民检察院" in content
    assert _pdf_size(prepared) == pytest.approx(A4, abs=1)
    img = Image.open(io.BytesIO(render_page(prepared, "text/plain", 1, WATERMARK)))
    assert img.width == 1240


def test_csv_cells_are_shown_and_formulas_not_evaluated(work_dir: Path) -> None:
    data = "客户名称;金额;备注\n上海某公司;100;=1+1\n".encode()
    prepared = prepare(_source(work_dir, data), "text/csv", work_dir)
    content = _pdf_text(prepared)
    assert "上海某公司" in content and "=1+1" in content
    assert "客户名称;" not in content  # the semicolon was recognised as the separator


def test_a_pdf_or_image_is_used_as_it_is(work_dir: Path) -> None:
    source = _source(work_dir, files.pdf(["Hello"]))
    assert prepare(source, "application/pdf", work_dir) == source
    assert prepare(source, "image/png", work_dir) == source  # checked when rendered


def test_garbage_and_disguised_documents_are_refused(work_dir: Path) -> None:
    with pytest.raises(RenderError, match="could not convert") as caught:
        prepare(_source(work_dir, os.urandom(4096)), DOCX, work_dir)
    assert str(work_dir) not in str(caught.value)
    # An HTML page posing as .docx would be loaded by the web importer (which fetches
    # remote images) if LibreOffice were left to detect the type.
    html = b"<html><body><p>not a word file</p></body></html>"
    with pytest.raises(RenderError, match="could not convert"):
        prepare(_source(work_dir, html), DOCX, work_dir)
    assert [p.name for p in work_dir.iterdir()] == ["plaintext"]


def test_a_conversion_that_takes_too_long_is_killed(work_dir: Path) -> None:
    source = _source(work_dir, files.docx(["客户档案"] * 200))
    started = time.monotonic()
    with pytest.raises(RenderError, match="longer than"):
        prepare(source, DOCX, work_dir, timeout=0.3)
    assert time.monotonic() - started < 10
    deadline = time.monotonic() + 5
    while _processes_mentioning(str(work_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_mentioning(str(work_dir)) == []
    assert [p.name for p in work_dir.iterdir()] == ["plaintext"]


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []  # shared on purpose: one server per test

    def _record(self) -> None:
        self.requests.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.end_headers()

    do_GET = do_HEAD = do_OPTIONS = do_PROPFIND = _record

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def listener() -> Iterator[tuple[str, list[str]]]:
    _Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.requests
    server.shutdown()
    server.server_close()


def test_a_document_cannot_make_libreoffice_fetch_a_url(
    work_dir: Path, listener: tuple[str, list[str]]
) -> None:
    """A linked picture would tell its author who opened the document, and when."""
    url, requests = listener
    source = _source(work_dir, files.docx(["客户档案"], image_link=f"{url}/pixel.png"))
    prepared = prepare(source, DOCX, work_dir)
    assert "客户档案" in _pdf_text(prepared)
    assert requests == []


def test_libreoffice_gets_none_of_the_web_process_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ARCHIVE_MASTER_KEY", "do-not-leak")
    env = render_office._environment(tmp_path / "profile", tmp_path / "tmp")
    assert "ARCHIVE_MASTER_KEY" not in env
    assert env["TMPDIR"] == str(tmp_path / "tmp")


def test_without_libreoffice_office_files_are_a_render_error(
    work_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_office, "soffice_path", lambda: None)
    with pytest.raises(RenderError, match="not installed"):
        prepare(_source(work_dir, files.docx(["x"])), DOCX, work_dir)
