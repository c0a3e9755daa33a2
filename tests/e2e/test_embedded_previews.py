"""Previews on the embedded default, end to end: ``archive run`` starts the worker on the
embedded broker; a document stored by another process gets its preview and thumbnail from
that worker, through the job sent after the upload committed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from archive_service.archive.models import Rendition
from tests import samples
from tests.conftest import People
from tests.e2e.test_one_command_start import embedded_instance

pytestmark = pytest.mark.slow


def test_the_embedded_worker_makes_the_previews(tmp_path: Path) -> None:
    with embedded_instance(tmp_path / "instance") as rt:
        people = People(rt)
        people.user("clara", "clerk", department="SALES")
        doc_id = people.document("clara", people.customer("clara"), samples.pdf("执照"))
        made: dict[str, str] = {}
        deadline = time.time() + 90
        while len(made) < 2 and time.time() < deadline:
            time.sleep(1)
            with rt.db.unit_of_work() as s:
                rows = s.execute(select(Rendition).where(Rendition.document_id == doc_id))
                made = {r.kind: r.status for r in rows.scalars()}
        assert made == {"preview_pdf": "made", "thumbnail": "made"}, made
