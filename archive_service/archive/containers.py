"""What a file must hold to be the type its name claims, beyond its first bytes (part of
intake): an Office Open XML package declares its main part in ``[Content_Types].xml`` and
holds it; a PDF ends at its own ``%%EOF`` with nothing appended (no ZIP riding behind it).

Every read is bounded and nothing is inflated but ``[Content_Types].xml``, itself capped:
the ZIP's end record and directory are sized before ``zipfile`` reads them, so a zip bomb
or a directory of millions of entries costs a few reads; a PDF is read once, in 1 MiB
chunks, for its last ``%%EOF``. Pure: a seekable stream in, a
refusal code out (codes and their words in ``archive/vocabulary.INTAKE_REFUSALS``).
"""

from __future__ import annotations

import re
import struct
import zipfile
from typing import IO
from xml.etree import ElementTree

_OOXML = "application/vnd.openxmlformats-officedocument."
# Claimed package type → the content type its main part must be declared with.
OOXML_MAIN_PART = {
    _OOXML + "wordprocessingml.document": _OOXML + "wordprocessingml.document.main+xml",
    _OOXML + "spreadsheetml.sheet": _OOXML + "spreadsheetml.sheet.main+xml",
    _OOXML + "presentationml.presentation": _OOXML + "presentationml.presentation.main+xml",
}
PDF = "application/pdf"

# Refusal codes (labelled in archive/vocabulary.INTAKE_REFUSALS).
NOT_OFFICE_PACKAGE = "not_office_package"
PDF_APPENDED_DATA = "pdf_appended_data"

# An Office document has tens or a few thousand parts; a directory past these is not one.
MAX_PARTS = 20_000
MAX_DIRECTORY_BYTES = 16 * 1024 * 1024
MAX_CONTENT_TYPES_BYTES = 1024 * 1024
# The ZIP end record (22 bytes) may carry a comment of up to 64 KiB.
_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_TAIL = _EOCD_SIZE + 0xFFFF
_CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"
# After a PDF's last %%EOF only line ends, spaces and NUL padding may follow.
_PDF_TAIL = 64 * 1024
_PDF_CHUNK = 1024 * 1024
_PDF_END = re.compile(rb"%%EOF[\x00\t\n\f\r ]*")


class NotWhatItClaims(Exception):
    """The content is not the type its name and first bytes claim; ``code`` says how."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def check(stream: IO[bytes], content_type: str) -> None:
    """Refuse a file whose structure does not match ``content_type``. The stream must be
    seekable; its position is left where it was."""
    start = stream.tell()
    try:
        if content_type in OOXML_MAIN_PART:
            _check_ooxml(stream, start, OOXML_MAIN_PART[content_type])
        elif content_type == PDF:
            _check_pdf(stream, start)
    finally:
        stream.seek(start)


def _size(stream: IO[bytes], start: int) -> int:
    return stream.seek(0, 2) - start


def _check_ooxml(stream: IO[bytes], start: int, main_type: str) -> None:
    def refuse(detail: str) -> NotWhatItClaims:
        return NotWhatItClaims(NOT_OFFICE_PACKAGE, detail)

    size = _size(stream, start)
    tail_at = max(start, start + size - _TAIL)
    stream.seek(tail_at)
    tail = stream.read(start + size - tail_at)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        raise refuse("no ZIP directory")
    # The end record: total entries (offset 10) and the directory's size (offset 12).
    entries, directory_bytes = struct.unpack_from("<HI", tail, at + 10)
    if entries > MAX_PARTS or directory_bytes > MAX_DIRECTORY_BYTES:
        raise refuse(f"ZIP directory of {entries} entries, {directory_bytes} bytes")
    stream.seek(start)
    try:
        with zipfile.ZipFile(stream) as package:
            names = set(package.namelist())
            if "[Content_Types].xml" not in names:
                raise refuse("no [Content_Types].xml")
            info = package.getinfo("[Content_Types].xml")
            if info.file_size > MAX_CONTENT_TYPES_BYTES:
                raise refuse("[Content_Types].xml is too large")
            with package.open(info) as member:
                # Bounded whatever the header says: never more than the cap is inflated.
                declared = member.read(MAX_CONTENT_TYPES_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as exc:
        raise refuse(f"unreadable ZIP: {type(exc).__name__}") from None
    except (EOFError, ValueError, RuntimeError) as exc:  # truncated, encrypted members
        raise refuse(f"unreadable ZIP: {type(exc).__name__}") from None
    if len(declared) > MAX_CONTENT_TYPES_BYTES:
        raise refuse("[Content_Types].xml is too large")
    part = _main_part(declared, main_type)
    if part is None:
        raise refuse(f"[Content_Types].xml declares no {main_type} part")
    if part.lstrip("/") not in names:
        raise refuse(f"the declared main part {part[:100]} is missing")


def _main_part(declared: bytes, main_type: str) -> str | None:
    """The part name ``[Content_Types].xml`` declares with ``main_type``, if any."""
    # Package parts may not use DTDs (ECMA-376-2, M1.17): no entity tricks reach the parser.
    if b"<!DOCTYPE" in declared.upper():
        return None
    try:
        root = ElementTree.fromstring(declared)  # noqa: S314 - capped, no DTD (checked above)
    except ElementTree.ParseError:
        return None
    if root.tag != f"{_CT_NS}Types":
        return None
    for override in root.iter(f"{_CT_NS}Override"):
        if override.get("ContentType", "").strip().lower() == main_type:
            name = override.get("PartName", "")
            if name:
                return name
    return None


def _check_pdf(stream: IO[bytes], start: int) -> None:
    """Nothing but padding after the last ``%%EOF``, and no ZIP directory at the end. A PDF
    with no ``%%EOF`` at all is broken, not a polyglot: it is taken, and its extraction
    failure recorded, as before."""
    stream.seek(start)
    last_end, tail, at = -1, b"", start
    # One sequential pass in bounded chunks: the last %%EOF wherever it is.
    while chunk := stream.read(_PDF_CHUNK):
        window = tail + chunk
        found = window.rfind(b"%%EOF")
        if found >= 0:
            last_end = at - len(tail) + found
        tail = window[-(len(b"%%EOF") - 1) :]
        at += len(chunk)
    if last_end >= 0:
        stream.seek(last_end)
        rest = stream.read(_PDF_TAIL + 1)
        if len(rest) > _PDF_TAIL or not _PDF_END.fullmatch(rest):
            raise NotWhatItClaims(PDF_APPENDED_DATA, "data after the PDF's last %%EOF")
    stream.seek(start)
    if zipfile.is_zipfile(stream):  # a ZIP directory hidden before the PDF's end
        raise NotWhatItClaims(PDF_APPENDED_DATA, "the PDF is also a ZIP archive")
