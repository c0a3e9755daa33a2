"""Fixtures for the search library's tests: real files built here, a small index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from search import IndexedDocument, SearchIndex

# The term key of the test indexes (a real deployment's comes from its secrets).
KEY = bytes(range(32))


def make_doc(doc_id: int, **fields: object) -> IndexedDocument:
    """A document with plausible defaults; tests override what they look at."""
    values: dict[str, object] = {
        "id": doc_id,
        "numbers": (f"K001202301{doc_id:04d}",),
        "title": f"文档{doc_id}",
        "customer_id": 1,
        "customer_name": "上海华信科技有限公司",
        "customer_code": None,
        "category": "business.contract",
        "department": "SALES",
        "status": "accepted",
        "on_hold": False,
        "document_date": date(2023, 1, 1),
        "filing_date": date(2023, 1, 2),
        "tags": (),
        "identifiers": (),
        "body": "",
    }
    values.update(fields)
    return IndexedDocument(**values)  # type: ignore[arg-type]


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SearchIndex]:
    yield SearchIndex(tmp_path / "index", key=KEY)
