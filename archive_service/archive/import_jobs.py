"""An import started on the web page (网页导入): an archivist uploads the manifest and a ZIP
of its files (or names a folder under ``ARCHIVE_IMPORT_ROOT``); a worker checks it (the
dry run), and — once the archivist asks — imports it, both through
:mod:`archive.importing`, so the page does what ``archive import`` does.

A job lives in a folder of its own under the staging folder (``ARCHIVE_IMPORT_STAGING_DIR``,
which the web processes and the workers share, as they must for the files anyway): the
manifest, the unpacked files, ``status.json`` (the state and the progress, rewritten by
the worker as it goes, read by the page) and ``report.json``. No table is needed: the
batch, its rows and the audit trail are in the database as for any import; the job's
folder is what the page needs while the job runs. The files go once they are imported
(or the check refused them); the folder itself after ``ARCHIVE_IMPORT_KEEP_HOURS``.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service import jobs as background
from archive_service.accounts.models import User
from archive_service.archive import import_status as status_file
from archive_service.archive import importing, intake, unzipping
from archive_service.archive.import_check import Problem, Progress, Source
from archive_service.archive.models import Document, ImportBatch, ImportedRow
from archive_service.audit.services import record
from archive_service.errors import Conflict, DomainError, InvalidInput, NotFound, TooLarge
from archive_service.policy import Caller, may, require

if TYPE_CHECKING:
    from archive_service.runtime import Runtime

log = logging.getLogger(__name__)
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
MANIFEST_SUFFIXES = (".xlsx", ".csv")
PROGRESS_SECONDS = 0.5  # the worker rewrites the status at most this often
SHOWN_LIMIT = 1000  # problems shown on the page; the download has them all

# The states of a job: checking → checked → queued → importing → done; failed.
CHECKING, CHECKED, QUEUED, IMPORTING, DONE, FAILED = (
    "checking",
    "checked",
    "queued",
    "importing",
    "done",
    "failed",
)
RUNNING = frozenset({CHECKING, QUEUED, IMPORTING})


@dataclass(frozen=True)
class Jobs:
    """Where jobs are staged, and the limits of what an upload may hold."""

    importing: importing.Importing
    staging: Path
    import_root: Path | None
    limits: unzipping.Limits
    keep: timedelta

    @classmethod
    def of(cls, rt: Runtime) -> Jobs:
        st = rt.settings
        return cls(
            importing=importing.Importing.of(rt),
            staging=Path(st.import_staging_dir),
            import_root=Path(st.import_root).resolve() if st.import_root else None,
            limits=unzipping.Limits(
                max_members=st.import_zip_max_files,
                max_bytes=st.import_zip_max_mb * 1024 * 1024,
                max_member_bytes=rt.archive.intake.max_bytes,
            ),
            keep=timedelta(hours=max(1, st.import_keep_hours)),
        )


@dataclass(frozen=True)
class Upload:
    """What the page sends: the manifest (its name and bytes), and either a ZIP of the
    files or a folder under the import root; the department for new customers."""

    manifest_name: str
    manifest: IO[bytes]
    files_zip: IO[bytes] | None = None
    folder: str | None = None
    department: str | None = None


# --------------------------------------------------------------------------- use cases


def folders(jobs: Jobs) -> list[str]:
    """The folders under the import root that may be named (its subfolders, no links)."""
    root = jobs.import_root
    if root is None or not root.is_dir():
        return []
    return sorted(
        p.name
        for p in root.iterdir()
        if not p.name.startswith(".") and not p.is_symlink() and p.is_dir()
    )[:500]


def stage(s: Session, jobs: Jobs, by: Caller, up: Upload) -> str:
    """Stage an upload as a new job and queue its check (sent once ``s`` commits); the
    job's id. A refused upload leaves nothing behind."""
    require(by, "import.run")
    name = intake.clean_filename(up.manifest_name or "", max_length=200)
    if not name.lower().endswith(MANIFEST_SUFFIXES):
        raise InvalidInput(
            "the manifest must be an .xlsx or a .csv file", field="manifest", reason="manifest-type"
        )
    if (up.files_zip is None) == (not up.folder):
        raise InvalidInput(
            "give either a ZIP of the files or a folder", field="files", reason="files-missing"
        )
    files: Path | None = None
    if up.folder:
        files = _named_folder(jobs, up.folder)
    sweep(jobs)
    job_id = secrets.token_hex(16)
    folder = jobs.staging / job_id
    jobs.staging.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.mkdir(mode=0o700)
    try:
        (folder / "manifest").mkdir(mode=0o700)
        manifest = folder / "manifest" / name
        with manifest.open("xb") as out:
            shutil.copyfileobj(up.manifest, out, unzipping.CHUNK)
        if manifest.stat().st_size == 0:
            raise InvalidInput("the manifest is empty", field="manifest", reason="manifest-empty")
        if up.files_zip is not None:
            (folder / "files").mkdir(mode=0o700)
            try:
                unzipping.unpack(up.files_zip, folder / "files", jobs.limits)
            except unzipping.Refused as exc:
                if exc.too_large:
                    raise TooLarge(exc.message, field="files", reason="zip-too-large") from None
                raise InvalidInput(exc.message, field="files", reason="zip-refused") from None
        status_file.write(
            folder,
            "status.json",
            {
                "id": job_id,
                "user_id": by.user_id,
                "ip": by.ip,
                "manifest": name,
                "folder": up.folder if up.folder else None,
                "files": str(files) if files is not None else None,
                "department": (up.department or "").strip() or None,
                "created_at": status_file.now(),
                "state": CHECKING,
                "stage": CHECKING,
                "done": 0,
                "total": None,
            },
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    background.later(s, "check_import", job_id)
    return job_id


def start(s: Session, jobs: Jobs, by: Caller, job_id: str) -> None:
    """Queue the import of a job whose check found no problem (sent once ``s`` commits):
    recorded as ``import.request``; the batch's own events follow from the run."""
    require(by, "import.run")
    folder, status = _own(jobs, by, job_id)
    if status["state"] != CHECKED or not status.get("checked_ok"):
        raise Conflict(
            "only a checked manifest without problems can be imported", reason="not-checked"
        )
    try:  # one start per job, even if the button is pressed twice at once
        os.close(os.open(folder / "started", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise Conflict("this import has already started", reason="started") from None
    status_file.update(folder, state=QUEUED, stage=IMPORTING, done=0, total=status.get("rows"))
    record(
        s,
        by.actor,
        "import.request",
        "import_job",
        job_id,
        manifest=status["manifest"],
        rows=status.get("rows"),
        folder=status.get("folder"),
    )
    background.later(s, "run_import", job_id)


def status_of(jobs: Jobs, by: Caller, job_id: str) -> dict[str, Any]:
    """The job's state and progress, as the page shows it (the caller's own jobs only)."""
    require(by, "import.run")
    return _shown(_own(jobs, by, job_id)[1])


def report_of(jobs: Jobs, by: Caller, job_id: str) -> list[Problem]:
    """The job's report (row, column, problem): the run's once it ran, else the check's."""
    require(by, "import.run")
    folder, _status = _own(jobs, by, job_id)
    return status_file.read_report(folder)


def recent(jobs: Jobs, by: Caller) -> list[dict[str, Any]]:
    """The caller's jobs still kept, newest first (old ones are removed on the way)."""
    require(by, "import.run")
    sweep(jobs)
    out = []
    if jobs.staging.is_dir():
        for folder in jobs.staging.iterdir():
            status = status_file.read(folder) if _JOB_ID.match(folder.name) else None
            if status is not None and status.get("user_id") == by.user_id:
                out.append(_shown(status))
    return sorted(out, key=lambda j: j["created_at"], reverse=True)


def batch_documents(
    s: Session, by: Caller, batch_id: int, limit: int = 200
) -> list[dict[str, Any]]:
    """The documents a batch imported, by row: the old number, the new one, the title."""
    require(by, "import.run")
    if s.get(ImportBatch, batch_id) is None:
        raise NotFound("no such import batch")
    rows = s.execute(
        select(ImportedRow, Document)
        .join(Document, Document.id == ImportedRow.document_id)
        .where(ImportedRow.batch_id == batch_id)
        .order_by(ImportedRow.row_number)
        .limit(limit)
    ).all()
    return [
        {
            "row": r.row_number,
            "old_number": r.row_key.removeprefix("old:") if r.row_key.startswith("old:") else "",
            "document_id": d.id,
            "archive_number": d.archive_number or "",
            "title": d.title,
            "status": r.status,
        }
        for r, d in rows
        if may(by, "document.view", d)
    ]


# --------------------------------------------------------------------------- the worker


def check(jobs: Jobs, job_id: str) -> str:
    """The worker's dry run of a job; its state afterwards. Safe to run again."""
    folder = _folder(jobs, job_id)
    with status_file.running(folder) as status:
        if status is None or status["state"] != CHECKING:
            return status["state"] if status else "gone"
        try:
            by = _caller_of(jobs, status)
            report = importing.dry_run(
                jobs.importing, by, _source(folder, status), _progress(folder, CHECKING)
            )
        except Exception as exc:  # noqa: BLE001 - recorded on the job; the page shows it
            return _failed(folder, exc)
        status_file.write_report(folder, report)
        status_file.update(
            folder,
            state=CHECKED,
            stage=CHECKING,
            done=report.rows,
            total=report.rows,
            rows=report.rows,
            problems=len(report.problems),
            checked_ok=report.ok,
        )
        if not report.ok:
            _drop_inputs(folder)  # fixed files come in a new upload
        return CHECKED


def run(jobs: Jobs, job_id: str) -> str:
    """The worker's import of a job; its state afterwards. A run again after a crash
    continues the batch (:func:`importing.run` is resumable); one already done is left."""
    folder = _folder(jobs, job_id)
    with status_file.running(folder) as status:
        if status is None or status["state"] not in (QUEUED, IMPORTING):
            return status["state"] if status else "gone"
        status_file.update(folder, state=IMPORTING)
        try:
            by = _caller_of(jobs, status)
            report = importing.run(
                jobs.importing, by, _source(folder, status), _progress(folder, IMPORTING)
            )
        except Exception as exc:  # noqa: BLE001 - recorded on the job; the page shows it
            _drop_inputs(folder)
            return _failed(folder, exc)
        status_file.write_report(folder, report)
        status_file.update(
            folder,
            state=DONE,
            stage=IMPORTING,
            done=report.imported + report.skipped,
            total=report.rows,
            rows=report.rows,
            imported=report.imported,
            skipped=report.skipped,
            problems=len(report.problems),
            batch_id=report.batch_id,
            refused=report.refused,
            stopped_at=report.stopped_at,
            finished_at=status_file.now(),
        )
        _drop_inputs(folder)
        return DONE


def sweep(jobs: Jobs) -> int:
    """Remove the folders of jobs older than the keep period (not while one runs)."""
    if not jobs.staging.is_dir():
        return 0
    cutoff = time.time() - jobs.keep.total_seconds()
    removed = 0
    for folder in jobs.staging.iterdir():
        if not _JOB_ID.match(folder.name) or folder.is_symlink() or not folder.is_dir():
            continue
        try:
            if folder.stat().st_mtime >= cutoff:
                continue
            with status_file.locked(folder, wait=False) as got:
                if got:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
        except OSError:
            continue
    return removed


# --------------------------------------------------------------------------- helpers


def _named_folder(jobs: Jobs, name: str) -> Path:
    """A subfolder of the import root, by its name (nothing deeper, no way out)."""
    if jobs.import_root is None:
        raise InvalidInput(
            "no import folder is configured (ARCHIVE_IMPORT_ROOT)", field="folder", reason="folder"
        )
    if name not in folders(jobs):
        raise InvalidInput(
            "no such folder under the import folder", field="folder", reason="folder"
        )
    return jobs.import_root / name


def _folder(jobs: Jobs, job_id: str) -> Path:
    if not _JOB_ID.match(job_id or ""):
        raise NotFound("no such import")
    return jobs.staging / job_id


def _own(jobs: Jobs, by: Caller, job_id: str) -> tuple[Path, dict[str, Any]]:
    """The job's folder and status, if it is the caller's (another's is not found)."""
    folder = _folder(jobs, job_id)
    status = status_file.read(folder)
    if status is None or status.get("user_id") != by.user_id:
        raise NotFound("no such import")
    return folder, status


def _source(folder: Path, status: dict[str, Any]) -> Source:
    manifest = folder / "manifest" / status["manifest"]
    files = Path(status["files"]) if status.get("files") else folder / "files"
    return Source(manifest, files, status.get("department"))


def _caller_of(jobs: Jobs, status: dict[str, Any]) -> Caller:
    """The archivist who started the job, as they are now (their rights apply)."""
    with jobs.importing.db.sessions() as s:  # closed, not rolled back: the user stays loaded
        user = s.get(User, status.get("user_id") or 0)
        if user is None or not user.is_active_account:
            raise InvalidInput("the account that started this import is not active")
        by = Caller.of(user, status.get("ip")).acting_in("import.run")
        require(by, "import.run")
        return by


def _progress(folder: Path, stage: str) -> Progress:
    last = 0.0

    def progress(done: int, total: int | None, _stage: str) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PROGRESS_SECONDS or (total is not None and done >= total):
            last = now
            status_file.update(folder, stage=_stage or stage, done=done, total=total)

    return progress


def _failed(folder: Path, exc: Exception) -> str:
    if isinstance(exc, DomainError):
        reason = exc.message
    else:
        log.exception("import job %s failed", folder.name)
        reason = f"the run failed ({type(exc).__name__}); see the service's log"
    status_file.update(folder, state=FAILED, error=reason, finished_at=status_file.now())
    return FAILED


def _drop_inputs(folder: Path) -> None:
    """The staged manifest and files go (their copies are in the archive now, or fixed ones
    come in a new upload); the status and the report stay for the page."""
    shutil.rmtree(folder / "files", ignore_errors=True)
    shutil.rmtree(folder / "manifest", ignore_errors=True)


def _shown(status: dict[str, Any]) -> dict[str, Any]:
    done, total = status.get("done") or 0, status.get("total")
    percent = min(100, round(100 * done / total)) if total else None
    if status.get("state") in (CHECKED, DONE):
        percent = 100
    return {**status, "percent": percent, "running": status.get("state") in RUNNING}
