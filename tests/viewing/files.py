"""Real files for the rendering tests, built in memory (no binary fixtures, no extra packages)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw

_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"


def pdf(pages: list[str], size: tuple[int, int] = (595, 842)) -> bytes:
    """A valid PDF, one page per text (ASCII), each with a grey block placed by page number."""
    width, height = size
    count = len(pages)
    # Objects: 1 catalog, 2 pages, 3 font, then (page, contents) per page.
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, text in enumerate(pages):
        content = (
            f"0.3 g {60 + 120 * i} {height - 400} 100 200 re f "
            f"0 g BT /F1 36 Tf 72 {height - 120} Td ({text}) Tj ET"
        ).encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] "
            f"/Contents {5 + 2 * i} 0 R /Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def docx(paragraphs: list[str], image_link: str | None = None) -> bytes:
    """A minimal Word document; ``image_link`` adds a picture linked to an external URL."""
    body = "".join(
        f'<w:p><w:r><w:rPr><w:lang w:eastAsia="zh-CN"/></w:rPr><w:t xml:space="preserve">'
        f"{escape(p)}</w:t></w:r></w:p>"
        for p in paragraphs
    )
    if image_link:
        body += (
            "<w:p><w:r><w:drawing><wp:inline>"
            '<wp:extent cx="914400" cy="914400"/><wp:docPr id="1" name="linked"/>'
            '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
            '<pic:pic><pic:nvPicPr><pic:cNvPr id="1" name="linked"/><pic:cNvPicPr/></pic:nvPicPr>'
            '<pic:blipFill><a:blip r:link="rIdLinked"/><a:stretch><a:fillRect/></a:stretch>'
            '</pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="914400" cy="914400"/>'
            '</a:xfrm><a:prstGeom prst="rect"/></pic:spPr></pic:pic></a:graphicData></a:graphic>'
            "</wp:inline></w:drawing></w:r></w:p>"
        )
    namespaces = (
        'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        f'xmlns:r="{_REL}" '
        'xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"'
    )
    parts = {
        "[Content_Types].xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_TYPES}">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="word/document.xml"/>'
            "</Relationships>"
        ),
        "word/document.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><w:document {namespaces}>'
            f"<w:body>{body}</w:body></w:document>"
        ),
    }
    if image_link:
        parts["word/_rels/document.xml.rels"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rIdLinked" Type="{_REL}/image" Target="{escape(image_link)}" '
            'TargetMode="External"/></Relationships>'
        )
    return _zip(parts)


def xlsx(rows: list[list[str]]) -> bytes:
    """A minimal workbook with one sheet of inline strings."""
    cells = "".join(
        f'<row r="{r}">'
        + "".join(
            f'<c r="{chr(65 + c)}{r}" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
            for c, v in enumerate(row)
        )
        + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    office = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    return _zip(
        {
            "[Content_Types].xml": (
                f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_TYPES}">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                f'<Override PartName="/xl/workbook.xml" ContentType="{office}.sheet.main+xml"/>'
                '<Override PartName="/xl/worksheets/sheet1.xml" '
                f'ContentType="{office}.worksheet+xml"/></Types>'
            ),
            "_rels/.rels": (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
                f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
                "</Relationships>"
            ),
            "xl/workbook.xml": (
                f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{main}" xmlns:r="{_REL}">'
                '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
            ),
            "xl/_rels/workbook.xml.rels": (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
                f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                "</Relationships>"
            ),
            "xl/worksheets/sheet1.xml": (
                f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}">'
                f"<sheetData>{cells}</sheetData></worksheet>"
            ),
        }
    )


def pptx(title: str) -> bytes:
    """A minimal one-slide presentation with ``title`` in a text box."""
    ns = (
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{_REL}" '
        'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
    )
    office = "application/vnd.openxmlformats-officedocument.presentationml"
    return _zip(
        {
            "[Content_Types].xml": (
                f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_TYPES}">'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                '<Override PartName="/ppt/presentation.xml" '
                f'ContentType="{office}.presentation.main+xml"/>'
                '<Override PartName="/ppt/slides/slide1.xml" '
                f'ContentType="{office}.slide+xml"/></Types>'
            ),
            "_rels/.rels": (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
                f'<Relationship Id="rId1" Type="{_REL}/officeDocument" '
                'Target="ppt/presentation.xml"/></Relationships>'
            ),
            "ppt/presentation.xml": (
                f'<?xml version="1.0" encoding="UTF-8"?><p:presentation {ns}>'
                '<p:sldIdLst><p:sldId id="256" r:id="rId2"/></p:sldIdLst>'
                '<p:sldSz cx="9144000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/>'
                "</p:presentation>"
            ),
            "ppt/_rels/presentation.xml.rels": (
                f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_PKG_REL}">'
                f'<Relationship Id="rId2" Type="{_REL}/slide" Target="slides/slide1.xml"/>'
                "</Relationships>"
            ),
            "ppt/slides/slide1.xml": (
                f'<?xml version="1.0" encoding="UTF-8"?><p:sld {ns}><p:cSld><p:spTree>'
                '<p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr>'
                '<p:grpSpPr/><p:sp><p:nvSpPr><p:cNvPr id="2" name="title"/>'
                '<p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr><p:spPr><a:xfrm>'
                '<a:off x="914400" y="914400"/><a:ext cx="6000000" cy="1000000"/></a:xfrm>'
                '<a:prstGeom prst="rect"/></p:spPr><p:txBody><a:bodyPr/><a:p><a:r>'
                f'<a:rPr lang="zh-CN" sz="4000"/><a:t>{escape(title)}</a:t></a:r></a:p>'
                "</p:txBody></p:sp></p:spTree></p:cSld></p:sld>"
            ),
        }
    )


def image(
    fmt: str,
    size: tuple[int, int] = (800, 600),
    mode: str = "RGB",
    frames: int = 1,
    **save: Any,
) -> bytes:
    """An image in ``mode`` with a dark stripe pattern that moves with the frame number."""
    pictures = []
    for n in range(frames):
        img = Image.new("RGB", size, "white")
        draw = ImageDraw.Draw(img)
        for x in range(-size[1] + 60 * n, size[0], 120):
            draw.line([(x, 0), (x + size[1], size[1])], fill=(30, 60, 90), width=12)
        draw.rectangle([20, 20, 20 + size[0] // 4, 20 + size[1] // 4], fill=(0, 0, 0))
        pictures.append(img.convert(mode))
    out = io.BytesIO()
    if frames > 1:
        save.update(save_all=True, append_images=pictures[1:])
    pictures[0].save(out, format=fmt, **save)
    return out.getvalue()


def png_bomb(width: int = 200_000, height: int = 200_000) -> bytes:
    """A tiny PNG that declares a huge size (its data would decompress to many gigabytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + b"\x00" * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * 16, 9))
        + chunk(b"IEND", b"")
    )


def png_chunks(data: bytes) -> list[bytes]:
    """The chunk types of a PNG file, in order."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    kinds, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kinds.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return kinds


def _zip(parts: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, text)
    return buf.getvalue()
