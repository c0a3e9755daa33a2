"""A stocktake's report as PDF or XLSX (the lists' shared layout, ``archive_service.tables``):
who counted what and when, each line with its finding, the totals and the sign-off."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from archive_service import tables
from archive_service.paper.locations import path
from archive_service.paper.models import Stocktake
from archive_service.paper.stocktake import report_of, summary
from archive_service.paper.vocabulary import FINDINGS, ITEM_STATES, STOCKTAKE_STATES
from archive_service.vocabulary import _t

COLUMNS = (
    _t("stocktake report", "No."),
    _t("stocktake report", "Archive number"),
    _t("stocktake report", "Title"),
    _t("stocktake report", "Finding"),
    _t("stocktake report", "State on record"),
    _t("stocktake report", "Kept at (record)"),
    _t("stocktake report", "Found at"),
)
TITLE = _t("stocktake report", "Stocktake report")
PLACE = _t("stocktake report", "Counted")
EVERYTHING = _t("stocktake report", "all paper originals")
STARTED = _t("stocktake report", "Started")
FINISHED = _t("stocktake report", "Finished")
SIGNED = _t("stocktake report", "Signed off")
TOTALS = _t("stocktake report", "Found in place / missing / misplaced / unexpected")
STATE = _t("stocktake report", "State")


def _word(vocabulary: Any, code: str | None) -> str:
    term = vocabulary.get(code)
    return tables.both(term.label) if term else (code or "—")


def report_file(session: Session, take: Stocktake, fmt: str) -> bytes:
    """The report as ``pdf`` or ``xlsx``."""
    lines = report_of(session, take)
    rows = [
        [
            n,
            x["archive_number"] or "—",
            x["title"],
            _word(FINDINGS, x["finding"]),
            _word(ITEM_STATES, x["state"]),
            x["recorded_path"],
            x["found_path"] or "—",
        ]
        for n, x in enumerate(lines, start=1)
    ]
    s = summary(lines)
    where = path(take.location) if take.location else tables.both(EVERYTHING)
    title = f"{tables.both(TITLE)} #{take.id} · {where}"
    footer = [
        f"{tables.both(PLACE)}: {where}",
        f"{tables.both(STATE)}: {_word(STOCKTAKE_STATES, take.state)}",
        f"{tables.both(STARTED)}: {tables.person(take.started_by)} · {tables.utc(take.started_at)}",
        f"{tables.both(FINISHED)}: {tables.person(take.finished_by)} · "
        f"{tables.utc(take.finished_at)}",
        f"{tables.both(SIGNED)}: {tables.person(take.signed_by)} · {tables.utc(take.signed_at)}"
        + (f" · {take.sign_comment}" if take.sign_comment else ""),
        f"{tables.both(TOTALS)}: {s.found} / {s.missing} / {s.misplaced} / {s.unexpected}",
    ]
    header = [tables.both(c) for c in COLUMNS]
    if fmt == "pdf":
        return tables.pdf("stocktake report", title, header, rows, footer)
    return tables.xlsx("stocktake report", title, header, rows, footer)
