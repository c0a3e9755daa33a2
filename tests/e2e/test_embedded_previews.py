"""Previews on the embedded default, end to end: ``archive run`` starts the worker on the
embedded broker; a document stored by another process gets its preview and thumbnail from
that worker, through the job sent after the upload committed."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from archive_service.archive.models import Rendition
from archive_service.config import Settings
from archive_service.runtime import build_runtime
from tests import samples
from tests.conftest import People
from tests.e2e.test_one_command_start import _clean_env, _free_port
from workers.sender import connect

pytestmark = pytest.mark.slow


def test_the_embedded_worker_makes_the_previews(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    proc = subprocess.Popen(
        [sys.executable, "-m", "archive_service.cli", "run", "--port", str(_free_port())],
        env=_clean_env(ARCHIVE_INSTANCE_DIR=str(instance)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        output, deadline = "", time.time() + 60
        while "running at" not in output and time.time() < deadline:
            output += proc.stdout.readline() or ""
        assert "running at" in output, output
        # Another process of the same instance (as the web server is): its jobs go to the
        # embedded broker, and the worker that `archive run` started makes them.
        rt = connect(build_runtime(Settings.from_env({"ARCHIVE_INSTANCE_DIR": str(instance)})))
        assert not rt.settings.celery_always_eager
        try:
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
        finally:
            rt.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
