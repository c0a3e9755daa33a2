"""The import page on the embedded default, end to end: ``archive run`` starts the worker
on the embedded broker; the page of another process (as the web server is) stages an
upload, and that worker checks it and imports it, the page's status route following it
to the end through the job's folder, which both processes see."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from archive_service.app import create_app
from tests.conftest import People
from tests.e2e.test_one_command_start import embedded_instance
from tests.integration.test_import import GOOD, files_for
from tests.integration.test_import_page import job_of, manifest_csv, upload, zip_of
from tests.integration.test_web_accounts import csrf, login

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
    with embedded_instance(tmp_path / "instance") as rt:
        people = People(rt)
        people.department("SALES")
        people.user("arch", "archivist", department="OPS")
        app = create_app(rt.settings, runtime=rt)
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
