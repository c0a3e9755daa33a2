"""The Whoosh schema of the archive's index, and how a document becomes its fields.

Only ``id`` is stored; everything else is indexed for finding or filtering (see the
schema table in docs/search.md). Full-text fields are analysed by :mod:`search.analysis`;
their terms and those of the exact fields are keyed (:mod:`search.keyed`) before Whoosh
sees them, so no field of the schema ever receives plain text or codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from whoosh import fields

from search.analysis import index_terms, mixed_analyzer, normalize_identifier
from search.keyed import TermKey
from search.types import IndexedDocument
from search.whoosh_internals import encode_postings

__all__ = ["TEXT_FIELDS", "MixedText", "day_number", "document_fields", "make_schema"]


class MixedText(fields.TEXT):  # type: ignore[misc]
    """Full-text field, positions kept, taking keyed terms: ``{term: positions}`` from
    :func:`document_fields` (analysed by :func:`search.analysis.index_terms`, then keyed).

    ``index`` bypasses Whoosh's token stream: several times faster. It refuses plain text,
    which would put words into the index; the analyzer kept in the schema (pickled into
    every index, so its name must keep resolving) is never used to write.
    """

    def __init__(self) -> None:
        super().__init__(analyzer=mixed_analyzer(), phrase=True, stored=False)

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, dict):
            raise TypeError("full-text fields take keyed terms (search.schema.document_fields)")
        return iter(encode_postings(value, self.format.field_boost))


TEXT_FIELDS = ("title", "body", "customer_name", "tags")


def make_schema() -> fields.Schema:
    """The index schema: only ``id`` is stored; everything else is for finding and filtering."""
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        title=MixedText(),
        body=MixedText(),
        customer_name=MixedText(),
        tags=MixedText(),
        numbers=fields.ID(),
        identifiers=fields.ID(),
        customer_code=fields.ID(),
        customer_id=fields.ID(),
        category=fields.ID(),  # both "business" and "business.contract"
        department=fields.ID(),
        status=fields.ID(),
        on_hold=fields.ID(),
        cust_cat=fields.ID(),  # "<customer id>/<category or its top level>"
        document_date=fields.NUMERIC(int, bits=32, signed=False, sortable=True, default=0),
        filing_date=fields.NUMERIC(int, bits=32, signed=False),
    )


def day_number(value: date | None) -> int | None:
    """A date as the index keeps it: YYYYMMDD."""
    return None if value is None else value.year * 10000 + value.month * 100 + value.day


def _category_levels(code: str) -> list[str]:
    top = code.split(".", 1)[0]
    return [top] if top == code else [top, code]


def document_fields(doc: IndexedDocument, key: TermKey) -> dict[str, Any]:
    """Keyword arguments for ``writer.add_document`` (lists bypass the ID analyzer), with
    the terms of text, numbers and codes keyed by ``key``."""
    levels = _category_levels(doc.category)

    def exact(field: str, values: tuple[str, ...]) -> list[str]:
        return key.terms(field, {normalize_identifier(v) for v in values if v.strip()})

    out: dict[str, Any] = {
        "id": str(doc.id),
        "numbers": exact("numbers", doc.numbers),
        "identifiers": exact("identifiers", doc.identifiers),
        "customer_id": str(doc.customer_id),
        "category": levels,
        "department": doc.department,
        "status": doc.status,
        "on_hold": "1" if doc.on_hold else "0",
        "cust_cat": [f"{doc.customer_id}/{c}" for c in levels],
    }
    if doc.customer_code and doc.customer_code.strip():
        out["customer_code"] = exact("customer_code", (doc.customer_code,))
    texts = {
        "title": doc.title,
        "body": doc.body,
        "customer_name": doc.customer_name,
        # Tags are separate phrases: a newline keeps them apart.
        "tags": "\n".join(doc.tags),
    }
    out.update({k: key.positions(k, index_terms(v)) for k, v in texts.items() if v})
    for name in ("document_date", "filing_date"):
        day = day_number(getattr(doc, name))
        if day is not None:
            out[name] = day
    return {k: v for k, v in out.items() if v not in ([], "", {})}
