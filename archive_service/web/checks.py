"""Check pages: a customer's check list (四性检测) with its export links, and what the review
page and a refused acceptance show of a report."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import pgettext

from archive_service.checks import export, rules
from archive_service.checks import services as checks
from archive_service.checks.models import CheckReport
from archive_service.checks.services import ChecksFailed
from archive_service.checks.vocabulary import CHECK_GROUPS, CHECK_ITEMS
from archive_service.http import caller, request_session, signed_in
from archive_service.responses import download_response
from archive_service.tables import XLSX

bp = Blueprint("web_checks", __name__)


def checks_shown(report: CheckReport | None) -> dict[str, Any] | None:
    """A report as the templates show it: groups in order, each with its items."""
    if report is None:
        return None
    return {"report": report, "groups": rules.grouped(report.results), "vocabulary": CHECK_GROUPS}


def checks_refusal(exc: ChecksFailed) -> str:
    """A refused acceptance in the interface's language: the failed items' words."""
    names = []
    for failed in exc.details.get("failed", []):
        item = CHECK_ITEMS.get(failed["code"])
        if item is not None:
            names.append(str(pgettext(item.label.context, item.label.english)))
    return _(
        "Mandatory checks failed: %(items)s. Give an override reason to accept anyway.",
        items="; ".join(names),
    )


@bp.get("/customers/<int:customer_id>/checks")
@signed_in
def customer_checks(customer_id: int) -> Any:
    """The customer's check list; ``?format=xlsx`` or ``pdf`` downloads it."""
    customer, listed = checks.customer_reports(request_session(), caller(), customer_id)
    wanted = request.args.get("format")
    if wanted:
        fmt = checks.export_format(wanted)
        body = export.pdf(customer, listed) if fmt == "pdf" else export.xlsx(customer, listed)
        content_type = "application/pdf" if fmt == "pdf" else XLSX
        return download_response(body, content_type, f"checks-{customer_id}.{fmt}")
    return render_template(
        "archive/checks.html",
        customer=customer,
        rows=[(row, rules.grouped(row.report.results)) for row in listed],
        groups=CHECK_GROUPS,
    )
