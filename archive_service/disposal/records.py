"""The destruction record (销毁记录): what is signed when a run completes, exported, and
verified — by anyone holding the public key.

The record keeps the layout (``record_format``) it was signed in: format 1 (the first
release) lists each approval's role, person, time and decision; format 2 adds the
department of each approval step. A record is always rebuilt in its own format, so a
record signed before a layout change still verifies after it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from archive_service.audit.services import record
from archive_service.disposal import keys
from archive_service.disposal.models import Destruction
from archive_service.disposal.reviews import one
from archive_service.disposal.serializers import backup_dict
from archive_service.disposal.signing import Signer, verify
from archive_service.disposal.vocabulary import PERMANENT, DestructionStatus
from archive_service.errors import Conflict
from archive_service.policy import Caller
from archive_service.vocabulary import chinese

SIGNATURE_ALGORITHM = "Ed25519 over the canonical JSON of 'record'"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _approvals_v1(dest: Destruction) -> list[dict[str, Any]]:
    return [
        {
            "role": s.role,
            "by": s.decided_by.username if s.decided_by else None,
            "at": _iso(s.decided_at),
            "decision": s.status,
        }
        for s in dest.steps
    ]


def _approvals_v2(dest: Destruction) -> list[dict[str, Any]]:
    return [
        {
            "role": s.role,
            "department": s.department.code if s.department else None,
            "by": s.decided_by.username if s.decided_by else None,
            "at": _iso(s.decided_at),
            "decision": s.status,
        }
        for s in dest.steps
    ]


def _body(dest: Destruction, approvals: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "destruction_id": dest.id,
        "review_id": dest.review_id,
        "status": dest.status,
        "time": _iso(dest.completed_at),
        "started_at": _iso(dest.started_at),
        "place": dest.place,
        "method": dest.method,
        "applicant": dest.applicant.username if dest.applicant else None,
        "executor": dest.executor.username if dest.executor else None,
        "supervisor": dest.supervisor.username if dest.supervisor else None,
        "approvals": approvals,
        "keep_until": dest.keep_record_until.isoformat() if dest.keep_record_until else None,
        "count": len(dest.items),
        "items": [
            {
                "archive_number": i.archive_number,
                "title": i.title,
                "category": i.category,
                "customer": i.customer,
                "sha256": i.sha256,
                "size": i.size,
                "result": i.result,
                "done_at": _iso(i.done_at),
            }
            for i in dest.items
        ],
    }


def _format_1(dest: Destruction) -> dict[str, Any]:
    return _body(dest, _approvals_v1(dest))


def _format_2(dest: Destruction) -> dict[str, Any]:
    return {"format": 2, **_body(dest, _approvals_v2(dest))}


FORMATS: dict[int, Callable[[Destruction], dict[str, Any]]] = {1: _format_1, 2: _format_2}


def record_body(dest: Destruction) -> dict[str, Any]:
    """The record as signed, in the format the destruction was (or will be) signed in."""
    return FORMATS[dest.record_format](dest)


def signed(session: Session, signer: Signer, dest: Destruction) -> dict[str, Any]:
    """The record with its signature and the public key that checks it: the key that
    signed it (``signing_key_id``), found in the key history after a rotation."""
    if dest.status != DestructionStatus.COMPLETED or not dest.signature:
        raise Conflict(f"destruction is {dest.status}; the record exists once it completes")
    return {
        "record": record_body(dest),
        "signature": dest.signature,
        "key_id": dest.signing_key_id,
        "public_key": keys.public_key_of(session, dest.signing_key_id, signer),
        "algorithm": SIGNATURE_ALGORITHM,
        "kept": kept_words(dest),
        # Not signed (it changes after signing): the backup journal and horizon.
        "backup": backup_dict(dest),
    }


def kept_words(dest: Destruction) -> dict[str, str | None]:
    """How long the record is kept, in words of both languages (永久 / permanent when it
    has no keep date: the default)."""
    if dest.keep_record_until is None:
        return {"until": None, "label": PERMANENT.english, "label_zh": chinese(PERMANENT)}
    day = dest.keep_record_until.isoformat()
    return {"until": day, "label": day, "label_zh": day}


def export_record(
    session: Session, by: Caller, signer: Signer, destruction_id: int
) -> tuple[Destruction, dict[str, Any]]:
    """A completed destruction's signed record, for a page, a file or the API (audited)."""
    dest = one(session, by, "destruction.read", Destruction, destruction_id)
    out = signed(session, signer, dest)
    record(session, by.actor, "destruction.export", "destruction", dest.id)
    return dest, out


def verify_record(session: Session, by: Caller, signer: Signer, destruction_id: int) -> bool:
    """Does the stored signature still match the record as the database holds it now,
    under the key that signed it? (Audited with the answer.)"""
    dest = one(session, by, "destruction.read", Destruction, destruction_id)
    pem = keys.public_key_of(session, dest.signing_key_id, signer)
    ok = bool(dest.signature and pem) and verify(pem or "", record_body(dest), dest.signature or "")
    record(session, by.actor, "destruction.verify", "destruction", dest.id, ok=ok)
    return ok
