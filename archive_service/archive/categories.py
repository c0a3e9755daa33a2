"""The category tree (档案内容): two levels, data an admin extends, each second-level
category stating the facts it asks for and what starts its retention clock."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.archive import facts as fact_rules
from archive_service.archive.models import Category
from archive_service.audit.services import record
from archive_service.errors import Conflict, InvalidInput
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
    retention_trigger: str = "filing",
    facts: list[dict[str, Any]] | None = None,
) -> Category:
    """An admin extends the tree: a top-level code (``legal``) or a child (``legal.court``)."""
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
    dates = {f["name"] for f in checked if f["type"] == "date"}
    if retention_trigger != "filing" and retention_trigger not in dates:
        raise InvalidInput(
            "retention_trigger: 'filing' or one of the date facts", field="retention_trigger"
        )
    position = (session.execute(select(func.max(Category.position))).scalar() or 0) + 1
    cat = Category(
        code=code,
        parent_code=parent,
        name_zh=name_zh.strip()[:200],
        name_en=name_en.strip()[:200],
        letter=(letter or "K").strip()[:8],
        retention_trigger=retention_trigger,
        facts=checked,
        position=position,
    )
    session.add(cat)
    session.flush()
    record(session, by.actor, "category.create", "category", cat.id, code=code)
    return cat
