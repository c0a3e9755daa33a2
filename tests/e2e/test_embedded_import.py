"""The import page on the embedded default, end to end: ``archive run`` starts the worker
on the embedded broker; the page of another process (as the web server is) stages an
upload, and that worker checks it and imports it, the page's status route following it
to the end through the job's folder, which both processes see."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from archive_service.app import create_app
from archive_service.config import Settings
from archive_service.runtime import build_runtime
from tests.conftest import People
from tests.e2e.test_one_command_start import _clean_env, _free_port
from tests.integration.test_import import GOOD, files_for
from tests.integration.test_import_page import job_of, manifest_csv, upload, zip_of
from tests.integration.test_web_accounts import csrf, login
from workers.sender import connect

pytestmark = pytest.mark.slow


def _wait(client: Any, job: str, state: str, seconds: float = 120) -> dict[str, Any]:
    deadline, status = time.time() + seconds, {}
    while time.time() < deadline:
        status = client.get(f"/import/{job}/status").get_json()
        if status["state"] == state:
            return status
        time.sleep(0.5)
    raise AssertionError(f"still {status} after {seconds} s")


def test_the_embedded_worker_checks_and_imports(tmp_path: Path) -> None:
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
        settings = Settings.from_env({"ARCHIVE_INSTANCE_DIR": str(instance)})
        rt = connect(build_runtime(settings))
        assert not rt.settings.celery_always_eager
        try:
            people = People(rt)
            people.department("SALES")
            people.user("arch", "archivist", department="OPS")
            app = create_app(settings, runtime=rt)
            app.config["TESTING"] = True
            client = app.test_client()
            login(client, "arch")
            job = job_of(upload(client, manifest_csv(GOOD), zip_of(files_for(tmp_path))))
            assert _wait(client, job, "checked")["percent"] == 100
            client.post(f"/import/{job}/run", data={"csrf_token": csrf(client, f"/import/{job}")})
            done = _wait(client, job, "done")
            assert (done["done"], done["total"]) == (3, 3)
            page = client.get(f"/import/{job}").get_data(as_text=True)
            assert "WS-2018-017" in page and 'id="import-documents"' in page
        finally:
            rt.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
