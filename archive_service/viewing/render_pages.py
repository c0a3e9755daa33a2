"""The parsing side of page rendering: runs only inside the sandboxed child process.

PDFs go through PDFium (pypdfium2), images through Pillow restricted to the format the
content type names. Every failure a file can cause becomes a PageError with a short
reason; the parent turns it into RenderError.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from archive_service.viewing.render_watermark import burn

# Largest image (pixels per frame) that is decoded at all: a 600 dpi A3 scan is ~70 MP.
# Pillow's own check uses the same number, so a bomb fails at open, before decoding.
MAX_IMAGE_PIXELS = 100_000_000
# A page may be at most this many times as tall as it is wide once scaled (a long
# receipt fits); taller would make a giant bitmap at the requested width.
MAX_ASPECT = 10

# Pillow plugins allowed per kind: a file only ever meets the decoder its type names.
_IMAGE_FORMATS = {
    "jpeg": ["JPEG", "MPO"],
    "png": ["PNG"],
    "tiff": ["TIFF"],
    "bmp": ["BMP"],
    "webp": ["WEBP"],
}
KINDS = frozenset({"pdf", *_IMAGE_FORMATS})


class PageError(Exception):
    """The file or page cannot be rendered; the message is the reason, fit to show."""


def count_pages(path: str, kind: str) -> int:
    """Pages of a PDF, frames of a TIFF, 1 for other images."""
    if kind == "pdf":
        with _pdf(path) as doc:
            return len(doc)
    with _image(path, kind) as img:
        return _frames(img, kind)


def render_png(path: str, kind: str, page: int, lines: Sequence[str], width: int) -> bytes:
    """Page ``page`` (1-based) at ``width`` pixels with ``lines`` burned in, as PNG bytes."""
    pixels = _pdf_page(path, page, width) if kind == "pdf" else _image_page(path, kind, page, width)
    out = io.BytesIO()
    burn(pixels, lines).save(out, format="PNG", compress_level=6)
    return out.getvalue()


def preview(
    path: str, kind: str, pdf_out: str | None, thumb_width: int, max_side: int, max_frames: int
) -> tuple[int, bytes, int, int]:
    """A document's preview parts: its page count and page 1 as a PNG ``thumb_width`` wide
    (no watermark: only those who may download the file see it); for an image, also a PDF
    of its frames scaled to fit ``max_side`` pixels, written to ``pdf_out``. Returns
    ``(pages, png, png_width, png_height)``."""
    pages = count_pages(path, kind)
    if kind == "pdf":
        pixels = _pdf_page(path, 1, thumb_width)
    else:
        pixels = _image_page(path, kind, 1, thumb_width)
    out = io.BytesIO()
    pixels.save(out, format="PNG", optimize=True)
    if pdf_out is not None and kind != "pdf":
        _image_pdf(path, kind, pdf_out, max_side, min(pages, max_frames))
    return pages, out.getvalue(), pixels.width, pixels.height


def _image_pdf(path: str, kind: str, pdf_out: str, max_side: int, frames: int) -> None:
    """The image's first ``frames`` frames as PDF pages, each scaled to fit ``max_side``
    pixels and re-encoded (JPEG inside the PDF): no metadata of the original goes along."""
    scaled: list[Image.Image] = []
    with _image(path, kind) as img:
        for frame in range(frames):
            if frame:
                img.seek(frame)
                _check_pixels(img)
            img.draft("RGB", (max_side, max_side))
            img.load()
            page = _to_rgb(ImageOps.exif_transpose(img))
            page.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
            scaled.append(page)
    # The long side of the first page becomes an A4 page's long side (11.69 in).
    dpi = max(72.0, max(scaled[0].size) / 11.69)
    scaled[0].save(
        pdf_out, format="PDF", save_all=True, append_images=scaled[1:], resolution=dpi, quality=85
    )


@contextmanager
def _pdf(path: str) -> Iterator[Any]:
    try:
        doc = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise PageError(f"not a readable PDF ({exc})") from None
    try:
        yield doc
    finally:
        doc.close()


def _pdf_page(path: str, page: int, width: int) -> Image.Image:
    with _pdf(path) as doc:
        _check_page(page, len(doc))
        pdf_page = doc[page - 1]
        page_width, page_height = pdf_page.get_size()
        if page_width <= 0 or page_height <= 0:
            raise PageError(f"page {page} has no area")
        _check_shape(page_width, page_height)
        try:
            bitmap = pdf_page.render(scale=width / page_width, draw_annots=True)
        except pdfium.PdfiumError as exc:
            raise PageError(f"page {page} cannot be drawn ({exc})") from None
        image = bitmap.to_pil().convert("RGB")
        bitmap.close()
        pdf_page.close()
    return _to_width(image, width)


@contextmanager
def _image(path: str, kind: str) -> Iterator[Image.Image]:
    if kind not in _IMAGE_FORMATS:
        raise PageError(f"unknown kind {kind!r}")
    # Pillow warns between MAX and 2×MAX pixels and raises above; make both an error.
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(path, formats=_IMAGE_FORMATS[kind])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PageError("the image is too large to show") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise PageError(_unreadable(kind, exc, path)) from None
        try:
            _check_pixels(img)
            yield img
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PageError("the image is too large to show") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise PageError(_unreadable(kind, exc, path)) from None
        finally:
            img.close()


def _unreadable(kind: str, exc: Exception, path: str) -> str:
    # Pillow names the file in some messages; the reason may reach the viewer, the path not.
    detail = str(exc).replace(path, "file")
    return f"not a readable {kind.upper()} image ({detail})"


def _frames(img: Image.Image, kind: str) -> int:
    # PNG may be animated (APNG), but only the first frame is a page.
    return int(getattr(img, "n_frames", 1)) if kind == "tiff" else 1


def _image_page(path: str, kind: str, page: int, width: int) -> Image.Image:
    with _image(path, kind) as img:
        _check_page(page, _frames(img, kind))
        if page > 1:
            img.seek(page - 1)
            _check_pixels(img)  # each TIFF frame declares its own size
        _check_shape(img.width, img.height)
        # JPEG can decode at 1/2, 1/4, 1/8 scale: far less memory for a large photo.
        # Asking for width in both directions keeps enough pixels if EXIF rotates it.
        img.draft("RGB", (width, width))
        img.load()
        upright = ImageOps.exif_transpose(img)
        return _to_width(_to_rgb(upright), width)


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB on white, whatever the source mode (palette, alpha, 16-bit grey, CMYK, 1-bit)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit samples: scale to 8 bits rather than clip everything above 255 to white.
        img = img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        img.mode == "P" and "transparency" in img.info
    )
    if has_alpha:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, "white")
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _to_width(img: Image.Image, width: int) -> Image.Image:
    if img.width == width:
        return img
    height = max(1, round(img.height * width / img.width))
    _check_shape(width, height)
    return img.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def _check_page(page: int, count: int) -> None:
    if not 1 <= page <= count:
        raise PageError(f"page {page} is out of range (the file has {count})")


def _check_pixels(img: Image.Image) -> None:
    if img.width * img.height > MAX_IMAGE_PIXELS:
        raise PageError("the image is too large to show")
    if img.width <= 0 or img.height <= 0:
        raise PageError("the image has no pixels")


def _check_shape(width: float, height: float) -> None:
    if height > MAX_ASPECT * width:
        raise PageError("the page is too long and narrow to show")
