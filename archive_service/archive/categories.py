"""The category tree (档案内容): two levels, data an admin extends, each second-level
category stating the facts it asks for, what starts its retention clock (the latest
of its retention triggers' dates, ``archive.disposal_date``) and when its documents are
due in the archive (its filing deadline, ``archive.deadlines``)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.archive import deadlines
from archive_service.archive import facts as fact_rules
from archive_service.archive.disposal_date import recompute_disposal
from archive_service.archive.models import Category, Document, DocumentStatus
from archive_service.archive.retention import RetentionRules
from archive_service.archive.vocabulary import FILING, RETENTION_EVENTS
from archive_service.audit.services import record
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.policy import Caller, require

CATEGORY_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}(\.[a-z][a-z0-9_]{0,30})?$")


def category_by_code(session: Session, code: str | None, field: str = "category") -> Category:
    """A second-level category by code, or a 422 naming ``field``."""
    cat = None
    if code:
        cat = session.execute(select(Category).where(Category.code == code)).scalar_one_or_none()
    if cat is None or cat.parent_code is None:
        raise InvalidInput(f"unknown category {code!r} (use a second-level code)", field=field)
    return cat


def category_tree(session: Session) -> list[tuple[Category, list[Category]]]:
    cats = session.execute(select(Category).order_by(Category.position, Category.code)).scalars()
    tops: dict[str, tuple[Category, list[Category]]] = {}
    children: list[Category] = []
    for c in cats:
        if c.parent_code is None:
            tops[c.code] = (c, [])
        else:
            children.append(c)
    for c in children:
        if c.parent_code in tops:
            tops[c.parent_code][1].append(c)
    return list(tops.values())


def create_category(
    session: Session,
    by: Caller,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    letter: str = "K",
    retention_triggers: list[str] | None = None,
    facts: list[dict[str, Any]] | None = None,
    filing_deadline: dict[str, Any] | None = None,
) -> Category:
    """An admin extends the tree: a top-level code (``legal``) or a child (``legal.court``).
    Without a filing deadline its documents are due 5 working days after their date."""
    require(by, "category.manage")
    code = (code or "").strip()
    if not CATEGORY_CODE_RE.match(code):
        raise InvalidInput(
            "code: lower-case words, one optional dot (e.g. legal.court)", field="code"
        )
    if session.execute(select(Category.id).where(Category.code == code)).first():
        raise Conflict(f"category {code} exists")
    parent = code.rsplit(".", 1)[0] if "." in code else None
    if (
        parent
        and not session.execute(
            select(Category.id).where(Category.code == parent, Category.parent_code.is_(None))
        ).first()
    ):
        raise InvalidInput(f"no top-level category {parent}", field="code")
    if not (name_zh or "").strip() or not (name_en or "").strip():
        raise InvalidInput("both names are required", field="name_zh")
    checked = fact_rules.check_specs(facts)
    triggers = check_triggers(retention_triggers or [FILING], checked)
    rule = deadlines.check_rule(filing_deadline, checked)
    position = (session.execute(select(func.max(Category.position))).scalar() or 0) + 1
    cat = Category(
        code=code,
        parent_code=parent,
        name_zh=name_zh.strip()[:200],
        name_en=name_en.strip()[:200],
        letter=(letter or "K").strip()[:8],
        retention_triggers=triggers,
        facts=checked,
        filing_deadline=rule,
        position=position,
    )
    session.add(cat)
    session.flush()
    record(
        session,
        by.actor,
        "category.create",
        "category",
        cat.id,
        code=code,
        triggers=triggers,
        filing_deadline=rule,
    )
    return cat


def set_filing_deadline(session: Session, by: Caller, code: str, rule: Any) -> Category:
    """An admin states when a category's documents are due in the archive. A rule naming a
    fact the category lacks (or one that is not a date) is refused here (422); an unknown
    category is a 404. Documents already submitted keep the judgement made when they came
    in."""
    require(by, "category.manage")
    cat = session.execute(select(Category).where(Category.code == code)).scalar_one_or_none()
    if cat is None:
        raise NotFound(f"no category {code}")
    checked = deadlines.check_rule(rule, cat.facts)
    if checked == cat.filing_deadline:
        return cat  # the same rule again: nothing to record
    before, cat.filing_deadline = cat.filing_deadline, checked
    session.flush()
    record(
        session,
        by.actor,
        "category.filing_deadline",
        "category",
        cat.id,
        code=cat.code,
        before=before,
        after=checked,
    )
    return cat


def check_triggers(triggers: Any, facts: list[dict[str, Any]]) -> list[str]:
    """The category's retention triggers: events of RETENTION_EVENTS or its date facts,
    each once, filing always among them (first); a 422 names anything else."""
    if not isinstance(triggers, list) or not all(isinstance(t, str) for t in triggers):
        raise InvalidInput("retention_triggers must be a list of names", field="retention_triggers")
    dates = {f["name"] for f in facts if f["type"] == "date"}
    unknown = [t for t in triggers if t not in RETENTION_EVENTS and t not in dates]
    if unknown:
        raise InvalidInput(
            f"retention_triggers: {', '.join(unknown)} is neither an event "
            f"({', '.join(RETENTION_EVENTS.codes)}) nor a date fact of the category",
            field="retention_triggers",
        )
    return [FILING, *dict.fromkeys(t for t in triggers if t != FILING)]


def add_retention_triggers(
    session: Session, by: Caller, code: str, triggers: list[str], rules: RetentionRules
) -> Category:
    """An admin adds triggers to a category; its accepted documents' disposal dates are
    recomputed. Triggers are only added: the latest of more dates is never earlier, while
    removing one could shorten a period, which no setting may do."""
    require(by, "category.manage")
    cat = category_by_code(session, code, field="code")
    wanted = check_triggers([*cat.retention_triggers, *triggers], cat.facts)
    added = [t for t in wanted if t not in cat.retention_triggers]
    if not added:
        raise InvalidInput("nothing would change", field="retention_triggers")
    cat.retention_triggers = wanted
    session.flush()
    record(session, by.actor, "category.triggers", "category", cat.id, code=cat.code, added=added)
    docs = session.scalars(
        select(Document).where(
            Document.category_id == cat.id, Document.status == DocumentStatus.ACCEPTED
        )
    )
    for doc in docs:
        recompute_disposal(session, by, doc, f"retention triggers of {cat.code}", rules)
    return cat
