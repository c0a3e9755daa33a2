"""View-only page images for supervised viewing (监督查阅): watermarked PNGs, never the file.

An external viewer sees a document only as server-rendered page images with the viewer,
organisation, time and session burned in. Office documents and text become a PDF first
(LibreOffice, in a process group of its own); counting and drawing pages happens in a
sandboxed child process, so a hostile file costs at most a time and a memory limit.
Plain functions over files in a work dir the caller owns and wipes.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from search import office
from search.sandbox import (
    SandboxCrashed,
    SandboxFailed,
    SandboxStartFailed,
    SandboxTimeout,
    run_limited,
)

log = logging.getLogger(__name__)

# Limits for each child that parses a file (counting or drawing one page).
CHILD_TIMEOUT = 30.0
CHILD_MEMORY_MB = 1024
MIN_WIDTH, MAX_WIDTH = 200, 4096
# Imported by the sandbox's fork server once, for every child (see search.extract).
SANDBOX_PRELOAD = (
    "archive_service.viewing.render_pages",
    "archive_service.viewing.render_ofd",
    "archive_service.viewing.render_font",
)

OFD = "application/ofd"
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OOXML = "application/vnd.openxmlformats-officedocument."

_KIND: dict[str, str] = {
    "application/pdf": "pdf",
    "image/jpeg": "jpeg",
    "image/png": "png",
    "image/tiff": "tiff",
    "image/bmp": "bmp",
    "image/webp": "webp",
    # Converted to PDF by prepare().
    **{content_type: "pdf" for content_type in office.CONVERTIBLE},
    OFD: "pdf",
}

RENDERABLE: frozenset[str] = frozenset(_KIND)


# Why a file could not be rendered (RenderError.reason; a failed rendition's reason class).
TIMEOUT, MEMORY, UNREADABLE, CRASHED = "timeout", "memory", "unreadable", "crashed"
UNSUPPORTED, CONVERSION, BUSY = "unsupported", "conversion", "busy"
REASONS = frozenset({TIMEOUT, MEMORY, UNREADABLE, CRASHED, UNSUPPORTED, CONVERSION, BUSY})

# Previews (viewing/previews.py): the thumbnail's width, and how an image's preview PDF is
# scaled (long side in pixels) and how many frames of a multi-page TIFF it keeps.
THUMBNAIL_WIDTH = 240
PREVIEW_MAX_SIDE = 2000
PREVIEW_MAX_FRAMES = 200


class RenderError(Exception):
    """The file cannot be rendered (reason in the message, its class in ``reason``)."""

    def __init__(self, message: str, reason: str = UNREADABLE) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Preview:
    """What :func:`make_preview` made: page count, the thumbnail, and an image's PDF."""

    pages: int
    thumbnail: bytes  # PNG of page 1, THUMBNAIL_WIDTH wide
    width: int
    height: int
    pdf: Path | None  # the PDF to show: the prepared file itself for PDFs and office types


@dataclass(frozen=True)
class Watermark:
    """Who is looking, for whom, when and in which supervised session."""

    viewer: str
    organisation: str
    at: datetime
    session_id: str

    def __post_init__(self) -> None:
        # The project's rule (see db.UTCDateTime): a naive time is a bug, not "probably UTC".
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("Watermark.at must be timezone-aware")

    def lines(self) -> list[str]:
        """The watermark text: "viewer · organisation" and "YYYY-MM-DD HH:MM UTC · session"."""
        when = f"{self.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        who = _join(self.viewer, self.organisation)
        return [line for line in (who, _join(when, self.session_id)) if line]


def prepare(source: Path, content_type: str, work_dir: Path, *, timeout: float = 120.0) -> Path:
    """Turn the plaintext file at ``source`` into something pages can be rendered from.

    Office documents and text become a PDF in a new directory inside ``work_dir``
    (LibreOffice headless with its own throw-away profile, killed after ``timeout``
    seconds); an OFD is drawn as a PDF there in the sandboxed child
    (:mod:`archive_service.viewing.render_ofd`); PDFs and images are returned as they are.
    """
    content_type = _normalise(content_type)
    if not source.is_file():
        raise RenderError("the file to show is missing")
    if content_type == OFD:
        return _ofd_to_pdf(source, work_dir, timeout)
    if content_type not in office.CONVERTIBLE:
        return source
    if content_type.startswith(_OOXML) and _is_ole(source):
        # An OOXML file that is an OLE file is the encrypted package of a password.
        raise RenderError("the file is password-protected and cannot be shown")
    try:
        return office.convert_to_pdf(source, content_type, work_dir, timeout)
    except office.ConversionError as exc:
        reason = TIMEOUT if isinstance(exc, office.ConversionTimeout) else CONVERSION
        raise RenderError(str(exc), reason) from None
    except OSError as exc:
        raise RenderError(
            f"the file could not be converted ({exc.strerror or exc})", CONVERSION
        ) from None


def make_preview(prepared: Path, content_type: str, work_dir: Path) -> Preview:
    """The preview parts of a prepared file (see prepare()), in one sandboxed child: page
    count, page 1 as a small PNG and — for an image — a PDF of it scaled to fit, written
    into ``work_dir``. The PDF of a PDF or an office document is ``prepared`` itself."""
    kind = _kind(content_type)
    out = None if kind == "pdf" else work_dir / "preview.pdf"
    pages, png, width, height = _sandboxed(
        _preview_in_child,
        str(prepared),
        kind,
        None if out is None else str(out),
        THUMBNAIL_WIDTH,
        PREVIEW_MAX_SIDE,
        PREVIEW_MAX_FRAMES,
    )
    return Preview(int(pages), bytes(png), int(width), int(height), out or prepared)


def _ofd_to_pdf(source: Path, work_dir: Path, timeout: float) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="ofd-", dir=work_dir))
    target = run_dir / "document.pdf"
    try:
        _sandboxed(_ofd_in_child, str(source), str(target), timeout=timeout)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    if not target.is_file() or target.stat().st_size == 0:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise RenderError("the OFD could not be drawn")
    return target


def _is_ole(source: Path) -> bool:
    with source.open("rb") as handle:
        return handle.read(len(_OLE_SIGNATURE)) == _OLE_SIGNATURE


def page_count(prepared: Path, content_type: str) -> int:
    """Number of pages (PDF pages, TIFF frames, 1 for other images).

    ``content_type`` is the type of the original file, as given to prepare().
    """
    return int(_sandboxed(_count_in_child, str(prepared), _kind(content_type)))


def render_page(
    prepared: Path, content_type: str, page: int, watermark: Watermark, *, width: int = 1240
) -> bytes:
    """Page ``page`` (1-based) as PNG bytes, ``width`` pixels wide, the watermark burned in.

    The PNG holds only pixels: the page, the watermark tiled diagonally across it and a
    band below it with the full watermark text. Raises RenderError for a page out of
    range or a file that cannot be read.
    """
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise ValueError(f"width must be between {MIN_WIDTH} and {MAX_WIDTH}")
    if page < 1:
        raise RenderError(f"page {page} is out of range")
    kind = _kind(content_type)
    png = _sandboxed(_render_in_child, str(prepared), kind, page, watermark.lines(), width)
    return bytes(png)


# The parsers (PDFium, Pillow) are imported in the sandboxed child only: the web process
# never loads them, let alone feeds them a file.
def _count_in_child(path: str, kind: str) -> int:
    from archive_service.viewing import render_pages

    return render_pages.count_pages(path, kind)


def _render_in_child(path: str, kind: str, page: int, lines: list[str], width: int) -> bytes:
    from archive_service.viewing import render_pages

    return render_pages.render_png(path, kind, page, lines, width)


def _ofd_in_child(source: str, target: str) -> int:
    from archive_service.viewing import render_ofd

    return render_ofd.to_pdf(source, target)


def _preview_in_child(
    path: str, kind: str, out: str | None, width: int, side: int, frames: int
) -> tuple[int, bytes, int, int]:
    from archive_service.viewing import render_pages

    return render_pages.preview(path, kind, out, width, side, frames)


def _sandboxed(fn: Any, *args: Any, timeout: float | None = None) -> Any:
    # CHILD_TIMEOUT is read at call time (settings and tests may change it).
    timeout = CHILD_TIMEOUT if timeout is None else timeout
    try:
        return run_limited(fn, *args, timeout=timeout, memory_mb=CHILD_MEMORY_MB)
    except SandboxStartFailed as exc:
        log.warning("the rendering sandbox could not start: %s", exc)
        raise RenderError("the renderer could not start; try again", BUSY) from None
    except SandboxTimeout:
        raise RenderError(f"rendering took longer than {timeout:g} s", TIMEOUT) from None
    except SandboxCrashed:
        raise RenderError("the renderer crashed on this file", CRASHED) from None
    except SandboxFailed as exc:
        # The child reports "ExceptionType: message"; PageError messages are meant to show.
        kind, _, message = str(exc).partition(": ")
        if kind == "PageError":
            raise RenderError(message) from None
        if kind == "MemoryError":
            raise RenderError("the file needs more memory than rendering may use", MEMORY) from None
        # Anything else is unexpected: the detail (which may name paths) goes to the log.
        log.warning("rendering failed unexpectedly: %s", exc)
        raise RenderError(f"the file cannot be read ({kind})") from None


def _kind(content_type: str) -> str:
    kind = _KIND.get(_normalise(content_type))
    if kind is None:
        raise RenderError(f"files of type {content_type!r} cannot be shown", UNSUPPORTED)
    return kind


def _normalise(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _join(*parts: str) -> str:
    """Non-empty parts joined by " · ", without control or direction-changing characters
    (a right-to-left override in a name could make the watermark read differently)."""
    cleaned = ("".join(ch for ch in p if unicodedata.category(ch)[0] != "C") for p in parts)
    return " · ".join(p.strip() for p in cleaned if p.strip())
