"""What a file must hold to be the type its name claims, beyond its first bytes (part of
intake): an Office Open XML package declares its main part in ``[Content_Types].xml`` and
holds it; a PDF ends at its own ``%%EOF`` with nothing appended (no ZIP riding behind it);
a binary Office or WPS file (an OLE compound file) holds the stream of its kind
(``WordDocument``, ``Workbook``/``Book``, ``PowerPoint Document``); an OpenDocument file
starts with its stored ``mimetype`` member naming the type; an OFD (GB/T 33190) has an
``OFD.xml`` at its root whose ``DocRoot`` names a document it holds. A password-protected
OOXML file is an OLE file holding ``EncryptionInfo`` and ``EncryptedPackage``: it is taken
under its OOXML type (its text cannot be read; the intake checks flag it).

Every read is bounded and nothing is inflated but ``[Content_Types].xml`` and
``OFD.xml``, each capped:
the ZIP's end record and directory are sized before ``zipfile`` reads them, so a zip bomb
or a directory of millions of entries costs a few reads; a PDF is read once, in 1 MiB
chunks, for its last ``%%EOF``. Pure: a seekable stream in, a
refusal code out (codes and their words in ``archive/vocabulary.INTAKE_REFUSALS``).
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import IO
from xml.etree import ElementTree

import olefile

_OOXML = "application/vnd.openxmlformats-officedocument."
# Claimed package type → the content type its main part must be declared with.
OOXML_MAIN_PART = {
    _OOXML + "wordprocessingml.document": _OOXML + "wordprocessingml.document.main+xml",
    _OOXML + "spreadsheetml.sheet": _OOXML + "spreadsheetml.sheet.main+xml",
    _OOXML + "presentationml.presentation": _OOXML + "presentationml.presentation.main+xml",
}
PDF = "application/pdf"
OFD = "application/ofd"
WPS_WRITER = "application/wps-office.wps"
WPS_SPREADSHEET = "application/wps-office.et"
WPS_PRESENTATION = "application/wps-office.dps"
_DOCX, _XLSX, _PPTX = OOXML_MAIN_PART
# The streams that make an OLE compound file a document of each kind (any one of them).
OLE_STREAMS: dict[str, tuple[str, ...]] = {
    "word": ("WordDocument",),
    "excel": ("Workbook", "Book"),  # Book: Excel 5/95
    "powerpoint": ("PowerPoint Document",),
    "encrypted": ("EncryptedPackage",),  # with EncryptionInfo: a password-protected OOXML file
}
# Claimed binary type → the kind its OLE file must be.
OLE_KIND = {
    "application/msword": "word",
    "application/vnd.ms-excel": "excel",
    "application/vnd.ms-powerpoint": "powerpoint",
    WPS_WRITER: "word",
    WPS_SPREADSHEET: "excel",
    WPS_PRESENTATION: "powerpoint",
}
# A WPS file from a newer WPS Office may be the OOXML twin: its main part then.
WPS_OOXML = {WPS_WRITER: _DOCX, WPS_SPREADSHEET: _XLSX, WPS_PRESENTATION: _PPTX}
ODF_TYPES = frozenset(
    "application/vnd.oasis.opendocument." + kind for kind in ("text", "spreadsheet", "presentation")
)
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURE = b"PK\x03\x04"

# Refusal codes (labelled in archive/vocabulary.INTAKE_REFUSALS).
NOT_OFFICE_PACKAGE = "not_office_package"
PDF_APPENDED_DATA = "pdf_appended_data"
NOT_BINARY_OFFICE = "not_binary_office"
NOT_OPENDOCUMENT = "not_opendocument"
NOT_OFD = "not_ofd"
MAX_OFD_XML_BYTES = 1024 * 1024
_ZIP_LOCAL_HEADER = 30

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
        magic = stream.read(len(OLE_SIGNATURE))
        stream.seek(start)
        if content_type in OOXML_MAIN_PART:
            if magic == OLE_SIGNATURE:
                _check_ole(stream, start, "encrypted", NOT_OFFICE_PACKAGE)
            else:
                _check_ooxml(stream, start, OOXML_MAIN_PART[content_type])
        elif content_type in WPS_OOXML and magic.startswith(ZIP_SIGNATURE):
            _check_ooxml(stream, start, OOXML_MAIN_PART[WPS_OOXML[content_type]])
        elif content_type in OLE_KIND:
            _check_ole(stream, start, OLE_KIND[content_type], NOT_BINARY_OFFICE)
        elif content_type in ODF_TYPES:
            _check_odf(stream, start, content_type)
        elif content_type == OFD:
            _check_ofd(stream, start)
        elif content_type == PDF:
            _check_pdf(stream, start)
    finally:
        stream.seek(start)


def ole_kind(stream: IO[bytes]) -> str | None:
    """Which kind of document an OLE compound file holds ("word", "excel", "powerpoint",
    "encrypted" for a password-protected OOXML file), or None. Position left as it was."""
    start = stream.tell()
    try:
        return _ole_kind(stream, start)
    finally:
        stream.seek(start)


def _ole_kind(stream: IO[bytes], start: int) -> str | None:
    stream.seek(start)
    if stream.read(len(OLE_SIGNATURE)) != OLE_SIGNATURE:
        return None
    stream.seek(start)
    try:
        # olefile reads the header, the allocation tables and the directory (a small
        # fraction of the file); it never reads a stream's contents here.
        ole = olefile.OleFileIO(stream)
    except Exception:  # noqa: BLE001 - a broken OLE file raises anything from IOError to IndexError
        return None
    try:
        streams = {"/".join(entry) for entry in ole.listdir(streams=True, storages=False)}
    except Exception:  # noqa: BLE001 - same: an unreadable directory
        return None
    finally:
        ole.close()
    if "EncryptionInfo" in streams and "EncryptedPackage" in streams:
        return "encrypted"
    for kind, names in OLE_STREAMS.items():
        if any(name in streams for name in names):
            return kind
    return None


def _check_ole(stream: IO[bytes], start: int, kind: str, code: str) -> None:
    found = _ole_kind(stream, start)
    if found != kind:
        what = f"an OLE file holding a {found} document" if found else "no readable OLE file"
        raise NotWhatItClaims(code, f"expected a {kind} document, found {what}")


def _bounded_zip(stream: IO[bytes], start: int, code: str) -> zipfile.ZipFile:
    """The ZIP opened once its end record says its directory is of sane size."""
    size = _size(stream, start)
    tail_at = max(start, start + size - _TAIL)
    stream.seek(tail_at)
    tail = stream.read(start + size - tail_at)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < _EOCD_SIZE:
        raise NotWhatItClaims(code, "no ZIP directory")
    entries, directory_bytes = struct.unpack_from("<HI", tail, at + 10)
    if entries > MAX_PARTS or directory_bytes > MAX_DIRECTORY_BYTES:
        raise NotWhatItClaims(code, f"ZIP directory of {entries} entries, {directory_bytes} bytes")
    stream.seek(start)
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError) as exc:
        raise NotWhatItClaims(code, f"unreadable ZIP: {type(exc).__name__}") from None
    except (EOFError, ValueError, RuntimeError) as exc:
        raise NotWhatItClaims(code, f"unreadable ZIP: {type(exc).__name__}") from None


def _check_odf(stream: IO[bytes], start: int, content_type: str) -> None:
    """The first member is ``mimetype``, stored uncompressed, naming ``content_type``
    (ODF 1.2 part 3, 3.3), and the package holds ``content.xml``."""
    stream.seek(start)
    header = stream.read(_ZIP_LOCAL_HEADER)
    if len(header) < _ZIP_LOCAL_HEADER or not header.startswith(ZIP_SIGNATURE):
        raise NotWhatItClaims(NOT_OPENDOCUMENT, "not a ZIP")
    method, compressed, name_len, extra_len = struct.unpack_from("<H8xI4xHH", header, 8)
    name = stream.read(name_len)
    stream.seek(extra_len, 1)
    declared = stream.read(min(compressed, 200))
    if name != b"mimetype" or method != 0 or declared.strip() != content_type.encode():
        raise NotWhatItClaims(NOT_OPENDOCUMENT, "no stored mimetype member naming the type")
    with _bounded_zip(stream, start, NOT_OPENDOCUMENT) as package:
        if "content.xml" not in package.namelist():
            raise NotWhatItClaims(NOT_OPENDOCUMENT, "no content.xml")


def _check_ofd(stream: IO[bytes], start: int) -> None:
    """``OFD.xml`` at the root, an ``OFD`` element whose ``DocBody/DocRoot`` names a
    document the package holds (GB/T 33190-2016, 7.4)."""
    with _bounded_zip(stream, start, NOT_OFD) as package:
        names = set(package.namelist())
        if "OFD.xml" not in names:
            raise NotWhatItClaims(NOT_OFD, "no OFD.xml at the root")
        info = package.getinfo("OFD.xml")
        if info.file_size > MAX_OFD_XML_BYTES:
            raise NotWhatItClaims(NOT_OFD, "OFD.xml is too large")
        try:
            with package.open(info) as member:
                declared = member.read(MAX_OFD_XML_BYTES + 1)
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError) as exc:
            raise NotWhatItClaims(NOT_OFD, f"unreadable OFD.xml: {type(exc).__name__}") from None
        except RuntimeError as exc:
            raise NotWhatItClaims(NOT_OFD, f"unreadable OFD.xml: {type(exc).__name__}") from None
    if len(declared) > MAX_OFD_XML_BYTES:
        raise NotWhatItClaims(NOT_OFD, "OFD.xml is too large")
    roots = ofd_doc_roots(declared)
    if not roots:
        raise NotWhatItClaims(NOT_OFD, "OFD.xml names no document")
    if not any(root in names for root in roots):
        raise NotWhatItClaims(NOT_OFD, "the document OFD.xml names is missing")


def ofd_doc_roots(declared: bytes) -> list[str]:
    """The document paths (``Doc_0/Document.xml``) an ``OFD.xml`` names, in order."""
    if b"<!DOCTYPE" in declared.upper() or b"<!ENTITY" in declared.upper():
        return []
    try:
        root = ElementTree.fromstring(declared)  # noqa: S314 - capped, no DTD (checked above)
    except ElementTree.ParseError:
        return []
    if _local(root.tag) != "OFD":
        return []
    found = []
    for element in root.iter():
        if _local(element.tag) == "DocRoot" and (element.text or "").strip():
            found.append((element.text or "").strip().lstrip("/"))
    return found


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


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
    """Nothing but padding after the last ``%%EOF``, and no ZIP directory at the end (see
    :class:`PdfEnd`): the end read by seeking, the whole file only when the end holds no
    ``%%EOF`` (one sequential pass in bounded chunks)."""
    end = PdfEnd()
    size = _size(stream, start)
    stream.seek(max(start, start + size - _PDF_KEEP))
    end.feed(stream.read(_PDF_KEEP))

    def again() -> Iterator[bytes]:
        stream.seek(start)
        while chunk := stream.read(_PDF_CHUNK):
            yield chunk

    end.check(again)


# Types whose structure is checked by random access (a ZIP's directory, an OLE file's
# allocation tables): a file streamed in must be kept whole until it is checked.
WHOLE_FILE_TYPES = frozenset({*OOXML_MAIN_PART, *WPS_OOXML, *OLE_KIND, *ODF_TYPES, OFD})
# What a PDF's end is judged by: its last %%EOF with what follows (at most _PDF_TAIL
# bytes), and a ZIP end record with its comment (_TAIL bytes).
_PDF_KEEP = max(_PDF_TAIL + 1, _TAIL)


class PdfEnd:
    """The PDF rule over a file seen once, front to back, in chunks of any size: nothing
    but padding after the last ``%%EOF``, and no ZIP directory at the end. A PDF with no
    ``%%EOF`` at all is broken, not a polyglot: it is taken, and its extraction failure
    recorded, as before. Holds only the chunks that make up the file's last 64 KiB.

    Whether a ``%%EOF`` lies further back matters only when the end holds none (then the
    last one is followed by too much, or there is none at all): only then is the file read
    again (``check``'s ``again``), so a well-formed PDF is not searched through — the
    search costs as much as hashing it."""

    def __init__(self) -> None:
        # The last chunks themselves, not copies (a chunk is never changed once fed): as
        # many as hold the last _PDF_KEEP bytes.
        self._chunks: deque[bytes] = deque()
        self._held = 0

    def feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._held += len(chunk)
        while self._held - len(self._chunks[0]) >= _PDF_KEEP:
            self._held -= len(self._chunks.popleft())

    def check(self, again: Callable[[], Iterable[bytes]]) -> None:
        """Refuse what the rule refuses; ``again`` gives the whole file's bytes anew."""
        tail = b"".join(self._chunks)[-_PDF_KEEP:]
        at = tail.rfind(b"%%EOF")
        if at >= 0:
            rest = tail[at:]
            if len(rest) > _PDF_TAIL or not _PDF_END.fullmatch(rest):
                raise NotWhatItClaims(PDF_APPENDED_DATA, "data after the PDF's last %%EOF")
        elif _holds_eof(again()):  # the last %%EOF is further from the end than padding runs
            raise NotWhatItClaims(PDF_APPENDED_DATA, "data after the PDF's last %%EOF")
        # zipfile looks for the end record in the last 64 KiB + 22 bytes: the tail holds them
        if zipfile.is_zipfile(io.BytesIO(tail)):  # a ZIP directory hidden before the PDF's end
            raise NotWhatItClaims(PDF_APPENDED_DATA, "the PDF is also a ZIP archive")


def _holds_eof(chunks: Iterable[bytes]) -> bool:
    carry = b""
    for chunk in chunks:
        if b"%%EOF" in chunk or b"%%EOF" in carry + bytes(chunk[:4]):
            return True
        carry = bytes(chunk[-4:])
    return False
