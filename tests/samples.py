"""Small real files of the allowed types, made on the fly (no binary fixtures)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import Any


def pdf(text: str = "Customer archive") -> bytes:
    """A minimal valid one-page PDF showing ``text`` (ASCII)."""
    content = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return _pdf_of(objects)


def _pdf_of(objects: list[bytes], xref_skew: int = 0) -> bytes:
    """A PDF file of these objects (the first is the catalog), with its cross-reference
    table; ``xref_skew`` moves every pointer that many bytes off (a broken file)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % (off + xref_skew))
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def png(width: int = 4, height: int = 4) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def docx(text: str = "客户档案") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
            '2006/content-types"><Override PartName="/word/document.xml" ContentType="'
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main"
            '+xml"/></Types>',
        )
        z.writestr(
            "word/document.xml",
            '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
            f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p>'
            "</w:body></w:document>",
        )
    return buf.getvalue()


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200


def windows_exe() -> bytes:
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"
        + b"\x00" * 50
        + b"\x80\x00\x00\x00"
        + b"\x00" * 64
        + b"PE\x00\x00"
        + b"\x00" * 200
    )


def pdf_zh(*paragraphs: str) -> bytes:
    """A PDF with Chinese text (reportlab's built-in CID font, nothing embedded)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.setFont("STSong-Light", 14)
    y = 780
    for text in paragraphs:
        page.drawString(60, y, text)
        y -= 24
    page.save()
    return out.getvalue()


def word(*paragraphs: str) -> bytes:
    """A real DOCX (python-docx), as a word processor writes it."""
    from docx import Document

    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def xlsx(*rows: tuple[object, ...]) -> bytes:
    """A real XLSX (openpyxl) with ``rows`` on its one sheet."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pptx(*slides: str) -> bytes:
    """A real PPTX (python-pptx): one title-and-content slide per text."""
    from pptx import Presentation

    deck = Presentation()
    for text in slides:
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.placeholders[1].text = text
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def eml(subject: str, body: str) -> bytes:
    """A plain-text e-mail as a mail client saves it (UTF-8, quoted-printable or base64)."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "sales@example.com"
    message["To"] = "archive@example.com"
    message["Subject"] = subject
    message["Date"] = "Mon, 06 Jan 2025 09:30:00 +0800"
    message.set_content(body)
    return bytes(message)


def zipped(members: dict[str, bytes]) -> bytes:
    """A ZIP of ``members`` (name → content), deflated."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def exe_in_zip() -> bytes:
    """A ZIP holding only a Windows executable: what a ``.docx`` lure often is."""
    return zipped({"invoice.exe": windows_exe()})


def content_types(part: str, content_type: str) -> bytes:
    return (
        '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/'
        f'2006/content-types"><Override PartName="{part}" ContentType="{content_type}"/>'
        "</Types>"
    ).encode()


def pdf_with_zip() -> bytes:
    """A polyglot: a valid PDF with a ZIP (holding an executable) appended after %%EOF."""
    return pdf() + exe_in_zip()


def pdf_that_warns(pages: int = 600) -> bytes:
    """A hostile PDF that makes pypdf warn thousands of times: every xref pointer is a few
    bytes off and every page names contents and a font that do not exist."""
    kids = b" ".join(b"%d 0 R" % n for n in range(4, 4 + pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    objects += [
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (900_000 + n, 800_000 + n)
        for n in range(pages)
    ]
    return _pdf_of(objects, xref_skew=3)


NOTO_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # fonts-noto-cjk (.ci/run)


def scan(*lines: str, width: int = 900, size: int = 36, rotate: int = 0) -> Any:
    """A page image with ``lines`` of Chinese/English text (Noto Sans CJK SC), as a scanner
    would give it: black on white, turned by ``rotate`` degrees counter-clockwise."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(NOTO_CJK, size, index=2)  # index 2: the SC face
    image = Image.new("RGB", (width, 60 + len(lines) * size * 2), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((30, 30 + number * size * 2), line, font=font, fill="black")
    return image.rotate(rotate, expand=True, fillcolor="white") if rotate else image


def image_bytes(image: Any, kind: str, **options: Any) -> bytes:
    """``image`` saved as ``kind`` (JPEG, PNG, TIFF, BMP, WEBP)."""
    out = io.BytesIO()
    image.save(out, format=kind, **options)
    return out.getvalue()


def scanned_pdf(*pages: Any) -> bytes:
    """An image-only PDF (no text layer), one page per image (Pillow's PDF writer)."""
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=list(pages[1:]), resolution=150)
    return out.getvalue()


def mixed_pdf(text: str, scanned: Any) -> bytes:
    """Page 1 with a real text layer (``text``), page 2 a scan without one."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setFont("STSong-Light", 12)
    pdf.drawString(72, 760, text)
    pdf.showPage()
    width = A4[0] - 72
    pdf.drawImage(
        ImageReader(scanned), 36, 400, width=width, height=width * scanned.height / scanned.width
    )
    pdf.showPage()
    pdf.save()
    return out.getvalue()
