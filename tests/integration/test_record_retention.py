"""With ``ARCHIVE_DESTRUCTION_RECORD_YEARS`` set, a destruction record gets a keep date and
the beat's purge removes it after that date (audited); nothing else is touched."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from archive_service.config import Settings
from archive_service.disposal.models import Destruction, DestructionItem, DestructionStep
from archive_service.runtime import Runtime
from tests.conftest import People, bearer, token_for
from tests.integration.test_disposal_api import ELEVEN_YEARS_AGO, _file, org  # noqa: F401
from tests.integration.test_signing_keys import NAMES, destroy_one


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, destruction_record_years=10)


def _rows(rt: Runtime, model: Any, did: int) -> int:
    column = model.id if model is Destruction else model.destruction_id
    with rt.db.unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(column == did)) or 0)


@pytest.mark.usefixtures("org")
def test_records_past_their_keep_date_are_purged_and_audited(
    client: Any,
    rt: Runtime,
    people: People,
) -> None:
    from workers.tasks import purge_destruction_records

    h = {n: bearer(token_for(client, n)) for n in NAMES}
    done = destroy_one(client, h, people, "old")
    signed = client.get(f"/api/v1/destructions/{done}/record", headers=h["audrey"]).get_json()
    until = signed["record"]["keep_until"]
    assert until is not None and until[:4] == str(datetime.now(UTC).year + 10)
    assert signed["kept"]["until"] == until
    # A destruction still in flight (applied, not approved) is never a purged record.
    with time_machine.travel(ELEVEN_YEARS_AGO, tick=True):
        customer = people.customer("clara", name="在途")
        doc = _file(people, customer, "pending")
    rid = client.post("/api/v1/retention-reviews", headers=h["arch"]).get_json()["id"]
    client.post(f"/api/v1/retention-reviews/{rid}/confirm", headers=h["olga"])
    client.post(
        f"/api/v1/retention-reviews/{rid}/items/{doc}/appraisal",
        json={"decision": "destroy"},
        headers=h["arch"],
    )
    pending = client.post(f"/api/v1/retention-reviews/{rid}/destruction", headers=h["arch"])
    assert pending.status_code == 201
    pending_id = pending.get_json()["id"]

    assert purge_destruction_records() == []  # not due yet
    with time_machine.travel(datetime.fromisoformat(until).replace(tzinfo=UTC)):
        assert purge_destruction_records() == []  # the keep date itself is still kept
    later = datetime.now(UTC).replace(year=datetime.now(UTC).year + 11)
    with time_machine.travel(later):
        assert purge_destruction_records() == [done]
        assert purge_destruction_records() == []  # idempotent
    for model in (Destruction, DestructionItem, DestructionStep):
        assert _rows(rt, model, done) == 0
        assert _rows(rt, model, pending_id) >= 1
    assert client.get(f"/api/v1/destructions/{done}", headers=h["audrey"]).status_code == 404
    # The trail still says what was destroyed and when its record went.
    events = client.get(
        "/api/v1/audit",
        query_string={"action": "destruction.record_purge"},
        headers=h["audrey"],
    ).get_json()["items"]
    assert [(e["target"], e["details"]["kept_until"]) for e in events] == [
        (f"destruction:{done}", until)
    ]
    assert events[0]["details"]["signature"] == signed["signature"]
