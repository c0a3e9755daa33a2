"""OCR of Chinese and English page images, inside the sandboxed extraction child only.

RapidOCR (PP-OCR models run by onnxruntime) reads a page: text lines are found, turned
upright (its angle classifier handles 180°, tall lines are turned 90°) and recognised.
The models are the ones bundled in the rapidocr wheel, named by path: nothing is ever
downloaded (:func:`model_paths` refuses to start without them). The engine is built once
per child call (:func:`engine`), not per page.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Bundled model files of rapidocr 3.10 (pyproject pins it): detection, line angle, recognition.
_MODELS = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
}
# Largest image (pixels per frame) decoded at all; Pillow refuses it at open (a bomb is a
# parse error, not a crash). A 600 dpi A3 scan is ~70 MP.
MAX_IMAGE_PIXELS = 100_000_000
# Longest side a page is OCR'd at: rapidocr scales to at most 2000 px anyway.
MAX_SIDE = 2000
# A page whose darkest and lightest grey differ by less than this is blank: not OCR'd.
BLANK_CONTRAST = 24
# Pillow plugins per content type: a file only ever meets the decoder its type names.
IMAGE_FORMATS: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("JPEG", "MPO"),
    "image/png": ("PNG",),
    "image/tiff": ("TIFF",),
    "image/bmp": ("BMP",),
    "image/webp": ("WEBP",),
}


@dataclass(frozen=True)
class OcrLimits:
    """How much OCR one file may cost (``ARCHIVE_OCR_MAX_PAGES``, ``_PAGE_SECONDS``,
    ``_MEMORY_MB``)."""

    max_pages: int = 50
    page_seconds: int = 20
    # Address space (RLIMIT_AS), not resident memory: onnxruntime and PDFium reserve far more
    # than they touch. A PDF's OCR needs ~1.3 GiB of it; the peak RSS is under 1 GiB
    # (benchmarks/ocr_bench.py measures it).
    memory_mb: int = 2048


# A PDF page with fewer visible characters than this in its text layer is read by OCR
# (a scan with a page number or a stray mark has "text", but not its content).
MIN_TEXT_LAYER_CHARS = 10
# Resolution a PDF page without text is drawn at for OCR (MAX_SIDE caps the longest side).
OCR_DPI = 200


class PageTimeout(BaseException):
    """One page took longer than its limit; the page is skipped, the file goes on. A
    BaseException, as is ParseTimeout: parsers (pypdf) swallow Exceptions on broken files."""


class ParseTimeout(BaseException):
    """Parsing, apart from OCR, took longer than its budget."""


@dataclass
class OcrOutcome:
    """What OCR of a file did, for the extraction's record (counts, never text)."""

    pages_read: int = 0  # pages OCR'd
    pages_over_limit: int = 0  # pages not OCR'd: beyond the page limit
    pages_timed_out: int = 0  # pages skipped: over the per-page time
    pages_total: int | None = None  # pages (frames) in the file, when it has pages
    next_page: int | None = None  # first page left for a continuation (None: read to the end)

    def room(self, limits: OcrLimits) -> bool:
        """Whether one more page may be OCR'd within ``limits``."""
        return self.pages_read + self.pages_timed_out < limits.max_pages

    def stop_at(self, page: int) -> None:
        """Pages from ``page`` on (0-based) are left for a continuation."""
        self.next_page = page
        if self.pages_total is not None:
            self.pages_over_limit = self.pages_total - page


def model_paths() -> dict[str, Path]:
    """The bundled model files; raises if one is missing (a download is never the answer)."""
    import rapidocr

    root = Path(rapidocr.__file__).parent / "models"
    paths = {part: root / name for part, name in _MODELS.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise RuntimeError(f"OCR models missing from the rapidocr package: {', '.join(missing)}")
    return paths


_ENGINE: Any = None
# RapidOCR's parameters as the service sets them (the benchmark tries others on top).
ENGINE_PARAMS: dict[str, Any] = {
    "Global.log_level": "error",  # its info lines name files; text never
    "EngineConfig.onnxruntime.intra_op_num_threads": 1,  # one file per child
    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
}


def engine() -> Any:
    """The RapidOCR engine of this process, built on first use from the bundled models."""
    global _ENGINE
    if _ENGINE is None:
        from rapidocr import RapidOCR

        params = dict(ENGINE_PARAMS)
        for part, path in model_paths().items():
            params[f"{part}.model_path"] = str(path)
        _ENGINE = RapidOCR(params=params)
    return _ENGINE


def read_page(image: Any, seconds: int) -> str | None:
    """The text of one page image (lines in reading order), or None past ``seconds``."""
    import numpy as np

    image = _fit(image.convert("RGB"))
    low, high = image.convert("L").getextrema()
    if high - low < BLANK_CONTRAST:  # a blank page (common in scans): nothing to find
        return ""
    try:
        with _time_limit(seconds):
            result = engine()(np.asarray(image))
    except PageTimeout:
        return None
    except Exception as exc:
        # onnxruntime reports the address-space limit as a C++ bad_alloc inside its error:
        # the sandbox's memory class, not a broken file.
        if "bad_alloc" in str(exc):
            raise MemoryError() from None
        raise
    return "\n".join(result.txts or ())


def read_counted(page: Callable[[], Any], limits: OcrLimits, counts: OcrOutcome) -> str | None:
    """The text of the page ``page()`` makes, if the page limit leaves room; ``counts`` says
    what happened (read, over the limit: not even drawn or decoded, timed out)."""
    if counts.pages_read + counts.pages_timed_out >= limits.max_pages:
        counts.pages_over_limit += 1
        return None
    image = page()
    if image is None:
        return None
    text = read_page(image, limits.page_seconds)
    if text is None:
        counts.pages_timed_out += 1
    else:
        counts.pages_read += 1
    return text


def _fit(image: Any) -> Any:
    longest = max(image.size)
    if longest > MAX_SIDE:
        scale = MAX_SIDE / longest
        image = image.resize(
            (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        )
    return image


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """Raise PageTimeout in the child's main thread after ``seconds`` (the sandbox's own
    deadline still bounds a page stuck inside native code). The parse's own budget
    (:func:`parse_budget`) is paused meanwhile: OCR time is not parse time."""

    def _expired(signum: int, frame: object) -> None:
        raise PageTimeout()

    previous = signal.signal(signal.SIGALRM, _expired)
    budget_left, _ = signal.setitimer(signal.ITIMER_REAL, max(1, seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if budget_left:
            signal.setitimer(signal.ITIMER_REAL, budget_left)


PARSE_TIMEOUT = "the parse took longer than its limit"


@contextmanager
def parse_budget(seconds: float) -> Iterator[None]:
    """The time a file's parsing may take apart from its pages' OCR: the sandbox's deadline
    for a file that may need OCR is longer by the pages' time, and a hostile PDF must not
    have that time for its text layer."""

    def _expired(signum: int, frame: object) -> None:
        raise ParseTimeout(PARSE_TIMEOUT)

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def frame_count(path: str, content_type: str) -> int:
    """How many frames (pages) an image file has, read from its headers."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    with Image.open(path, formats=list(IMAGE_FORMATS[content_type])) as img:
        return int(getattr(img, "n_frames", 1))


def image_frames(path: str, content_type: str, first: int = 0) -> Iterator[Any]:
    """The frames of an image file (a multi-page TIFF has several) from frame ``first`` on,
    each checked for size before it is decoded."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    formats = IMAGE_FORMATS[content_type]
    with Image.open(path, formats=list(formats)) as img:
        for index in range(first, int(getattr(img, "n_frames", 1))):
            img.seek(index)
            width, height = img.size
            if width * height > MAX_IMAGE_PIXELS:  # Pillow only warns between 1× and 2×
                raise ValueError(f"image too large: {width}×{height} pixels")
            frame = ImageOps.exif_transpose(img.copy()) if index == 0 else img.copy()
            yield frame


class PdfPages:
    """Pages of a PDF drawn by PDFium for OCR; the document opens on the first page drawn."""

    def __init__(self, path: str, dpi: int) -> None:
        self.path, self.dpi = path, dpi
        self.document: Any = None

    def __enter__(self) -> PdfPages:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.document is not None:
            self.document.close()

    def draw(self, number: int) -> Any:
        """Page ``number`` (0-based) as an image at ``dpi`` (the longest side at most
        MAX_SIDE), or None for a page without area or without any image: a page of a few
        words and lines has nothing more to read than its text layer (a scan is an image)."""
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        if self.document is None:
            self.document = pdfium.PdfDocument(self.path)
        page = self.document[number]
        try:
            width, height = page.get_size()
            images = page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3)
            if width <= 0 or height <= 0 or next(images, None) is None:
                return None
            scale = min(self.dpi / 72, MAX_SIDE / max(width, height))
            bitmap = page.render(scale=scale)
            image = bitmap.to_pil()
            bitmap.close()
            return image
        finally:
            page.close()
