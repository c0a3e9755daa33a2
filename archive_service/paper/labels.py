"""Label sheets (档案标签): an A4 page of 2 × 6 labels, each with the archive number, the
title, the customer, where the original is kept, and a QR code of the scan page's address
with the number (a phone's camera opens the record; a USB scanner types the address into
the scan box, which takes it as well as the bare number)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from archive_service import tables
from archive_service.archive.documents import get_document
from archive_service.errors import InvalidInput
from archive_service.paper.items import FONDS_PARAM, NUMBER_PARAM, paper_of
from archive_service.paper.locations import path
from archive_service.policy import Caller, require

MAX_LABELS = 600  # 50 sheets
SCAN_PATH = "/paper/scan"  # the scan page (web/paper.py) a label's QR code opens
COLUMNS, ROWS = 2, 6


@dataclass(frozen=True)
class Label:
    number: str
    title: str
    customer: str
    place: str
    link: str


def scan_address(base: str, number: str, fonds: str) -> str:
    """What a label's QR code holds: ``base`` (the service's public address) + the scan page
    with the archive number and this archive's fonds code."""
    query = urlencode({NUMBER_PARAM: number, FONDS_PARAM: fonds})
    return f"{base.rstrip('/')}{SCAN_PATH}?{query}"


def labels_for(
    session: Session, by: Caller, document_ids: Sequence[int], base: str, fonds: str
) -> list[Label]:
    """The labels of these documents (accepted ones: a label carries the archive number);
    their QR codes hold ``scan_address(base, number, fonds)``."""
    require(by, "paper.manage")
    if not document_ids:
        raise InvalidInput("choose the documents to label", field="document_ids")
    if len(document_ids) > MAX_LABELS:
        raise InvalidInput(f"at most {MAX_LABELS} labels at a time", field="document_ids")
    out: list[Label] = []
    for doc_id in dict.fromkeys(document_ids):
        doc = get_document(session, by, doc_id)
        if not doc.archive_number:
            raise InvalidInput(
                "a document gets its label once it has an archive number",
                field="document_ids",
                document_id=doc_id,
            )
        item = paper_of(session, doc.id)
        out.append(
            Label(
                doc.archive_number,
                doc.title,
                doc.customer.name,
                path(item.location) if item else "—",
                scan_address(base, doc.archive_number, fonds),
            )
        )
    return out


def sheet_pdf(labels: Sequence[Label]) -> bytes:
    """The labels laid out on A4 pages (2 × 6 labels of 95 × 45 mm)."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    name = tables.font()
    buf = io.BytesIO()
    pdf = Canvas(buf, pagesize=A4)
    pdf.setTitle("labels")
    width, height = 95 * mm, 45 * mm
    left, top = (A4[0] - COLUMNS * width) / 2, A4[1] - (A4[1] - ROWS * height) / 2
    qr_size = 36 * mm
    for n, label in enumerate(labels):
        if n and n % (COLUMNS * ROWS) == 0:
            pdf.showPage()
        col, row = n % COLUMNS, (n // COLUMNS) % ROWS
        x, y = left + col * width, top - (row + 1) * height
        pdf.setLineWidth(0.3)
        pdf.rect(x, y, width, height)
        widget = QrCodeWidget(label.link, barLevel="M")
        bx0, by0, bx1, by1 = widget.getBounds()
        drawing = Drawing(
            qr_size, qr_size, transform=[qr_size / (bx1 - bx0), 0, 0, qr_size / (by1 - by0), 0, 0]
        )
        drawing.add(widget)
        renderPDF.draw(drawing, pdf, x + 2 * mm, y + (height - qr_size) / 2)
        tx = x + qr_size + 4 * mm
        room = width - qr_size - 6 * mm
        pdf.setFont(name, 10)
        pdf.drawString(tx, y + height - 9 * mm, _fit(label.number, room, name, 10))
        pdf.setFont(name, 8)
        for i, text in enumerate((label.title, label.customer, label.place)):
            pdf.drawString(tx, y + height - (16 + 6 * i) * mm, _fit(text, room, name, 8))
    pdf.save()
    return buf.getvalue()


def _fit(text: str, room: float, font: str, size: int) -> str:
    """``text`` cut (with an ellipsis) to fit ``room`` points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= room:
        return text
    while text and stringWidth(text + "…", font, size) > room:
        text = text[:-1]
    return text + "…"
