"""Fonds (全宗) through the API: the list, and a new one (admin)."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Integer, List, Nested, String
from apiflask.validators import Length

from archive_service.api.common import SECURITY, Out, blueprint, errors
from archive_service.archive import fonds as archive_fonds
from archive_service.archive.models import Fonds
from archive_service.http import caller, runtime, signed_in, uow

bp = blueprint("fonds", "Archive")


class FondsOut(Out):
    id = Integer()
    code = String()
    name = String()
    created_at = String()


class FondsListOut(Out):
    items = List(Nested(FondsOut))
    default = String()  # the code of customers without a fonds (ARCHIVE_FONDS)


class FondsCreatedOut(FondsOut):
    """The fonds just added."""


class FondsIn(Schema):
    code = String(required=True, validate=Length(min=1, max=16))
    name = String(required=True, validate=Length(min=1, max=300))


def _out(f: Fonds) -> dict[str, Any]:
    return {"id": f.id, "code": f.code, "name": f.name, "created_at": f.created_at.isoformat()}


@bp.get("/fonds")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(FondsListOut)
@signed_in
def list_fonds() -> Any:
    """The fonds of a group, and the default one of customers without a fonds."""
    with uow() as s:
        return {
            "items": [_out(f) for f in archive_fonds.list_fonds(s)],
            "default": runtime().archive.fonds,
        }


@bp.post("/fonds")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(FondsIn, arg_name="body")
@bp.output(FondsCreatedOut, status_code=201)
@signed_in
def create_fonds(body: dict[str, Any]) -> Any:
    """Add a legal entity's fonds (admin); 409 while the number pattern has no {fonds}."""
    with uow() as s:
        made = archive_fonds.create_fonds(
            s, caller(), body["code"], body["name"], runtime().archive.number_pattern
        )
        return _out(made), 201
