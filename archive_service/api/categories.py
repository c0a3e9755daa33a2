"""The category tree through the API: read it, extend it (admin), add retention triggers,
set a category's filing deadline (归档时限)."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Dict, Integer, List, Nested, String
from apiflask.validators import Length, Range

from archive_service.api.common import SECURITY, Out, blueprint, errors
from archive_service.archive import categories as archive_categories
from archive_service.archive import deadlines
from archive_service.archive.models import Category
from archive_service.http import caller, runtime, signed_in, uow

bp = blueprint("categories", "Archive")


class DeadlineRuleOut(Out):
    """Documents are due ``days`` working days after ``after``: ``document_date`` or a date
    fact of the category (a document without that fact counts from its document date)."""

    days = Integer()
    after = String()


class ChildCategoryOut(Out):
    code = String()
    name_zh = String()
    name_en = String()
    facts = List(Dict())
    # The retention clock starts at the latest of these dates: "filing", date facts of the
    # category, "hold_release", or "relationship_end" (waited for).
    retention_triggers = List(String())
    retention_trigger = String()  # the first after filing, or "filing" (first release)
    filing_deadline = Nested(DeadlineRuleOut)


class TopCategoryOut(Out):
    code = String()
    name_zh = String()
    name_en = String()
    children = List(Nested(ChildCategoryOut))


class CategoriesOut(Out):
    items = List(Nested(TopCategoryOut))


class CategoryCreatedOut(Out):
    code = String()
    parent_code = String(allow_none=True)
    facts = List(Dict())
    retention_triggers = List(String())
    filing_deadline = Nested(DeadlineRuleOut)


def _child(c: Category) -> dict[str, Any]:
    later = [t for t in c.retention_triggers if t != "filing"]
    return {
        "code": c.code,
        "name_zh": c.name_zh,
        "name_en": c.name_en,
        "facts": c.facts,
        "retention_triggers": c.retention_triggers,
        "retention_trigger": later[0] if later else "filing",
        "filing_deadline": c.filing_deadline,
    }


@bp.get("/categories")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(CategoriesOut)
@signed_in
def categories() -> Any:
    """The category tree, with the facts each category asks for and what starts its
    retention clock."""
    with uow() as s:
        return {
            "items": [
                {
                    "code": top.code,
                    "name_zh": top.name_zh,
                    "name_en": top.name_en,
                    "children": [_child(c) for c in children],
                }
                for top, children in archive_categories.category_tree(s)
            ]
        }


class DeadlineRuleIn(Schema):
    days = Integer(required=True, validate=Range(min=0, max=deadlines.MAX_DAYS))
    after = String(load_default="document_date", validate=Length(min=1, max=64))


class FilingDeadlineIn(DeadlineRuleIn):
    """A category's new filing deadline."""


class CategoryIn(Schema):
    code = String(required=True, validate=Length(min=1, max=64))
    name_zh = String(required=True, validate=Length(min=1, max=200))
    name_en = String(required=True, validate=Length(min=1, max=200))
    letter = String(load_default="K", validate=Length(min=1, max=8))
    retention_triggers = List(String(validate=Length(min=1, max=64)), load_default=None)
    # The first release's single trigger: a date fact that counts besides the filing.
    retention_trigger = String(load_default=None, validate=Length(min=1, max=64))
    facts = List(Dict(), load_default=list)
    # Default: 5 working days after the document date.
    filing_deadline = Nested(DeadlineRuleIn, load_default=None)


@bp.post("/categories")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(CategoryIn, arg_name="body")
@bp.output(CategoryCreatedOut, status_code=201)
@signed_in
def create_category(body: dict[str, Any]) -> Any:
    """Extend the category tree (admin)."""
    triggers = list(body.pop("retention_triggers") or [])
    single = body.pop("retention_trigger")
    if single:
        triggers.append(single)
    with uow() as s:
        cat = archive_categories.create_category(
            s, caller(), retention_triggers=triggers or None, **body
        )
        return {
            "code": cat.code,
            "parent_code": cat.parent_code,
            "facts": cat.facts,
            "retention_triggers": cat.retention_triggers,
            "filing_deadline": cat.filing_deadline,
        }, 201


class CategoryTriggersOut(ChildCategoryOut):
    """The category with the triggers it has now."""


class TriggersIn(Schema):
    retention_triggers = List(String(validate=Length(min=1, max=64)), required=True)


@bp.post("/categories/<code>/retention-triggers")
@bp.doc(security=SECURITY, responses=errors(400, 403, 422))
@bp.input(TriggersIn, arg_name="body")
@bp.output(CategoryTriggersOut)
@signed_in
def add_retention_triggers(code: str, body: dict[str, Any]) -> Any:
    """Add retention triggers to a category (admin); its accepted documents' disposal
    dates are recomputed. Triggers are only added: removing one could shorten a period."""
    with uow() as s:
        cat = archive_categories.add_retention_triggers(
            s, caller(), code, body["retention_triggers"], runtime().archive.retention
        )
        return _child(cat)


@bp.put("/categories/<code>/filing-deadline")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 422))
@bp.input(FilingDeadlineIn, arg_name="body")
@bp.output(CategoryTriggersOut)
@signed_in
def set_filing_deadline(code: str, body: dict[str, Any]) -> Any:
    """State when a category's documents are due in the archive (admin): ``days`` working
    days after ``after`` — ``document_date`` or one of the category's date facts. A rule
    naming a fact the category lacks is refused (422). Documents submitted before keep the
    judgement made when they came in."""
    with uow() as s:
        return _child(archive_categories.set_filing_deadline(s, caller(), code, body))
