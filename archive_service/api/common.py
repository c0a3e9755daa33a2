"""Bits every API blueprint uses: bearer-token loading and list paging."""

from __future__ import annotations

from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Integer
from apiflask.validators import Range
from flask import current_app, g, request

from archive_service.accounts.tokens import token_user
from archive_service.errors import NotAuthenticated
from archive_service.http import DB_INT_MAX, request_session

SECURITY = "BearerAuth"


def load_bearer() -> None:
    """Resolve ``Authorization: Bearer …``; a bad or stale token is a 401 at once."""
    g.api_user = None
    header = request.headers.get("Authorization", "")
    if not header:
        # Refuse strangers before any input parsing, so they learn nothing about it.
        view = current_app.view_functions.get(request.endpoint or "")
        if getattr(view, "_access", None) == "signed_in":
            raise NotAuthenticated("authentication required")
        return
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("use 'Authorization: Bearer <token>'")
    found = token_user(request_session(), token.strip())
    if found is None:
        raise NotAuthenticated("token unknown, expired or revoked")
    g.api_user, g.api_token = found


def blueprint(name: str, tag: str) -> APIBlueprint:
    bp = APIBlueprint(f"api_{name}", __name__, url_prefix="/api/v1", tag=tag)
    bp.before_request(load_bearer)
    return bp


def Id(**kwargs: Any) -> Integer:  # noqa: N802 (a field, named like one)
    """An id (or a version, a page number) in a query or body: 1 … ``DB_INT_MAX``, so no
    number the database cannot hold reaches it (a larger one is a 422 naming the field)."""
    return Integer(validate=Range(min=1, max=DB_INT_MAX), **kwargs)


def Page() -> Integer:  # noqa: N802
    return Id(load_default=1)


def PerPage() -> Integer:  # noqa: N802
    return Integer(load_default=50, validate=Range(min=1, max=500))


class PageQuery(Schema):
    page = Page()
    per_page = PerPage()


def page_of(items: list[Any], total: int) -> dict[str, Any]:
    return {"items": items, "total": total}
