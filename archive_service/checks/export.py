"""A customer's check list (检测清单) as XLSX (openpyxl) or PDF (reportlab, with a Chinese
font): one row per report — document, number, version, stage, time, the four groups'
outcomes, failed items, override. Headers in Chinese and English; no titles or text."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from archive_service.archive.models import Customer
from archive_service.checks import rules
from archive_service.checks.services import ListedReport
from archive_service.checks.vocabulary import CHECK_GROUPS, STAGES
from archive_service.vocabulary import _t, chinese

FONT_CANDIDATES = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
)
COLUMNS = (
    _t("check list", "Document"),
    _t("check list", "Archive number"),
    _t("check list", "Version"),
    _t("check list", "Stage"),
    _t("check list", "Checked at"),
    *(g.label for g in CHECK_GROUPS),
    _t("check list", "Failed items"),
    _t("check list", "Override reason"),
)
TITLE = _t("check list", "Check list (DA/T 70) of customer")
PASS, FAIL = _t("check list", "passed"), _t("check list", "failed")


def _both(label: Any) -> str:
    return f"{chinese(label)} {label.english}"


def _inert(value: Any) -> Any:
    """A cell a spreadsheet would run as a formula is made inert text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def rows(listed: Sequence[ListedReport]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for row in listed:
        report = row.report
        groups = rules.grouped(report.results)
        stage = STAGES.get(report.stage)
        out.append(
            [
                row.document.id,
                row.document.archive_number or "",
                row.version.number,
                _both(stage.label) if stage else report.stage,
                report.checked_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                *(_both(PASS if groups[g.code]["passed"] else FAIL) for g in CHECK_GROUPS),
                ", ".join(r["code"] for r in report.results if not r["passed"]),
                report.override_reason or "",
            ]
        )
    return out


def xlsx(customer: Customer, listed: Sequence[ListedReport]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "checks"
    sheet.append([_inert(f"{_both(TITLE)} {customer.seq:03d} {customer.name}")])
    sheet.append([_both(c) for c in COLUMNS])
    for values in rows(listed):
        sheet.append([_inert(v) for v in values])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "CheckListCJK" in pdfmetrics.getRegisteredFontNames():
        return "CheckListCJK"
    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            try:
                pdfmetrics.registerFont(TTFont("CheckListCJK", path, subfontIndex=index))
                return "CheckListCJK"
            except Exception:  # noqa: BLE001, S112 - try the next font
                continue
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # built in, not embedded
    return "STSong-Light"


def pdf(customer: Customer, listed: Sequence[ListedReport]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table, TableStyle

    font = _font()
    cell = ParagraphStyle("cell", fontName=font, fontSize=7, leading=9)
    head = ParagraphStyle("head", fontName=font, fontSize=12, leading=16)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=landscape(A4), title="check list")

    def p(text: Any, style: ParagraphStyle = cell) -> Paragraph:
        escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return Paragraph(escaped, style)

    data = [[p(_both(c)) for c in COLUMNS]] + [[p(v) for v in r] for r in rows(listed)]
    table = Table(data, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    title = p(f"{_both(TITLE)} {customer.seq:03d} {customer.name}", head)
    doc.build([title, table])
    return buf.getvalue()
