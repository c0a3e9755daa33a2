"""The import page (issue 17): an archivist uploads a manifest and a ZIP of its files, the
worker checks it (the report on the page and as a download), then imports it while the page
follows its progress; the check and the run go through the job outbox to the task bodies,
as the embedded default sends them. Refused uploads (not a ZIP, a member that would leave
the staging folder, a link) change nothing; only archivists see the page."""

from __future__ import annotations

import io
import re
import stat
import warnings
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from archive_service.archive import documents
from archive_service.archive.models import Document, ImportBatch
from archive_service.audit.models import AuditEvent
from archive_service.config import Settings
from archive_service.policy import Caller
from archive_service.runtime import Runtime
from tests.conftest import People
from tests.integration.test_import import GOOD, HEADER, files_for
from tests.integration.test_web_accounts import csrf, login

OPERATOR = Caller.cli()
JOB_URL = re.compile(r"/import/([0-9a-f]{32})$")


def manifest_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    import csv

    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8-sig")


def zip_of(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


def upload(client: Any, manifest: bytes, files: bytes | None, name: str = "目录.csv") -> Any:
    data: dict[str, Any] = {
        "csrf_token": csrf(client, "/import/"),
        "manifest": (io.BytesIO(manifest), name),
        "department": "SALES",
    }
    if files is not None:
        data["files"] = (io.BytesIO(files), "files.zip")
    return client.post("/import/", data=data, content_type="multipart/form-data")


def job_of(resp: Any) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)
    found = JOB_URL.search(resp.headers["Location"])
    assert found, resp.headers["Location"]
    return found[1]


def document_count(rt: Runtime) -> int:
    with rt.db.read_only() as s:
        return s.execute(select(func.count()).select_from(Document)).scalar_one()


def staged(settings: Settings) -> list[Path]:
    root = Path(settings.import_staging_dir)
    return sorted(root.iterdir()) if root.exists() else []


@pytest.fixture
def arch(people: People) -> str:
    people.department("SALES")
    people.user("arch", "archivist", department="OPS")
    return "arch"


def test_check_report_download_then_import_to_done(
    client: Any, rt: Runtime, settings: Settings, arch: str, tmp_path: Path
) -> None:
    files = zip_of(files_for(tmp_path))
    login(client, arch)
    assert 'id="nav-import"' in client.get("/").get_data(as_text=True)
    assert "导入已有档案" in client.get("/import/").get_data(as_text=True)  # zh by default

    # A manifest with a bad row: the check reports it, by row and column; nothing stored.
    bad_row = ["远航物流", "", "no.such", "咨询", "2016-07-08", "", "WS-X-1", "short", "", "",
               "yh/inquiry.txt"]  # fmt: skip
    job = job_of(upload(client, manifest_csv([*GOOD, bad_row]), files))
    status = client.get(f"/import/{job}/status").get_json()
    assert status["state"] == "checked" and status["running"] is False
    assert status["percent"] == 100
    page = client.get(f"/import/{job}").get_data(as_text=True)
    assert 'id="import-report"' in page and "no.such" in page
    assert 'id="import-start"' not in page and 'id="import-problems"' in page
    report = client.get(f"/import/{job}/report.csv")
    assert report.status_code == 200 and report.mimetype == "text/csv"
    lines = report.get_data().decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,problem" and lines[1].startswith("5,category,")
    book = load_workbook(io.BytesIO(client.get(f"/import/{job}/report.xlsx").get_data()))
    cells = [c.value for c in next(book.active.iter_rows(min_row=3, max_row=3))]
    assert cells[:2] == [5, "category"]
    assert client.post(f"/import/{job}/run", data={"csrf_token": csrf(client, f"/import/{job}")})
    assert document_count(rt) == 0  # a checked manifest with problems cannot be started
    assert not (Path(settings.import_staging_dir) / job / "files").exists()

    # The good manifest: checked, started, imported; the page follows it to the end.
    job = job_of(upload(client, manifest_csv(GOOD), files))
    page = client.get(f"/import/{job}").get_data(as_text=True)
    assert 'id="import-ready"' in page and 'id="import-start"' in page
    assert document_count(rt) == 0  # the check stored nothing
    resp = client.post(f"/import/{job}/run", data={"csrf_token": csrf(client, f"/import/{job}")})
    assert resp.status_code == 302
    status = client.get(f"/import/{job}/status").get_json()
    assert status == {
        "state": "done",
        "stage": "importing",
        "done": 3,
        "total": 3,
        "percent": 100,
        "running": False,
    }
    page = client.get(f"/import/{job}").get_data(as_text=True)
    assert 'id="import-result"' in page and 'id="import-documents"' in page
    assert "WS-2019-001" in page and "/documents/" in page
    with rt.db.read_only() as s:
        doc = documents.find_by_number(s, OPERATOR, "WS-2018-017")
        assert doc.title == "采购合同" and f"/documents/{doc.id}" in page
        batch = s.execute(select(ImportBatch)).scalar_one()
        assert batch.finished_at is not None and batch.rows_imported == 3
        requested = s.execute(
            select(AuditEvent).where(AuditEvent.action == "import.request")
        ).scalar_one()
        assert requested.actor == "arch" and requested.target_id == job
        started = s.execute(
            select(AuditEvent).where(AuditEvent.action == "import.start")
        ).scalar_one()
        assert started.actor == "arch"  # the run is the archivist's, not the worker's
    assert document_count(rt) == 3
    # The staged files are gone; the status and the report stay for the page.
    folder = Path(settings.import_staging_dir) / job
    assert not (folder / "files").exists() and not (folder / "manifest").exists()
    assert (folder / "status.json").exists()
    # Pressed again: refused, nothing runs twice.
    again = client.post(f"/import/{job}/run", data={"csrf_token": csrf(client, f"/import/{job}")})
    assert again.status_code == 302 and document_count(rt) == 3
    index = client.get("/import/").get_data(as_text=True)
    assert f"/import/{job}" in index


def test_only_archivists_and_only_their_own_jobs(
    client: Any, people: People, arch: str, tmp_path: Path
) -> None:
    people.user("clara", "clerk", department="SALES")
    people.user("arch2", "archivist", department="OPS")
    login(client, arch)
    job = job_of(upload(client, manifest_csv(GOOD), zip_of(files_for(tmp_path))))
    client.post("/logout", data={"csrf_token": csrf(client, "/")})

    login(client, "clara")
    assert 'id="nav-import"' not in client.get("/").get_data(as_text=True)
    assert client.get("/import/").status_code == 403
    assert client.get(f"/import/{job}").status_code == 403
    assert client.get(f"/import/{job}/status").status_code == 403
    token = csrf(client, "/")
    assert client.post("/import/", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/import/{job}/run", data={"csrf_token": token}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client, "/")})

    login(client, "arch2")  # another archivist's job is not found
    assert client.get(f"/import/{job}").status_code == 404
    assert client.get(f"/import/{job}/report.csv").status_code == 404
    assert client.get("/import/not-a-job").status_code == 404


def _zip(*members: tuple[str, bytes, int]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of a name twice: that is the point
        for name, body, mode in members:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            z.writestr(info, body)
    return buf.getvalue()


REGULAR = stat.S_IFREG | 0o644


@pytest.mark.parametrize(
    ("files", "status", "words"),
    [
        (_zip(("hx/licence.pdf", b"%PDF-1.4", REGULAR), ("../evil.txt", b"x", REGULAR)), 422,
         "../evil.txt"),
        (_zip(("/etc/evil.txt", b"x", REGULAR),), 422, "absolute"),
        (_zip(("hx/link", b"/etc/passwd", stat.S_IFLNK | 0o777),), 422, "symbolic link"),
        (_zip(("a.txt", b"x", REGULAR), ("a.txt", b"y", REGULAR)), 422, "twice"),
        (b"this is no zip at all", 422, "ZIP"),
        (None, 422, "ZIP"),
    ],
    ids=["dot-dot", "absolute", "symlink", "twice", "not-a-zip", "no-files"],
)  # fmt: skip
def test_a_refused_upload_keeps_nothing(
    client: Any,
    rt: Runtime,
    settings: Settings,
    arch: str,
    tmp_path: Path,
    files: bytes | None,
    status: int,
    words: str,
) -> None:
    login(client, arch)
    resp = upload(client, manifest_csv(GOOD), files)
    assert resp.status_code == status
    page = resp.get_data(as_text=True)
    assert "flash-error" in page and words in page, page
    assert staged(settings) == []
    assert not (Path(settings.import_staging_dir).parent / "evil.txt").exists()
    assert document_count(rt) == 0


def test_limits_and_manifests_that_cannot_be_read(
    client: Any, app: Any, rt: Runtime, settings: Settings, arch: str, tmp_path: Path
) -> None:
    login(client, arch)
    files = zip_of(files_for(tmp_path))
    # Not a manifest at all: refused at the upload.
    resp = upload(client, manifest_csv(GOOD), files, name="目录.pdf")
    assert resp.status_code == 422 and ".xlsx" in resp.get_data(as_text=True)
    assert staged(settings) == []
    # A workbook that is none: the check reports it (row 0, the manifest), stores nothing.
    job = job_of(upload(client, b"PK\x03\x04 not really", files, name="目录.xlsx"))
    page = client.get(f"/import/{job}").get_data(as_text=True)
    assert "not a readable Excel workbook" in page and 'id="import-start"' not in page
    assert document_count(rt) == 0
    # A ZIP of more members than allowed: 413, nothing kept.
    limited = replace(settings, import_zip_max_files=2)
    rt.settings = limited
    try:
        resp = upload(client, manifest_csv(GOOD), files)
    finally:
        rt.settings = settings
    assert resp.status_code == 413 and "ZIP" in resp.get_data(as_text=True)
    assert len(staged(settings)) == 1  # only the earlier job


def test_a_folder_under_the_import_root_instead_of_a_zip(
    client: Any, rt: Runtime, settings: Settings, arch: str, tmp_path: Path
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    files_for(share).rename(share / "华夏-2019")
    (share / "outside").symlink_to(tmp_path)  # a link is never offered, nor taken
    rt.settings = replace(settings, import_root=str(share))
    try:
        login(client, arch)
        page = client.get("/import/").get_data(as_text=True)
        assert "华夏-2019" in page and "outside" not in page
        for refused in ("outside", "../share", "nothing-here"):
            data = {
                "csrf_token": csrf(client, "/import/"),
                "manifest": (io.BytesIO(manifest_csv(GOOD)), "目录.csv"),
                "folder": refused,
            }
            resp = client.post("/import/", data=data, content_type="multipart/form-data")
            assert resp.status_code == 422, refused
        assert staged(settings) == []
        data = {
            "csrf_token": csrf(client, "/import/"),
            "manifest": (io.BytesIO(manifest_csv(GOOD)), "目录.csv"),
            "folder": "华夏-2019",
            "department": "SALES",
        }
        job = job_of(client.post("/import/", data=data, content_type="multipart/form-data"))
        client.post(f"/import/{job}/run", data={"csrf_token": csrf(client, f"/import/{job}")})
        assert client.get(f"/import/{job}/status").get_json()["state"] == "done"
    finally:
        rt.settings = settings
    assert document_count(rt) == 3
    assert (share / "华夏-2019" / "hx" / "licence.pdf").exists()  # the server's folder stays


def test_the_page_follows_a_job_the_worker_has_not_finished(
    client: Any, app: Any, rt: Runtime, people: People, arch: str, tmp_path: Path
) -> None:
    """Staged but not yet checked (its job not yet sent: the worker is busy): the page
    shows a moving bar that polls the status route; the worker's check then finishes it."""
    from archive_service.archive import import_jobs

    jobs = import_jobs.Jobs.of(rt)
    with rt.db.sessions() as s:
        by = people.caller(s, arch)
        up = import_jobs.Upload(
            "目录.csv",
            io.BytesIO(manifest_csv(GOOD)),
            io.BytesIO(zip_of(files_for(tmp_path))),
            department="SALES",
        )
        job = import_jobs.stage(s, jobs, by, up)
        s.rollback()  # the job is not sent
    login(client, arch)
    page = client.get(f"/import/{job}").get_data(as_text=True)
    assert 'data-running="1"' in page and "import.js" in page and "http-equiv" in page
    status = client.get(f"/import/{job}/status").get_json()
    assert status["state"] == "checking" and status["running"] and status["percent"] is None
    assert import_jobs.check(jobs, job) == "checked"
    assert import_jobs.check(jobs, job) == "checked"  # delivered twice: nothing again
    page = client.get(f"/import/{job}").get_data(as_text=True)
    assert 'data-running="0"' in page and 'id="import-start"' in page
    assert "http-equiv" not in page


def test_the_import_stands_for_the_upload_only_inside_it(
    rt: Runtime, people: People, arch: str
) -> None:
    """An archivist uploads nothing outside an import; inside one the import's rule decides
    the upload (a clerk of another department gains nothing from acting in it)."""
    from archive_service.archive.models import Customer
    from archive_service.policy import may

    people.user("clara", "clerk", department="SALES")
    people.user("fred", "clerk", department="FIN")
    customer_id = people.customer("clara")
    with rt.db.sessions() as s:
        customer = s.get(Customer, customer_id)
        archivist, other_clerk = people.caller(s, arch), people.caller(s, "fred")
        assert not may(archivist, "document.upload", customer)
        inside = may(archivist.acting_in("import.run"), "document.upload", customer)
        assert inside and inside.rule == "import.run"
        assert not may(archivist.acting_in("import.run"), "category.manage")  # not a step
        assert not may(other_clerk.acting_in("import.run"), "document.upload", customer)
        assert not may(
            people.caller(s, "clara").acting_in("import.run"), "document.upload", customer
        )
