"""An OFD (GB/T 33190) drawn as a PDF, for page images and previews: runs only inside the
sandboxed child process (``render.prepare`` starts it).

What is drawn: each page at its size, its text (``TextCode``) at its position and size,
character by character where ``DeltaX`` spaces them, and its images (``ImageObject`` with
a ``MultiMedia`` image resource) in their boundary. What is not: paths and other vector
graphics (lines, boxes, the seal's outline), fonts named by the file (every text is drawn
in one CJK font), clipping, transforms (``CTM``) and annotations. Text is what an archive
reads an OFD for; the original OFD stays the record.

Font: Noto Sans CJK SC (fonts-noto-cjk), cut to the document's characters and embedded
(:mod:`archive_service.viewing.render_font`); without it, an installed CJK TrueType font,
else the standard CID font STSong-Light (not embedded: a viewer draws it with a CJK font
of its own).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path

from archive_service.viewing.render_font import embeddable_cjk_font
from archive_service.viewing.render_pages import MAX_IMAGE_PIXELS, PageError
from search.ofd import OfdError, Page, read_member, read_pages

MM = 72 / 25.4  # points per millimetre
MAX_PAGE_MM = 5_000.0  # a page larger than 5 m a side is not a page
FALLBACK_FONT = "STSong-Light"


def to_pdf(source: str, target: str) -> int:
    """Draw the OFD at ``source`` as the PDF ``target``; the number of pages."""
    from reportlab.pdfgen import canvas

    try:
        pages = read_pages(source, with_images=True)
    except OfdError as exc:
        raise PageError(f"the OFD cannot be read: {exc}") from None
    if not pages:
        raise PageError("the OFD has no pages")
    folder = Path(target).parent
    font = _font(pages, folder)
    pdf = canvas.Canvas(target, pageCompression=1, invariant=1)
    for page in pages:
        _draw(pdf, page, source, font)
        pdf.showPage()
    pdf.save()
    (folder / "cjk-subset.ttf").unlink(missing_ok=True)
    return len(pages)


def _draw(pdf: object, page: Page, source: str, font: str) -> None:
    width = min(max(page.width, 1.0), MAX_PAGE_MM) * MM
    height = min(max(page.height, 1.0), MAX_PAGE_MM) * MM
    pdf.setPageSize((width, height))  # type: ignore[attr-defined]
    for image in page.images:
        reader = _image(source, image.member)
        if reader is None:
            continue  # a format Pillow does not read (JBIG2), or a broken image: left out
        x, y, w, h = image.box
        pdf.drawImage(  # type: ignore[attr-defined]
            reader, x * MM, height - (y + h) * MM, width=w * MM, height=h * MM, mask="auto"
        )
    for text in page.texts:
        if not text.text.strip():
            continue
        size = max(0.5, min(text.size, 500.0)) * MM
        pdf.setFont(font, size)  # type: ignore[attr-defined]
        baseline = height - text.y * MM
        if text.advances:
            for char, x in zip(text.text, _positions(text.x, text.advances), strict=False):
                pdf.drawString(x * MM, baseline, char)  # type: ignore[attr-defined]
        else:
            pdf.drawString(text.x * MM, baseline, text.text)  # type: ignore[attr-defined]


def _positions(start: float, advances: tuple[float, ...]) -> Iterator[float]:
    """Each character's x: the first at ``start``, each next one ``DeltaX`` further (the
    last gap repeats for characters beyond the list)."""
    x = start
    yield x
    index = 0
    while True:
        x += advances[min(index, len(advances) - 1)]
        index += 1
        yield x


def _image(source: str, member: str) -> object | None:
    from PIL import Image
    from reportlab.lib.utils import ImageReader

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        data = read_member(source, member)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data))
            picture.load()
        return ImageReader(picture)
    except (OfdError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    except (Image.DecompressionBombWarning, KeyError, EOFError):
        return None


def _font(pages: list[Page], folder: Path) -> str:
    """Noto Sans CJK cut to the document's characters and embedded (``render_font``), else
    the standard CID font (not embedded)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    text = "".join(sorted({ch for page in pages for t in page.texts for ch in t.text}))
    path = embeddable_cjk_font(text, folder)
    if path is not None:
        try:
            pdfmetrics.registerFont(TTFont("OfdCJK", str(path)))
            return "OfdCJK"
        except (TTFError, OSError, ValueError):
            pass
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT
