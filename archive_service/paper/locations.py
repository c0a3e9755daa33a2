"""Storage places as data: an archivist adds rooms, cabinets in them, shelves and boxes;
each place knows its path (档案室 A › 柜 03 › 第 2 层 › 盒 0007) and what lies under it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.audit.services import record
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.paper.models import Location, PaperItem
from archive_service.paper.vocabulary import LOCATION_KINDS
from archive_service.policy import Caller, require

KIND_ORDER = {t.code: n for n, t in enumerate(LOCATION_KINDS)}


@dataclass(frozen=True)
class LocationIn:
    code: str
    name: str
    kind: str
    parent_id: int | None = None


def _text(value: str | None, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{field} is required", field=field)
    if len(text) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    return text


def create_location(session: Session, by: Caller, data: LocationIn) -> Location:
    """Add a storage place under ``parent_id`` (a place of an outer kind), or at the top."""
    require(by, "paper.manage")
    code, name = _text(data.code, "code", 64), _text(data.name, "name", 200)
    kind = LOCATION_KINDS.check(data.kind, "kind") or ""
    parent = None
    if data.parent_id is not None:
        parent = session.get(Location, data.parent_id)
        if parent is None:
            raise InvalidInput("no such storage place", field="parent_id")
        if KIND_ORDER[parent.kind] >= KIND_ORDER[kind]:
            raise InvalidInput(
                "a storage place lies inside a place of an outer kind", field="parent_id"
            )
    if session.scalar(select(Location.id).where(Location.code == code)) is not None:
        raise Conflict("a storage place has this code already", field="code")
    place = Location(
        code=code, name=name, kind=kind, parent_id=parent.id if parent else None,
        created_by_id=by.user_id,
    )  # fmt: skip
    session.add(place)
    session.flush()
    record(
        session, by.actor, "paper.location_create", "paper_location", place.id,
        code=code, kind=kind, parent=parent.code if parent else None,
    )  # fmt: skip
    return place


def get_location(session: Session, by: Caller, location_id: int) -> Location:
    require(by, "paper.read")
    place = session.get(Location, location_id)
    if place is None:
        raise NotFound("no such storage place")
    return place


def all_locations(session: Session, by: Caller) -> list[Location]:
    """Every place, each after its parent (a tree read top down)."""
    require(by, "paper.read")
    places = list(session.scalars(select(Location).order_by(Location.code)))
    children: dict[int | None, list[Location]] = {}
    for p in places:
        children.setdefault(p.parent_id, []).append(p)
    out: list[Location] = []

    def walk(parent: int | None) -> None:
        for p in children.get(parent, []):
            out.append(p)
            walk(p.id)

    walk(None)
    return out


def path(place: Location | None) -> str:
    """``档案室 A › 柜 03 › 盒 0007`` (names from the outside in); '—' for no place."""
    if place is None:
        return "—"
    names: list[str] = []
    at: Location | None = place
    while at is not None and len(names) < 10:
        names.append(at.name)
        at = at.parent
    return " › ".join(reversed(names))


def subtree_ids(session: Session, root: int) -> set[int]:
    """The place and every place inside it."""
    rows = session.execute(select(Location.id, Location.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for pid, parent in rows:
        children.setdefault(parent, []).append(pid)
    out, todo = set(), [root]
    while todo:
        at = todo.pop()
        if at not in out:
            out.add(at)
            todo.extend(children.get(at, []))
    return out


def counts(session: Session) -> dict[int, int]:
    """How many paper originals are recorded at each place (directly)."""
    q = select(PaperItem.location_id, func.count()).group_by(PaperItem.location_id)
    return {loc: n for loc, n in session.execute(q) if loc is not None}
