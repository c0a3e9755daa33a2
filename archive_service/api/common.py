"""Bits every API blueprint uses: bearer-token loading, list paging, bounded ids, and how
answers are described in the OpenAPI (the error body, the 4xx codes, files)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, cast

from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, Integer, List, Nested, String
from apiflask.validators import Range
from flask import current_app, g, request
from marshmallow import INCLUDE, pre_dump

from archive_service.accounts.tokens import token_user
from archive_service.db import release_read_transaction
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
    # Only read so far: on SQLite (BEGIN IMMEDIATE) the lookup would otherwise hold the whole
    # database's write lock until the request ends, however long it reads or streams.
    release_read_transaction(request_session())


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


class UndescribedField(RuntimeError):
    """An answer carries a field its schema does not declare (a programming error)."""


class Out(Schema):
    """An answer's schema describes the dict a serializer builds, it does not reshape it:
    a key the schema does not declare fails loudly instead of being dropped, so a field
    cannot vanish from an answer because its description forgot it."""

    @pre_dump
    def _all_described(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, dict):
            extra = sorted(set(data) - set(self.fields))
            if extra:
                raise UndescribedField(f"{type(self).__name__} does not describe {extra}")
        return data


class ErrorDetail(Schema):
    class Meta:
        unknown = INCLUDE  # a domain error may carry further details

    code = String(required=True, metadata={"description": "a stable code: forbidden, invalid…"})
    message = String(required=True)
    invalid = Dict(
        data_key="fields", metadata={"description": "422: each invalid field and what is wrong"}
    )
    field = String(allow_none=True)
    rule = String(metadata={"description": "403: the policy rule that refused"})
    status = String()
    tombstone = Dict(metadata={"description": "410: what remains of a destroyed document"})


class ErrorOut(Schema):
    """Every 4xx and 5xx answer of the API."""

    error = Nested(ErrorDetail, required=True)


def errors(*codes: int) -> dict[Any, Any]:
    """The 4xx answers an operation may give, for ``@bp.doc(responses=…)`` (the body of
    each is ``ErrorOut``, set as the app's ``HTTP_ERROR_SCHEMA``)."""
    return {code: HTTPStatus(code).phrase for code in codes}


BINARY = {"schema": {"type": "string", "format": "binary"}}


def file_answer(description: str, *content_types: str) -> dict[Any, Any]:
    """A 200 that streams a file of one of ``content_types``."""
    return {200: {"description": description, "content": dict.fromkeys(content_types, BINARY)}}


class StepOut(Out):
    """An approval step (``approval_steps[]`` of the contract)."""

    role = String()
    department = String(allow_none=True)
    status = String()
    decided_by = String(allow_none=True)
    decided_at = String(allow_none=True)
    comment = String(allow_none=True)


def listing(name: str, item: type[Schema], **extra: Any) -> type[Schema]:
    """``{"items": [item…], "total": N}`` as a schema of its own name."""
    made = Out.from_dict({"items": List(Nested(item)), "total": Integer(), **extra}, name=name)
    return cast(type[Schema], made)


class PageCountOut(Out):
    """How many pages a document shows as images."""

    document_id = Integer()
    pages = Integer()
