"""The search page: one query box, filters, paging, sort, highlighted snippets."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, render_template, request
from flask_babel import gettext as _

from archive_service.accounts.departments import list_departments
from archive_service.archive.categories import category_tree
from archive_service.archive.customers import list_customers
from archive_service.archive.vocabulary import DOCUMENT_STATUSES
from archive_service.errors import InvalidInput
from archive_service.http import caller, db_int, request_session, runtime, signed_in, uow
from archive_service.indexing import queries as indexing

bp = Blueprint("web_search", __name__)
PER_PAGE = 20
# What a search may filter by (destroyed documents are not in the index).
STATUSES = tuple(c for c in DOCUMENT_STATUSES.codes if c != "destroyed")


def _day(name: str) -> date | None:
    value = request.args.get(name) or ""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("/search")
@signed_in
def search() -> Any:
    a = request.args
    params = indexing.SearchParams(
        q=(a.get("q") or "").strip()[:200],
        customer_id=a.get("customer_id", type=db_int) or None,
        category=a.get("category") or None,
        department=a.get("department") or None,
        status=a.get("status") if a.get("status") in STATUSES else None,
        date_from=_day("date_from"),
        date_to=_day("date_to"),
        sort="date" if a.get("sort") == "date" else "relevance",
        page=max(1, a.get("page", 1, type=db_int) or 1),
        per_page=PER_PAGE,
    )
    searched = bool(params.q or params.customer_id or params.category or params.department)
    found: list[indexing.Found] = []
    total, error = 0, None
    if searched:
        try:
            with uow() as s:
                found, total = indexing.search(
                    s, caller(), runtime().vault, runtime().search_index, params
                )
        except InvalidInput as exc:
            error = exc.message
        except indexing.SearchUnavailable:
            error = _("Search is unavailable while the index is being rebuilt. Try again later.")
    s = request_session()
    customers, _n = list_customers(s, caller(), per_page=500)
    return render_template(
        "search.html",
        params=params,
        found=found,
        total=total,
        error=error,
        searched=searched,
        pages=max(1, (total + PER_PAGE - 1) // PER_PAGE),
        customers=customers,
        tree=category_tree(s),
        departments=list_departments(s),
        statuses=STATUSES,
    )
