"""Intake: every file that comes in — an upload, a change request's replacement file or
evidence, an access application's legal basis — is taken by :func:`receive`.

The type is decided by the bytes (python-magic on the first few KiB), then
checked against the allow-list and against the name's extension; a PDF
named ``.docx`` or a script named ``.txt`` is refused. A container must then
hold what it claims (:mod:`archive_service.archive.containers`): a ZIP named
``.docx`` is a Word package with its main part, an OLE file named ``.xls`` or ``.et``
holds a workbook stream, an ``.odt`` starts with its ``mimetype``, an ``.ofd`` has its
``OFD.xml``, a PDF has nothing appended (a polyglot is refused, not cut down: the
archive keeps what it was given, or nothing). Names are cleaned of
path parts, control characters and bidirectional marks and are never used
as paths. A file past the size limit is refused while it streams (413), and
the content is encrypted into the store as it is read.
"""

from __future__ import annotations

import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import IO, TYPE_CHECKING

import magic

from archive_service.archive import containers
from archive_service.archive.vocabulary import INTAKE_REFUSALS
from archive_service.db import release_read_transaction
from archive_service.errors import InvalidInput, TooLarge, UnsupportedType

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from archive_service.vault.models import StoredObject
    from archive_service.vault.services import Vault

SNIFF_BYTES = 8192

# Allowed content types and the extensions each may carry.
ALLOWED: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (".pptx",),
    "application/msword": (".doc",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.ms-powerpoint": (".ppt",),
    "application/rtf": (".rtf",),
    "application/vnd.oasis.opendocument.text": (".odt",),
    "application/vnd.oasis.opendocument.spreadsheet": (".ods",),
    "application/vnd.oasis.opendocument.presentation": (".odp",),
    # Kingsoft WPS Office (the types WPS registers on Linux; application/vnd.ms-works,
    # which shared-mime-info gives .wps, is Microsoft Works, another format)
    containers.WPS_WRITER: (".wps",),
    containers.WPS_SPREADSHEET: (".et",),
    containers.WPS_PRESENTATION: (".dps",),
    containers.OFD: (".ofd",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/tiff": (".tif", ".tiff"),
    "image/bmp": (".bmp",),
    "image/webp": (".webp",),
    "text/plain": (".txt", ".csv", ".eml"),
    "text/csv": (".csv",),
    "message/rfc822": (".eml",),
}
# Containers whose exact type only the extension tells from the first bytes: the name
# makes the claim, containers.check() holds the file to it (by its structure).
ZIP_OFFICE = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".ofd": containers.OFD,
    # newer WPS Office writes the OOXML twin under the WPS name
    ".wps": containers.WPS_WRITER,
    ".et": containers.WPS_SPREADSHEET,
    ".dps": containers.WPS_PRESENTATION,
}
OLE_OFFICE = {
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".wps": containers.WPS_WRITER,
    ".et": containers.WPS_SPREADSHEET,
    ".dps": containers.WPS_PRESENTATION,
    # a password-protected OOXML file is an OLE file holding the encrypted package
    ".docx": ZIP_OFFICE[".docx"],
    ".xlsx": ZIP_OFFICE[".xlsx"],
    ".pptx": ZIP_OFFICE[".pptx"],
}
# What libmagic may call a ZIP-based file from its first bytes.
_ZIPPISH = frozenset(
    {"application/zip", "application/octet-stream", *ZIP_OFFICE.values(), "application/epub+zip"}
)
DEFAULT_ALLOWED_TYPES = frozenset(ALLOWED)
# Control characters, and the marks that make "exe.pdf" read as "fdp.exe".
_BIDI = {
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u061c",
}


class Refused(Exception):
    """The file cannot be taken; ``status`` is the HTTP answer (413, 415, 422)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def clean_filename(raw: str | None, max_length: int = 200) -> str:
    """A display name: no directories, control characters or bidi marks; bounded length."""
    name = (raw or "").replace("\\", "/").split("/")[-1]
    name = (
        "".join(ch for ch in name if ch not in _BIDI and unicodedata.category(ch)[0] != "C")
        .strip()
        .strip(".")
    )
    if not name:
        return "file"
    if len(name) > max_length:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: max_length - len(suffix)] + suffix
    return name


def extension(name: str) -> str:
    return PurePosixPath(name.lower()).suffix


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    detected: str


def sniff(head: bytes, filename: str, allowed: frozenset[str] = DEFAULT_ALLOWED_TYPES) -> Sniffed:
    """Decide the content type from the first bytes; refuse what is not allowed."""
    if not head:
        raise Refused(422, "the file is empty")
    detected = magic.from_buffer(head[:SNIFF_BYTES], mime=True)
    ext = extension(filename)
    content_type = detected
    if detected in _ZIPPISH and ext in ZIP_OFFICE:
        if head.startswith(containers.ZIP_SIGNATURE):
            content_type = ZIP_OFFICE[ext]
    elif head.startswith(containers.OLE_SIGNATURE) and ext in OLE_OFFICE:
        # libmagic's guess of an OLE file's kind needs its whole directory; the stream
        # that names the kind is checked once the whole file is in (containers.check).
        content_type = OLE_OFFICE[ext]
    elif head.startswith(b"{\\rtf") and ext == ".rtf":
        content_type = "application/rtf"
    elif detected == "text/plain" and ext == ".csv":
        content_type = "text/csv"
    elif detected == "text/plain" and ext == ".eml":
        content_type = "message/rfc822"
    if content_type not in allowed or content_type not in ALLOWED:
        raise Refused(415, f"file type {detected} is not allowed")
    if ext not in ALLOWED[content_type] and not (content_type == "text/csv" and ext == ".txt"):
        raise Refused(415, f"the content is {detected} but the name ends in {ext or 'nothing'}")
    return Sniffed(content_type=content_type, detected=detected)


@dataclass(frozen=True)
class Limits:
    """What intake accepts: the allowed content types and the largest size."""

    max_bytes: int = 512 * 1024 * 1024
    allowed_types: frozenset[str] = field(default_factory=lambda: DEFAULT_ALLOWED_TYPES)


class _Limited:
    """The sniffed head, then the rest of the stream; refused once it passes ``limit``
    bytes (413 while it streams, not after the fact). ``watch`` sees every chunk."""

    def __init__(
        self,
        raw: IO[bytes],
        head: bytes,
        limit: int,
        watch: Callable[[bytes], object] | None = None,
    ) -> None:
        self.raw, self.head, self.limit, self.seen = raw, head, limit, 0
        self.watch = watch

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n < 0 or n >= len(self.head):
                chunk, self.head = self.head, b""
            else:
                chunk, self.head = self.head[:n], self.head[n:]
        else:
            chunk = self.raw.read(n)
            if not isinstance(chunk, bytes):
                chunk = bytes(chunk)
        self.seen += len(chunk)
        if self.seen > self.limit:
            raise TooLarge(f"the file is larger than {self.limit} bytes")
        if self.watch is not None and chunk:
            self.watch(chunk)
        return chunk


@dataclass(frozen=True)
class Received:
    """A file taken in: its stored (encrypted) object, cleaned name and sniffed type."""

    stored: StoredObject
    filename: str
    content_type: str


def receive(
    session: Session,
    vault: Vault,
    filename: str | None,
    stream: IO[bytes],
    limits: Limits,
    field: str = "file",
) -> Received:
    """Check a file's name, type and size and store it encrypted: 413, 415 or 422 (naming
    ``field``) when it cannot be taken."""
    name = clean_filename(filename)
    head = stream.read(SNIFF_BYTES)
    try:
        sniffed = sniff(head, name, limits.allowed_types)
    except Refused as exc:
        if exc.status == 413:
            raise TooLarge(exc.message) from exc
        if exc.status == 415:
            raise UnsupportedType(exc.message, field=field) from exc
        raise InvalidInput(exc.message, field=field) from exc
    # The rest of the file streams in with no write lock held (SQLite's is the whole
    # database's): what the use case did so far was only read.
    release_read_transaction(session)
    if _seeks(stream):
        with _seekable(stream, head, limits.max_bytes) as whole:
            _check_container(whole, sniffed.content_type, field)
            stored = vault.put(session, _Limited(whole, b"", limits.max_bytes))
    else:
        stored = _stream_in(session, vault, stream, head, sniffed.content_type, limits, field)
    return Received(stored=stored, filename=name, content_type=sniffed.content_type)


def _seeks(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _refused(exc: containers.NotWhatItClaims, field: str) -> UnsupportedType:
    term = INTAKE_REFUSALS.get(exc.code)
    return UnsupportedType(term.label.english if term else str(exc), field=field, reason=exc.code)


def _check_container(whole: IO[bytes], content_type: str, field: str) -> None:
    try:
        containers.check(whole, content_type)
    except containers.NotWhatItClaims as exc:
        raise _refused(exc, field) from exc


def _stream_in(
    session: Session,
    vault: Vault,
    stream: IO[bytes],
    head: bytes,
    content_type: str,
    limits: Limits,
    field: str,
) -> StoredObject:
    """A stream that cannot seek (an upload read as it arrives) goes into the store as it
    is read, and is never read twice in the usual case: a PDF is judged by its end, kept
    on the way (its stored copy is read back only when the end holds no ``%%EOF``); the
    types checked by random access are checked on a temporary copy made on the way; the
    rest need no more than their first bytes. A refused file's object is deleted before
    any row names it."""
    if content_type in containers.WHOLE_FILE_TYPES:
        with tempfile.TemporaryFile() as copy:
            stored = vault.put(
                session,
                _Limited(stream, head, limits.max_bytes, watch=copy.write),
                check=lambda _again: _check_container(_rewound(copy), content_type, field),
            )
        return stored
    if content_type == containers.PDF:
        end = containers.PdfEnd()
        return vault.put(
            session,
            _Limited(stream, head, limits.max_bytes, watch=end.feed),
            check=lambda again: _check_pdf_end(end, again, field),
        )
    return vault.put(session, _Limited(stream, head, limits.max_bytes))


def _rewound(copy: IO[bytes]) -> IO[bytes]:
    copy.flush()
    copy.seek(0)
    return copy


def _check_pdf_end(
    end: containers.PdfEnd, again: Callable[[], Iterable[bytes]], field: str
) -> None:
    try:
        end.check(again)
    except containers.NotWhatItClaims as exc:
        raise _refused(exc, field) from exc


class _seekable:  # noqa: N801 - a context manager named for what it gives
    """The whole file as a seekable stream from its first byte: the upload's own (spooled)
    file when it can seek, else a temporary copy, refused (413) once past ``limit``."""

    def __init__(self, stream: IO[bytes], head: bytes, limit: int) -> None:
        self.stream, self.head, self.limit = stream, head, limit
        self.copy: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        try:
            if self.stream.seekable():
                start = self.stream.tell() - len(self.head)
                if self.stream.seek(0, 2) - start > self.limit:
                    raise TooLarge(f"the file is larger than {self.limit} bytes")
                self.stream.seek(start)
                return self.stream
        except (AttributeError, OSError, ValueError):
            pass
        copy = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self.copy = copy
        shutil.copyfileobj(_Limited(self.stream, self.head, self.limit), copy)
        copy.seek(0)
        return copy

    def __exit__(self, *_: object) -> None:
        if self.copy is not None:
            self.copy.close()
