"""Text extraction from uploaded files, in a child process with time and memory limits.

A hostile file (a zip bomb posing as DOCX, a PDF that loops, a huge text file)
costs at most ``timeout`` seconds and ``memory_mb`` of address space, and ends as
an :class:`Extraction` with ``error`` set: :func:`extract` never raises for a bad
file. Text is capped at ``max_chars`` (``truncated=True``).

Images and PDF pages without a text layer are read by OCR (:mod:`search.ocr`) in the same
child, within :class:`OcrLimits`: a page over ``page_seconds`` is skipped; at the first page
that needs OCR past ``max_pages`` the extraction stops, and that page and the rest are left
for a continuation (``Extraction.next_page``; ``extract(..., first_page=n)`` reads on from
page n, so each call's text follows the previous one in page order).

The formats no Python parser here reads (.doc, .xls, .ppt, .rtf, ODF, WPS) are converted
by LibreOffice (:mod:`search.office`, a process group of its own under the child's limits,
killed after ``timeout``) to DOCX, XLSX or PPTX, which the extractors below then read.
OFD text comes from its pages' ``TextCode`` elements (:mod:`search.ofd`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from search import office
from search.ocr import (
    MIN_TEXT_LAYER_CHARS,
    OCR_DPI,
    OcrLimits,
    OcrOutcome,
    parse_budget,
    read_counted,
)
from search.packages import inflation_problem
from search.sandbox import SandboxError, run_limited
from search.textcodec import decode_text, html_to_text, mail_text

# Why an extraction failed, as a class a caller can count and decide on (retry or not):
TIMEOUT = "timeout"  # the parse took longer than its limit (a hostile file, or a loaded machine)
MEMORY = "memory"  # the parse needed more than its address-space limit
PARSE_ERROR = "parse_error"  # the parser refused the file (broken, a zip bomb, not what it says)
CRASHED = "crashed"  # the parser's process died on the file (a signal, no answer)
SANDBOX_START = "sandbox_start"  # no limited child could be started: nothing was tried
UNSUPPORTED = "unsupported"  # no extractor reads this type
REASONS = (TIMEOUT, MEMORY, PARSE_ERROR, CRASHED, SANDBOX_START, UNSUPPORTED)


@dataclass(frozen=True)
class Extraction:
    text: str | None  # None when it failed
    error: str | None  # short reason when it failed (timeout, memory, unsupported, parse error…)
    truncated: bool = False
    reason: str | None = None  # one of REASONS when it failed
    ocr_pages: int = 0  # pages (or image frames) whose text came from OCR
    ocr_pages_over_limit: int = 0  # pages left for a continuation (from next_page to the end)
    ocr_pages_timed_out: int = 0  # pages skipped: OCR took longer than OcrLimits.page_seconds
    pages_total: int | None = None  # pages (or frames) of a PDF or an image file
    next_page: int | None = None  # 0-based page a continuation reads on from; None: all read


# Characters of text kept per file (``max_chars``); more is cut (``truncated``).
MAX_CHARS = 5_000_000
# What the children of this module import (lazily, so the web process stays light): the
# sandbox's fork server imports these once, so each child starts with them.
SANDBOX_PRELOAD = ("pypdf", "docx", "openpyxl", "pptx", "search.ocr", "search.ofd")
_OOXML = "application/vnd.openxmlformats-officedocument."
DOCX = _OOXML + "wordprocessingml.document"
XLSX = _OOXML + "spreadsheetml.sheet"
PPTX = _OOXML + "presentationml.presentation"

# Bytes of text read from a plain-text file per character wanted: GB18030 needs up
# to 4 bytes per character, so reading 4 × max_chars always covers max_chars.
_BYTES_PER_CHAR = 4
# A member of an Office file that inflates beyond this, or by more than this ratio,
# is treated as a zip bomb before anything is decompressed.
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OFD = "application/ofd"
# Converted by LibreOffice, then read as the OOXML file of their kind.
_OFFICE_KINDS = frozenset(office.CONVERTIBLE - {DOCX, XLSX, PPTX, "text/plain", "text/csv"})


class Encrypted(Exception):
    """The file is password-protected: its text cannot be read (a recorded parse error)."""


def extract(
    path: str | os.PathLike[str],
    content_type: str,
    *,
    timeout: float = 60.0,
    memory_mb: int = 1024,
    max_chars: int = MAX_CHARS,
    ocr: OcrLimits = OcrLimits(),  # noqa: B008 - frozen, shared safely
    first_page: int = 0,
) -> Extraction:
    """Text of a file (PDF, DOCX, XLSX, PPTX, TXT/CSV in UTF-8/GB18030/GBK/Big5, HTML, EML,
    OFD; DOC, XLS, PPT, RTF, ODT/ODS/ODP and WPS/ET/DPS through LibreOffice; PNG, JPEG,
    TIFF, BMP, WebP and text-less PDF pages by OCR) in a limited child process.
    Never raises for a bad file: a failure is an Extraction with error set. ``first_page``:
    of a PDF or an image, read from this page on (a continuation).
    """
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind not in _EXTRACTORS:
        return Extraction(
            text=None, error=f"unsupported: {kind or 'unknown type'}", reason=UNSUPPORTED
        )
    parse_seconds = timeout
    if kind in _OCR_KINDS:  # each page may take its OCR time, within the page limit
        timeout += ocr.page_seconds * ocr.max_pages
        memory_mb = max(memory_mb, ocr.memory_mb)
    elif kind in _OFFICE_KINDS:
        # LibreOffice has ``timeout`` to convert (it is killed after that), the reading of
        # its result as long again; it runs under the child's address-space limit.
        timeout = 2 * timeout + 10
        memory_mb = max(memory_mb, office.MEMORY_MB)
    try:
        text, truncated, pages = run_limited(
            _extract_in_child,
            os.fspath(path),
            kind,
            max_chars,
            (ocr.max_pages, ocr.page_seconds, ocr.memory_mb),
            parse_seconds,
            first_page,
            timeout=timeout,
            memory_mb=memory_mb,
        )
    except SandboxError as exc:
        reason, error = _failure(exc)
        return Extraction(text=None, error=error, reason=reason)
    except Exception as exc:  # noqa: BLE001 - the sandbox itself failed: nothing was parsed
        error = f"sandbox could not start: {type(exc).__name__}: {str(exc)[:200]}"
        return Extraction(text=None, error=error, reason=SANDBOX_START)
    read, over_limit, timed_out, total, next_page = pages
    return Extraction(
        text=text,
        error=None,
        truncated=truncated,
        ocr_pages=read,
        ocr_pages_over_limit=over_limit,
        ocr_pages_timed_out=timed_out,
        pages_total=total,
        next_page=None if truncated else next_page,  # text past max_chars is not kept anyway
    )


def _failure(exc: SandboxError) -> tuple[str, str]:
    """The reason class and the short message of a sandbox failure."""
    message = str(exc)
    if exc.reason == "start":
        return SANDBOX_START, f"sandbox could not start: {message}"
    if "MemoryError" in message:
        return MEMORY, "memory: the memory limit was reached"
    # The child names the exception first; a codec the alarm interrupted rewrites the
    # message ("ParseTimeout: decoding with 'cp1252' codec failed (ParseTimeout: ...)").
    if exc.reason == "timeout" or message.startswith("ParseTimeout:"):
        return TIMEOUT, f"timeout: {message}"
    if exc.reason == "crashed":
        return CRASHED, f"crashed: {message}"
    return PARSE_ERROR, f"parse error: {message[:300]}"


# --------------------------------------------------------------------------- in the child


def _extract_in_child(
    path: str,
    kind: str,
    max_chars: int,
    ocr: tuple[int, int, int] = (0, 0, 0),
    parse: float = 0,
    first_page: int = 0,
) -> tuple[str, bool, tuple[int, int, int, int | None, int | None]]:
    """Runs in the sandbox: the text (capped), whether it was cut, and the OCR page counts
    (read, left for a continuation, timed out, pages in the file, the page a continuation
    starts at). Parsing apart from OCR has ``parse`` seconds."""
    collector = _Collector(max_chars, kind, OcrLimits(*ocr), first_page)
    collector.office_seconds = parse or 60.0
    with parse_budget(parse) if parse and kind in _OCR_KINDS else contextlib.nullcontext():
        _EXTRACTORS[kind](path, collector)
    text, truncated = collector.result()
    p = collector.pages
    return (
        text,
        truncated,
        (p.pages_read, p.pages_over_limit, p.pages_timed_out, p.pages_total, p.next_page),
    )


class _Collector:
    """Accumulates text pieces up to a limit; extractors stop when ``full``."""

    def __init__(
        self, max_chars: int, kind: str = "", ocr: OcrLimits | None = None, first_page: int = 0
    ) -> None:
        self.max_chars = max_chars
        self.kind = kind
        self.ocr = ocr or OcrLimits()
        self.first_page = max(0, first_page)
        self.pages = OcrOutcome()
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False
        self.office_seconds = 60.0  # LibreOffice's time to convert, where it is used

    def ocr_page(self, page: Callable[[], object | None]) -> None:
        """OCR one page image (``page()`` makes it), within the page limit and the page's time."""
        self.add(read_counted(page, self.ocr, self.pages))

    def may_ocr(self, number: int) -> bool:
        """Whether page ``number`` may still be OCR'd in this call; if not, the extraction
        stops before it (nothing of it is kept) and a continuation reads on from there."""
        if self.pages.room(self.ocr):
            return True
        self.pages.stop_at(number)
        return False

    @property
    def full(self) -> bool:
        return self.size >= self.max_chars

    def add(self, text: str | None) -> None:
        if not text or self.full:
            if text and self.full:
                self.truncated = True
            return
        room = self.max_chars - self.size
        if len(text) > room:
            text, self.truncated = text[:room], True
        self.parts.append(text)
        self.size += len(text)

    def result(self) -> tuple[str, bool]:
        return "\n".join(self.parts), self.truncated


def _check_zip(path: str) -> None:
    """Refuse a zip whose members would inflate absurdly, before inflating any."""
    with open(path, "rb") as handle:
        if handle.read(len(_OLE_SIGNATURE)) == _OLE_SIGNATURE:
            # An OOXML file that is an OLE file: the encrypted package of a password.
            raise Encrypted("the file is password-protected (encrypted): its text cannot be read")
    try:
        with zipfile.ZipFile(path) as archive:
            problem = inflation_problem(archive)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"not a valid Office file: {exc}") from None
    if problem:
        raise ValueError(problem)


def _pdf(path: str, out: _Collector) -> None:
    """Each page's text layer; a page without one (a scan) is drawn and read by OCR."""
    from pypdf import PdfReader

    from search.ocr import PdfPages

    reader = PdfReader(path, strict=False)
    out.pages.pages_total = total = len(reader.pages)
    with PdfPages(path, OCR_DPI) as drawn:
        for number in range(out.first_page, total):
            if out.full:
                out.truncated = True
                return
            text = reader.pages[number].extract_text() or ""
            needs_ocr = len("".join(text.split())) < MIN_TEXT_LAYER_CHARS
            if needs_ocr and not out.may_ocr(number):
                return
            out.add(text)  # on a scan, a page number or a stamp is still text
            if needs_ocr:
                out.ocr_page(lambda n=number: drawn.draw(n))  # type: ignore[misc]


def _image(path: str, out: _Collector) -> None:
    """OCR of each frame of an image (a multi-page TIFF has several)."""
    from search.ocr import frame_count, image_frames

    out.pages.pages_total = total = frame_count(path, out.kind)
    frames = image_frames(path, out.kind, out.first_page)
    for number in range(out.first_page, total):
        if out.full:
            out.truncated = True
            return
        if not out.may_ocr(number):  # checked before the frame is decoded
            return
        frame = next(frames, None)
        if frame is None:
            return
        out.ocr_page(lambda f=frame: f)  # type: ignore[misc]


def _docx(path: str, out: _Collector) -> None:
    _check_zip(path)
    import docx

    document = docx.Document(path)
    for block in _docx_blocks(document):
        out.add(block)
        if out.full:
            return
    for section in document.sections:
        for part in (section.header, section.footer):
            for paragraph in part.paragraphs:
                out.add(paragraph.text)


def _docx_blocks(document: object) -> Iterator[str]:
    """Paragraph and table text in document order (tables cell by cell)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for item in document.iter_inner_content():  # type: ignore[attr-defined]
        if isinstance(item, Paragraph):
            yield item.text
        elif isinstance(item, Table):
            for row in item.rows:
                yield "\t".join(cell.text for cell in row.cells)


def _xlsx(path: str, out: _Collector) -> None:
    _check_zip(path)
    from openpyxl import load_workbook

    # read_only streams rows instead of building the whole workbook in memory. A file object,
    # not the path: openpyxl refuses a path without an Excel extension, and the service's
    # temp files have none.
    with open(path, "rb") as handle:
        workbook = load_workbook(handle, read_only=True, data_only=True)
        try:
            for sheet in workbook.worksheets:
                out.add(sheet.title)
                for row in sheet.iter_rows(values_only=True):
                    cells = [str(v) for v in row if v is not None and str(v).strip()]
                    if cells:
                        out.add("\t".join(cells))
                    if out.full:
                        out.truncated = True
                        return
        finally:
            workbook.close()


def _pptx(path: str, out: _Collector) -> None:
    _check_zip(path)
    from pptx import Presentation

    presentation = Presentation(path)
    for slide in presentation.slides:
        for shape in slide.shapes:
            _pptx_shape(shape, out)
        if slide.has_notes_slide:
            out.add(slide.notes_slide.notes_text_frame.text)
        if out.full:
            out.truncated = True
            return


def _pptx_shape(shape: object, out: _Collector) -> None:
    if getattr(shape, "has_text_frame", False):
        out.add(shape.text_frame.text)  # type: ignore[attr-defined]
    if getattr(shape, "has_table", False):
        for row in shape.table.rows:  # type: ignore[attr-defined]
            out.add("\t".join(cell.text for cell in row.cells))
    for child in getattr(shape, "shapes", ()):  # group shapes
        _pptx_shape(child, out)


def _office(path: str, out: _Collector) -> None:
    """A format LibreOffice reads: converted to the OOXML file of its kind, then read."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    twin = _WPS_OOXML.get(out.kind)
    if twin is not None and head.startswith(b"PK\x03\x04"):  # a newer WPS file: OOXML
        _EXTRACTORS[twin](path, out)
        return
    # Next to the plaintext file: in the private temp area its caller chose, not /tmp.
    work = tempfile.mkdtemp(prefix="extract-office-", dir=os.path.dirname(path) or None)
    try:
        try:
            converted, result_type = office.convert_for_text(
                Path(path), out.kind, Path(work), out.office_seconds
            )
        except office.ConversionError as exc:
            raise ValueError(str(exc)) from None
        _EXTRACTORS[result_type](str(converted), out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


_WPS_OOXML = {office.WPS_WRITER: DOCX, office.WPS_SPREADSHEET: XLSX, office.WPS_PRESENTATION: PPTX}


def _ofd(path: str, out: _Collector) -> None:
    """The text of each page's TextCode elements, page by page."""
    from search.ofd import OfdError, read_pages

    try:
        pages = read_pages(path)
    except OfdError as exc:
        raise ValueError(f"OFD: {exc}") from None
    for page in pages:
        out.add(page.text())
        if out.full:
            out.truncated = True
            return


def _text(path: str, out: _Collector) -> None:
    out.add(decode_text(_read_capped(path, out)))


def _read_capped(path: str, out: _Collector) -> bytes:
    limit = out.max_chars * _BYTES_PER_CHAR
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        out.truncated = True
        data = data[:limit]
    return data


def _html(path: str, out: _Collector) -> None:
    out.add(html_to_text(decode_text(_read_capped(path, out))))


def _eml(path: str, out: _Collector) -> None:
    with open(path, "rb") as handle:
        data = handle.read(out.max_chars * _BYTES_PER_CHAR + 1)
    if len(data) > out.max_chars * _BYTES_PER_CHAR:
        out.truncated = True
    for piece in mail_text(data):
        out.add(piece)


_EXTRACTORS: dict[str, Callable[[str, _Collector], None]] = {
    "application/pdf": _pdf,
    DOCX: _docx,
    XLSX: _xlsx,
    PPTX: _pptx,
    "text/plain": _text,
    "text/csv": _text,
    "text/html": _html,
    "message/rfc822": _eml,
    "image/jpeg": _image,
    "image/png": _image,
    "image/tiff": _image,
    "image/bmp": _image,
    "image/webp": _image,
    OFD: _ofd,
    **dict.fromkeys(_OFFICE_KINDS, _office),
}
_OCR_KINDS = frozenset({"application/pdf", *(k for k, v in _EXTRACTORS.items() if v is _image)})

__all__ = [
    "CRASHED",
    "DOCX",
    "MEMORY",
    "OFD",
    "OcrLimits",
    "PARSE_ERROR",
    "PPTX",
    "REASONS",
    "SANDBOX_START",
    "TIMEOUT",
    "UNSUPPORTED",
    "XLSX",
    "Extraction",
    "decode_text",
    "extract",
    "html_to_text",
]
