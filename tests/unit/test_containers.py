"""What a container must hold to be the type it claims (archive/containers.py)."""

from __future__ import annotations

import io
import zipfile

import pytest

from archive_service.archive import containers
from archive_service.archive.intake import ZIP_OFFICE
from tests import samples

DOCX, XLSX, PPTX = ZIP_OFFICE[".docx"], ZIP_OFFICE[".xlsx"], ZIP_OFFICE[".pptx"]
WORD_MAIN = containers.OOXML_MAIN_PART[DOCX]


def refusal(data: bytes, content_type: str) -> str | None:
    stream = io.BytesIO(data)
    try:
        containers.check(stream, content_type)
    except containers.NotWhatItClaims as exc:
        return exc.code
    finally:
        assert stream.tell() == 0  # the stream is left where it was
    return None


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (samples.docx(), DOCX),
        (samples.word("合同正文"), DOCX),
        (samples.xlsx(("客户", 1)), XLSX),
        (samples.pptx("季度汇报"), PPTX),
        (samples.pdf(), containers.PDF),
        (samples.pdf_zh("营业执照"), containers.PDF),
        (samples.pdf() + b"\r\n\x00\x00  \n", containers.PDF),  # padding after %%EOF
        (samples.png(), "image/png"),  # nothing to check
        # Broken, with no %%EOF at all: taken, and its extraction failure recorded.
        (b"%PDF-1.4\n" + bytes(range(256)) * 40, containers.PDF),
        (samples.pdf()[:-8], containers.PDF),  # cut off before its end
    ],
)
def test_genuine_files_pass(data: bytes, content_type: str) -> None:
    assert refusal(data, content_type) is None


@pytest.mark.parametrize(
    "data",
    [
        samples.exe_in_zip(),  # an executable zipped and named .docx
        samples.zipped({"word/document.xml": b"<w:document/>"}),  # no [Content_Types].xml
        # It declares a workbook, not a Word document.
        samples.zipped(
            {
                "[Content_Types].xml": samples.content_types(
                    "/xl/workbook.xml", containers.OOXML_MAIN_PART[XLSX]
                ),
                "xl/workbook.xml": b"<workbook/>",
            }
        ),
        # It declares the main part, which is not there.
        samples.zipped(
            {
                "[Content_Types].xml": samples.content_types("/word/document.xml", WORD_MAIN),
                "payload.exe": samples.windows_exe(),
            }
        ),
        # Macro-enabled Word (.docm) is not a .docx.
        samples.zipped(
            {
                "[Content_Types].xml": samples.content_types(
                    "/word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml"
                ),
                "word/document.xml": b"<w:document/>",
            }
        ),
        # A DTD in a package part (forbidden by OPC; the entity-expansion trick).
        samples.zipped(
            {
                "[Content_Types].xml": b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]>'
                + samples.content_types("/word/document.xml", WORD_MAIN)[21:],
                "word/document.xml": b"<w:document/>",
            }
        ),
        samples.docx()[:-30],  # cut off: no ZIP directory
    ],
)
def test_a_zip_that_is_not_a_word_document_is_refused(data: bytes) -> None:
    assert refusal(data, DOCX) == containers.NOT_OFFICE_PACKAGE


def test_the_check_inflates_nothing_large() -> None:
    """A [Content_Types].xml that inflates to 20 MiB, declared honestly or as 10 bytes: the
    check reads at most its cap of it."""
    honest = samples.zipped(
        {"[Content_Types].xml": b" " * (20 * 1024 * 1024), "word/document.xml": b"x"}
    )
    assert refusal(honest, DOCX) == containers.NOT_OFFICE_PACKAGE
    # The same bomb with its sizes in the directory rewritten to claim 10 bytes.
    info = zipfile.ZipFile(io.BytesIO(honest)).getinfo("[Content_Types].xml")
    lying = honest.replace(info.file_size.to_bytes(4, "little"), (10).to_bytes(4, "little"))
    assert refusal(lying, DOCX) == containers.NOT_OFFICE_PACKAGE


def test_a_directory_of_too_many_entries_is_refused_before_it_is_read() -> None:
    members = {f"p{i}": b"" for i in range(containers.MAX_PARTS + 1)}
    members["[Content_Types].xml"] = samples.content_types("/p0", WORD_MAIN)
    assert refusal(samples.zipped(members), DOCX) == containers.NOT_OFFICE_PACKAGE


@pytest.mark.parametrize(
    "data",
    [
        samples.pdf_with_zip(),  # a ZIP appended after %%EOF
        samples.pdf() + b"MZ\x90\x00 anything",  # any data appended
        samples.pdf() + b"\n" * 70_000 + b"MZ",  # past a long run of padding
        samples.pdf() + b"% comment\n",  # anything at all
    ],
)
def test_a_pdf_with_something_appended_is_refused(data: bytes) -> None:
    assert refusal(data, containers.PDF) == containers.PDF_APPENDED_DATA


def test_a_pdf_whose_end_hides_a_zip_directory_is_refused() -> None:
    """The ZIP's end record carries the PDF's tail as its comment, so the file ends in
    %%EOF and still opens as a ZIP."""
    pdf = samples.pdf()
    tail = b"\n%%EOF\n"
    buf = io.BytesIO()
    buf.write(pdf)
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr("invoice.exe", samples.windows_exe())
        z.comment = tail
    data = buf.getvalue()
    assert data.endswith(tail) and zipfile.is_zipfile(io.BytesIO(data))
    assert refusal(data, containers.PDF) == containers.PDF_APPENDED_DATA


def _zip_in_pdf_end() -> bytes:
    buf = io.BytesIO()
    buf.write(samples.pdf())
    with zipfile.ZipFile(buf, "a") as z:
        z.writestr("invoice.exe", samples.windows_exe())
        z.comment = b"\n%%EOF\n"
    return buf.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        samples.pdf(),
        samples.pdf() + b"\n" * 60_000,  # padding within the bound
        samples.pdf_with_zip(),
        samples.pdf() + b"\n" * 70_000 + b"MZ",  # the end holds no %%EOF: read again
        samples.pdf() + bytes(200_000),  # NUL padding past the bound
        b"%PDF-1.4\nno end at all\n" * 5000,  # broken, not a polyglot: taken
        _zip_in_pdf_end(),
    ],
)
@pytest.mark.parametrize("chunk", [1, 3, 4096, 65_557, 1 << 20])
def test_a_pdf_seen_once_in_chunks_is_judged_as_the_whole_file(data: bytes, chunk: int) -> None:
    """``PdfEnd`` (a stream stored as it is read) decides as ``check`` on the whole file."""
    end = containers.PdfEnd()
    for at in range(0, len(data), chunk):
        end.feed(data[at : at + chunk])
    try:
        end.check(lambda: (data[at : at + 1000] for at in range(0, len(data), 1000)))
        streamed = None
    except containers.NotWhatItClaims as exc:
        streamed = exc.code
    assert streamed == refusal(data, containers.PDF)
