"""Category facts (a contract's number and validity, a project's dates…), as pure rules.

A category states the facts it asks for as data: name, type (text or date), whether it
is required. :func:`check_facts` is the one check every path uses — upload, a change
request to a document's facts, reclassification into another category — so a required
fact cannot be blanked and a date that is not a date is refused (422) when the request
comes in, never later.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from archive_service.errors import InvalidInput

FACT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FACT_TYPES = ("text", "date")
TEXT_LIMIT = 500


def check_specs(raw: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The fact specifications an admin gives a new category, cleaned."""
    checked = []
    for spec in raw or []:
        if not isinstance(spec, dict):
            raise InvalidInput("facts: a list of objects", field="facts")
        name, kind = str(spec.get("name", "")), str(spec.get("type", "text"))
        if not FACT_NAME_RE.match(name) or kind not in FACT_TYPES:
            raise InvalidInput("facts: name in lower case, type text or date", field="facts")
        checked.append(
            {
                "name": name,
                "type": kind,
                "required": bool(spec.get("required")),
                "label_zh": str(spec.get("label_zh") or name)[:50],
            }
        )
    if len({f["name"] for f in checked}) != len(checked):
        raise InvalidInput("facts: each name once", field="facts")
    return checked


def check_facts(
    specs: list[dict[str, Any]] | None, given: dict[str, Any] | None, category: str = ""
) -> dict[str, Any]:
    """The facts ``category`` asks for, from ``given``: every required one present, dates
    as ISO dates, text trimmed; facts the category does not ask for are dropped."""
    given = given or {}
    out: dict[str, Any] = {}
    for spec in specs or []:
        name, kind = spec["name"], spec.get("type", "text")
        value = given.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, ""):
            if spec.get("required"):
                where = f" for {category}" if category else ""
                raise InvalidInput(f"{name} is required{where}", field=name)
            continue
        if kind == "date":
            try:
                value = date.fromisoformat(str(value)).isoformat()
            except ValueError as exc:
                raise InvalidInput(f"{name} must be a date (YYYY-MM-DD)", field=name) from exc
        else:
            value = str(value)[:TEXT_LIMIT]
        out[name] = value
    return out


def merge_facts(
    specs: list[dict[str, Any]] | None,
    before: dict[str, Any] | None,
    changes: dict[str, Any] | None = None,
    category: str = "",
) -> dict[str, Any]:
    """A document's facts after ``changes`` (a blank value removes a fact), checked against
    the category it is in (or moves to) with :func:`check_facts`. Facts that category does
    not ask for are kept as they were: a reclassification loses no recorded fact."""
    merged = {**(before or {}), **(changes or {})}
    asked = {spec["name"] for spec in specs or []}
    kept = {k: v for k, v in merged.items() if k not in asked and v not in (None, "")}
    return {**kept, **check_facts(specs, merged, category)}
