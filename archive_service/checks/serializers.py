"""Check reports as the API gives them (the four-part shape) and as the check list rows."""

from __future__ import annotations

from typing import Any

from archive_service.checks import rules
from archive_service.checks.models import CheckReport
from archive_service.checks.vocabulary import CHECK_GROUPS
from archive_service.vocabulary import chinese


def report_dict(report: CheckReport, version_number: int | None = None) -> dict[str, Any]:
    """``{"authenticity": {"passed", "items": [...]}, …, "checked_at", "stage"}``; each item
    ``{"code", "passed", "mandatory", "label", "label_zh", "detail", "detail_zh"}``."""
    out: dict[str, Any] = {}
    for code, group in rules.grouped(report.results).items():
        term = CHECK_GROUPS[code]
        out[code] = {
            "passed": group["passed"],
            "label": term.label.english,
            "label_zh": chinese(term.label),
            "items": [
                {
                    "code": i["code"],
                    "passed": i["passed"],
                    "mandatory": i["mandatory"],
                    "label": i["item"].label.english,
                    "label_zh": chinese(i["item"].label),
                    "detail": i["detail"],
                    "detail_zh": rules.detail_in(i, chinese),
                }
                for i in group["items"]
            ],
        }
    out.update(
        document_id=report.document_id,
        version=version_number,
        stage=report.stage,
        checked_at=report.checked_at.isoformat(),
        passed=report.passed,
        override_reason=report.override_reason,
    )
    return out
