"""An OFD (GB/T 33190) drawn as a PDF, for page images and previews: runs only inside the
sandboxed child process (``render.prepare`` starts it).

What is drawn: each page at its size, its text (``TextCode``) at its position and size,
character by character where ``DeltaX`` spaces them, and its images (``ImageObject`` with
a ``MultiMedia`` image resource) in their boundary. What is not: paths and other vector
graphics (lines, boxes, the seal's outline), fonts named by the file (every text is drawn
in one CJK font), clipping, transforms (``CTM``) and annotations. Text is what an archive
reads an OFD for; the original OFD stays the record.

Font: reportlab embeds only TrueType outlines, and the Noto CJK fonts installed here
(fonts-noto-cjk) are CFF (OpenType/PostScript). A CJK TrueType font, when one is
installed, is embedded; otherwise the text uses the standard CID font STSong-Light (not
embedded: PDFium draws it with the installed Noto CJK font, as a PDF viewer would).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import warnings
from collections.abc import Iterator

from archive_service.viewing.render_pages import MAX_IMAGE_PIXELS, PageError
from search.ofd import OfdError, Page, read_member, read_pages

MM = 72 / 25.4  # points per millimetre
MAX_PAGE_MM = 5_000.0  # a page larger than 5 m a side is not a page
FALLBACK_FONT = "STSong-Light"
# TrueType CJK fonts reportlab can embed, tried in order (after those fc-list names).
_TTF_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


def to_pdf(source: str, target: str) -> int:
    """Draw the OFD at ``source`` as the PDF ``target``; the number of pages."""
    from reportlab.pdfgen import canvas

    try:
        pages = read_pages(source, with_images=True)
    except OfdError as exc:
        raise PageError(f"the OFD cannot be read: {exc}") from None
    if not pages:
        raise PageError("the OFD has no pages")
    font = _font()
    pdf = canvas.Canvas(target, pageCompression=1, invariant=1)
    for page in pages:
        _draw(pdf, page, source, font)
        pdf.showPage()
    pdf.save()
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


def _font() -> str:
    """An embeddable CJK TrueType font if one is installed, else the CID font."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    for path in _ttf_paths():
        try:
            font = TTFont("OfdCJK", path)
        except (TTFError, OSError, ValueError):
            continue
        if all(ord(ch) in font.face.charToGlyph for ch in "中文档案"):
            pdfmetrics.registerFont(font)
            return "OfdCJK"
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_FONT))
    return FALLBACK_FONT


def _ttf_paths() -> list[str]:
    """Installed TrueType fonts that cover Chinese (fontconfig's list), then the usual ones."""
    paths: list[str] = []
    fc_list = shutil.which("fc-list")
    if fc_list:
        try:
            found = subprocess.run(  # noqa: S603 - fixed argv
                [fc_list, "-f", "%{file}\n", ":lang=zh-cn:fontformat=TrueType"],
                capture_output=True,
                timeout=10,
                check=False,
            ).stdout.decode("utf-8", "replace")
        except (OSError, subprocess.TimeoutExpired):
            found = ""
        paths = sorted({p for p in found.splitlines() if p.lower().endswith((".ttf", ".ttc"))})
    return [*paths, *_TTF_CANDIDATES]
