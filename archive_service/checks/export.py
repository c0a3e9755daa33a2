"""A customer's check list (检测清单) as XLSX or PDF (``archive_service.tables``): one row
per report — document, number, version, stage, time, the four groups' outcomes, failed
items, override. Headers in Chinese and English; no titles or text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archive_service import tables
from archive_service.archive.models import Customer
from archive_service.checks import rules
from archive_service.checks.services import ListedReport
from archive_service.checks.vocabulary import CHECK_GROUPS, STAGES
from archive_service.vocabulary import _t, chinese

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


def _title(customer: Customer) -> str:
    return f"{_both(TITLE)} {customer.seq:03d} {customer.name}"


def xlsx(customer: Customer, listed: Sequence[ListedReport]) -> bytes:
    return tables.xlsx("checks", _title(customer), [_both(c) for c in COLUMNS], rows(listed))


def pdf(customer: Customer, listed: Sequence[ListedReport]) -> bytes:
    return tables.pdf("check list", _title(customer), [_both(c) for c in COLUMNS], rows(listed))
