"""A titled table as an XLSX workbook (openpyxl) or a landscape A4 PDF (reportlab, with a
Chinese font): the lists the archive hands out (检测清单, 销毁清册). Cells a spreadsheet
would run as formulas are made inert text; text reaches the PDF escaped."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive_service.vocabulary import Label, chinese

if TYPE_CHECKING:
    from archive_service.accounts.models import User

FONT_CANDIDATES = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
)
_FONT = "ArchiveListCJK"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def both(label: Label) -> str:
    """A label in Chinese, then English (the lists are read by either)."""
    return f"{chinese(label)} {label.english}"


def person(user: User | None) -> str:
    return f"{user.display_name} ({user.username})" if user else "—"


def utc(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def inert(value: Any) -> Any:
    """A cell a spreadsheet would run as a formula is made inert text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def xlsx(
    sheet_name: str,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    footer: Sequence[str] = (),
) -> bytes:
    """One sheet: the title, the header, the rows, then the footer lines."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_name
    sheet.append([inert(title)])
    sheet.append([inert(h) for h in header])
    for values in rows:
        sheet.append([inert(v) for v in values])
    if footer:
        sheet.append([])
        for line in footer:
            sheet.append([inert(line)])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def font() -> str:
    """A registered font that has Chinese glyphs: an installed CJK font (embedded), else
    reportlab's built-in STSong-Light (not embedded)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if _FONT in pdfmetrics.getRegisteredFontNames():
        return _FONT
    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            try:
                pdfmetrics.registerFont(TTFont(_FONT, path, subfontIndex=index))
                return _FONT
            except Exception:  # noqa: BLE001, S112 - try the next font
                continue
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


CELL_POINTS = 7
ROWS_PER_TABLE = 40


def _ems(text: str) -> float:
    """The width of ``text`` in ems, roughly: a Chinese character is one, a Latin one half."""
    return sum(1.0 if ord(ch) > 0x2E80 else 0.55 for ch in text)


def _widths(header: Sequence[str], rows: Sequence[Sequence[Any]], page: float) -> list[float]:
    """Column widths in proportion to what they hold (capped, so a long title wraps)."""
    wants = [
        min(max([_ems(str(h)) * 0.6, *(_ems(str(r[i])) for r in rows[:200] if i < len(r))]), 40)
        for i, h in enumerate(header)
    ]
    wants = [max(w, 4.5) for w in wants]
    return [page * w / sum(wants) for w in wants]


def pdf(
    doc_title: str,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    footer: Sequence[str] = (),
) -> bytes:
    """The title, the table (its header repeated on every page), then the footer lines."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    name = font()
    cell = ParagraphStyle("cell", fontName=name, fontSize=CELL_POINTS, leading=9)
    head = ParagraphStyle("head", fontName=name, fontSize=12, leading=16)
    line = ParagraphStyle("line", fontName=name, fontSize=9, leading=13)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), title=doc_title)
    widths = _widths(header, rows, landscape(A4)[0] - doc.leftMargin - doc.rightMargin)

    def p(text: Any, style: ParagraphStyle = cell) -> Paragraph:
        escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return Paragraph(escaped, style)

    def c(text: Any, width: float) -> Any:
        # Only a cell too long for its column is a paragraph (wrapped): a long list of
        # short cells is laid out many times faster.
        return p(text) if _ems(str(text)) * CELL_POINTS > width - 6 else str(text)

    style = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("FONTNAME", (0, 0), (-1, -1), name),
            ("FONTSIZE", (0, 0), (-1, -1), CELL_POINTS),
            ("LEADING", (0, 0), (-1, -1), 9),
        ]
    )
    top = [p(h) for h in header]
    tables = []
    # A table per block of rows, each with the header: splitting one long table across
    # pages lays it out again for every page.
    for at in range(0, max(len(rows), 1), ROWS_PER_TABLE):
        block = [
            [c(v, w) for v, w in zip(r, widths, strict=False)]
            for r in rows[at : at + ROWS_PER_TABLE]
        ]
        table = Table([top, *block], colWidths=widths, repeatRows=1)
        table.setStyle(style)
        tables.append(table)
    flow: list[Any] = [p(title, head), *tables]
    if footer:
        flow.append(Spacer(1, 12))
        flow.extend(p(text, line) for text in footer)
    doc.build(flow)
    return buf.getvalue()
